"""An instructor runs a class end to end in a real browser (Debian's Chromium through Playwright).

The instructor creates a class, a learner joins it from their profile with the code, and a submission of
the learner's appears on the dashboard, with its verdicts, build log and diff. The submission is created in
the test database and graded through its real lifecycle (`Submission.queue`, `claim`, `publish` of
its build log, `finish` with the verdicts), which is what a worker does; no sandbox build runs. Screenshots
go to artifacts/.
"""

from __future__ import annotations

import re

import pytest

from .browser import ARTIFACTS, open_page
from .conftest import make_user
from .teach_helpers import FAILED, T0, grade, make_exercise, make_instructor, make_lesson, make_question

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
PASSWORD = "a-long-Passw0rd!"


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"teach-{name}.png"), full_page=True)


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name=username)).to_be_visible()


def test_an_instructor_creates_a_class_a_learner_joins_and_a_submission_appears(browser, live_server, transactional_db):
    lesson = make_lesson("basics", 1, "Dockerfile basics")
    exercise = make_exercise(
        lesson, "first-image", [("build", "build", "The image builds"), ("non-root", "non-root-user", "Not root")]
    )
    make_exercise(lesson, "not-in-the-class", [("build", "build", "The image builds")], order=1)
    make_question(lesson, "q1")
    make_instructor("teacher")
    learner = make_user("learner")

    with open_page(browser, live_server.url, width=1280) as teacher_page:
        log_in(teacher_page, "teacher")
        teacher_page.get_by_role("link", name="Teach", exact=True).click()
        teacher_page.get_by_test_id("new-class").click()
        teacher_page.get_by_label("Name of the class").fill("Docker 101, spring")
        teacher_page.get_by_label("First image (lesson 1, Dockerfile basics)").check()
        teacher_page.get_by_label("Due date").fill("2026-06-30T17:00")
        teacher_page.get_by_role("button", name="Create the class").click()
        expect(teacher_page.locator(".messages")).to_contain_text("is ready. Give your learners the join code")
        code = teacher_page.get_by_test_id("join-code").inner_text()
        assert re.fullmatch(r"[A-Z2-9]{8}", code)
        expect(teacher_page.get_by_test_id("learner-count")).to_have_text("0")
        dashboard_url = teacher_page.url

        with open_page(browser, live_server.url) as learner_page:
            log_in(learner_page, "learner")
            learner_page.get_by_role("link", name="learner").click()
            learner_page.get_by_label("Join code").fill(code.lower())
            learner_page.get_by_role("button", name="Join a class").click()
            expect(learner_page.locator(".messages")).to_contain_text("You joined “Docker 101, spring”")
            expect(learner_page.get_by_test_id("my-classes")).to_contain_text("Docker 101, spring")
            shot(learner_page, "profile-joined")

        teacher_page.reload()
        expect(teacher_page.get_by_test_id("learner-count")).to_have_text("1")
        expect(teacher_page.get_by_test_id("cell-learner-first-image")).to_have_text("—")
        expect(teacher_page.get_by_test_id("progress-grid")).not_to_contain_text("Not in the class")

        # The learner's submission is graded, as a worker would grade it.
        grade(
            learner,
            exercise,
            {"non-root": (FAILED, "the final stage runs as root.")},
            T0,
            files={"Dockerfile": "FROM busybox:latest\nCOPY . /app\n"},
            log="#1 [internal] load build definition from Dockerfile\n#2 DONE 0.1s",
        )

        teacher_page.goto(dashboard_url)
        cell = teacher_page.get_by_test_id("cell-learner-first-image")
        expect(cell).to_have_text("✗ 1 · 50%")
        expect(teacher_page.get_by_test_id("exercise-first-image")).to_contain_text("1")
        expect(teacher_page.get_by_test_id("check-first-image-non-root")).to_contain_text(
            "the final stage runs as root."
        )
        shot(teacher_page, "dashboard")

        cell.get_by_role("link").click()
        expect(teacher_page.get_by_role("heading", level=1)).to_have_text("learner · First image")
        detail = teacher_page.get_by_test_id("attempt-detail")
        expect(detail).to_contain_text("Attempt 1: Failed, 50%")
        expect(detail).to_contain_text("the final stage runs as root.")
        expect(teacher_page.get_by_test_id("build-log")).to_contain_text("load build definition from Dockerfile")
        expect(detail.locator(".diff-add")).to_have_text(["+COPY . /app"])
        shot(teacher_page, "attempt")

        teacher_page.goto(f"{dashboard_url}?sort=first-image&order=desc")
        expect(teacher_page.locator("th[aria-sort=descending]")).to_have_text("First image")
