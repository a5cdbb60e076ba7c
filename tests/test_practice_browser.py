"""A visitor practises in a real browser: a quiz, a flashcard session and a timed mock interview.

Debian's Chromium driven by Playwright against pytest-django's live server. Screenshots go to artifacts/.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from practice.models import MockInterview
from sandbox.models import Submission

from .browser import ARTIFACTS, open_page
from .conftest import make_user
from .practice_helpers import build_practice_course

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture
def page(browser, live_server, tmp_path, transactional_db):
    build_practice_course(tmp_path)
    with open_page(browser, live_server.url) as page:
        yield page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"practice-{name}.png"), full_page=True)


def answer_current_question(page, right: bool = True) -> None:
    """Answer whatever question the page shows, the way a learner would (keyboard and mouse)."""
    form = page.get_by_test_id("question-form")
    kind = form.get_attribute("data-kind")
    # Options are shown in an order of the learner's own, so they are picked by their text, never by position.
    if kind == "choice":
        form.get_by_label("A running instance of an image" if right else "A compressed copy of an image").check()
    elif kind == "multi":
        form.get_by_label('CMD ["python", "app.py"]', exact=True).check()
        if right:
            form.get_by_label('CMD ["gunicorn", "app:app"]', exact=True).check()
    elif kind == "spot_bug":
        form.get_by_label(re.compile(r"line 3\)")).check()
    elif kind == "order":
        # The JS list: move items until they read in the right order.
        wanted = ["FROM python:3.11-slim", "COPY requirements.txt .", "RUN pip install -r requirements.txt", "COPY . ."]
        if right:
            for place, text in enumerate(wanted):
                item = form.locator(".order-item", has_text=text).first
                while form.locator(".order-item .order-text").nth(place).inner_text().strip() != text:
                    item.get_by_role("button", name=re.compile("^Move up")).click()
    elif kind == "text":
        form.get_by_label("Your answer").fill("A container shares the host kernel and starts in milliseconds.")
    form.get_by_test_id("submit-answer").click()
    if kind == "text":
        expect(page.get_by_test_id("suggestion")).to_contain_text("you probably got it")
        page.get_by_role("button", name="I got it" if right else "I missed it").click()


def test_a_visitor_takes_a_quiz_with_instant_feedback(page):
    page.goto("/practice/")
    expect(page.get_by_role("link", name="Practice")).to_be_visible()
    shot(page, "hub")
    form = page.get_by_test_id("quiz-form")
    form.get_by_label(re.compile("Images and containers")).check()
    form.get_by_label("Questions").select_option("5")
    form.get_by_test_id("start-quiz").click()
    for number in range(1, 4):
        expect(page.get_by_text(f"question {number} of 3")).to_be_visible()
        answer_current_question(page, right=number != 2)
        verdict = page.get_by_test_id("verdict")
        expect(verdict).to_have_text("✓ Right." if number != 2 else "✗ Not quite.")
        expect(page.get_by_role("link", name=re.compile("Review this in the lesson"))).to_have_attribute(
            "href", "/lessons/images/#first-section"
        )
        shot(page, f"quiz-feedback-{number}")
        if number < 3:
            page.get_by_test_id("next-question").click()
    page.get_by_test_id("quiz-summary").click()
    expect(page.get_by_test_id("quiz-score")).to_have_text("2/3")
    shot(page, "quiz-summary")


def test_a_visitor_orders_items_with_the_move_buttons_and_spots_a_bug(page):
    page.goto("/practice/?lessons=caching")
    page.get_by_test_id("start-quiz").click()
    for number in (1, 2):
        expect(page.get_by_text(f"question {number} of 2")).to_be_visible()
        if page.get_by_test_id("question-form").get_attribute("data-kind") == "order":
            # With JS the position selects are hidden and the list order is the answer.
            expect(page.locator(".order-item select").first).to_be_hidden()
            shot(page, "quiz-order-before")
        answer_current_question(page)
        expect(page.get_by_test_id("verdict")).to_have_text("✓ Right.")
        if number == 1:
            page.get_by_test_id("next-question").click()
    page.get_by_test_id("quiz-summary").click()
    expect(page.get_by_test_id("quiz-score")).to_have_text("2/2")


def test_a_visitor_studies_flashcards_and_rates_recall_with_the_mouse_and_the_keyboard(page):
    page.goto("/practice/")
    page.get_by_test_id("start-flashcards").click()
    expect(page.get_by_test_id("deck-counts")).to_have_text("0 due now · 5 new")
    page.get_by_text("Show answer").click()
    expect(page.get_by_test_id("card-back")).to_have_attribute("open", "")
    shot(page, "flashcard-back")
    page.get_by_role("button", name=re.compile("^Good")).click()
    expect(page.get_by_role("status").first).to_contain_text("see that card again in 1 day")
    expect(page.get_by_test_id("deck-counts")).to_have_text("0 due now · 4 new")
    # Keyboard only: space shows the answer, 1 rates it "again" (it comes back in ten minutes).
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press(" ")
    expect(page.get_by_test_id("card-back")).to_have_attribute("open", "")
    page.keyboard.press("1")
    expect(page.get_by_role("status").first).to_contain_text("see that card again in 10 min")
    expect(page.get_by_test_id("deck-counts")).to_have_text("0 due now · 3 new")
    # Revealed with the mouse, rated with the keyboard: 3 is "good".
    page.get_by_text("Show answer").click()
    page.keyboard.press("3")
    expect(page.get_by_role("status").first).to_contain_text("see that card again in 1 day")
    expect(page.get_by_test_id("deck-counts")).to_have_text("0 due now · 2 new")
    shot(page, "flashcard-next")


def test_a_visitor_runs_a_timed_mock_interview_and_gets_a_report(page):
    page.goto("/practice/")
    form = page.get_by_test_id("mock-form")
    form.get_by_label("Questions").select_option("5")
    form.get_by_label("Time limit").select_option("10")
    form.get_by_test_id("start-mock").click()
    timer = page.locator("[data-timer-text]")
    expect(timer).to_have_text(re.compile(r"^(10:00|9:5\d)$"))
    shot(page, "mock-question")
    for number in range(1, 6):
        expect(page.get_by_text(f"question {number} of 5")).to_be_visible()
        # Everything right except the layer-caching questions, so the report has a weak topic.
        caching = page.get_by_test_id("question-form").get_attribute("data-kind") in {"spot_bug", "order"}
        if caching:
            page.get_by_role("button", name=re.compile("^Skip")).click()
        else:
            answer_current_question(page)
    expect(page.get_by_role("heading", name="Your first Dockerfile")).to_be_visible()
    expect(page.get_by_test_id("sign-up-note")).to_contain_text(
        "Sign up to have your Dockerfile built and run in the sandbox."
    )
    page.get_by_role("textbox", name="Dockerfile").fill(
        'FROM python:3.11-slim\nCOPY app.py .\nUSER 1000\nCMD ["python", "app.py"]\n'
    )
    shot(page, "mock-challenge")
    page.get_by_test_id("hand-in").click()
    expect(page.get_by_role("heading", name="Mock interview report")).to_be_visible()
    expect(page.get_by_test_id("question-score")).to_have_text("3/5")
    expect(page.get_by_test_id("challenge-score")).to_have_text("100%")
    expect(page.get_by_test_id("strengths")).to_contain_text("Images and containers")
    weak = page.get_by_test_id("weak-topics")
    expect(weak).to_contain_text("Layer caching")
    expect(weak.get_by_role("link", name="First section").first).to_have_attribute(
        "href", "/lessons/caching/#first-section"
    )
    shot(page, "mock-report")


def test_the_mock_interview_clock_sends_the_learner_to_the_report_when_time_is_up(page):
    page.goto("/practice/")
    page.get_by_test_id("start-mock").click()
    expect(page.locator("[data-timer-text]")).to_be_visible()
    MockInterview.objects.update(deadline=timezone.now() + timedelta(seconds=3))
    page.reload()
    expect(page.get_by_role("heading", name="Mock interview report")).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("question-score")).to_have_text("0/5")  # the test course has five questions
    shot(page, "mock-time-up")


def test_a_signed_in_learners_dockerfile_goes_to_the_sandbox_and_its_score_lands_in_the_report(page, monkeypatch):
    # The live server runs in this process: the build queue is replaced by a list, and the test plays the
    # worker by finishing the submission itself.
    enqueued: list[int] = []
    monkeypatch.setattr("sandbox.submissions.enqueue", lambda submission: enqueued.append(submission.pk))
    make_user("ada")
    page.goto("/accounts/login/?next=/practice/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("a-long-Passw0rd!")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Interview practice")).to_be_visible()
    form = page.get_by_test_id("mock-form")
    form.get_by_label("Questions").select_option("5")
    form.get_by_test_id("start-mock").click()
    for _ in range(5):
        page.get_by_role("button", name=re.compile("^Skip")).click()
    expect(page.get_by_role("heading", name="Your first Dockerfile")).to_be_visible()
    expect(page.get_by_test_id("sign-up-note")).to_have_count(0)
    page.get_by_role("textbox", name="Dockerfile").fill(
        'FROM python:3.11-slim\nCOPY app.py .\nCMD ["python", "app.py"]\n'
    )
    # The form goes to the interview itself, which submits the Dockerfile and binds that build to it.
    with page.expect_request(lambda request: request.url.endswith("/challenge/") and request.method == "POST"):
        page.get_by_test_id("hand-in").click()
    expect(page.get_by_test_id("challenge-score")).to_have_text("building…")
    submission = Submission.objects.get(user__username="ada")
    assert enqueued == [submission.pk]
    assert submission.files["app.py"] == "print('hi')\n"
    assert MockInterview.objects.get().submission_id == submission.pk
    shot(page, "mock-report-building")
    # The worker finishes: the report page polls GET /api/submissions/<id>/ and reloads with the score.
    Submission.objects.filter(pk=submission.pk).update(status="passed", score=90)
    expect(page.get_by_test_id("challenge-score")).to_have_text("90%", timeout=10_000)
    expect(page.get_by_test_id("overall-score")).to_have_text("26%")  # (0 + 2 x 0.9) / 7
    shot(page, "mock-report-sandbox")
