"""The mock interview's hands-on challenge can be a lab: judged from the text for visitors, and run in the
sandbox for learners."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lessons.models import Exercise
from practice.challenge import static_check_lab
from practice.mock import challenge_exercises
from practice.models import MockInterview
from sandbox.labs.plan import LAB_KINDS, MAIN_FILES
from sandbox.models import Submission

from .conftest import make_user

pytestmark = pytest.mark.django_db


def labs() -> list[Exercise]:
    return [exercise for exercise in Exercise.objects.all() if exercise.kind in LAB_KINDS]


def test_the_shipped_labs_can_be_set_as_a_challenge(shipped_course):
    slugs = {exercise.slug for exercise in challenge_exercises()}
    assert {exercise.slug for exercise in labs()} <= slugs
    assert len(labs()) == 13 and "first-dockerfile" in slugs


def test_the_static_preview_agrees_with_the_sandbox_on_every_shipped_lab(shipped_course):
    """Every solution satisfies what can be judged from its text; every starter that can be judged falls short."""
    for exercise in labs():
        main = MAIN_FILES[exercise.kind]
        solution = static_check_lab(exercise.solution_files[main], exercise)
        starter = static_check_lab(exercise.starter_files[main], exercise)
        if exercise.slug == "compose-healthy-start":
            # Its checks are all about what runs: nothing to judge from the text.
            assert (solution.score, solution.status, starter.score) == (None, "ungraded", None)
            continue
        assert solution.score == 100, (exercise.slug, solution.messages)
        assert starter.score is not None and starter.score < 100, (exercise.slug, starter.messages)


def test_a_lab_the_sandbox_would_refuse_scores_nothing(shipped_course):
    exercise = Exercise.objects.get(slug="restart-on-failure")
    outcome = static_check_lab("docker run -d --name flaky --privileged busybox:latest true\n", exercise)
    assert outcome.score == 0
    assert outcome.messages == [
        "✗ commands.sh, line 1: docker run: --privileged gives a container every capability and the machine's "
        "devices; it is never allowed in the sandbox (the sandbox would not run this)"
    ]


def start_lab_mock(client, slug: str) -> MockInterview:
    response = client.post(reverse("practice_mock_start"), {"count": 5, "minutes": 10, "exercise": slug})
    assert response.status_code == 302
    mock = MockInterview.objects.latest("started_at")
    for number, pk in enumerate(mock.questions, start=1):
        client.post(reverse("practice_mock_question", args=[mock.public_id, number]), {"question": pk, "skip": "1"})
    return mock


def test_a_visitor_hands_in_commands_and_gets_the_static_score_in_the_report(client, shipped_course):
    mock = start_lab_mock(client, "restart-on-failure")
    url = reverse("practice_mock_challenge", args=[mock.public_id])
    page = client.get(url).content.decode()
    assert '<label for="dockerfile">commands.sh</label>' in page
    assert "Hand in commands.sh" in page and "Sign up to have your lab run in the sandbox." in page
    assert "docker run -d --name flaky busybox:1.35" in page  # the starter, ready to edit
    solution = Exercise.objects.get(slug="restart-on-failure").solution_files["commands.sh"]
    response = client.post(url, {"dockerfile": solution})
    assert response["Location"] == reverse("practice_mock_report", args=[mock.public_id])
    report = client.get(response["Location"]).content.decode()
    assert "Lab challenge: Restart a failing job, three times at most" in report
    assert 'data-testid="challenge-score">100%' in report
    assert "✓ flaky restarts on failure, at most 3 times: the container flaky: restart policy on-failure:3." in report
    assert (
        "Static checks only: the lab was not run. Sign up to have your lab run in the sandbox. The other check looks "
        "at what the lab leaves running, which only the sandbox can do."
    ) in report


def test_a_learners_compose_file_goes_to_the_sandbox_with_the_labs_other_files(
    client, shipped_course, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued: list[int] = []
    monkeypatch.setattr("sandbox.submissions.enqueue", lambda submission: enqueued.append(submission.pk))
    client.force_login(make_user())
    mock = start_lab_mock(client, "compose-web-and-redis")
    exercise = Exercise.objects.get(slug="compose-web-and-redis")
    url = reverse("practice_mock_challenge", args=[mock.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"dockerfile": exercise.solution_files["compose.yaml"]})
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert enqueued == [submission.pk]
    assert submission.files == {**exercise.starter_files, "compose.yaml": exercise.solution_files["compose.yaml"]}
    assert MockInterview.objects.get(pk=mock.pk).submission_id == submission.pk
