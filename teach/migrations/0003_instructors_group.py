"""Create the "instructors" group, so that an administrator can add users to it in the admin."""

from django.db import migrations

INSTRUCTORS_GROUP = "instructors"


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=INSTRUCTORS_GROUP)


class Migration(migrations.Migration):
    dependencies = [("teach", "0002_backfill_check_results"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
