"""An index for the ledger at city scale: whose chain names a department.

``hazards_chain_department`` on the chain table (department, hazard): "hazards whose chain names
  one of my departments" is part of every department user's scope. Django's own index on the
  department column alone makes PostgreSQL fetch each of the tens of thousands of table rows to
  read the hazard id; with both columns the scope is read from the index alone (20 → 5 ms for the
  busiest department's ledger at 1,000,000 hazards).

The chain table is the automatic through table of ``Hazard.departments`` (no model to hang a
``Meta.indexes`` on), so its index is created in SQL (PostgreSQL and SQLite alike).
"""

from django.db import migrations

CHAIN = "hazards_chain_department"


class Migration(migrations.Migration):
    dependencies = [
        ("hazards", "0002_task_queue_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {CHAIN} ON hazards_hazard_departments (department_id, hazard_id)",
            f"DROP INDEX {CHAIN}",
        ),
    ]
