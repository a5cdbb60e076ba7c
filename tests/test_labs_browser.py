"""A command lab and a Compose lab done in a real browser (Debian's Chromium through Playwright) against the
whole stack: Daphne, a Celery worker, Redis and the sandbox daemons (ops/livestack.py).

The learner opens the lab, sees the sandbox's rules applied while typing, runs the starter (it fails, with
the evidence), then the solution (it passes). Screenshots go to artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import os
import re

import pytest

from .browser import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox]

PASSWORD = "a-long-Passw0rd!"
FINISHED = ", ".join(f"[data-role=build-state][data-state={state}]" for state in ("passed", "failed", "error"))


@pytest.fixture(scope="module")
def lab_stack(tmp_path_factory):
    import redis

    from ops.livestack import LiveStack

    # A Redis database of its own, so this worker never takes submissions queued by another test's servers.
    redis_url = os.environ.get("DOCKYARD_E2E_LABS_REDIS_URL", "redis://127.0.0.1:6379/10")
    stack = LiveStack(tmp_path_factory.mktemp("labs-stack"))
    stack.start(concurrency=1, extra_env={"REDIS_URL": redis_url})
    yield stack
    stack.stop()
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def page(browser, lab_stack):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert errors == [], f"the page raised script errors: {errors}"


def exercise_files(stack, slug: str) -> dict:
    """The lab's starter and solution files, as the stack's own database holds them."""
    code = (
        "import json\nfrom lessons.models import Exercise\n"
        f"e = Exercise.objects.get(slug={slug!r})\n"
        "print(json.dumps({'starter': e.starter_files, 'solution': e.solution_files}))"
    )
    return json.loads(stack.manage("shell", "-c", code).strip().splitlines()[-1])


def sign_up(page, base_url: str, username: str, path: str) -> None:
    page.goto(f"{base_url}/accounts/signup/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"**{path}")


def set_file(page, name: str, text: str) -> None:
    """Type into a file's editor as a learner would: open its tab, select everything, type over it."""
    page.click(f"[role=tab][data-file='{name}']")
    panel = page.locator("[role=tabpanel]:not([hidden])")
    panel.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def run_and_wait(page) -> str:
    before = page.evaluate("() => window.dockyardWorkspace.current && window.dockyardWorkspace.current.id")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "(before) => { const c = window.dockyardWorkspace.current; return c && c.id && c.id !== before; }", arg=before
    )
    # The lab may wait for a free sandbox daemon (other tests share them), hence the generous timeout.
    page.wait_for_selector(FINISHED, timeout=300_000)
    return page.get_attribute("[data-role=build-state]", "data-state")


def check_row(page, check_id: str):
    return page.locator(f".ws-check[data-check='{check_id}']")


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"labs-{name}.png"), full_page=True)


def test_a_command_lab_in_the_browser_refuses_while_typing_fails_the_starter_and_passes_the_solution(lab_stack, page):
    files = exercise_files(lab_stack, "keep-data-in-a-volume")
    path = "/exercises/keep-data-in-a-volume/"
    sign_up(page, lab_stack.base_url, "lab-learner", path)
    assert page.locator("[role=tab]").all_text_contents() == ["commands.sh"]
    assert page.locator("[data-action=submit]").text_content() == "Run and check"

    # The sandbox's rules apply while typing, with the line and the reason.
    set_file(page, "commands.sh", files["starter"]["commands.sh"] + "docker run -v /etc:/host busybox:latest\n")
    problem = page.locator("[data-role=lint-list] .ws-lint-item")
    problem.first.wait_for()
    assert problem.locator(".ws-lint-where").all_text_contents() == ["Line 5"]
    assert problem.locator(".ws-lint-message").all_text_contents() == [
        "host paths cannot be mounted in the sandbox (`/etc`): use a named volume (-v NAME:/host) or a tmpfs mount "
        "(--tmpfs /host)"
    ]

    # The starter runs for real: each command and its output in the log, and the checks with their evidence.
    set_file(page, "commands.sh", files["starter"]["commands.sh"])
    page.wait_for_function("() => !document.querySelector('[data-role=lint-list] .ws-lint-item')")
    assert run_and_wait(page) == "failed"
    commands = page.locator("[data-role=log] .ws-log-command").all_text_contents()
    assert commands == [
        "$ docker run --name writer busybox:1.35 sh -c 'mkdir -p /data && echo \"remember the milk\" > /data/note.txt'\n",
        "$ docker rm writer\n",
        "$ docker run --name reader busybox:1.35 cat /data/note.txt\n",
    ]
    assert (
        "cat: can't open '/data/note.txt': No such file or directory" in page.locator("[data-role=log]").text_content()
    )
    note = check_row(page, "note-kept")
    assert note.locator(".ws-check-message").text_content() == "there is no volume named notes."
    assert note.locator(".ws-check-link").get_attribute("href") == "/lessons/volumes/#named-volumes"
    assert "docker volume create notes" in note.locator(".ws-check-hint").text_content()
    screenshot(page, "commands-failed")

    set_file(page, "commands.sh", files["solution"]["commands.sh"])
    assert run_and_wait(page) == "passed", page.locator("[data-role=results-summary]").text_content()
    assert check_row(page, "note-kept").locator(".ws-check-message").text_content() == (
        "the volume notes exists; the container writer is gone; it holds /note.txt: 'remember the milk'."
    )
    assert page.locator("[data-role=image]").is_hidden()
    assert page.locator("[data-role=next] a").is_visible()
    screenshot(page, "commands-passed")


def test_a_compose_lab_in_the_browser_fails_the_starter_and_passes_the_solution(lab_stack, page):
    files = exercise_files(lab_stack, "compose-web-and-redis")
    path = "/exercises/compose-web-and-redis/"
    sign_up(page, lab_stack.base_url, "compose-learner", path)
    assert page.locator("[role=tab]").all_text_contents() == ["compose.yaml", "Dockerfile", "app.py"]
    assert page.locator(".ws-tab[aria-selected=true]").text_content() == "compose.yaml"
    mode = page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getOption('mode')")
    assert mode == "yaml"

    assert run_and_wait(page) == "failed"
    log = page.locator("[data-role=log]").text_content()
    assert "$ docker-compose up --detach --no-color" in log and "Creating network" in log
    assert re.search(r"Creating lab\w+_web_1 \.\.\. done", log)
    message = check_row(page, "app-counts").locator(".ws-check-message").text_content()
    assert message.startswith(
        "GET http://web:8000/ from the network default answered 500, expected 200: cannot reach Redis at localhost:6379"
    )
    assert check_row(page, "redis-host").locator(".ws-check-message").text_content() == (
        "the service web: REDIS_HOST='localhost', which is not what this exercise expects."
    )
    screenshot(page, "compose-failed")

    set_file(page, "compose.yaml", files["solution"]["compose.yaml"])
    assert run_and_wait(page) == "passed", page.locator("[data-role=results-summary]").text_content()
    message = check_row(page, "app-counts").locator(".ws-check-message").text_content()
    assert re.fullmatch(
        r"GET http://web:8000/ from the network default answered 200 after \d+\.\d s: hits: \d+", message
    )
    screenshot(page, "compose-passed")
