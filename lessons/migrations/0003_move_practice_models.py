# The practice models move to the practice app. Only Django's record of the models changes here; the
# tables and their rows stay as they are (practice/migrations/0001_initial.py takes the models over and
# 0002 renames their tables).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("lessons", "0002_practice"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="PracticeAttempt"),
                migrations.DeleteModel(name="Card"),
                migrations.DeleteModel(name="MockInterview"),
            ],
            database_operations=[],
        ),
    ]
