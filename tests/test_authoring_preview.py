"""Authoring with a live preview: errors with file and line, the watcher, the preview pages, grading now."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
import requests

from lessons import authoring
from lessons.models import Lesson

from .conftest import make_user, write_file, write_lesson
from .teach_helpers import AuthorServer

QUESTIONS = """
- id: image-vs-container
  type: choice
  section: first-section
  prompt: What is a container, relative to an image?
  options:
    - A running instance of an image, with its own writable layer
    - A compressed copy of an image
  answer: 0
  explanation: A container is an image plus a writable layer and a process.
"""
EXERCISE = """
title: Say hello
prompt: Make the image print hello.
checks:
  - id: build
    type: build
    title: The image builds
  - id: says-hello
    type: command
    title: It says hello
    hint: Use CMD ["echo", "hello"].
    section: first-section
    stdout: hello
"""
BAD_CHECK = EXERCISE.replace(
    "    stdout: hello\n", "    stdout: hello\n  - id: small\n    type: image-size\n    title: Small\n    max_mb: big\n"
)


def write_course(root: Path) -> Path:
    lesson = write_lesson(root, "01-first", title="First steps")
    write_file(lesson / "questions.yaml", QUESTIONS)
    exercise = lesson / "exercises" / "say-hello"
    write_file(exercise / "exercise.yaml", EXERCISE)
    write_file(exercise / "starter" / "Dockerfile", "FROM busybox:latest\n")
    write_file(exercise / "solution" / "Dockerfile", 'FROM busybox:latest\nCMD ["echo", "hello"]\n')
    return root


@pytest.fixture
def course(tmp_path, settings):
    root = write_course(tmp_path / "content")
    settings.LESSONS_CONTENT_DIR = root
    return root


# --- Where an error is ------------------------------------------------------------------------------------------


def test_a_spec_error_is_placed_on_the_line_of_the_key_it_names(course):
    write_file(course / "01-first" / "exercises" / "say-hello" / "exercise.yaml", BAD_CHECK)
    assert authoring.check_course(course) == [
        authoring.Problem(
            "content/01-first/exercises/say-hello/exercise.yaml",
            17,
            "checks[2] (image-size): 'max_mb' must be a number",
            "    max_mb: big",
        )
    ]


def test_a_lesson_error_without_a_line_is_placed_on_its_front_matter_key(course):
    write_lesson(course, "01-first", front="title: First steps\norder: zero\nobjectives:\n  - Do a thing.\n")
    problems = authoring.check_course(course)
    assert [(p.path, p.line, p.source) for p in problems] == [("content/01-first/lesson.md", 3, "order: zero")]
    assert problems[0].message == "'order' is required and must be a positive whole number"


def test_errors_the_loader_places_keep_their_line(course):
    write_file(course / "01-first" / "questions.yaml", QUESTIONS.replace("answer: 0", "answer: 7"))
    (problem,) = authoring.check_course(course)
    assert (problem.path, problem.line) == ("content/01-first/questions.yaml", 2)
    assert "'answer' must be option indexes from 0 to 1" in problem.message
    assert str(problem).startswith("content/01-first/questions.yaml:2: question 'image-vs-container'")


# --- The watcher -------------------------------------------------------------------------------------------------


def test_the_watcher_reloads_what_changed_and_keeps_the_last_good_course_on_error(course, db):
    watcher = authoring.Watcher(course)
    first = watcher.poll()
    assert first.ok and first.summary.lessons == 1 and first.changed == []
    assert watcher.poll() is None  # nothing changed

    write_lesson(course, "01-first", title="First steps, revised")
    changed = watcher.poll()
    assert changed.ok and changed.changed == ["01-first/lesson.md"]
    assert Lesson.objects.get().title == "First steps, revised"

    exercise_yaml = course / "01-first" / "exercises" / "say-hello" / "exercise.yaml"
    write_file(exercise_yaml, BAD_CHECK)
    write_lesson(course, "01-first", title="Never loaded")
    broken = watcher.poll()
    assert not broken.ok
    assert broken.changed == ["01-first/exercises/say-hello/exercise.yaml", "01-first/lesson.md"]
    assert [str(p) for p in broken.problems] == [
        "content/01-first/exercises/say-hello/exercise.yaml:17: checks[2] (image-size): 'max_mb' must be a number"
    ]
    assert Lesson.objects.get().title == "First steps, revised"  # all or nothing


def test_the_watcher_thread_reports_each_reload_until_stopped(course, transactional_db):
    watcher = authoring.Watcher(course, interval=0.05)
    watcher.poll()
    reports: list[authoring.Reload] = []
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop, reports.append))
    thread.start()
    try:
        write_lesson(course, "01-first", title="Edited while watching")
        deadline = time.monotonic() + 10
        while not reports and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert [(r.ok, r.changed) for r in reports] == [(True, ["01-first/lesson.md"])]


def test_editor_swap_and_backup_files_are_not_course_changes(course):
    before = authoring.snapshot(course)
    write_file(course / "01-first" / ".lesson.md.swp", "x")
    write_file(course / "01-first" / "lesson.md~", "x")
    assert authoring.snapshot(course) == before


# --- The preview pages -------------------------------------------------------------------------------------------


@pytest.fixture
def staff(client, course, db):
    authoring.reload_course(course)
    client.force_login(make_user("author", is_staff=True))
    return client


def test_the_lesson_preview_is_the_learner_s_page_with_the_preview_bar(staff):
    page = staff.get("/teach/author/lessons/first/").content.decode()
    assert "<h1>First steps</h1>" in page
    assert 'id="first-section"' in page
    assert "Mark as done" in page  # the learner's own template
    assert "The course files load without problems." in page
    assert "Not watching the files: run <code>make author</code>" in page


def test_the_questions_preview_shows_each_question_as_asked_then_its_answer(staff):
    page = staff.get("/teach/author/lessons/first/questions/").content.decode()
    assert "What is a container, relative to an image?" in page
    assert "A compressed copy of an image" in page
    assert "Right answer" in page and "A container is an image plus a writable layer" in page


def test_the_exercise_preview_shows_the_prompt_checks_and_files(staff):
    page = staff.get("/teach/author/exercises/say-hello/").content.decode()
    assert "Make the image print hello." in page
    assert "It says hello" in page and "stdout: hello" in page and "Hint: Use CMD" in page
    assert "/lessons/first/#first-section" in page
    assert "CMD [&quot;echo&quot;, &quot;hello&quot;]" in page


def test_a_broken_file_shows_on_every_preview_page_with_file_and_line(staff, course):
    write_file(course / "01-first" / "exercises" / "say-hello" / "exercise.yaml", BAD_CHECK)
    page = staff.get("/teach/author/lessons/first/").content.decode()
    assert "1 problem in the course files" in page
    assert "content/01-first/exercises/say-hello/exercise.yaml:17</code> checks[2] (image-size)" in page
    assert "max_mb: big" in page


def test_the_status_changes_when_the_files_change_so_the_page_refreshes(staff, course):
    before = staff.get("/teach/author/status/").json()
    assert before["problems"] == 0
    write_file(course / "01-first" / "exercises" / "say-hello" / "exercise.yaml", BAD_CHECK)
    after = staff.get("/teach/author/status/").json()
    assert after["version"] != before["version"] and after["problems"] == 1


def test_reload_now_loads_the_files_and_returns_to_the_page(staff, course):
    write_lesson(course, "01-first", title="Reloaded by hand")
    response = staff.post("/teach/author/reload/", {"next": "/teach/author/lessons/first/"})
    assert response["Location"] == "/teach/author/lessons/first/"
    assert Lesson.objects.get().title == "Reloaded by hand"
    response = staff.post("/teach/author/reload/", {"next": "https://elsewhere.example/"})
    assert response["Location"] == "/teach/author/"


def test_the_grade_button_shows_what_validate_content_would_say(staff, monkeypatch):
    def fake_grade(exercise, files, docker_host):
        says_hello = "echo" in files["Dockerfile"]
        return {
            "checks": [
                {"id": "build", "title": "The image builds", "status": "passed", "passed": True, "message": "built"},
                {"id": "says-hello", "title": "It says hello", "status": "passed" if says_hello else "failed",
                 "passed": says_hello, "message": "printed hello" if says_hello else "printed nothing"},
            ]
        }  # fmt: skip

    monkeypatch.setattr(authoring, "grade_folder", fake_grade)
    monkeypatch.setattr(authoring, "cli_docker_host", lambda wait: _host())
    page = staff.post("/teach/author/exercises/say-hello/grade/").content.decode()
    assert "✓ Gradeable as shipped" in page
    assert "Solution: ✓ passes all 2" in page
    assert "Starter: ✓ fails 1 of 2: says-hello" in page
    assert 'data-live="false"' in page  # the result is not refreshed away


class _host:
    def __enter__(self):
        return "unix:///nowhere"

    def __exit__(self, *exc):
        return False


@pytest.mark.sandbox
def test_the_grade_button_grades_the_solution_and_the_starter_in_the_sandbox(staff, docker_host, monkeypatch):
    monkeypatch.setattr(authoring, "cli_docker_host", lambda wait: _fixed(docker_host))
    page = staff.post("/teach/author/exercises/say-hello/grade/").content.decode()
    assert "✓ Gradeable as shipped" in page, page[page.find('data-testid="validation"') :][:2000]
    assert "Solution: ✓ passes all 2" in page
    assert "Starter: ✓ fails 1 of 2: says-hello" in page


class _fixed:
    def __init__(self, host):
        self.host = host

    def __enter__(self):
        return self.host

    def __exit__(self, *exc):
        return False


# --- `manage.py author`, for real -------------------------------------------------------------------------------


def test_manage_py_author_serves_the_preview_and_reloads_on_save(tmp_path):
    server = AuthorServer(tmp_path, write_course(tmp_path / "content")).start()
    try:
        session = requests.Session()
        form = session.get(f"{server.url}/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        credentials = {"username": server.USERNAME, "password": server.PASSWORD, "csrfmiddlewaretoken": token}
        session.post(f"{server.url}/accounts/login/", credentials)
        page = session.get(f"{server.url}/teach/author/lessons/first/").text
        assert "<h1>First steps</h1>" in page and "watching the files" in page
        version = session.get(f"{server.url}/teach/author/status/").json()["version"]

        write_lesson(server.content, "01-first", title="Saved in the editor")
        deadline = time.monotonic() + 15
        while session.get(f"{server.url}/teach/author/status/").json()["version"] == version:
            assert time.monotonic() < deadline, "the preview never saw the change"
            time.sleep(0.2)
        assert "<h1>Saved in the editor</h1>" in session.get(f"{server.url}/teach/author/lessons/first/").text
    finally:
        server.stop()
    assert "Loaded 1 lessons, 1 exercises and 1 questions" in server.output
    assert "(01-first/lesson.md)" in server.output
