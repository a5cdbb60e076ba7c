"""The workspace and the submissions API with labs: the lab's file comes first, the live lint checks it against
the sandbox's rules, and a refused lab is turned away with its line and reason before anything is queued."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from lessons.loader import ContentError, read_course
from lessons.models import Exercise, Lesson
from sandbox.models import Submission

from .conftest import write_file, write_lesson

pytestmark = pytest.mark.django_db

COMMANDS_SPEC = {"kind": "commands", "checks": [{"id": "runs", "type": "lab-run", "title": "It runs"}]}
COMPOSE_SPEC = {"kind": "compose", "checks": [{"id": "up", "type": "lab-run", "title": "It starts"}]}


def make_lab(slug: str, spec: dict, starter: dict) -> Exercise:
    lesson, _ = Lesson.objects.get_or_create(
        slug="volumes", defaults={"order": 10, "title": "Volumes", "body_markdown": "x", "body_html": "x"}
    )
    return Exercise.objects.create(lesson=lesson, slug=slug, title=slug, kind=spec["kind"], spec=spec,
                                   starter_files=starter)  # fmt: skip


def page_config(page: str) -> dict:
    match = re.search(r'<script id="workspace-config" type="application/json">(.*?)</script>', page, re.S)
    assert match
    return json.loads(match.group(1))


def post_json(client: Client, url: str, body) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("sandbox.submissions.enqueue", lambda submission: sent.append(submission.pk))
    return sent


def test_a_command_lab_opens_on_commands_sh_and_offers_to_run_it(client, user):
    lab = make_lab("keep-notes", COMMANDS_SPEC, {"commands.sh": "docker volume create notes\n", "notes.txt": "x"})
    client.force_login(user)
    page = client.get(reverse("exercise", args=[lab.slug])).content.decode()
    tabs = re.findall(r'role="tab" class="ws-tab" id="file-tab-\d+"\s+aria-controls="[^"]+" data-file="([^"]+)"', page)
    assert tabs == ["commands.sh", "notes.txt"]
    config = page_config(page)
    assert (config["kind"], config["mainFile"]) == ("commands", "commands.sh")
    assert "Run and check</button>" in page
    assert "Sandbox rules for commands.sh" in page
    assert 'data-kind="lab"' in page


def test_a_compose_lab_opens_on_compose_yaml_even_without_a_starter(client):
    lab = make_lab("stack", COMPOSE_SPEC, {"Dockerfile": "FROM busybox:latest\n"})
    config = page_config(client.get(reverse("exercise", args=[lab.slug])).content.decode())
    assert list(config["starter"]) == ["compose.yaml", "Dockerfile"]
    assert (config["kind"], config["mainFile"]) == ("compose", "compose.yaml")


def test_the_live_lint_checks_commands_and_compose_files_against_the_sandboxs_rules(client):
    url = reverse("workspace_lint")
    answer = post_json(client, url, {"kind": "commands", "text": "docker ps\ndocker run -v /:/host busybox:latest\n"})
    assert answer.status_code == 200
    assert answer.json() == {
        "problems": [
            {
                "line": 2,
                "rule": "sandbox",
                "level": "error",
                "message": "host paths cannot be mounted in the sandbox (`/`): use a named volume (-v NAME:/host) or "
                "a tmpfs mount (--tmpfs /host)",
            }
        ]
    }
    answer = post_json(client, url, {"kind": "compose", "text": "services:\n  web:\n    image: busybox:latest\n"})
    assert answer.json() == {"problems": []}
    answer = post_json(client, url, {"kind": "compose", "text": "services:\n  web:\n    image: mongo\n"})
    assert [(p["line"], p["rule"]) for p in answer.json()["problems"]] == [(3, "sandbox")]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"kind": "commands"}, "Send the text of commands.sh as 'text'."),
        ({"kind": "compose", "text": 3}, "Send the text of compose.yaml as 'text'."),
        ({"kind": "shell", "text": "ls"}, "'kind' must be one of dockerfile, commands, compose."),
    ],
)
def test_the_live_lint_refuses_a_malformed_lab_request_in_words(client, body, error):
    answer = post_json(client, reverse("workspace_lint"), body)
    assert (answer.status_code, answer.json()) == (400, {"error": error})


def test_a_refused_lab_is_turned_away_with_its_line_and_reason_and_nothing_is_queued(client, user, queued):
    lab = make_lab("keep-notes", COMMANDS_SPEC, {"commands.sh": ""})
    client.force_login(user)
    files = {"commands.sh": "docker volume create notes\ndocker run --privileged busybox:latest true\n"}
    answer = post_json(client, reverse("submission_create"), {"exercise": lab.slug, "files": files})
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "commands.sh, line 2: docker run: --privileged gives a container every capability and the machine's devices; "
        "it is never allowed in the sandbox"
    )
    assert (Submission.objects.count(), queued) == (0, [])
    answer = post_json(client, reverse("submission_create"), {"exercise": lab.slug, "files": {"Dockerfile": "x"}})
    assert answer.json()["error"] == "The submission has no commands.sh (a file named exactly 'commands.sh')."


def test_a_lab_within_the_rules_is_queued(client, user, queued, django_capture_on_commit_callbacks):
    lab = make_lab("stack", COMPOSE_SPEC, {})
    client.force_login(user)
    files = {"compose.yaml": "services:\n  web:\n    build: .\n", "Dockerfile": "FROM busybox:latest\n"}
    with django_capture_on_commit_callbacks(execute=True):
        answer = post_json(client, reverse("submission_create"), {"exercise": lab.slug, "files": files})
    assert answer.status_code == 202
    assert queued == [answer.json()["id"]]
    assert Submission.objects.get().files == files


def write_exercise(root, slug: str, extra: str = "") -> None:
    folder = root / "01-first" / "exercises" / slug
    write_file(
        folder / "exercise.yaml",
        f"title: {slug}\nprompt: Do it.\n{extra}checks:\n  - {{id: b, type: build, title: B}}\n",
    )
    write_file(folder / "starter" / "Dockerfile", "FROM busybox:latest\n")
    write_file(folder / "solution" / "Dockerfile", "FROM busybox:latest\n")


def test_an_exercise_may_set_its_place_in_the_lesson_instead_of_its_folders(tmp_path):
    write_lesson(tmp_path, "01-first")
    write_exercise(tmp_path, "a-later-one", "order: 2\n")
    write_exercise(tmp_path, "b-first-one", "order: 0\n")
    write_exercise(tmp_path, "c-by-folder")
    orders = {row["slug"]: row["order"] for row in read_course(tmp_path).exercises}
    assert orders == {"a-later-one": 2, "b-first-one": 0, "c-by-folder": 2}
    write_exercise(tmp_path, "d-bad", "order: first\n")
    with pytest.raises(ContentError) as error:
        read_course(tmp_path)
    assert "'order' must be a whole number (the exercise's place in its lesson)" in str(error.value)
