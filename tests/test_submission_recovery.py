"""A submission's lifecycle when things fail: one claim per attempt, heartbeats, retries that are not the
learner's fault, limits that count only what really waits, and the learner's place in the queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from lessons.models import Exercise, ExerciseProgress, Lesson
from sandbox import waiting
from sandbox.models import (
    HEARTBEAT_TIMEOUT_SECONDS,
    SANDBOX_LOST,
    SANDBOX_LOST_TWICE,
    TOO_MANY_INTERRUPTIONS,
    WAITED_TOO_LONG,
    Submission,
    waiting_message,
)
from sandbox.submissions import RateLimited, check_rate_limits

from .conftest import make_user

pytestmark = pytest.mark.django_db

FILES = {"Dockerfile": "FROM busybox:latest\n"}


def queued(user, **fields) -> Submission:
    return Submission.objects.create(user=user, files=FILES, **fields)


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def events(submission: Submission) -> list[dict]:
    return [event.as_message() for event in submission.events.order_by("seq")]


# --- Claiming an attempt -------------------------------------------------------------------------------------


def test_a_queued_submission_is_claimed_by_one_runner_only(user):
    submission = queued(user)
    first = Submission.objects.get(pk=submission.pk)
    duplicate = Submission.objects.get(pk=submission.pk)
    assert first.claim("host:1") is True
    assert duplicate.claim("host:2") is False
    submission.refresh_from_db()
    assert (submission.status, submission.runner, submission.attempts) == ("running", "host:1", 1)
    assert submission.heartbeat_at is not None


def test_a_running_attempt_with_a_fresh_heartbeat_is_never_taken_over(user):
    submission = queued(user, status="running", runner="host:1", attempts=1, heartbeat_at=ago(5))
    assert submission.claim("host:2") is False


def test_a_dead_attempt_is_taken_over_and_the_learner_hears_it_is_retried(user):
    stale = ago(HEARTBEAT_TIMEOUT_SECONDS + 5)
    submission = queued(user, status="running", runner="host:1", attempts=1, heartbeat_at=stale)
    assert submission.claim("host:2") is True
    assert (submission.runner, submission.attempts) == ("host:2", 2)
    assert events(submission)[-1]["message"] == "Retrying after an interrupted build…"


def test_a_runner_known_to_be_gone_is_taken_over_at_once(user):
    submission = queued(user, status="running", runner="host:1", attempts=1, heartbeat_at=ago(1))
    assert submission.claim("host:2", take_over_from="host:1") is True
    assert submission.claim("host:3", take_over_from="host:9") is False


def test_after_too_many_interruptions_a_claim_ends_the_submission_in_words(user, settings):
    settings.SUBMISSION_MAX_ATTEMPTS = 2
    stale = ago(HEARTBEAT_TIMEOUT_SECONDS + 5)
    submission = queued(user, status="running", runner="host:1", attempts=2, heartbeat_at=stale)
    assert submission.claim("host:2") is False
    submission.refresh_from_db()
    assert submission.status == "error"
    assert submission.message == TOO_MANY_INTERRUPTIONS
    assert events(submission)[-1]["type"] == "result"


def test_a_heartbeat_belongs_to_its_runner_only(user):
    submission = queued(user)
    submission.claim("host:1")
    assert submission.beat() is True
    thief = Submission.objects.get(pk=submission.pk)
    Submission.objects.filter(pk=submission.pk).update(heartbeat_at=ago(HEARTBEAT_TIMEOUT_SECONDS + 5))
    assert thief.claim("host:2") is True
    assert submission.beat() is False


def test_an_attempt_that_was_taken_over_can_neither_finish_nor_fail_the_submission(user):
    submission = queued(user)
    submission.claim("host:1")
    Submission.objects.filter(pk=submission.pk).update(heartbeat_at=ago(HEARTBEAT_TIMEOUT_SECONDS + 5))
    Submission.objects.get(pk=submission.pk).claim("host:2")
    assert submission.finish({"passed": True, "score": 100, "message": "ok"}) is False
    assert submission.fail("late words") is False
    submission.refresh_from_db()
    assert (submission.status, submission.runner) == ("running", "host:2")


# --- A build lost with its sandbox ------------------------------------------------------------------------------


def make_exercise() -> Exercise:
    lesson = Lesson.objects.create(slug="basics", order=1, title="Basics", body_markdown="x", body_html="x")
    return Exercise.objects.create(lesson=lesson, slug="first", title="First", spec={"checks": []})


def test_a_build_lost_with_its_sandbox_is_retried_once_without_spending_an_attempt(user):
    submission = queued(user, exercise=make_exercise())
    submission.claim("host:1")
    assert submission.retry_elsewhere() is True
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, submission.sandbox_retries) == ("queued", 0, 1)
    last = events(submission)[-1]
    assert last["message"] == SANDBOX_LOST and last["retry"] is True
    assert "not your fault" in last["message"] and "retried" in last["message"]


def test_a_second_lost_sandbox_ends_the_build_without_counting_against_the_learner(user):
    exercise = make_exercise()
    submission = queued(user, exercise=exercise)
    submission.claim("host:1")
    submission.retry_elsewhere()
    submission.claim("host:2")
    assert submission.retry_elsewhere() is False
    submission.refresh_from_db()
    assert submission.status == "error"
    assert submission.message == SANDBOX_LOST_TWICE
    assert submission.result == {"reason": "daemon_unavailable"}
    assert not ExerciseProgress.objects.filter(user=user, exercise=exercise).exists()


# --- Recovery by the upkeep, and limits -------------------------------------------------------------------------


def test_a_dead_running_attempt_goes_back_to_the_queue_with_its_attempt_spent(user):
    submission = queued(user)
    submission.claim("host:1")
    assert submission.recover("Interrupted; queued again.") is True
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, submission.runner) == ("queued", 1, "")
    assert events(submission)[-1] == {
        "seq": 1,
        "type": "status",
        "status": "queued",
        "message": "Interrupted; queued again.",
        "retry": True,
    }


def test_a_submission_past_the_give_up_time_ends_in_words(user, settings):
    settings.SUBMISSION_GIVE_UP_SECONDS = 600
    forgotten = queued(user)
    Submission.objects.filter(pk=forgotten.pk).update(created_at=ago(700))
    recent = queued(user)
    assert Submission.fail_stale() == 1
    forgotten.refresh_from_db()
    recent.refresh_from_db()
    assert (forgotten.status, forgotten.message) == ("error", WAITED_TOO_LONG)
    assert recent.status == "queued"


def test_the_limits_count_only_submissions_really_waiting(user, settings):
    settings.SUBMISSIONS_QUEUED_PER_USER = 1
    settings.SUBMISSION_GIVE_UP_SECONDS = 600
    # Two dead attempts and one forgotten wait: none of them is really waiting.
    dead = ago(HEARTBEAT_TIMEOUT_SECONDS + 5)
    queued(user, status="running", runner="host:1", heartbeat_at=dead)
    queued(user, status="running", runner="host:2", heartbeat_at=None)
    old = queued(user)
    Submission.objects.filter(pk=old.pk).update(created_at=ago(700))
    check_rate_limits(user)
    queued(user, status="running", runner="host:3", heartbeat_at=ago(1))
    queued(user)
    with pytest.raises(RateLimited, match="already have 2 builds running or waiting"):
        check_rate_limits(user)


# --- The place in the queue -------------------------------------------------------------------------------------


def test_the_place_is_told_in_words_once_per_change(user):
    submission = queued(user)
    assert submission.tell_place(3, 40) is True
    assert submission.tell_place(3, 45) is False
    assert submission.tell_place(2, 20) is True
    told = [event for event in events(submission) if event["type"] == "status"]
    assert [(event["position"], event["wait_seconds"]) for event in told] == [(3, 40), (2, 20)]
    assert told[0]["message"] == "Waiting for a build sandbox: 3rd in line, about 40 s to wait."


@pytest.mark.parametrize(
    ("position", "seconds", "words"),
    [
        (1, 0, "Waiting for a build sandbox: next in line, starting in a moment."),
        (2, 7, "Waiting for a build sandbox: 2nd in line, a few seconds to wait."),
        (11, 94, "Waiting for a build sandbox: 11th in line, about 2 minutes to wait."),
        (21, 60, "Waiting for a build sandbox: 21st in line, about 1 minute to wait."),
    ],
)
def test_waiting_messages_read_as_sentences(position, seconds, words):
    assert waiting_message(position, seconds) == words


def test_the_estimate_counts_the_rounds_of_builds_ahead():
    # Two sandboxes, both idle: the first two start at once.
    assert waiting.estimate(1, running=0, typical_seconds=20, sandboxes=2) == 0
    assert waiting.estimate(2, running=0, typical_seconds=20, sandboxes=2) == 0
    # Both busy: the first waits one round, the third two rounds.
    assert waiting.estimate(1, running=2, typical_seconds=20, sandboxes=2) == 20
    assert waiting.estimate(3, running=2, typical_seconds=20, sandboxes=2) == 40


def test_every_waiting_learner_is_told_a_new_place_when_the_queue_moves(user, monkeypatch):
    monkeypatch.setattr(waiting, "answering_sandboxes", lambda: 1)
    other = make_user("other")
    first, second, third = queued(user), queued(other), queued(user)
    assert waiting.tell_places() == 3
    assert waiting.tell_places() == 0
    Submission.objects.filter(pk=first.pk).update(status="passed")
    assert waiting.tell_places() == 2
    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.queue_position, third.queue_position) == (1, 2)
    assert events(third)[-1]["message"].startswith("Waiting for a build sandbox: 2nd in line")


def test_a_new_submission_hears_its_place_in_its_first_event(user, monkeypatch):
    monkeypatch.setattr(waiting, "answering_sandboxes", lambda: 2)
    for _ in range(3):
        queued(user)
    position, wait = waiting.place_of_new_submission()
    submission = Submission.queue(user, None, FILES, waiting=(position, wait))
    first = events(submission)[0]
    assert (first["seq"], first["position"], first["wait_seconds"]) == (1, 4, wait)
    assert first["message"].startswith("Waiting for a build sandbox: 4th in line")
