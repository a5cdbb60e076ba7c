"""Store the verdicts of submissions graded before teach.CheckResult existed."""

from django.db import migrations

from teach.verdicts import GRADED_STATUSES, verdict_fields

BATCH = 500


def backfill(apps, schema_editor):
    Submission = apps.get_model("sandbox", "Submission")
    CheckResult = apps.get_model("teach", "CheckResult")
    graded = Submission.objects.filter(status__in=GRADED_STATUSES, exercise__isnull=False).order_by("pk")
    rows = []
    for submission in graded.only("pk", "user_id", "exercise_id", "status", "result", "finished_at").iterator(BATCH):
        for fields in verdict_fields(submission.status, submission.result):
            rows.append(
                CheckResult(
                    submission_id=submission.pk,
                    user_id=submission.user_id,
                    exercise_id=submission.exercise_id,
                    graded_at=submission.finished_at,
                    **fields,
                )
            )
        if len(rows) >= BATCH:
            CheckResult.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    CheckResult.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("teach", "0001_classes_and_check_results")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
