"""The ledger's "overdue" filter reads the live clocks from a partial index (subject type, due moment,
subject) instead of the whole clock history, which grows with every stage of every hazard."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('deadlines', '0003_seed_policies'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='deadline',
            index=models.Index(condition=models.Q(('open', True)), fields=['subject_type', 'due_at', 'subject_id'], name='deadlines_deadline_open_due'),
        ),
    ]
