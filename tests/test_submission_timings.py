"""Every submission records when each stage happened (sandbox/timings.py), stored by the lifecycle's own updates,
shown in the API, and read back as an ordered timeline and as spans."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import override_settings

from sandbox import pipeline
from sandbox.grading import grade_submission
from sandbox.models import Submission
from sandbox.timings import check_stage, spans, timeline

from .conftest import make_user
from .teach_helpers import T0, grade, make_class, make_exercise, make_instructor, make_lesson
from .test_build_log_batching import IN_MEMORY, FakeLease
from .test_grading_image_checks import DOCKERFILE, FakeSandbox, ok_build

# A graded attempt's stages, in seconds since the epoch, in the order they happen.
GRADED = {
    "queued": 100.0,
    "claimed": 100.02,
    "leased": 100.05,
    "context_written": 100.09,
    "build_started": 100.1,
    "first_log": 100.3,
    "build_finished": 100.6,
    "image_inspected": 100.65,
    "check:workdir:started": 100.65,
    "check:workdir:finished": 100.66,
    "check:runs:started": 100.6601,
    "check:runs:finished": 101.0,
    "result_stored": 101.02,
    "result_published": 101.03,
    "cleaned_up": 101.2,
}


def test_the_spans_of_a_graded_attempt_are_the_differences_between_its_stages():
    assert spans(GRADED) == {
        "queue": 0.02,
        "lease": 0.03,
        "prepare": 0.04,
        "cli_start": 0.01,
        "first_log": 0.2,
        "build": 0.5,
        "inspect": 0.05,
        "check:workdir": 0.01,
        "check:runs": 0.3399,
        "checks": 0.35,
        "store": 0.02,
        "publish": 0.01,
        "cleanup": 0.17,
        "total": 1.03,
    }


def test_spans_leave_out_what_did_not_happen():
    refused = {"queued": 10.0, "claimed": 10.5, "leased": 10.6, "result_stored": 10.7, "result_published": 10.8}
    assert spans(refused) == {"queue": 0.5, "lease": 0.1, "publish": 0.1, "total": 0.8}
    assert spans({}) == {}


def test_the_timeline_is_ordered_by_time_and_by_stage_for_the_same_moment():
    # PostgreSQL's jsonb does not keep key order: the timeline must not depend on it.
    shuffled = dict(reversed(list(GRADED.items())))
    rows = timeline(shuffled)
    assert [row["stage"] for row in rows] == list(GRADED)
    assert rows[0] == {"stage": "queued", "at": 0.0, "after": 0.0}
    assert rows[-1] == {"stage": "cleaned_up", "at": 1.2, "after": 0.17}
    assert timeline({}) == []


def test_a_check_stage_names_its_check_and_edge():
    assert check_stage("prints-greeting", "started") == "check:prints-greeting:started"


# --- On the Submission ------------------------------------------------------------------------------------------


@pytest.fixture
def submission(db) -> Submission:
    return Submission.queue(make_user(), None, {"Dockerfile": "FROM busybox\n"})


def test_a_new_submission_records_when_it_was_queued(submission):
    submission.refresh_from_db()
    assert list(submission.timings) == ["queued"]
    assert abs(submission.timings["queued"] - submission.created_at.timestamp()) < 1


def test_marking_keeps_the_first_time_of_a_stage_and_costs_no_query(submission, django_assert_num_queries):
    with django_assert_num_queries(0):
        submission.mark("first_log", at=200.0)
        submission.mark("first_log", at=201.0)
        submission.mark_check("runs", "started")
    assert submission.timings["first_log"] == 200.0
    assert "check:runs:started" in submission.timings
    submission.refresh_from_db()
    assert "first_log" not in submission.timings


def stages_of(submission: Submission) -> list[str]:
    # A stored submission's stages in the order they happened: PostgreSQL's jsonb does not keep key order.
    return [row["stage"] for row in submission.timeline()]


def test_claiming_starts_the_attempts_timings_afresh_but_keeps_when_it_was_queued(submission):
    queued = submission.timings["queued"]
    Submission.objects.filter(pk=submission.pk).update(timings={"queued": queued, "first_log": 1.0})
    submission.refresh_from_db()
    assert submission.claim("host:1")
    assert list(submission.timings) == ["queued", "claimed"]
    assert submission.timings["queued"] == queued
    submission.refresh_from_db()
    assert stages_of(submission) == ["queued", "claimed"]


def test_the_lifecycle_stores_the_stages_with_its_own_updates(submission):
    assert submission.claim("host:1")
    submission.use_daemon("unix:///sandbox.sock")
    stored = Submission.objects.get(pk=submission.pk)
    assert stages_of(stored) == ["queued", "claimed", "leased"]
    submission.mark("build_started")
    assert submission.finish({"passed": True, "score": 100, "message": "ok"})
    stored = Submission.objects.get(pk=submission.pk)
    assert stages_of(stored) == [
        "queued",
        "claimed",
        "leased",
        "build_started",
        "result_stored",
        "result_published",
    ]
    assert stored.timings["result_stored"] <= stored.timings["result_published"]


def test_a_submission_that_could_not_finish_stores_its_stages_too(submission):
    assert submission.claim("host:1")
    assert submission.fail("The sandbox stopped.", reason="daemon_unavailable")
    stored = Submission.objects.get(pk=submission.pk)
    assert stages_of(stored) == ["queued", "claimed", "result_stored", "result_published"]


def test_timings_of_an_attempt_that_was_taken_over_are_not_stored(submission):
    assert submission.claim("host:1")
    Submission.objects.filter(pk=submission.pk).update(runner="host:2", timings={"queued": 1.0, "claimed": 2.0})
    submission.mark("cleaned_up")
    submission.save_timings()
    assert Submission.objects.get(pk=submission.pk).timings == {"queued": 1.0, "claimed": 2.0}


def test_the_api_dict_shows_the_timings_and_their_spans(submission):
    Submission.objects.filter(pk=submission.pk).update(timings=GRADED)
    submission.refresh_from_db()
    data = submission.to_dict()
    assert data["timings"] == GRADED
    assert data["stages"] == spans(GRADED)


# --- Who marks them --------------------------------------------------------------------------------------------


def test_the_grader_tells_each_checks_start_and_end_and_the_inspection():
    exercise = SimpleNamespace(
        spec={
            "checks": [
                {"id": "builds", "type": "build", "title": "Builds"},
                {"id": "workdir", "type": "workdir", "title": "Workdir", "path": "/srv"},
                {"id": "user", "type": "image-user", "title": "User", "user": "app", "needs": ["workdir"]},
            ]
        },
        lesson=SimpleNamespace(slug="x"),
        solution_files={},
    )
    told: list[str] = []
    grade_submission(exercise, {"Dockerfile": DOCKERFILE}, FakeSandbox(builds=[ok_build()]), on_stage=told.append)
    # The user check is skipped (its prerequisite failed): a skipped check never started.
    assert told == [
        "check:builds:started",
        "check:builds:finished",
        "image_inspected",
        "check:workdir:started",
        "check:workdir:finished",
    ]


class StagedBuild:
    """Stands in for BuildEnvironment: tells the build's stages and prints two lines."""

    def __init__(self, docker_host, submission_id, on_log, on_quiet=None, still_ours=None, on_stage=None):
        self.on_log, self.on_stage = on_log, on_stage

    def stop(self):
        pass

    def __enter__(self):
        self.on_stage("context_written")
        self.on_stage("build_started")
        self.on_log("#1 [internal] load build definition from Dockerfile")
        self.on_log("#1 DONE 0.0s")
        self.on_stage("build_finished")
        return self

    def __exit__(self, *exc_info):
        return False


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
def test_the_pipeline_records_the_builds_stages_the_result_and_the_cleanup(submission, monkeypatch):
    monkeypatch.setattr(pipeline, "BuildEnvironment", StagedBuild)
    monkeypatch.setattr(pipeline.SubmissionPipeline, "_grade", lambda self, env: {"passed": True, "message": "ok"})
    assert submission.claim("host:1")
    submission.use_daemon("unix:///nowhere.sock")
    pipeline.SubmissionPipeline(submission, FakeLease("unix:///nowhere.sock")).run()
    stored = Submission.objects.get(pk=submission.pk)
    assert [row["stage"] for row in stored.timeline()] == [
        "queued",
        "claimed",
        "leased",
        "context_written",
        "build_started",
        "first_log",
        "build_finished",
        "result_stored",
        "result_published",
        "cleaned_up",
    ]


def test_the_checks_span_counts_only_the_checks_after_the_image_inspection():
    playground = {
        "queued": 0.0,
        "build_started": 0.1,
        "build_finished": 0.3,
        "check:build:started": 0.31,
        "check:build:finished": 0.32,
        "image_inspected": 0.34,
        "result_stored": 0.35,
        "result_published": 0.36,
    }
    found = spans(playground)
    assert "checks" not in found
    assert found["check:build"] == 0.01
    assert found["store"] == 0.01


def test_the_instructor_sees_where_an_attempts_time_went(client, db):
    lesson = make_lesson("first-steps", 1)
    exercise = make_exercise(lesson, "first-dockerfile", [("builds", "build", "The image builds")])
    learner = make_user("learner")
    instructor = make_instructor()
    classroom = make_class(instructor, learners=[learner])
    submission = grade(learner, exercise, {}, T0)
    Submission.objects.filter(pk=submission.pk).update(timings=GRADED)
    client.force_login(instructor)
    page = client.get(f"/teach/classes/{classroom.pk}/learners/{learner.pk}/first-dockerfile/")
    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('data-testid="timings"') : html.index("</table>")]
    assert table.count("<tr>") == 1 + len(GRADED)
    assert "<td><code>check:runs:finished</code></td><td>1.000 s</td><td>0.340 s</td>" in table
    assert "<td><code>cleaned_up</code></td><td>1.200 s</td><td>0.170 s</td>" in table
