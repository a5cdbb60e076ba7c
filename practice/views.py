"""Practice pages: quizzes, flashcards and timed mock interviews, for visitors and signed-in learners alike.

Each view parses the request, checks who may see what, and calls one function of the practice modules.
Input that cannot be accepted (`PracticeError`) is answered with HTTP 400 and the reason; nothing is scored.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox.labs.plan import MAIN_FILES, kind_of

from . import quiz, report
from .challenge import SIGN_UP_FOR_LAB, SIGN_UP_FOR_SANDBOX, submit_challenge_static, submit_challenge_to_sandbox
from .flashcards import next_flashcard, review_flashcard
from .learner_input import BadAnswer, PracticeError
from .mock import (
    TimeUp,
    answer_mock,
    can_use_mock,
    finish_mock,
    mock_is_over,
    mock_next_step,
    mock_step,
    seconds_left,
    start_mock,
)
from .models import MockInterview
from .overview import practice_overview
from .scheduling import describe_delay
from .stores import PracticeStore, store_for


def _store(request: HttpRequest) -> PracticeStore:
    return store_for(request.user, request.session)


def _refuse(request: HttpRequest, error: PracticeError, back: str | None = None) -> HttpResponse:
    context = {"message": error.message, "back": back or reverse("practice")}
    return render(request, "practice/error.html", context, status=400)


@require_GET
def hub(request: HttpRequest) -> HttpResponse:
    preselected = request.GET.getlist("lessons")
    overview = practice_overview(_store(request), request.user, request.session, preselected)
    return render(request, "practice/hub.html", {"overview": overview})


# Quizzes ------------------------------------------------------------------------------------------------


@require_POST
def quiz_start(request: HttpRequest) -> HttpResponse:
    try:
        quiz_id = quiz.start_quiz(request.session, request.POST.getlist("lessons"), request.POST.get("count"))
    except PracticeError as error:
        return _refuse(request, error)
    return redirect("practice_quiz_question", quiz_id=quiz_id, number=1)


@require_http_methods(["GET", "POST"])
def quiz_question(request: HttpRequest, quiz_id: str, number: int) -> HttpResponse:
    here = reverse("practice_quiz_question", args=[quiz_id, number])
    error = None
    try:
        if request.method == "POST":
            try:
                quiz.answer_quiz(_store(request), request.session, quiz_id, number, request.POST)
                # Post/redirect/get: reloading the feedback page must not send the answer again.
                return redirect(here)
            except BadAnswer as bad:
                error = bad.message
        step = quiz.quiz_step(request.session, quiz_id, number)
    except PracticeError as refused:
        return _refuse(request, refused)
    context = {"step": step, "quiz_id": quiz_id, "action": here, "error": error}
    return render(request, "practice/quiz_question.html", context, status=400 if error else 200)


@require_GET
def quiz_summary(request: HttpRequest, quiz_id: str) -> HttpResponse:
    try:
        summary = quiz.quiz_summary(request.session, quiz_id)
    except PracticeError as error:
        return _refuse(request, error)
    return render(request, "practice/quiz_summary.html", {"summary": summary})


# Flashcards ---------------------------------------------------------------------------------------------


@require_GET
def flashcards(request: HttpRequest) -> HttpResponse:
    lessons = request.GET.getlist("lesson")
    try:
        deck = next_flashcard(_store(request), request.session, lessons)
    except PracticeError as error:
        return _refuse(request, error)
    return render(request, "practice/flashcards.html", {"deck": deck, "lessons": lessons})


@require_POST
def flashcard_review(request: HttpRequest) -> HttpResponse:
    try:
        state = review_flashcard(_store(request), request.session, request.POST)
    except PracticeError as error:
        return _refuse(request, error, back=reverse("practice_flashcards"))
    delay = describe_delay(state.due - timezone.now())
    messages.info(request, f"Scheduled: you will see that card again in {delay}.")
    lessons = request.POST.getlist("lesson")
    return redirect(
        reverse("practice_flashcards") + (f"?{urlencode({'lesson': lessons}, doseq=True)}" if lessons else "")
    )


# Mock interviews ----------------------------------------------------------------------------------------


def _mock_for(request: HttpRequest, mock_id) -> MockInterview:
    mock = get_object_or_404(MockInterview.objects.select_related("exercise__lesson"), public_id=mock_id)
    if not can_use_mock(mock, request.user, request.session):
        # The same answer as for a missing interview: another learner's interview reveals nothing.
        raise Http404("No such interview.")
    return mock


def _to_step(mock: MockInterview) -> HttpResponse:
    step = mock_next_step(mock)
    if step == "report":
        return redirect("practice_mock_report", mock_id=mock.public_id)
    if step == "challenge":
        return redirect("practice_mock_challenge", mock_id=mock.public_id)
    return redirect("practice_mock_question", mock_id=mock.public_id, number=step)


def _time_up(request: HttpRequest, mock: MockInterview, error: TimeUp) -> HttpResponse:
    messages.warning(request, error.message)
    return redirect("practice_mock_report", mock_id=mock.public_id)


@require_POST
def mock_start(request: HttpRequest) -> HttpResponse:
    post = request.POST
    try:
        mock = start_mock(
            request.user, request.session, post.get("count"), post.get("minutes"), post.get("exercise", "")
        )
    except PracticeError as error:
        return _refuse(request, error)
    return _to_step(mock)


@require_GET
def mock_detail(request: HttpRequest, mock_id) -> HttpResponse:
    return _to_step(_mock_for(request, mock_id))


@require_http_methods(["GET", "POST"])
def mock_question(request: HttpRequest, mock_id, number: int) -> HttpResponse:
    mock = _mock_for(request, mock_id)
    here = reverse("practice_mock_question", args=[mock.public_id, number])
    error = None
    try:
        if request.method == "POST":
            try:
                mock = answer_mock(_store(request), mock, number, request.POST)
                step = mock_step(mock, number)
                # A text answer waits on this page for the learner's verdict; anything else moves on.
                return redirect(here) if step.state == "assess" else _to_step(mock)
            except BadAnswer as bad:
                error = bad.message
        elif mock_is_over(mock):
            return redirect("practice_mock_report", mock_id=mock.public_id)
        step = mock_step(mock, number)
    except TimeUp as late:
        return _time_up(request, mock, late)
    except PracticeError as refused:
        return _refuse(request, refused, back=mock.get_absolute_url())
    if step.state == "answered" and not error:
        return _to_step(mock)
    context = {"step": step, "mock": mock, "action": here, "error": error, **_clock(mock)}
    return render(request, "practice/mock_question.html", context, status=400 if error else 200)


def _clock(mock: MockInterview) -> dict:
    left = seconds_left(mock)
    return {
        "seconds_left": left,
        "clock_text": f"{left // 60}:{left % 60:02d}",
        "report_url": reverse("practice_mock_report", args=[mock.public_id]),
    }


@require_http_methods(["GET", "POST"])
def mock_challenge(request: HttpRequest, mock_id) -> HttpResponse:
    mock = _mock_for(request, mock_id)
    if mock.exercise is None or mock_next_step(mock) != "challenge":
        return _to_step(mock)
    error = None
    if request.method == "POST":
        try:
            if not request.user.is_authenticated:
                mock = submit_challenge_static(mock, request.POST)
            else:
                mock = submit_challenge_to_sandbox(mock, request.user, request.POST)
            return _to_step(mock)
        except TimeUp as late:
            return _time_up(request, mock, late)
        except BadAnswer as bad:
            error = bad.message
        except PracticeError as refused:
            return _refuse(request, refused, back=mock.get_absolute_url())
    starter = dict(mock.exercise.starter_files or {})
    main = MAIN_FILES[kind_of(mock.exercise)]
    context = {
        "mock": mock,
        "exercise": mock.exercise,
        "main_file": main,
        "is_lab": main != "Dockerfile",
        "dockerfile": request.POST.get("dockerfile") or starter.pop(main, ""),
        "other_files": {name: text for name, text in starter.items() if name != main},
        "error": error,
        "sign_up_message": SIGN_UP_FOR_SANDBOX if main == "Dockerfile" else SIGN_UP_FOR_LAB,
        **_clock(mock),
    }
    return render(request, "practice/mock_challenge.html", context, status=400 if error else 200)


@require_POST
def mock_finish(request: HttpRequest, mock_id) -> HttpResponse:
    mock = finish_mock(_mock_for(request, mock_id))
    return redirect("practice_mock_report", mock_id=mock.public_id)


@require_GET
def mock_report(request: HttpRequest, mock_id) -> HttpResponse:
    mock = _mock_for(request, mock_id)
    if not mock_is_over(mock):
        return _to_step(mock)
    return render(request, "practice/mock_report.html", {"report": report.mock_report(mock)})
