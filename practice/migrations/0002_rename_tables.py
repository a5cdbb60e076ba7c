# The practice tables get the practice app's names (practice_*), and their content types follow them, so
# that permissions granted on the models and the admin's history of changes to them are kept.

from django.db import migrations

MOVED_MODELS = ("practiceattempt", "card", "mockinterview")


def relabel_content_types(apps, schema_editor, source: str, target: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    for model in MOVED_MODELS:
        # A database where the target's content type already exists (created by a later migrate) keeps both.
        if not content_types.filter(app_label=target, model=model).exists():
            content_types.filter(app_label=source, model=model).update(app_label=target)


def content_types_to_practice(apps, schema_editor) -> None:
    relabel_content_types(apps, schema_editor, source="lessons", target="practice")


def content_types_to_lessons(apps, schema_editor) -> None:
    relabel_content_types(apps, schema_editor, source="practice", target="lessons")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("practice", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelTable(name="practiceattempt", table=None),
        migrations.AlterModelTable(name="card", table=None),
        migrations.AlterModelTable(name="mockinterview", table=None),
        migrations.RenameIndex(
            model_name="practiceattempt",
            old_name="lessons_pra_user_id_20d7d1_idx",
            new_name="practice_pr_user_id_55abc0_idx",
        ),
        migrations.RunPython(content_types_to_practice, content_types_to_lessons),
    ]
