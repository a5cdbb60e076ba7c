"""The authoring preview in a real browser: `manage.py author` runs, the author edits the course files, and
the open preview page refreshes itself with the change, or with the error and its file and line."""

from __future__ import annotations

import pytest

from .browser import ARTIFACTS, open_page
from .conftest import write_file, write_lesson
from .teach_helpers import AuthorServer
from .test_authoring_preview import BAD_CHECK, write_course

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture
def author_server(tmp_path):
    server = AuthorServer(tmp_path, write_course(tmp_path / "content")).start()
    yield server
    server.stop()


def test_the_preview_refreshes_itself_on_save_and_shows_errors_with_file_and_line(browser, author_server):
    with open_page(browser, author_server.url, width=1280) as page:
        page.goto("/accounts/login/?next=/teach/author/lessons/first/")
        page.get_by_label("Username").fill(author_server.USERNAME)
        page.get_by_label("Password").fill(author_server.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("First steps")
        expect(page.get_by_test_id("author-ok")).to_be_visible()

        write_lesson(author_server.content, "01-first", title="Renamed in the editor")
        expect(page.get_by_role("heading", level=1)).to_have_text("Renamed in the editor", timeout=15_000)

        write_file(author_server.content / "01-first" / "exercises" / "say-hello" / "exercise.yaml", BAD_CHECK)
        problems = page.get_by_test_id("author-problems")
        expect(problems).to_contain_text("content/01-first/exercises/say-hello/exercise.yaml:17", timeout=15_000)
        expect(problems).to_contain_text("'max_mb' must be a number")
        expect(page.get_by_test_id("author-status")).to_contain_text("failed: the last good course is shown")
        expect(page.get_by_role("heading", level=1)).to_have_text("Renamed in the editor")
        page.screenshot(path=str(ARTIFACTS / "teach-author-error.png"), full_page=False)

        page.get_by_role("complementary", name="Authoring preview").get_by_role("link", name="Say hello").click()
        expect(page.get_by_test_id("prompt")).to_contain_text("Make the image print hello.")
