"""The submissions API: validation, permissions, rate limits and queueing, with the worker faked."""

import json

import pytest
from django.test import Client

from lessons.models import Exercise, Lesson
from sandbox.models import Submission

from .conftest import make_user

pytestmark = pytest.mark.django_db

GOOD = {"Dockerfile": "FROM busybox:latest\nRUN echo hello\n"}


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Record enqueued submission ids instead of sending them to Celery."""
    sent: list[int] = []
    monkeypatch.setattr("sandbox.submissions.enqueue", lambda submission: sent.append(submission.pk))
    monkeypatch.setattr("sandbox.submissions.catalog_names", lambda: ["busybox:latest", "python:3.11-slim"])
    return sent


@pytest.fixture
def learner_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, body, **extra):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/api/submissions/", payload, content_type="application/json", **extra)


def make_exercise(slug: str = "first-dockerfile") -> Exercise:
    lesson = Lesson.objects.create(slug="basics", order=1, title="Basics", body_markdown="x", body_html="x")
    return Exercise.objects.create(lesson=lesson, slug=slug, title="First", spec={"checks": []})


def test_a_playground_submission_is_queued_and_enqueued_after_commit(
    learner_client, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(learner_client, {"exercise": None, "files": GOOD})
    assert response.status_code == 202
    body = response.json()
    assert body == {"id": body["id"], "status": "queued", "events_url": f"/ws/submissions/{body['id']}/"}
    assert queued == [body["id"]]
    submission = Submission.objects.get(pk=body["id"])
    assert submission.exercise is None
    assert submission.files == GOOD
    assert submission.events.get().type == "status"


def test_an_exercise_submission_records_its_exercise(learner_client):
    make_exercise()
    response = post(learner_client, {"exercise": "first-dockerfile", "files": GOOD})
    assert response.status_code == 202
    assert Submission.objects.get().exercise.slug == "first-dockerfile"


def test_an_unknown_exercise_is_a_404_with_a_message(learner_client):
    response = post(learner_client, {"exercise": "no-such-thing", "files": GOOD})
    assert response.status_code == 404
    assert response.json()["error"] == "There is no exercise called 'no-such-thing'."


def test_an_anonymous_visitor_is_asked_to_log_in(client):
    response = post(client, {"exercise": None, "files": GOOD})
    assert response.status_code == 401
    assert Submission.objects.count() == 0


def test_csrf_is_enforced_on_submissions(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert post(client, {"exercise": None, "files": GOOD}).status_code == 403


def test_a_body_that_is_not_json_is_refused(learner_client):
    response = post(learner_client, "{not json")
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"Dockerfile": "FROM ubuntu:20.04\n"}, "ubuntu:20.04"),
        ({"Dockerfile": "# syntax=docker/dockerfile:1\nFROM busybox:latest\n"}, "syntax"),
        ({"Dockerfile": "FROM busybox:latest\nADD https://example.org/x.tgz /x\n"}, "line 2"),
        ({"Dockerfile": "FROM busybox:latest\n", "../escape": "x"}, ".."),
        ({"Dockerfile": "FROM busybox:latest\n", "/etc/passwd": "x"}, "/etc/passwd"),
        ({"Dockerfile": "FROM busybox:latest\n", "big.txt": "x" * (300 * 1024)}, "KiB"),
        ({"Dockerfile": "FROM busybox:latest\n", "app.bin": "\x00\x01binary"}, "app.bin"),
        ({"app.py": "print(1)"}, "Dockerfile"),
        ("not a dict", "file"),
    ],
)
def test_bad_files_are_refused_before_any_build_with_a_clear_message(learner_client, queued, files, words):
    response = post(learner_client, {"exercise": None, "files": files})
    assert response.status_code == 400
    assert words in response.json()["error"]
    assert Submission.objects.count() == 0
    assert queued == []


def test_a_learner_with_a_full_queue_gets_429(learner_client, user, settings):
    settings.SUBMISSIONS_QUEUED_PER_USER = 1
    for _ in range(2):
        Submission.objects.create(user=user, files=GOOD, status=Submission.Status.QUEUED)
    response = post(learner_client, {"exercise": None, "files": GOOD})
    assert response.status_code == 429
    assert "already have 2 builds" in response.json()["error"]


def test_finished_submissions_do_not_count_against_the_queue(learner_client, user, settings):
    settings.SUBMISSIONS_QUEUED_PER_USER = 1
    for _ in range(5):
        Submission.objects.create(user=user, files=GOOD, status=Submission.Status.PASSED)
    assert post(learner_client, {"exercise": None, "files": GOOD}).status_code == 202


def test_a_full_global_queue_answers_429_with_a_message(learner_client, settings):
    settings.SUBMISSIONS_GLOBAL_QUEUE_CAP = 3
    others = [make_user(f"other{n}") for n in range(3)]
    for other in others:
        Submission.objects.create(user=other, files=GOOD, status=Submission.Status.QUEUED)
    response = post(learner_client, {"exercise": None, "files": GOOD})
    assert response.status_code == 429
    assert "queue is full" in response.json()["error"]


def test_the_owner_can_read_a_submission_with_its_events(learner_client):
    submission_id = post(learner_client, {"exercise": None, "files": GOOD}).json()["id"]
    data = learner_client.get(f"/api/submissions/{submission_id}/").json()
    assert data["status"] == "queued"
    assert data["events"][0]["seq"] == 1
    assert data["files"] == GOOD


def test_another_learner_cannot_read_a_submission(learner_client):
    submission_id = post(learner_client, {"exercise": None, "files": GOOD}).json()["id"]
    stranger = Client()
    stranger.force_login(make_user("stranger"))
    assert stranger.get(f"/api/submissions/{submission_id}/").status_code == 404
    assert Client().get(f"/api/submissions/{submission_id}/").status_code == 404


def test_stale_running_submissions_are_ended_with_a_message(user, settings):
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(seconds=settings.BUILD_HARD_TIME_LIMIT + 120)
    stale = Submission.objects.create(user=user, files=GOOD, status=Submission.Status.RUNNING, started_at=old)
    fresh = Submission.objects.create(
        user=user, files=GOOD, status=Submission.Status.RUNNING, started_at=timezone.now()
    )
    assert Submission.fail_stale() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == Submission.Status.ERROR
    assert "worker went away" in stale.message
    assert stale.events.last().type == "result"
    assert fresh.status == Submission.Status.RUNNING


def test_an_unreachable_build_queue_keeps_the_submission_queued_and_says_so(
    transactional_db, learner_client, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("Connection refused")

    monkeypatch.undo()
    monkeypatch.setattr("sandbox.submissions.catalog_names", lambda: ["busybox:latest"])
    monkeypatch.setattr("sandbox.tasks.tickets.issue", lambda submission_id: None)
    monkeypatch.setattr("sandbox.tasks.tickets.withdraw", lambda submission_id: None)
    monkeypatch.setattr("sandbox.tasks.build_submission.apply_async", broker_down)
    # With no test transaction around it, the commit (and so the enqueue) happens inside the request.
    response = post(learner_client, {"exercise": None, "files": GOOD})
    # Nothing is lost: the submission waits, the learner is told why, and the upkeep sends it when the queue is back.
    assert response.status_code == 202
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.QUEUED
    events = list(submission.events.order_by("seq"))
    assert [event.type for event in events] == ["status", "status"]
    assert "starts as soon as the queue is back" in events[-1].data["message"]
