"""Indexes for the reads at city scale: the queue and inbox (partial indexes on viewflow's task
table) and the enterprise portal (hazards by enterprise and stage).

A queue is "new tasks whose owner permission the user holds (or that name the user)" and an inbox
"open tasks the user owns"; viewflow indexes neither (status alone matches tens of thousands of rows at city
scale). Both are partial: only open tasks are indexed, a small fraction of the table.
"""

from django.db import migrations, models

QUEUE = "hazards_task_queue"
INBOX = "hazards_task_inbox"


class Migration(migrations.Migration):
    dependencies = [
        ("hazards", "0001_hazard_records"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="hazard",
            index=models.Index(fields=["enterprise", "stage"], name="hazards_enterprise_stage"),
        ),
        migrations.RunSQL(
            f"CREATE INDEX {QUEUE} ON viewflow_task (owner_permission, created) "
            "WHERE status = 'NEW'",
            f"DROP INDEX {QUEUE}",
        ),
        migrations.RunSQL(
            f"CREATE INDEX {INBOX} ON viewflow_task (owner_id, created) "
            "WHERE status IN ('NEW', 'ASSIGNED', 'STARTED')",
            f"DROP INDEX {INBOX}",
        ),
    ]
