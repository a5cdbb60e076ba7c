"""A new learner in a real browser: home page, course map, a lesson, sign up, mark the lesson done."""

import re

import pytest
from playwright.sync_api import expect

from .browser import ARTIFACTS, open_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser, live_server, shipped_course):
    with open_page(browser, live_server.url, width=1280) as page:
        yield page


def test_a_new_learner_reads_a_lesson_signs_up_and_marks_it_done(page):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Learn Docker by building real images")
    page.screenshot(path=str(ARTIFACTS / "course-home.png"), full_page=True)

    page.get_by_role("link", name="See the course map").click()
    expect(page).to_have_url(re.compile(r"/lessons/$"))
    expect(page.locator(".lesson-item")).to_have_count(21)
    page.screenshot(path=str(ARTIFACTS / "course-map.png"), full_page=True)

    page.get_by_role("link", name="Why containers", exact=False).first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".toc")).to_contain_text("Recap")
    page.screenshot(path=str(ARTIFACTS / "course-lesson.png"))
    lesson_url = page.url

    page.get_by_role("link", name="sign up", exact=True).click()
    page.get_by_label("Username").fill("new-learner")
    page.get_by_label("Password", exact=True).fill("a-long-Passw0rd!")
    page.get_by_label("Password confirmation").fill("a-long-Passw0rd!")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".messages")).to_contain_text("Welcome aboard, new-learner")
    expect(page).to_have_url(lesson_url)

    page.get_by_test_id("mark-done").click()
    expect(page.locator(".messages")).to_contain_text("is done")
    page.get_by_role("link", name="Course", exact=True).click()
    expect(page.locator(".progress-summary")).to_contain_text("1 of 21 lessons read")
    expect(page.locator(".lesson-item.is-done")).to_have_count(1)
    page.get_by_role("link", name="new-learner").click()
    expect(page.locator(".stats").first).to_contain_text("1/21")
    page.screenshot(path=str(ARTIFACTS / "course-profile.png"), full_page=True)


def test_reading_works_without_javascript(browser, live_server, shipped_course):
    with open_page(browser, live_server.url, java_script_enabled=False) as page:
        page.goto("/lessons/layer-caching/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Layer caching")
        expect(page.locator("#how-the-build-cache-works")).to_be_visible()
