"""Graded verdicts become rows for the analytics: when a submission is graded, and by the backfill."""

from __future__ import annotations

import csv
import importlib
import io
from io import StringIO

from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command

from sandbox.models import Submission
from teach.exports import csv_response
from teach.models import INSTRUCTORS_GROUP, CheckResult
from teach.verdicts import message_pattern, verdict_fields

from .conftest import make_user
from .teach_helpers import FAILED, T0, could_not_finish, grade, make_exercise, make_lesson

CHECKS = [("build", "build", "The image builds"), ("small", "image-size", "The image is small")]


def test_a_graded_submission_stores_one_row_per_verdict(db):
    exercise = make_exercise(make_lesson("basics", 1), "first-image", CHECKS)
    submission = grade(
        make_user(), exercise, {"small": (FAILED, "the image is 152 MB; this exercise allows 60 MB.")}, T0
    )
    rows = CheckResult.objects.filter(submission=submission).order_by("check_id")
    assert [(r.check_id, r.check_type, r.status, r.user_id, r.exercise_id) for r in rows] == [
        ("build", "build", "passed", submission.user_id, exercise.pk),
        ("small", "image-size", "failed", submission.user_id, exercise.pk),
    ]


def test_the_playground_and_unfinished_submissions_store_no_rows(db):
    user = make_user()
    exercise = make_exercise(make_lesson("basics", 1), "first-image", CHECKS)
    playground = Submission.queue(user, None, {"Dockerfile": "FROM busybox:latest\n"})
    playground.claim("test")
    playground.finish(
        {"passed": True, "score": 100, "message": "built", "checks": [{"id": "build", "status": "passed"}]}
    )
    could_not_finish(user, exercise, T0)
    assert CheckResult.objects.count() == 0


def test_messages_that_differ_only_in_numbers_and_ids_share_a_pattern():
    assert message_pattern("the image is 152.5 MB; this exercise allows 60 MB.") == (
        "the image is # MB; this exercise allows # MB."
    )
    assert (
        message_pattern("image sha256:0123456789abcdef0123 exited  with\\ncode 2")
        == "image sha#:… exited with\\ncode #"
    )


def test_only_graded_results_have_verdict_fields():
    result = {"checks": [{"id": "a", "type": "build", "status": "passed", "message": "ok"}, "junk", {"no": "id"}]}
    assert verdict_fields("error", result) == []
    assert verdict_fields("passed", "not a dict") == []
    assert verdict_fields("failed", result) == [
        {"check_id": "a", "check_type": "build", "status": "passed", "message": "ok", "message_pattern": "ok"}
    ]


def test_backfill_checks_stores_the_rows_of_submissions_that_lack_them(db):
    exercise = make_exercise(make_lesson("basics", 1), "first-image", CHECKS)
    user = make_user()
    first = grade(user, exercise, {}, T0)
    second = grade(user, exercise, {"small": (FAILED, "too big")}, T0)
    CheckResult.objects.filter(submission=first).delete()
    CheckResult.objects.filter(submission=second, check_id="small").update(status="passed")
    out = StringIO()
    call_command("backfill_checks", stdout=out)
    assert "Stored 2 verdicts of 1 submissions." in out.getvalue()
    assert CheckResult.objects.filter(submission=second, check_id="small").get().status == "passed"
    call_command("backfill_checks", "--all", stdout=out)
    assert "Stored 4 verdicts of 2 submissions." in out.getvalue()
    assert CheckResult.objects.filter(submission=second, check_id="small").get().status == "failed"


def test_the_migration_backfills_submissions_graded_before_the_table_existed(db):
    exercise = make_exercise(make_lesson("basics", 1), "first-image", CHECKS)
    submission = grade(make_user(), exercise, {"small": (FAILED, "too big")}, T0)
    CheckResult.objects.all().delete()
    migration = importlib.import_module("teach.migrations.0002_backfill_check_results")
    migration.backfill(apps, None)
    assert sorted(CheckResult.objects.filter(submission=submission).values_list("check_id", "status")) == [
        ("build", "passed"),
        ("small", "failed"),
    ]


def test_the_instructors_group_exists_for_administrators_to_fill(db):
    assert Group.objects.filter(name=INSTRUCTORS_GROUP).exists()


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted_but_numbers_stay_numbers():
    response = csv_response("x.csv", [["+1-2", "=HYPERLINK(1)", "-0.221", -3, None, "@sum", "plain"]])
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        ["'+1-2", "'=HYPERLINK(1)", "-0.221", "-3", "", "'@sum", "plain"]
    ]
