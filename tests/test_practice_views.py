"""Practice pages over HTTP: quiz flow, flashcards, mock interviews, tampering, and merging on log-in."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lessons.models import Lesson, Question
from practice import challenge
from practice.answers import inline_html, option_tokens, order_tokens
from practice.models import Card, MockInterview, PracticeAttempt
from practice.stores import SESSION_KEY
from sandbox.models import Submission

from .conftest import make_user
from .practice_helpers import build_practice_course, question

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(tmp_path):
    build_practice_course(tmp_path)


def start_quiz(client, lessons=("images",), count=3) -> str:
    response = client.post(reverse("practice_quiz_start"), {"lessons": list(lessons), "count": count})
    assert response.status_code == 302, response.content.decode()
    return re.search(r"/practice/quiz/([\w-]+)/1/$", response["Location"]).group(1)


def quiz_questions(client, quiz_id: str) -> list[int]:
    return client.session[SESSION_KEY]["quizzes"][quiz_id]["questions"]


def number_of(client, quiz_id: str, key: str) -> int:
    return quiz_questions(client, quiz_id).index(question(key).pk) + 1


def chosen(key: str, salt: str, indexes: list[int]) -> dict:
    """The form a browser sends when the learner ticks these options (by their written index)."""
    tokens = option_tokens(question(key), salt)
    return {"answer": [tokens[index] for index in indexes]}


def answer(client, quiz_id: str, key: str, options: list[int] | None = None, **fields):
    number = number_of(client, quiz_id, key)
    url = reverse("practice_quiz_question", args=[quiz_id, number])
    if options is not None:
        fields.update(chosen(key, quiz_id, options))
    return client.post(url, {"question": question(key).pk, **fields})


def session_attempts(client) -> list:
    return client.session.get(SESSION_KEY, {}).get("attempts", [])


# Pages ---------------------------------------------------------------------------------------------------


def test_the_nav_links_to_practice(client, course):
    assert f'href="{reverse("practice")}"' in client.get(reverse("home")).content.decode()


def test_the_practice_page_offers_the_three_modes_to_a_visitor(client, course):
    page = client.get(reverse("practice")).content.decode()
    assert "Start the quiz" in page and "Study flashcards" in page and "Start the mock interview" in page
    assert 'value="images"' in page and "Your first Dockerfile" in page
    assert "css/practice.css" in page


def test_the_practice_page_preselects_lessons_from_the_query(client, course):
    page = client.get(reverse("practice") + "?lessons=caching").content.decode()
    assert 'value="caching" checked' in page and 'value="images" checked' not in page


# Quiz ----------------------------------------------------------------------------------------------------


def test_a_quiz_asks_questions_only_from_the_chosen_lessons(client, course):
    quiz_id = start_quiz(client, ["caching"], count=10)
    keys = {q.key for q in map(lambda pk: question_by_pk(pk), quiz_questions(client, quiz_id))}
    assert keys == {"caching/spot-root", "caching/cache-order"}


def question_by_pk(pk):
    return Question.objects.get(pk=pk)


def test_a_right_answer_gets_instant_feedback_with_the_explanation_and_a_section_link(client, course):
    quiz_id = start_quiz(client)
    response = answer(client, quiz_id, "images/image-vs-container", options=[0])
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "✓ Right." in page
    assert "A container is an image plus a writable layer" in page
    assert 'href="/lessons/images/#first-section"' in page
    assert session_attempts(client)[0]["c"] is True


def test_a_wrong_answer_shows_the_learners_answer_and_the_right_one(client, course):
    quiz_id = start_quiz(client)
    response = answer(client, quiz_id, "images/valid-cmds", options=[0, 1])
    page = client.get(response["Location"]).content.decode()
    assert "✗ Not quite." in page
    assert "Your answer" in page and "CMD python app.py" in page
    assert session_attempts(client)[0]["c"] is False


def test_a_text_question_is_self_assessed_after_seeing_the_model_answer(client, course):
    quiz_id = start_quiz(client)
    key = "images/vm-vs-container"
    response = answer(client, quiz_id, key, answer="It shares the host kernel.")
    page = client.get(response["Location"]).content.decode()
    assert "Model answer" in page and "you seem to mention it" in page and "I got it" in page
    assert session_attempts(client) == []  # nothing counts until the learner's verdict
    answer(client, quiz_id, key, verdict="got")
    assert session_attempts(client)[0]["c"] is True
    page = client.get(response["Location"]).content.decode()
    assert "✓ Right." in page


def test_a_signed_in_learners_answers_are_recorded_in_the_database(client, course):
    user = make_user()
    client.force_login(user)
    quiz_id = start_quiz(client, ["caching"], count=2)
    answer(client, quiz_id, "caching/spot-root", answer="3")
    attempt = PracticeAttempt.objects.get(user=user)
    assert (attempt.question.key, attempt.correct, attempt.mode) == ("caching/spot-root", True, "quiz")


def test_an_order_question_is_answered_with_tokens_and_graded(client, course):
    quiz_id = start_quiz(client, ["caching"], count=2)
    key = "caching/cache-order"
    tokens = order_tokens(question(key), quiz_id)
    fields = {f"position-{token}": str(place) for place, token in enumerate(tokens, start=1)}
    answer(client, quiz_id, key, **fields)
    assert session_attempts(client)[0]["c"] is True


def test_the_order_question_page_does_not_give_the_answer_away(client, course):
    quiz_id = start_quiz(client, ["caching"], count=2)
    key = "caching/cache-order"
    number = number_of(client, quiz_id, key)
    page = client.get(reverse("practice_quiz_question", args=[quiz_id, number])).content.decode()
    items = question(key).data["items"]
    shown = [page.index(item) for item in items]
    assert shown != sorted(shown), "the items must not be shown in the right order"
    tokens = re.findall(r'name="position-([0-9a-f]+)"', page)
    assert sorted(tokens) == sorted(order_tokens(question(key), quiz_id))
    # Each item starts at its shown position, so the preselected positions do not reveal anything either.
    assert re.findall(r'<option value="(\d)" selected>', page) == ["1", "2", "3", "4"]


def test_the_quiz_summary_scores_each_topic_and_links_to_review(client, course):
    quiz_id = start_quiz(client, ["images", "caching"], count=5)
    answer(client, quiz_id, "images/image-vs-container", options=[0])
    answer(client, quiz_id, "caching/spot-root", answer="1")
    page = client.get(reverse("practice_quiz", args=[quiz_id])).content.decode()
    assert "1/2" in page
    assert "Images and containers" in page and "strong" in page
    assert "Layer caching" in page and "review" in page and "/lessons/caching/#first-section" in page


# Tampering -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"answer": "7"}, "no such option"),
        # The written index of the right option is not its identity either: only its token is.
        ({"answer": "0"}, "no such option"),
        ({"answer": "first"}, "no such option"),
        ({"answer": "0123456789abcdef"}, "no such option"),
        ({"answer": ["0", "1"]}, "exactly one"),
        ({}, "Choose one"),
    ],
)
def test_a_tampered_choice_answer_is_refused_with_400_and_scores_nothing(client, course, fields, message):
    quiz_id = start_quiz(client)
    response = answer(client, quiz_id, "images/image-vs-container", **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert session_attempts(client) == []


def test_answering_a_question_that_was_not_asked_at_this_step_is_refused(client, course):
    quiz_id = start_quiz(client, ["images"], count=3)
    not_asked = question("caching/spot-root")
    url = reverse("practice_quiz_question", args=[quiz_id, 1])
    response = client.post(url, {"question": not_asked.pk, "answer": "3"})
    assert response.status_code == 400
    assert "not asked" in response.content.decode()
    assert session_attempts(client) == []


@pytest.mark.parametrize("question_field", ["", "abc", "999999"])
def test_a_missing_or_made_up_question_id_is_refused(client, course, question_field):
    quiz_id = start_quiz(client)
    response = client.post(reverse("practice_quiz_question", args=[quiz_id, 1]), {"question": question_field})
    assert response.status_code == 400
    assert session_attempts(client) == []


def test_answering_the_same_question_twice_is_refused(client, course):
    quiz_id = start_quiz(client)
    answer(client, quiz_id, "images/image-vs-container", options=[1])
    response = answer(client, quiz_id, "images/image-vs-container", options=[0])
    assert response.status_code == 400
    assert "already been answered" in response.content.decode()
    assert [a["c"] for a in session_attempts(client)] == [False]


def test_an_unknown_quiz_or_step_is_refused(client, course):
    assert client.get(reverse("practice_quiz_question", args=["not-a-quiz", 1])).status_code == 400
    quiz_id = start_quiz(client)
    assert client.get(reverse("practice_quiz_question", args=[quiz_id, 9])).status_code == 400


def test_another_visitors_quiz_cannot_be_answered(client, course, django_user_model):
    quiz_id = start_quiz(client)
    stranger = Client()
    response = stranger.post(reverse("practice_quiz_question", args=[quiz_id, 1]), {"question": "1", "answer": "0"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "fields", [{"lessons": ["no-such-lesson"], "count": 5}, {"count": "lots"}, {"count": 0}, {"count": 500}]
)
def test_starting_a_quiz_with_bad_settings_is_refused(client, course, fields):
    response = client.post(reverse("practice_quiz_start"), fields)
    assert response.status_code == 400
    assert SESSION_KEY not in client.session or not client.session[SESSION_KEY].get("quizzes")


def test_a_forged_order_token_is_refused(client, course):
    quiz_id = start_quiz(client, ["caching"], count=2)
    key = "caching/cache-order"
    tokens = order_tokens(question(key), "someone-elses-quiz")
    response = answer(client, quiz_id, key, **{f"position-{t}": str(i) for i, t in enumerate(tokens, start=1)})
    assert response.status_code == 400
    assert session_attempts(client) == []


def test_a_verdict_before_a_text_answer_is_refused(client, course):
    quiz_id = start_quiz(client)
    response = answer(client, quiz_id, "images/vm-vs-container", verdict="got")
    assert response.status_code == 400
    assert session_attempts(client) == []


# Flashcards ----------------------------------------------------------------------------------------------


def shown_card(client) -> int:
    page = client.get(reverse("practice_flashcards")).content.decode()
    return int(re.search(r'name="question" value="(\d+)"', page).group(1))


def test_a_flashcard_session_shows_a_card_and_reschedules_it_after_rating(client, course):
    user = make_user()
    client.force_login(user)
    page = client.get(reverse("practice_flashcards")).content.decode()
    assert "Show answer" in page and "Good" in page and "0 due now · 5 new" in page
    card_id = shown_card(client)
    response = client.post(reverse("practice_flashcard_review"), {"question": card_id, "rating": "good"})
    assert response.status_code == 302
    card = Card.objects.get(user=user, question_id=card_id)
    assert card.interval == 1 and card.due > timezone.now() + timedelta(hours=23)
    assert "see that card again in 1 day" in client.get(response["Location"]).content.decode()


def test_rating_a_card_that_was_not_shown_is_refused(client, course):
    other = question("caching/spot-root").pk
    response = client.post(reverse("practice_flashcard_review"), {"question": other, "rating": "good"})
    assert response.status_code == 400
    assert "not shown" in response.content.decode()


@pytest.mark.parametrize("rating", ["perfect", "", "5"])
def test_an_unknown_rating_is_refused(client, course, rating):
    card_id = shown_card(client)
    response = client.post(reverse("practice_flashcard_review"), {"question": card_id, "rating": rating})
    assert response.status_code == 400
    assert not client.session[SESSION_KEY].get("cards")


def test_flashcards_filtered_to_an_unknown_lesson_are_refused(client, course):
    assert client.get(reverse("practice_flashcards") + "?lesson=nope").status_code == 400


# Anonymous practice is kept on log-in and sign-up ---------------------------------------------------------


def practise_anonymously(client) -> MockInterview:
    quiz_id = start_quiz(client)
    answer(client, quiz_id, "images/image-vs-container", options=[0])
    answer(client, quiz_id, "images/valid-cmds", options=[0])
    card_id = shown_card(client)
    client.post(reverse("practice_flashcard_review"), {"question": card_id, "rating": "easy"})
    client.post(reverse("practice_mock_start"), {"count": 5, "minutes": 10})
    return MockInterview.objects.get()


def test_an_anonymous_visitors_practice_is_saved_to_the_account_on_log_in(client, course):
    user = make_user("grace")
    mock = practise_anonymously(client)
    assert mock.user is None and not PracticeAttempt.objects.exists()
    response = client.post(reverse("login"), {"username": "grace", "password": "a-long-Passw0rd!"})
    assert response.status_code == 302
    attempts = PracticeAttempt.objects.filter(user=user).order_by("answered_at")
    assert [(a.question.key, a.correct, a.mode) for a in attempts] == [
        ("images/image-vs-container", True, "quiz"),
        ("images/valid-cmds", False, "quiz"),
        ("images/image-vs-container", True, "flashcard"),
    ]
    card = Card.objects.get(user=user)
    assert card.interval == 4
    mock.refresh_from_db()
    assert mock.user == user
    assert not client.session[SESSION_KEY].get("attempts") and not client.session[SESSION_KEY].get("cards")
    # The interview carries on under the account.
    assert client.get(mock.get_absolute_url()).status_code == 302


def test_an_anonymous_visitors_practice_is_saved_to_the_new_account_on_sign_up(client, course):
    practise_anonymously(client)
    client.post(
        reverse("signup"),
        {
            "username": "ada",
            "email": "ada@example.org",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
        },
    )
    assert PracticeAttempt.objects.filter(user__username="ada").count() == 3
    assert MockInterview.objects.get().user.username == "ada"


def test_merging_keeps_the_more_recently_reviewed_card(client, course):
    user = make_user("grace")
    card_id = shown_card(client)
    client.post(reverse("practice_flashcard_review"), {"question": card_id, "rating": "easy"})
    stale = timezone.now() - timedelta(days=30)
    Card.objects.create(user=user, question_id=card_id, interval=50, due=stale, last_reviewed_at=stale)
    client.post(reverse("login"), {"username": "grace", "password": "a-long-Passw0rd!"})
    assert Card.objects.get(user=user, question_id=card_id).interval == 4


def test_logging_in_twice_does_not_count_the_same_answers_twice(client, course):
    make_user("grace")
    practise_anonymously(client)
    client.post(reverse("login"), {"username": "grace", "password": "a-long-Passw0rd!"})
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": "grace", "password": "a-long-Passw0rd!"})
    assert PracticeAttempt.objects.count() == 3


# Mock interviews -----------------------------------------------------------------------------------------


def start_mock(client, **fields) -> MockInterview:
    response = client.post(reverse("practice_mock_start"), {"count": 5, "minutes": 10, **fields})
    assert response.status_code == 302, response.content.decode()
    return MockInterview.objects.latest("started_at")


def answer_mock(client, mock: MockInterview, key: str, options: list[int] | None = None, **fields):
    number = mock.questions.index(question(key).pk) + 1
    url = reverse("practice_mock_question", args=[mock.public_id, number])
    if options is not None:
        fields.update(chosen(key, str(mock.public_id), options))
    return client.post(url, {"question": question(key).pk, **fields})


def test_a_mock_interview_fixes_its_deadline_on_the_server_and_mixes_topics(client, course):
    before = timezone.now()
    mock = start_mock(client, minutes=20)
    assert timedelta(minutes=20) <= mock.deadline - before < timedelta(minutes=20, seconds=5)
    lessons = {question_by_pk(pk).lesson.slug for pk in mock.questions[:2]}
    assert lessons == {"images", "caching"}, "the first two questions come from different lessons"
    assert mock.exercise.slug == "first-dockerfile"
    page = client.get(client.get(mock.get_absolute_url())["Location"]).content.decode()
    assert "Time left" in page and 'data-seconds-left="' in page
    assert "✓ Right." not in page


def test_a_mock_interview_gives_no_feedback_until_the_report(client, course):
    mock = start_mock(client)
    response = answer_mock(client, mock, "images/image-vs-container", options=[0])
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Right." not in page and "A container is an image plus" not in page


def test_an_answer_after_the_deadline_is_not_counted(client, course):
    mock = start_mock(client)
    MockInterview.objects.filter(pk=mock.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    response = answer_mock(client, mock, "images/image-vs-container", options=[0])
    assert response.status_code == 302
    assert response["Location"] == reverse("practice_mock_report", args=[mock.public_id])
    mock.refresh_from_db()
    assert mock.answers == {}
    assert session_attempts(client) == []
    page = client.get(response["Location"]).content.decode()
    assert "answers sent after the deadline are not counted" in page
    assert "0/5" in page


def test_a_dockerfile_after_the_deadline_is_not_counted(client, course):
    mock = start_mock(client)
    for pk in mock.questions:
        mock.answers[str(pk)] = {"correct": True, "answer": None}
    mock.deadline = timezone.now() - timedelta(seconds=1)
    mock.save()
    response = client.post(
        reverse("practice_mock_challenge", args=[mock.public_id]), {"dockerfile": "FROM python:3.11-slim\n"}
    )
    assert response.status_code == 302
    mock.refresh_from_db()
    assert mock.challenge_result == {} and mock.submission_id is None


def answer_all_mock_questions(client, mock: MockInterview, right: set[str]) -> None:
    for pk in mock.questions:
        q = question_by_pk(pk)
        if q.key not in right:
            answer_mock(client, mock, q.key, skip="1")
        elif q.kind == "choice":
            answer_mock(client, mock, q.key, options=[0])
        elif q.kind == "multi":
            answer_mock(client, mock, q.key, options=[0, 2])
        elif q.kind == "text":
            answer_mock(client, mock, q.key, answer="shares the host kernel")
            answer_mock(client, mock, q.key, verdict="got")
        elif q.kind == "spot_bug":
            answer_mock(client, mock, q.key, answer="3")
        elif q.kind == "order":
            tokens = order_tokens(q, str(mock.public_id))
            answer_mock(client, mock, q.key, **{f"position-{t}": str(i) for i, t in enumerate(tokens, start=1)})


def test_an_anonymous_mock_ends_in_a_report_of_strengths_and_weak_topics(client, course):
    mock = start_mock(client)
    answer_all_mock_questions(
        client, mock, right={"images/image-vs-container", "images/valid-cmds", "images/vm-vs-container"}
    )
    response = client.get(mock.get_absolute_url())
    assert response["Location"] == reverse("practice_mock_challenge", args=[mock.public_id])
    challenge = client.get(response["Location"]).content.decode()
    assert "Sign up to have your Dockerfile built and run in the sandbox." in challenge
    dockerfile = 'FROM python:3.11-slim\nCOPY app.py .\nCMD ["python", "app.py"]\n'
    response = client.post(response["Location"], {"dockerfile": dockerfile})
    assert response["Location"] == reverse("practice_mock_report", args=[mock.public_id])
    report = client.get(response["Location"]).content.decode()
    assert "3/5" in report
    strengths = report[report.index('data-testid="strengths"') : report.index("Topics to review")]
    weak = report[report.index('data-testid="weak-topics"') :]
    assert "Images and containers" in strengths
    assert "Layer caching" in weak and "/lessons/caching/#first-section" in weak
    # The exercise's static checks: exec form passes, non-root user fails.
    assert "Static checks only" in report
    assert "✓ CMD uses the exec form" in report and "✗ The container runs as a non-root user" in report
    assert 'data-testid="challenge-score">50%' in report
    # 3 right of 5 questions, and the challenge counts as two questions: (3 + 2 x 0.5) / 7.
    assert 'data-testid="overall-score">57%' in report


def test_an_anonymous_dockerfile_is_left_ungraded_with_a_clear_message_when_static_checks_are_missing(
    client, course, monkeypatch
):
    def grader_missing(text: str, secret_ids=()) -> list[dict]:
        raise RuntimeError("the grader is not installed")

    monkeypatch.setattr(challenge, "lint_dockerfile", grader_missing)
    mock = start_mock(client)
    answer_all_mock_questions(client, mock, right=set())
    client.post(reverse("practice_mock_challenge", args=[mock.public_id]), {"dockerfile": "FROM busybox\n"})
    report = client.get(reverse("practice_mock_report", args=[mock.public_id])).content.decode()
    assert "The static checks could not run: the grader is not installed" in report
    assert 'data-testid="challenge-score">—<' in report
    assert "Sign up to have your Dockerfile built and run in the sandbox." in report
    assert 'data-testid="overall-score">0%' in report


def test_an_anonymous_dockerfile_the_sandbox_would_refuse_scores_nothing(client, course):
    mock = start_mock(client)
    answer_all_mock_questions(client, mock, right=set())
    client.post(reverse("practice_mock_challenge", args=[mock.public_id]), {"dockerfile": "FROM ubuntu:22.04\n"})
    report = client.get(reverse("practice_mock_report", args=[mock.public_id])).content.decode()
    assert 'data-testid="challenge-score">0%' in report
    assert "the sandbox would not build this" in report


@pytest.fixture
def enqueued(monkeypatch):
    """Record submissions sent to the build queue instead of reaching Celery."""
    sent: list[int] = []
    monkeypatch.setattr("sandbox.submissions.enqueue", lambda submission: sent.append(submission.pk))
    return sent


def test_without_javascript_a_signed_in_learners_dockerfile_goes_to_the_sandbox_from_the_server(
    client, course, enqueued, django_capture_on_commit_callbacks
):
    user = make_user()
    client.force_login(user)
    mock = start_mock(client)
    answer_all_mock_questions(client, mock, right=set())
    dockerfile = 'FROM python:3.11-slim\nCOPY app.py .\nCMD ["python", "app.py"]\n'
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("practice_mock_challenge", args=[mock.public_id]), {"dockerfile": dockerfile})
    assert response["Location"] == reverse("practice_mock_report", args=[mock.public_id])
    submission = Submission.objects.get(user=user)
    assert submission.exercise.slug == "first-dockerfile"
    assert submission.files == {"Dockerfile": dockerfile, "app.py": "print('hi')\n"}
    assert enqueued == [submission.pk]
    mock.refresh_from_db()
    assert mock.submission_id == submission.pk


def test_a_dockerfile_the_sandbox_refuses_is_shown_again_with_the_reason(client, course, enqueued):
    client.force_login(make_user())
    mock = start_mock(client)
    answer_all_mock_questions(client, mock, right=set())
    response = client.post(
        reverse("practice_mock_challenge", args=[mock.public_id]), {"dockerfile": "FROM ubuntu:22.04\n"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "ubuntu:22.04" in page and "FROM ubuntu:22.04" in page  # the reason, and the learner's text kept
    assert not Submission.objects.exists()


def test_a_signed_in_learners_sandbox_submission_counts_in_the_report_when_finished(client, course, enqueued):
    client.force_login(make_user())
    mock = start_mock(client)
    answer_all_mock_questions(client, mock, right=set())
    dockerfile = 'FROM python:3.11-slim\nCOPY app.py .\nCMD ["python", "app.py"]\n'
    response = client.post(reverse("practice_mock_challenge", args=[mock.public_id]), {"dockerfile": dockerfile})
    assert response["Location"] == reverse("practice_mock_report", args=[mock.public_id])
    submission = Submission.objects.get()
    report = client.get(response["Location"]).content.decode()
    assert "building…" in report and f'data-submission-poll="/api/submissions/{submission.pk}/"' in report
    Submission.objects.filter(pk=submission.pk).update(status="passed", score=80)
    report = client.get(response["Location"]).content.decode()
    assert 'data-testid="challenge-score">80%' in report
    assert 'data-testid="overall-score">23%' in report  # (0 + 2 x 0.8) / 7


def test_only_the_build_the_interviews_own_hand_in_made_is_its_answer(client, course, enqueued):
    """Several tries through the workspace API during the interview, to pick the best, count for nothing."""
    user = make_user()
    client.force_login(user)
    mock = start_mock(client)
    answer_all_mock_questions(client, mock, right=set())
    tries = [
        Submission.objects.create(user=user, exercise=mock.exercise, files={"Dockerfile": "FROM busybox\n"}, score=100,
                                  status="passed")
        for _ in range(3)
    ]  # fmt: skip
    url = reverse("practice_mock_challenge", args=[mock.public_id])
    for named in (tries[0].pk, tries[2].pk):
        refused = client.post(url, {"submission_id": named})
        assert refused.status_code == 400
        assert "Hand in the Dockerfile itself, from this page." in refused.content.decode()
    # Naming a try next to a Dockerfile does not make it count either.
    assert client.post(url, {"submission_id": tries[1].pk, "dockerfile": "FROM busybox\n"}).status_code == 400
    mock.refresh_from_db()
    assert (mock.submission_id, mock.challenge_result) == (None, {})

    assert client.post(url, {"dockerfile": "FROM python:3.11-slim\n"}).status_code == 302
    mock.refresh_from_db()
    own = Submission.objects.exclude(pk__in=[t.pk for t in tries]).get()
    assert mock.submission_id == own.pk and own.user == user and own.exercise == mock.exercise
    assert mock.challenge_result["via"] == "sandbox"
    Submission.objects.filter(pk=own.pk).update(status="failed", score=20)
    report = client.get(reverse("practice_mock_report", args=[mock.public_id])).content.decode()
    assert 'data-testid="challenge-score">20%' in report


def test_a_second_hand_in_is_refused_and_builds_nothing(client, course, enqueued):
    client.force_login(make_user())
    mock = start_mock(client, minutes=30)
    answer_all_mock_questions(client, mock, right=set())
    url = reverse("practice_mock_challenge", args=[mock.public_id])
    client.post(url, {"dockerfile": "FROM python:3.11-slim\n"})
    mock.refresh_from_db()
    bound = mock.submission_id
    MockInterview.objects.filter(pk=mock.pk).update(finished_at=None)
    with pytest.raises(challenge.PracticeError, match="already been handed in"):
        challenge.submit_challenge_to_sandbox(mock, mock.user, {"dockerfile": "FROM busybox:latest\n"})
    assert list(Submission.objects.values_list("pk", flat=True)) == [bound]
    mock.refresh_from_db()
    assert mock.submission_id == bound


def test_a_bound_submission_of_another_learner_or_exercise_never_counts(client, course, enqueued):
    client.force_login(make_user())
    mock = start_mock(client)
    theirs = Submission.objects.create(user=make_user("mallory"), exercise=mock.exercise, files={}, status="passed",
                                       score=100)  # fmt: skip
    MockInterview.objects.filter(pk=mock.pk).update(submission_id=theirs.pk, finished_at=timezone.now())
    mock.refresh_from_db()
    assert challenge.challenge_outcome(mock).status == "ungraded"


def test_a_mock_interview_answer_to_a_question_from_another_step_is_refused(client, course):
    mock = start_mock(client)
    url = reverse("practice_mock_question", args=[mock.public_id, 1])
    wrong = mock.questions[1]
    response = client.post(url, {"question": wrong, "answer": "0"})
    assert response.status_code == 400
    mock.refresh_from_db()
    assert mock.answers == {}


def test_someone_elses_mock_interview_is_not_found(client, course):
    mock = start_mock(client)
    stranger = Client()
    assert stranger.get(mock.get_absolute_url()).status_code == 404
    stranger.force_login(make_user())
    assert stranger.get(reverse("practice_mock_report", args=[mock.public_id])).status_code == 404


def test_finishing_early_shows_the_report_with_unanswered_questions_missed(client, course):
    mock = start_mock(client)
    answer_mock(client, mock, "images/image-vs-container", options=[0])
    response = client.post(reverse("practice_mock_finish", args=[mock.public_id]))
    report = client.get(response["Location"]).content.decode()
    assert "1/5" in report and "not answered" in report
    response = answer_mock(client, mock, "caching/spot-root", answer="3")
    assert response["Location"] == reverse("practice_mock_report", args=[mock.public_id])
    assert len(session_attempts(client)) == 1


@pytest.mark.parametrize("fields", [{"count": "many"}, {"minutes": 0}, {"minutes": 999}, {"exercise": "nope"}])
def test_starting_a_mock_with_bad_settings_is_refused(client, course, fields):
    response = client.post(reverse("practice_mock_start"), {"count": 5, "minutes": 10, **fields})
    assert response.status_code == 400
    assert not MockInterview.objects.exists()


# Profile -------------------------------------------------------------------------------------------------


def test_the_profile_shows_streak_cards_due_and_accuracy_per_topic(client, course):
    user = make_user()
    client.force_login(user)
    quiz_id = start_quiz(client)
    answer(client, quiz_id, "images/image-vs-container", options=[0])
    Card.objects.create(user=user, question=question("caching/spot-root"), due=timezone.now() - timedelta(hours=1))
    page = client.get(reverse("profile")).content.decode()
    assert 'data-testid="streak">1 day<' in page
    assert 'data-testid="cards-due">1<' in page
    assert "Accuracy per topic" in page and "Images and containers" in page and "100%" in page


# The shipped course -------------------------------------------------------------------------------------


def right_answer(q, salt: str) -> dict:
    """The form a learner who knows the answer would send."""
    if q.kind == "spot_bug":
        return {"answer": str(q.data["answer"])}
    if q.kind in ("choice", "multi"):
        right = q.data["answer"] if q.kind == "multi" else [q.data["answer"]]
        return chosen(q.key, salt, right)
    if q.kind == "order":
        return {f"position-{t}": str(i) for i, t in enumerate(order_tokens(q, salt), start=1)}
    return {"answer": " ".join(q.data.get("key_points") or [q.data["model_answer"]])}


def test_every_shipped_question_can_be_asked_answered_and_explained(client, shipped_course):
    for lesson in Lesson.objects.filter(questions__isnull=False).distinct():
        quiz_id = start_quiz(client, [lesson.slug], count=50)
        for number, pk in enumerate(quiz_questions(client, quiz_id), start=1):
            q = question_by_pk(pk)
            url = reverse("practice_quiz_question", args=[quiz_id, number])
            asked = client.get(url)
            assert asked.status_code == 200, q.key
            if q.kind == "order":
                page = asked.content.decode()
                shown = [page.find(f'<span class="order-text">{inline_html(item)}</span>') for item in q.data["items"]]
                assert -1 not in shown and shown != sorted(shown), f"{q.key}: items shown in the right order"
            response = client.post(url, {"question": pk, **right_answer(q, quiz_id)})
            assert response.status_code == 302, (q.key, response.content.decode()[:500])
            if q.kind == "text":
                client.post(url, {"question": pk, "verdict": "got"})
            feedback = client.get(url).content.decode()
            assert "✓ Right." in feedback, q.key
            assert f'href="{q.section_url()}"' in feedback, q.key
        assert client.get(reverse("practice_quiz", args=[quiz_id])).status_code == 200


def test_a_visitor_who_only_looks_gets_no_session(client, course):
    client.get(reverse("practice"))
    client.get(reverse("practice_quiz_question", args=["nope", 1]))
    assert "sessionid" not in client.cookies


# Options are shown in an order of the learner's own -----------------------------------------------------


def shown_options(client, quiz_id: str, number: int, q) -> list[int]:
    """The written indexes of a choice or multi question's options, in the order the page shows them."""
    page = client.get(reverse("practice_quiz_question", args=[quiz_id, number])).content.decode()
    tokens = option_tokens(q, quiz_id)
    return [tokens.index(token) for token in re.findall(r'name="answer" value="([0-9a-f]{16})"', page)]


def option_orders(client) -> dict[str, list[int]]:
    """Every shipped choice and multi question, asked in a quiz of its lesson: key -> shown order."""
    orders = {}
    for lesson in Lesson.objects.filter(questions__kind__in=["choice", "multi"]).distinct():
        quiz_id = start_quiz(client, [lesson.slug], count=50)
        for number, pk in enumerate(quiz_questions(client, quiz_id), start=1):
            q = question_by_pk(pk)
            if q.kind in ("choice", "multi"):
                orders[q.key] = shown_options(client, quiz_id, number, q)
                assert sorted(orders[q.key]) == list(range(len(q.data["options"]))), q.key
                # A reload shows the same order.
                assert shown_options(client, quiz_id, number, q) == orders[q.key], q.key
    return orders


def test_two_learners_see_the_options_of_most_shipped_questions_in_different_orders(shipped_course):
    first, second = option_orders(Client()), option_orders(Client())
    assert first.keys() == second.keys() and len(first) >= 40
    differ = sum(first[key] != second[key] for key in first)
    # With three to six options, two random orders agree for at most one question in six.
    assert differ >= 0.75 * len(first), f"only {differ} of {len(first)} orders differ"
    written = sum(order == sorted(order) for order in first.values())
    assert written <= 0.35 * len(first), f"{written} of {len(first)} questions shown in the written order"


def test_the_feedback_lists_the_options_in_the_order_the_learner_saw_them(client, course):
    quiz_id = start_quiz(client)
    key = "images/valid-cmds"
    number = number_of(client, quiz_id, key)
    order = shown_options(client, quiz_id, number, question(key))
    answer(client, quiz_id, key, options=[0, 2])
    page = client.get(reverse("practice_quiz_question", args=[quiz_id, number])).content.decode()
    solution = page[page.index('class="solution-options"') :]
    options = question(key).data["options"]
    places = [solution.index(str(inline_html(options[index]))) for index in order]
    assert places == sorted(places)


def test_a_flashcards_options_keep_their_order_on_reload_and_differ_between_visitors(course):
    def card_order(client) -> list[str]:
        page = client.get(reverse("practice_flashcards") + "?lesson=images").content.decode()
        listed = page[page.index('class="card-options"') : page.index("</ol>", page.index('class="card-options"'))]
        return re.findall(r"<li>(.*?)</li>", listed)

    visitors = [Client() for _ in range(12)]
    orders = [card_order(visitor) for visitor in visitors]
    assert all(card_order(visitor) == order for visitor, order in zip(visitors, orders, strict=True))
    options = [str(inline_html(text)) for text in question("images/image-vs-container").data["options"]]
    assert all(sorted(order) == sorted(options) for order in orders)
    assert len({tuple(order) for order in orders}) > 1, "every visitor saw the same order"
