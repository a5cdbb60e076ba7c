"""The exercise workspace's HTTP side: the page, live lint and the learner's own submission history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from lessons.models import Exercise, Lesson
from sandbox.models import Submission
from workspace import lint, views

from .conftest import make_user

pytestmark = pytest.mark.django_db

STARTER = {
    "Dockerfile": "FROM python:latest\nCOPY . .\n",
    "app.py": "print('<hello>')\n",
    "requirements.txt": "flask==3.0.0\n",
}


def make_lesson(slug: str = "layer-caching", order: int = 7) -> Lesson:
    return Lesson.objects.create(
        slug=slug,
        order=order,
        title=f"Lesson {slug}",
        body_markdown="Body.",
        body_html="<p>Body.</p>",
        toc=[{"level": 2, "anchor": "order-matters", "title": "Order matters"}],
    )


def make_exercise(lesson: Lesson, slug: str = "cache-friendly", order: int = 0, starter=None) -> Exercise:
    return Exercise.objects.create(
        lesson=lesson,
        slug=slug,
        order=order,
        title=f"Exercise {slug}",
        prompt_markdown="Make the **cache** work.",
        prompt_html="<p>Make the <strong>cache</strong> work.</p>",
        spec={"checks": []},
        starter_files=STARTER if starter is None else starter,
        solution_files={"Dockerfile": "FROM python:3.11-slim\n"},
    )


@pytest.fixture
def exercise() -> Exercise:
    return make_exercise(make_lesson())


def page_config(page: str) -> dict:
    match = re.search(r'<script id="workspace-config" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the page carries its configuration for workspace.js"
    return json.loads(match.group(1))


def post_json(client: Client, url: str, body) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


# --- The page ---------------------------------------------------------------------------------------------


def test_an_anonymous_visitor_can_read_the_prompt_and_starter_files(client, exercise):
    response = client.get(reverse("exercise", args=[exercise.slug]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<p>Make the <strong>cache</strong> work.</p>" in page
    # Each starter file is a tab and a textarea holding its text, escaped.
    for name in STARTER:
        assert f'data-file="{name}"' in page
    assert "print(&#x27;&lt;hello&gt;&#x27;)" in page
    assert "FROM python:latest" in page


def test_an_anonymous_visitor_is_invited_to_log_in_instead_of_submitting(client, exercise):
    page = client.get(reverse("exercise", args=[exercise.slug])).content.decode()
    assert 'data-action="submit"' not in page
    assert f"/accounts/login/?next=/exercises/{exercise.slug}/" in page
    assert page_config(page)["loggedIn"] is False
    response = post_json(client, reverse("submission_create"), {"exercise": exercise.slug, "files": STARTER})
    assert response.status_code == 401
    assert Submission.objects.count() == 0


def test_a_learner_gets_the_submit_button_and_the_api_addresses(client, exercise):
    user = make_user()
    client.force_login(user)
    page = client.get(reverse("exercise", args=[exercise.slug])).content.decode()
    assert 'data-action="submit"' in page
    config = page_config(page)
    assert config["loggedIn"] is True
    assert config["exercise"] == exercise.slug
    assert config["starter"] == STARTER
    assert config["draftKey"] == f"dockyard:draft:{exercise.slug}:{user.pk}"
    assert config["urls"] == {
        "lint": f"/api/lint/?exercise={exercise.slug}",
        "history": f"/api/exercises/{exercise.slug}/submissions/",
        "submissions": "/api/submissions/",
        "next": "/lessons/",
    }


def test_the_dockerfile_tab_comes_first_and_exists_even_without_a_starter(client):
    lesson = make_lesson()
    make_exercise(lesson, "from-scratch", starter={"app.py": "print(1)\n", "compose.yaml": "services: {}\n"})
    page = client.get(reverse("exercise", args=["from-scratch"])).content.decode()
    tabs = re.findall(r'role="tab"[^>]*data-file="([^"]+)"', page)
    assert tabs == ["Dockerfile", "app.py", "compose.yaml"]


def test_the_next_exercise_follows_course_order(client):
    first_lesson, second_lesson = make_lesson("basics", 1), make_lesson("caching", 2)
    make_exercise(second_lesson, "b-later-lesson")
    make_exercise(first_lesson, "z-first", order=0)
    make_exercise(first_lesson, "a-second", order=1)
    config = page_config(client.get(reverse("exercise", args=["z-first"])).content.decode())
    assert config["urls"]["next"] == "/exercises/a-second/"
    config = page_config(client.get(reverse("exercise", args=["a-second"])).content.decode())
    assert config["urls"]["next"] == "/exercises/b-later-lesson/"
    assert config["nextTitle"] == "Exercise b-later-lesson"
    config = page_config(client.get(reverse("exercise", args=["b-later-lesson"])).content.decode())
    assert config["urls"]["next"] == reverse("course")


def test_an_unknown_exercise_is_a_404(client, db):
    assert client.get("/exercises/no-such-exercise/").status_code == 404


def test_the_page_loads_only_local_assets_that_exist(client, exercise):
    page = client.get(reverse("exercise", args=[exercise.slug])).content.decode()
    assert "https://" not in page
    assert "http://" not in page
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', page)
    assert any(asset.endswith("js/workspace.js") for asset in assets)
    for asset in assets:
        assert finders.find(asset), f"{asset} is referenced by the page but missing"


def test_every_workspace_module_import_resolves_to_a_file():
    # Plain ES modules with no build step: a typo in an import path would only show in the browser.
    js_root = Path(settings.BASE_DIR) / "static" / "js"
    for module in [js_root / "workspace.js", *(js_root / "workspace").glob("*.js")]:
        for target in re.findall(r'from "(\./[^"]+)"', module.read_text()):
            assert (module.parent / target).resolve().is_file(), f"{module.name} imports missing {target}"


def test_vendored_libraries_are_recorded_with_their_licences():
    vendor = Path(settings.BASE_DIR) / "static" / "vendor"
    versions = (vendor / "VERSIONS.md").read_text()
    for folder in (path for path in vendor.iterdir() if path.is_dir()):
        assert folder.name in versions, f"{folder.name} is not described in VERSIONS.md"
        assert (folder / "LICENSE").is_file(), f"{folder.name} has no LICENSE file"


# --- Live lint --------------------------------------------------------------------------------------------


@pytest.fixture
def fake_linter(monkeypatch):
    """A stand-in for sandbox.grading.lint_dockerfile, so these tests need no hadolint."""
    calls = []

    def lint_dockerfile(text: str, secret_ids=(), hadolint_timeout: float = 5) -> list[dict]:
        calls.append(text)
        return [{"line": 1, "rule": "DL3007", "level": "warning", "message": "Pin the version of the base image."}]

    monkeypatch.setattr(lint, "lint_dockerfile", lint_dockerfile)
    return calls


def test_lint_answers_with_the_linters_problems(client, fake_linter):
    response = post_json(client, reverse("workspace_lint"), {"dockerfile": "FROM python:latest\n"})
    assert response.status_code == 200
    assert response.json() == {
        "problems": [{"line": 1, "rule": "DL3007", "level": "warning", "message": "Pin the version of the base image."}]
    }
    assert fake_linter == ["FROM python:latest\n"]


def test_lint_refuses_a_dockerfile_over_the_file_size_limit(client, fake_linter, settings):
    settings.SUBMISSION_MAX_FILE_BYTES = 2048
    response = post_json(client, reverse("workspace_lint"), {"dockerfile": "#" * 2049})
    assert response.status_code == 413
    assert "at most 2 KiB" in response.json()["error"]
    assert fake_linter == []


def test_lint_refuses_a_huge_body_before_reading_it(client, fake_linter, settings):
    settings.SUBMISSION_MAX_FILE_BYTES = 1024
    response = client.post(reverse("workspace_lint"), data="x" * 20_000, content_type="application/json")
    assert response.status_code == 413
    assert fake_linter == []


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"dockerfile": 3}', "{}"])
def test_lint_refuses_malformed_requests_in_words(client, fake_linter, body):
    response = client.post(reverse("workspace_lint"), data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]


def test_a_broken_linter_is_a_503_in_words_not_a_crash(client, monkeypatch):
    def lint_dockerfile(text, secret_ids=(), hadolint_timeout=5):
        raise RuntimeError("hadolint binary missing")

    monkeypatch.setattr(lint, "lint_dockerfile", lint_dockerfile)
    response = post_json(client, reverse("workspace_lint"), {"dockerfile": "FROM busybox:latest\n"})
    assert response.status_code == 503
    assert "Live lint is not available" in response.json()["error"]


def test_lint_only_accepts_posts_with_a_csrf_token(fake_linter):
    client = Client(enforce_csrf_checks=True)
    assert client.get(reverse("workspace_lint")).status_code == 405
    response = post_json(client, reverse("workspace_lint"), {"dockerfile": "FROM busybox:latest\n"})
    assert response.status_code == 403
    assert fake_linter == []


# --- History ----------------------------------------------------------------------------------------------


def test_history_lists_only_the_learners_own_submissions_for_this_exercise_without_files(client, exercise):
    other_exercise = make_exercise(exercise.lesson, "another-one", order=1)
    learner, someone_else = make_user("learner"), make_user("someone-else")
    first = Submission.objects.create(user=learner, exercise=exercise, files={"Dockerfile": "FROM busybox\n"})
    second = Submission.objects.create(
        user=learner, exercise=exercise, files={"Dockerfile": "FROM busybox:latest\n"}, status="failed", score=40
    )
    Submission.objects.create(user=someone_else, exercise=exercise, files={"Dockerfile": "secret\n"})
    Submission.objects.create(user=learner, exercise=other_exercise, files={"Dockerfile": "elsewhere\n"})
    Submission.objects.create(user=learner, exercise=None, files={"Dockerfile": "playground\n"})
    client.force_login(learner)
    response = client.get(reverse("workspace_history", args=[exercise.slug]))
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["pages"], body["next"]) == (2, 1, 1, None)
    submissions = body["submissions"]
    assert [item["id"] for item in submissions] == [second.pk, first.pk]
    newest = submissions[0]
    assert newest["attempt"] == 2
    assert newest["status"] == "failed"
    assert newest["finished"] is True
    assert newest["score"] == 40
    assert "files" not in newest and "result" not in newest
    assert newest["files_url"] == f"/api/exercises/{exercise.slug}/submissions/{second.pk}/files/"
    assert newest["events_url"] == f"/ws/submissions/{second.pk}/"
    assert newest["created_at"]
    assert submissions[1]["attempt"] == 1
    assert submissions[1]["finished"] is False


def test_history_needs_a_login_and_a_real_exercise(client, exercise):
    response = client.get(reverse("workspace_history", args=[exercise.slug]))
    assert response.status_code == 401
    assert response.json()["error"]
    client.force_login(make_user())
    response = client.get(reverse("workspace_history", args=["no-such-exercise"]))
    assert response.status_code == 404
    assert "no-such-exercise" in response.json()["error"]
    response = client.get(reverse("workspace_history", args=[exercise.slug]), {"page": "zero"})
    assert response.status_code == 400
    assert "whole number" in response.json()["error"]


def test_history_pages_through_every_attempt_and_keeps_attempt_numbers(client, exercise):
    learner = make_user()
    total = 2 * views.HISTORY_PAGE_SIZE + 3
    for n in range(total):
        Submission.objects.create(user=learner, exercise=exercise, files={"Dockerfile": f"# {n}\n"})
    client.force_login(learner)
    url = reverse("workspace_history", args=[exercise.slug])
    seen = []
    while url:
        body = client.get(url).json()
        assert len(body["submissions"]) <= views.HISTORY_PAGE_SIZE
        seen += [item["attempt"] for item in body["submissions"]]
        url = body["next"]
    assert seen == list(range(total, 0, -1))
    assert body["pages"] == 3
    assert client.get(reverse("workspace_history", args=[exercise.slug]), {"page": 9}).json()["submissions"] == []


def test_the_files_of_one_attempt_come_with_the_attempt_before_it(client, exercise):
    learner = make_user()
    first = Submission.objects.create(user=learner, exercise=exercise, files={"Dockerfile": "FROM busybox\n"})
    second = Submission.objects.create(user=learner, exercise=exercise, files={"Dockerfile": "FROM busybox:1\n"})
    client.force_login(learner)
    body = client.get(reverse("workspace_attempt_files", args=[exercise.slug, second.pk])).json()
    assert body == {
        "id": second.pk,
        "attempt": 2,
        "files": {"Dockerfile": "FROM busybox:1\n"},
        "files_pruned": False,
        "previous": first.pk,
        "previous_url": f"/api/exercises/{exercise.slug}/submissions/{first.pk}/files/",
    }
    body = client.get(reverse("workspace_attempt_files", args=[exercise.slug, first.pk])).json()
    assert (body["attempt"], body["previous"], body["previous_url"]) == (1, None, None)


def test_files_pruned_by_retention_are_said_to_be_gone(client, exercise):
    learner = make_user()
    old = Submission.objects.create(user=learner, exercise=exercise, files={})
    client.force_login(learner)
    body = client.get(reverse("workspace_attempt_files", args=[exercise.slug, old.pk])).json()
    assert (body["files"], body["files_pruned"]) == ({}, True)


def test_nobody_sees_the_files_of_another_learners_attempt(client, exercise):
    owner, other = make_user("owner"), make_user("other")
    attempt = Submission.objects.create(user=owner, exercise=exercise, files={"Dockerfile": "secret\n"})
    client.force_login(other)
    response = client.get(reverse("workspace_attempt_files", args=[exercise.slug, attempt.pk]))
    assert response.status_code == 404
    assert response.json() == {"error": "There is no such attempt."}
    assert client.get(reverse("workspace_attempt_files", args=["another-one", attempt.pk])).status_code == 404
