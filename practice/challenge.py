"""A mock interview's hands-on challenge: a Dockerfile, or a lab (commands.sh or compose.yaml).

A visitor who is not signed in gets the sandbox's static checks (no build, no run); a signed-in learner's
file is submitted to the sandbox and built and run like any exercise. The form's field is called `dockerfile`
for every kind; it holds the text of the exercise's main file. The interview's answer is exactly the submission
its own hand-in created, bound to it in the same transaction: a submission made any other way (say, several
tries through the workspace API, to pick the best) can never be handed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from lessons.models import Exercise
from sandbox.files import SubmissionRejected
from sandbox.grading import build_secret_ids, lint_dockerfile
from sandbox.grading.lab_preview import preview_verdicts
from sandbox.grading.outcome import CheckError
from sandbox.grading.spec import STATIC, phase_of
from sandbox.grading.static import DockerfileSource, run_static_check
from sandbox.labs.plan import LAB_KINDS, MAIN_FILES, kind_of, lab_plan, text_files
from sandbox.models import Submission
from sandbox.submissions import RateLimited, submit

from .learner_input import BadAnswer, PracticeError, form_values
from .mock import TimeUp, finish_if_done, mock_is_over
from .models import MockInterview

MAX_DOCKERFILE_BYTES = 256 * 1024
SIGN_UP_FOR_SANDBOX = "Sign up to have your Dockerfile built and run in the sandbox."
SIGN_UP_FOR_LAB = "Sign up to have your lab run in the sandbox."


@dataclass
class ChallengeOutcome:
    """The Dockerfile challenge's result: a 0-100 score, or None while it is building or cannot be graded."""

    score: int | None
    status: str  # "not-attempted", "building", "graded", "ungraded"
    messages: list[str] = field(default_factory=list)
    note: str = ""
    submission_id: int | None = None


def challenge_files(exercise: Exercise, text: str) -> dict[str, str]:
    """The exercise's starter files with the learner's text in its main file (the only file the learner edits)."""
    return {**(exercise.starter_files or {}), MAIN_FILES[kind_of(exercise)]: text}


def _check_dockerfile_text(value: object, name: str = "Dockerfile") -> str:
    shown = "a Dockerfile" if name == "Dockerfile" else name
    if not isinstance(value, str) or not value.strip():
        raise BadAnswer(f"Write {shown} first.")
    if len(value.encode("utf-8")) > MAX_DOCKERFILE_BYTES:
        raise BadAnswer(
            f"{'The Dockerfile' if name == 'Dockerfile' else name} must be under {MAX_DOCKERFILE_BYTES // 1024} KiB."
        )
    return value


def _lint_line(finding: dict) -> str:
    rule = finding.get("rule") or finding.get("code") or ""
    where = f"line {finding['line']}: " if finding.get("line") else ""
    return f"{where}{rule}: {finding.get('message', '')}" if rule else f"{where}{finding.get('message', '')}"


def _static_verdicts(exercise: Exercise, text: str) -> list[tuple[str, bool, str, int]]:
    """The exercise's own static checks (Dockerfile text only, no Docker) as (title, passed, message, points).

    Checks that could not run (e.g. hadolint missing) are left out rather than counted against the learner.
    """
    checks = [c for c in (exercise.spec or {}).get("checks") or [] if isinstance(c, dict) and c.get("type")]
    static = [c for c in checks if _is_static(c)]
    rules = [rule for check in static if check["type"] == "lint" for rule in check.get("rules", [])]
    source = DockerfileSource(text, rules)
    verdicts = []
    for check in static:
        try:
            outcome = run_static_check(check, source)
        except CheckError:
            continue
        title = check.get("title") or check["type"]
        verdicts.append((title, outcome.passed, outcome.message, int(check.get("points", 1))))
    return verdicts


def _is_static(check: dict) -> bool:
    try:
        return phase_of(check) == STATIC
    except KeyError:
        return False


def static_check_dockerfile(text: str, exercise: Exercise | None = None) -> ChallengeOutcome:
    """Grade a Dockerfile without building it, for visitors who are not signed in.

    The score is the share of the exercise's static checks that pass (sandbox.grading's own checks);
    a Dockerfile the sandbox would refuse to build (syntax error, image outside the catalog) scores 0.
    Lint findings from `sandbox.grading.lint_dockerfile` are listed as advice. If the grader cannot run,
    the challenge is left ungraded rather than guessed.
    """
    note = f"Static checks only: the Dockerfile was not built or run. {SIGN_UP_FOR_SANDBOX}"
    try:
        secret_ids = build_secret_ids(exercise.spec) if exercise is not None else []
        findings = [f for f in lint_dockerfile(text, secret_ids) or [] if isinstance(f, dict)]
        verdicts = _static_verdicts(exercise, text) if exercise is not None else []
    except Exception as error:  # noqa: BLE001 - a bug in the grader must not cost the learner their report
        return ChallengeOutcome(None, "ungraded", [f"The static checks could not run: {error}"], SIGN_UP_FOR_SANDBOX)
    refused = [f for f in findings if f.get("rule") in {"syntax", "sandbox"} and f.get("level") == "error"]
    advice = [_lint_line(f) for f in findings if f.get("level") in {"error", "warning"} and f not in refused]
    messages = [f"✗ {_lint_line(f)} (the sandbox would not build this)" for f in refused]
    messages += [f"{'✓' if passed else '✗'} {title}: {message}" for title, passed, message, _ in verdicts]
    messages += [f"Lint: {line}" for line in advice]
    if refused:
        return ChallengeOutcome(0, "graded", messages, note)
    if verdicts:
        total = sum(points for *_, points in verdicts)
        earned = sum(points for _, passed, _, points in verdicts if passed)
        score = round(100 * earned / total) if total else 100
    else:
        # No static checks in this exercise: judge by the lint errors and warnings alone.
        errors = sum(1 for f in findings if f.get("level") == "error")
        score = max(0, 100 - 25 * errors - 10 * (len(advice) - errors))
    return ChallengeOutcome(score, "graded", messages or ["No problems found by the static checks."], note)


def static_check_lab(text: str, exercise: Exercise) -> ChallengeOutcome:
    """Grade a lab without running it, for visitors who are not signed in.

    A lab the sandbox would refuse scores 0. Otherwise the score is the share of its `container-config` checks
    that the text already satisfies (sandbox.grading.lab_preview); the checks of what is running need the
    sandbox and are left out. A lab with no such checks is left ungraded rather than guessed.
    """
    kind = kind_of(exercise)
    note = f"Static checks only: the lab was not run. {SIGN_UP_FOR_LAB}"
    files = challenge_files(exercise, text)
    try:
        plan = lab_plan(kind, files)
        judged, left = preview_verdicts(exercise.spec or {}, kind, plan, text_files(files))
    except SubmissionRejected as refused:
        return ChallengeOutcome(0, "graded", [f"✗ {refused.message} (the sandbox would not run this)"], note)
    except Exception as error:  # noqa: BLE001 - a bug in the grader must not cost the learner their report
        return ChallengeOutcome(None, "ungraded", [f"The static checks could not run: {error}"], SIGN_UP_FOR_LAB)
    messages = [f"{'✓' if outcome.passed else '✗'} {check['title']}: {outcome.message}" for check, outcome in judged]
    if left:
        others = "The other check looks" if left == 1 else f"The other {left} checks look"
        note += f" {others} at what the lab leaves running, which only the sandbox can do."
    if not judged:
        return ChallengeOutcome(None, "ungraded", ["Nothing in it that the sandbox would refuse."], note)
    total = sum(int(check.get("points", 1)) for check, _ in judged)
    earned = sum(int(check.get("points", 1)) for check, outcome in judged if outcome.passed)
    return ChallengeOutcome(round(100 * earned / total) if total else 100, "graded", messages, note)


def submit_challenge_static(mock: MockInterview, data: Mapping) -> MockInterview:
    """An anonymous visitor's Dockerfile (or lab): static checks now, kept on the interview."""
    main = MAIN_FILES[kind_of(mock.exercise)]
    text = _check_dockerfile_text((form_values(data, "dockerfile") or [None])[0], main)
    if mock_is_over(mock):
        raise TimeUp.for_mock(mock, "a Dockerfile")
    # The checks run before the interview is locked: hadolint may take seconds.
    if kind_of(mock.exercise) in LAB_KINDS:
        outcome = static_check_lab(text, mock.exercise)
    else:
        outcome = static_check_dockerfile(text, mock.exercise)
    with transaction.atomic():
        mock = _lock_for_hand_in(mock)
        _record_hand_in(mock, {"score": outcome.score, "messages": outcome.messages, "note": outcome.note})
    return mock


def _lock_for_hand_in(mock: MockInterview) -> MockInterview:
    """The interview, locked until the transaction ends, if its Dockerfile may still be handed in."""
    mock = MockInterview.objects.select_for_update().get(pk=mock.pk)
    if mock_is_over(mock):
        raise TimeUp.for_mock(mock, "a Dockerfile")
    if mock.exercise_id is None:
        raise PracticeError("This interview has no Dockerfile challenge.")
    if mock.submission_id is not None or mock.challenge_result:
        raise PracticeError("The Dockerfile for this interview has already been handed in.")
    return mock


def _record_hand_in(mock: MockInterview, result: dict, submission_id: int | None = None) -> None:
    now = timezone.now()
    mock.challenge_result = {**result, "at": now.isoformat()}
    mock.submission_id = submission_id
    finish_if_done(mock, now)
    mock.save(update_fields=["challenge_result", "submission_id", "finished_at"])


def refuse_outside_submission(data: Mapping) -> None:
    """A hand-in that names a submission instead of carrying the Dockerfile is refused: the interview counts
    only the build its own hand-in makes."""
    if form_values(data, "submission_id"):
        raise PracticeError(
            "Hand in the Dockerfile itself, from this page. A build made elsewhere cannot be this interview's answer."
        )


def submit_challenge_to_sandbox(mock: MockInterview, user, data: Mapping) -> MockInterview:
    """A signed-in learner's Dockerfile goes to the sandbox from the server, and that submission, and only that
    one, becomes the interview's answer.

    It goes through `sandbox.submissions.submit`, the function behind `POST /api/submissions/`, so the same
    validation and rate limits apply. The interview is locked while the submission is made and bound to it, so
    two hand-ins at once cannot both count; the build is queued only when that transaction commits.
    """
    refuse_outside_submission(data)
    text = _check_dockerfile_text((form_values(data, "dockerfile") or [None])[0], MAIN_FILES[kind_of(mock.exercise)])
    with transaction.atomic():
        mock = _lock_for_hand_in(mock)
        try:
            submission = submit(user, mock.exercise, challenge_files(mock.exercise, text))
        except SubmissionRejected as error:
            raise BadAnswer(error.message) from None
        except RateLimited as error:
            raise BadAnswer(error.message) from None
        _record_hand_in(mock, {"via": "sandbox"}, submission_id=submission.pk)
    return mock


def challenge_outcome(mock: MockInterview) -> ChallengeOutcome:
    if mock.exercise_id is None:
        return ChallengeOutcome(None, "none")
    if mock.submission_id is not None:
        # Only the interview's own learner's build for its own exercise counts, whatever the row says.
        submission = Submission.objects.filter(
            pk=mock.submission_id, user_id=mock.user_id, exercise_id=mock.exercise_id
        ).first()
        if submission is None:
            return ChallengeOutcome(None, "ungraded", note="The sandbox submission is gone.")
        if not submission.is_finished:
            return ChallengeOutcome(
                None,
                "building",
                submission_id=submission.pk,
                note="Your Dockerfile is being built and checked in the sandbox.",
            )
        messages = [submission.message] if submission.message else []
        return ChallengeOutcome(submission.score or 0, "graded", messages, submission_id=submission.pk)
    if mock.challenge_result:
        result = mock.challenge_result
        status = "graded" if result.get("score") is not None else "ungraded"
        return ChallengeOutcome(result.get("score"), status, list(result.get("messages", [])), result.get("note", ""))
    return ChallengeOutcome(0, "not-attempted", note="No Dockerfile was handed in before the end.")
