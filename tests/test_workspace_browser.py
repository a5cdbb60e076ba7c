"""The exercise workspace in a real browser (Debian's Chromium through Playwright) against a real server.

Two servers are used:

* `ui_server`: Daphne (HTTP + WebSockets) on a temporary SQLite file and its own Redis database, with no
  Celery worker. Submissions stay queued, and the test plays the worker's part by publishing events with
  the project's own `Submission.publish` (stored in that database, sent over Redis). This drives every
  part of the page deterministically: streaming, colours, steps, reconnects, reloads, checks, image, history.
* `sandbox_stack`: the whole path (Daphne, a Celery worker, Redis and the sandbox daemons), for the tests
  also marked `sandbox`.

Screenshots go to artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ops.livestack import free_port, stop_process, wait_for_port

from .browser import launch_chromium

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
PASSWORD = "a-long-Passw0rd!"
UI_REDIS_URL = os.environ.get("DOCKYARD_E2E_REDIS_URL", "redis://127.0.0.1:6379/8")
EXERCISE = "e2e-first-image"
STARTER = {
    "Dockerfile": "FROM busybox:latest\nCOPY . /app\nCMD python /app/app.py\n",
    "app.py": "print('hello from the container')\n",
    "compose.yaml": "services:\n  app:\n    build: .\n",
}
SEED = f"""
from lessons.models import Exercise, Lesson
lesson = Lesson.objects.create(
    slug="e2e-basics", order=1, title="Dockerfile basics", body_markdown="x", body_html="<p>x</p>",
    toc=[{{"level": 2, "anchor": "pin-the-base-image", "title": "Pin the base image"}}],
)
Exercise.objects.create(
    lesson=lesson, slug={EXERCISE!r}, order=0, title="Your first image",
    prompt_html="<p>Write a Dockerfile that runs <code>app.py</code> on <code>python:3.11-slim</code>.</p>",
    starter_files={STARTER!r}, solution_files={{"Dockerfile": "FROM python:3.11-slim\\n"}}, spec={{"checks": []}},
)
Exercise.objects.create(
    lesson=lesson, slug="e2e-second", order=1, title="Slim it down", prompt_html="<p>Next.</p>",
    starter_files={{"Dockerfile": "FROM busybox:latest\\n"}}, spec={{"checks": []}},
)
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- Servers ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server():
    """Redis on 127.0.0.1:6379: the one already running (scripts/services.sh starts it), or our own."""
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
        yield None
        return
    except redis.exceptions.ConnectionError:
        pass
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(6379)
    yield process
    stop_process(process)


class UiServer:
    """Daphne alone on a temporary SQLite file; the test publishes the build events itself."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.web = None
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "REDIS_URL": UI_REDIS_URL,
            "DEBUG": "false",
            "SECURE_HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Two active builds per learner, so the rate limit (429) is quick to reach.
            "SUBMISSIONS_QUEUED_PER_USER": "1",
            # Every learner of these tests signs up from 127.0.0.1.
            "SIGNUPS_PER_ADDRESS_PER_HOUR": "1000",
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> UiServer:
        self.manage("migrate", "--noinput", "-v0")
        self.django(SEED)
        self.flush_redis()
        self.start_web()
        return self

    def start_web(self) -> None:
        log = open(self.workdir / "web.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.web = subprocess.Popen(
            [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(self.port), "tutorial.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)

    def stop_web(self) -> None:
        stop_process(self.web)
        self.web = None

    def stop(self) -> None:
        self.stop_web()
        self.flush_redis()

    def flush_redis(self) -> None:
        # Queued build tasks that no worker will ever take live in this test-only Redis database.
        import redis

        redis.Redis.from_url(UI_REDIS_URL).flushdb()

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def django(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def publish(self, submission_id: int, *events: dict) -> None:
        """Play the worker: publish events, and store the result on the submission as the pipeline does."""
        code = f"""
import json
from django.utils import timezone
from sandbox.models import Submission
for event in json.loads({json.dumps(events)!r}):
    kind = event.pop("type")
    if kind == "status":
        Submission.objects.filter(pk={submission_id}).update(status=event["status"])
    if kind == "result":
        Submission.objects.filter(pk={submission_id}).update(
            status=event["status"], score=event.get("score"), message=event.get("message", ""),
            result=event, finished_at=timezone.now())
    Submission.objects.get(pk={submission_id}).publish(kind, **event)
"""
        self.django(code)

    def store_silently(self, submission_id: int, *texts: str) -> None:
        """Store log events without sending them live, as if the live message had been lost."""
        code = f"""
from django.db.models import F
from sandbox.models import Submission, SubmissionEvent
for text in {list(texts)!r}:
    Submission.objects.filter(pk={submission_id}).update(last_seq=F("last_seq") + 1)
    seq = Submission.objects.values_list("last_seq", flat=True).get(pk={submission_id})
    SubmissionEvent.objects.create(submission_id={submission_id}, seq=seq, type="log", data={{"text": text}})
"""
        self.django(code)


@pytest.fixture(scope="module")
def ui_server(redis_server, tmp_path_factory):
    server = UiServer(tmp_path_factory.mktemp("workspace-ui")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Opens pages in fresh browser contexts (separate cookies and localStorage), failing on script errors."""
    contexts, errors = [], []

    def open_page(viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"the page raised script errors: {errors}"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workspace-{name}.png"), full_page=True)


# --- Page helpers -----------------------------------------------------------------------------------------


def sign_up(page, base_url: str, username: str, next_path: str = f"/exercises/{EXERCISE}/") -> None:
    page.goto(f"{base_url}/accounts/signup/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("form button[type=submit]")
    # The path itself, not the sign-up page whose ?next= ends the same way (a refused sign-up stays there).
    page.wait_for_url(lambda url: urlsplit(url).path == next_path)


def set_file(page, name: str, text: str) -> None:
    """Type into a file's editor as a learner would: open its tab, select everything, type over it."""
    page.click(f"[role=tab][data-file='{name}']")
    panel = page.locator("[role=tabpanel]:not([hidden])")
    panel.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def editor_text(page, name: str) -> str:
    return page.evaluate("(name) => window.dockyardWorkspace.editors.files()[name]", name)


def current_submission(page) -> int:
    page.wait_for_function("() => window.dockyardWorkspace.current && window.dockyardWorkspace.current.id")
    return page.evaluate("() => window.dockyardWorkspace.current.id")


def log_text(page) -> str:
    return page.locator("[data-role=log]").text_content()


def wait_for_log(page, text: str) -> None:
    page.wait_for_function(
        "(text) => document.querySelector('[data-role=log]').textContent.includes(text)", arg=text, timeout=20_000
    )


def build_state(page) -> str:
    return page.get_attribute("[data-role=build-state]", "data-state")


def submit(page) -> int:
    # The workspace's script runs after the page loads (it is deferred); wait for it before asking it anything.
    page.wait_for_function("() => window.dockyardWorkspace")
    before = page.evaluate("() => window.dockyardWorkspace.current && window.dockyardWorkspace.current.id")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        """(before) => {
            const c = window.dockyardWorkspace.current;
            return (c && c.id && c.id !== before) || !document.querySelector('[data-role=submit-error]').hidden;
        }""",
        arg=before,
    )
    error = page.locator("[data-role=submit-error]")
    assert error.is_hidden(), f"the submission was refused: {error.text_content()}"
    return current_submission(page)


def log(text: str) -> dict:
    return {"type": "log", "text": text}


def failing_result() -> list[dict]:
    check_base = {"type": "lint", "points": 1, "section_url": "/lessons/e2e-basics/#pin-the-base-image"}
    pinned = {
        **check_base,
        "id": "pinned-base",
        "title": "The base image names a version",
        "status": "failed",
        "passed": False,
        "message": "FROM busybox:latest (line 1) names no version.",
        "hint": "Write FROM python:3.11-slim.",
    }
    builds = {
        **check_base,
        "id": "builds",
        "type": "build",
        "title": "The image builds",
        "status": "passed",
        "passed": True,
        "message": "built in 2.1 s",
        "hint": "",
        "section_url": "",
    }
    image = {
        "size": 152_000_000,
        "solution_size": 58_000_000,
        "layers": [
            {"instruction": "FROM busybox:latest", "size": 150_000_000, "cached": True},
            {"instruction": "COPY . /app", "size": 2_000_000, "cached": False},
            {"instruction": 'CMD ["python", "/app/app.py"]', "size": 0, "cached": False},
        ],
    }
    result = {
        "type": "result",
        "status": "failed",
        "score": 50,
        "message": "1 of 2 checks failed.",
        "checks": [builds, pinned],
        "image": image,
        "build": {"ok": True, "reason": "", "message": "", "duration": 2.1, "steps": 3},
    }
    return [{**builds, "type": "check"}, {**pinned, "type": "check"}, result]


def passing_result() -> dict:
    check = {
        "type": "check",
        "id": "pinned-base",
        "title": "The base image names a version",
        "status": "passed",
        "passed": True,
        "message": "FROM python:3.11-slim names a version.",
        "hint": "Write FROM python:3.11-slim.",
        "section_url": "/lessons/e2e-basics/#pin-the-base-image",
        "points": 1,
    }
    return {
        "type": "result",
        "status": "passed",
        "score": 100,
        "message": "Every check passed.",
        "checks": [{k: v for k, v in check.items() if k != "type"}],
        "image": {"size": 58_000_000, "solution_size": 58_000_000, "layers": []},
        "build": {"ok": True, "reason": "", "message": "", "duration": 1.0, "steps": 3},
    }


# --- Tests against the UI server --------------------------------------------------------------------------


def test_an_anonymous_visitor_reads_the_exercise_but_is_asked_to_log_in(ui_server, new_page):
    page = new_page()
    page.goto(f"{ui_server.url}/exercises/{EXERCISE}/")
    assert "runs app.py on python:3.11-slim" in page.locator("[data-testid=prompt]").text_content()
    assert page.locator("[role=tab]").all_text_contents() == ["Dockerfile", "app.py", "compose.yaml"]
    assert page.locator(".CodeMirror").count() == 3
    assert editor_text(page, "Dockerfile") == STARTER["Dockerfile"]
    assert page.locator("[data-action=submit]").count() == 0
    page.locator(".CodeMirror").first.click()
    page.keyboard.press("Control+Enter")
    assert "Log in or sign up" in page.locator("[data-role=submit-error]").text_content()
    # Live lint answers anonymous readers too (or says clearly that it is unavailable).
    page.wait_for_function(
        "() => !document.querySelector('[data-role=lint-status]').textContent.includes('as you type')"
    )
    screenshot(page, "anonymous")


def test_a_learner_submits_watches_the_build_then_fixes_it_and_passes(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "ada")
    page.wait_for_selector("[data-role=history-status]:has-text('No attempts yet')")
    set_file(page, "Dockerfile", "FROM busybox:latest\nCOPY . /app\nCMD python /app/app.py\n# typed by ada\n")
    # Live lint: the problems of the typed text (DL3007: busybox:latest) as gutter markers and a list.
    page.wait_for_function(
        "() => /^(\\d+ lint problem|No lint problems|Live lint is not available)/.test("
        "document.querySelector('[data-role=lint-status]').textContent)"
    )
    if "not available" not in page.locator("[data-role=lint-status]").text_content():
        page.wait_for_selector("[data-role=lint-list] li:has-text('DL3007')")
        assert page.locator("#file-panel-1 .CodeMirror-lint-marker").count() > 0
        page.locator("[data-role=lint-list] li:has-text('DL3007') button").click()
        assert page.evaluate("() => document.activeElement.closest('#file-panel-1 .CodeMirror') !== null")
    screenshot(page, "lint")

    submission_id = submit(page)
    page.wait_for_selector("[data-role=build-status]:has-text('Waiting for a build sandbox')")
    assert build_state(page) == "queued"
    ui_server.publish(
        submission_id,
        {"type": "status", "status": "running", "message": "Building in the sandbox…"},
        log("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s"),
        log("#5 [2/3] COPY . /app\n#5 CACHED"),
        log("#6 [3/3] RUN pip install flask\n#6 0.412 \x1b[31mERROR: no network\x1b[0m plain again"),
        log("#6 0.500 <script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"),
    )
    wait_for_log(page, "onerror")
    assert page.locator("[data-role=log] .ansi-fg-1").text_content() == "ERROR: no network"
    assert page.evaluate("() => window.pwned") is None
    assert "<script>window.pwned = 1</script>" in log_text(page)
    assert page.locator("[data-role=log] script, [data-role=log] img").count() == 0
    assert "\x1b" not in log_text(page)
    assert page.locator("[data-role=build-step]").text_content() == "Step 3/3: RUN pip install flask"
    assert build_state(page) == "running"

    ui_server.publish(submission_id, *failing_result())
    page.wait_for_selector("[data-role=build-state][data-state=failed]")
    summary = page.locator("[data-role=results-summary]").text_content()
    assert "Score 50%" in summary and "1 of 2 checks failed" in summary
    failed = page.locator(".ws-check-failed")
    assert failed.locator(".ws-check-title").text_content() == "The base image names a version"
    assert "names no version" in failed.locator(".ws-check-message").text_content()
    hint = failed.locator("details.ws-check-hint")
    assert hint.get_attribute("open") is None
    hint.locator("summary").click()
    assert hint.locator("p").is_visible()
    assert failed.locator("a.ws-check-link").get_attribute("href") == "/lessons/e2e-basics/#pin-the-base-image"
    assert page.locator(".ws-check-passed .ws-check-status").text_content() == "Passed"
    assert page.locator("[data-role=next]").is_hidden()
    image = page.locator("[data-role=image]")
    assert image.is_visible()
    assert "152 MB" in image.text_content() and "58 MB" in image.text_content()
    assert "2.6× the size of the reference solution" in image.text_content()
    assert page.locator(".ws-layer").count() == 3
    assert page.locator(".ws-layer.is-cached .ws-layer-instruction").text_content() == "FROM busybox:latest"
    screenshot(page, "failed")

    set_file(page, "Dockerfile", "FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n")
    second_id = submit(page)
    page.wait_for_function("() => document.querySelector('[data-role=log]').textContent === ''")
    ui_server.publish(
        second_id,
        {"type": "status", "status": "running", "message": "Building in the sandbox…"},
        log("#5 [1/3] FROM python:3.11-slim"),
        passing_result(),
    )
    page.wait_for_selector("[data-role=build-state][data-state=passed]")
    next_link = page.locator("[data-role=next] a")
    assert next_link.is_visible()
    assert next_link.get_attribute("href") == "/exercises/e2e-second/"
    assert "Slim it down" in next_link.text_content()
    assert page.locator(".ws-layer").count() == 0
    assert page.locator("[data-role=layers-part]").is_hidden()

    # The history lists both attempts; the newest one's changes are a diff against the first.
    page.wait_for_selector(".ws-attempt-passed")
    attempts = page.locator(".ws-attempt")
    assert attempts.count() == 2
    newest = attempts.first
    assert "Attempt 2" in newest.text_content() and "100%" in newest.text_content()
    newest.locator("details summary").click()
    assert newest.locator(".ws-diff-del").first.text_content() == "- FROM busybox:latest\n"
    assert newest.locator(".ws-diff-add").first.text_content() == "+ FROM python:3.11-slim\n"
    assert "Changes from the starter files" in attempts.nth(1).text_content()
    screenshot(page, "passed")

    # An earlier attempt can be shown again from the history: its stored story, not the live one.
    attempts.nth(1).get_by_role("button", name="Show build and checks").click()
    page.wait_for_selector("[data-role=build-state][data-state=failed]")
    wait_for_log(page, "ERROR: no network")
    assert log_text(page).count("ERROR: no network") == 1


def test_a_waiting_build_shows_its_place_in_the_queue_and_the_wait_as_they_change(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "queuer")
    submission_id = submit(page)
    # The first event already says where the build stands (nothing else is running on this server).
    page.wait_for_selector("[data-role=build-status]:has-text('in line')")
    assert build_state(page) == "queued"
    # The worker and the upkeep tell a new place whenever the queue moves.
    ui_server.publish(
        submission_id,
        {
            "type": "status",
            "status": "queued",
            "message": "Waiting for a build sandbox: 3rd in line, about 40 s to wait.",
            "position": 3,
            "wait_seconds": 40,
        },
    )
    page.wait_for_selector("[data-role=build-status]:has-text('3rd in line, about 40 s to wait')")
    assert page.get_attribute("[data-role=build-state]", "data-position") == "3"
    ui_server.publish(
        submission_id,
        {
            "type": "status",
            "status": "queued",
            "message": "Waiting for a build sandbox: next in line, starting in a moment.",
            "position": 1,
            "wait_seconds": 0,
        },
    )
    page.wait_for_selector("[data-role=build-status]:has-text('next in line, starting in a moment')")
    assert page.get_attribute("[data-role=build-state]", "data-position") == "1"
    ui_server.publish(submission_id, {"type": "status", "status": "running", "message": "Building in the sandbox…"})
    page.wait_for_selector("[data-role=build-state][data-state=running]")
    assert page.get_attribute("[data-role=build-state]", "data-position") is None
    # A build whose sandbox stopped is retried, and the log says so where the first try ended.
    ui_server.publish(
        submission_id,
        log("#5 [2/2] RUN make"),
        {"type": "status", "status": "queued", "message": "The build sandbox stopped; retrying.", "retry": True},
    )
    wait_for_log(page, "--- The build sandbox stopped; retrying.")
    ui_server.publish(submission_id, passing_result())
    page.wait_for_selector("[data-role=build-state][data-state=passed]")


def test_the_history_comes_a_page_at_a_time_and_fetches_files_only_when_asked(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "pager")
    ui_server.django(
        f"""
from django.contrib.auth.models import User
from lessons.models import Exercise
from sandbox.models import Submission
user, exercise = User.objects.get(username="pager"), Exercise.objects.get(slug={EXERCISE!r})
for n in range(12):
    Submission.objects.create(user=user, exercise=exercise, status="failed", score=0,
                              files={{"Dockerfile": f"FROM busybox:latest\\nRUN echo {{n}}\\n"}})
"""
    )
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.reload()
    page.wait_for_selector("[data-role=history-status]:has-text('12 attempts so far; the latest 10 are shown')")
    assert page.locator(".ws-attempt").count() == 10
    # The list came without files: nothing has asked for any yet.
    assert not [url for url in requests if url.endswith("/files/")]
    page.get_by_role("button", name="Show older attempts").click()
    page.wait_for_function("() => document.querySelectorAll('.ws-attempt').length === 12")
    assert page.locator(".ws-history-more").is_hidden()
    assert page.locator("[data-role=history-status]").text_content() == "12 attempts so far."
    second = page.locator(".ws-attempt").nth(10)
    assert "Attempt 2" in second.text_content()
    second.locator("details summary").click()
    assert second.locator(".ws-diff-del").first.text_content() == "- RUN echo 0\n"
    assert second.locator(".ws-diff-add").first.text_content() == "+ RUN echo 1\n"
    fetched = sorted({url.rsplit("/", 3)[-3] for url in requests if url.endswith("/files/")})
    assert len(fetched) == 2, fetched  # attempt 2 and the attempt before it, nothing else


def test_reloading_mid_build_shows_the_whole_log_exactly_once(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "grace")
    submission_id = submit(page)
    ui_server.publish(
        submission_id,
        {"type": "status", "status": "running", "message": "Building in the sandbox…"},
        *(log(f"reload-line-{n:02d}") for n in range(1, 6)),
    )
    wait_for_log(page, "reload-line-05")
    page.reload()
    wait_for_log(page, "reload-line-05")
    assert page.locator("[data-role=build-label]").text_content() == "· attempt 1"
    ui_server.publish(submission_id, *(log(f"reload-line-{n:02d}") for n in range(6, 11)))
    wait_for_log(page, "reload-line-10")
    text = log_text(page)
    lines = [line for line in text.splitlines() if line.startswith("reload-line-")]
    assert lines == [f"reload-line-{n:02d}" for n in range(1, 11)]
    assert build_state(page) == "running"


def test_a_lost_connection_shows_reconnecting_and_resumes_without_repeats(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "linus")
    submission_id = submit(page)
    ui_server.publish(submission_id, *(log(f"blip-line-{n}") for n in range(1, 4)))
    wait_for_log(page, "blip-line-3")
    ui_server.stop_web()
    try:
        page.wait_for_selector("[data-role=build-state][data-state=reconnecting]")
        assert "Reconnecting" in page.locator("[data-role=build-status]").text_content()
        assert page.locator("[data-action=retry]").is_visible()
        # Events published while the server is away are stored, and replayed after the reconnect.
        ui_server.publish(submission_id, *(log(f"blip-line-{n}") for n in range(4, 7)))
        screenshot(page, "reconnecting")
    finally:
        ui_server.start_web()
    page.click("[data-action=retry]")
    wait_for_log(page, "blip-line-6")
    assert build_state(page) != "reconnecting"
    ui_server.publish(submission_id, log("blip-line-7"))
    wait_for_log(page, "blip-line-7")
    lines = [line for line in log_text(page).splitlines() if line.startswith("blip-line-")]
    assert lines == [f"blip-line-{n}" for n in range(1, 8)]


def test_a_socket_that_stops_delivering_is_replaced_and_nothing_is_lost(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "ken")
    submission_id = submit(page)
    ui_server.publish(submission_id, log("quiet-line-1"))
    wait_for_log(page, "quiet-line-1")
    page.evaluate("() => { window.dockyardWorkspace.stallMs = 1000; }")
    ui_server.store_silently(submission_id, "lost-line-2")
    wait_for_log(page, "lost-line-2")
    ui_server.publish(submission_id, log("live-line-3"))
    wait_for_log(page, "live-line-3")
    lines = [line for line in log_text(page).splitlines() if line.endswith(("-1", "-2", "-3"))]
    assert lines == ["quiet-line-1", "lost-line-2", "live-line-3"]


def test_a_refused_submission_shows_the_servers_message_and_keeps_the_text(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "margaret")
    refused = "FROM evil/image:latest\nRUN echo my precious work\n"
    set_file(page, "Dockerfile", refused)
    page.keyboard.press("Control+Enter")
    error = page.locator("[data-role=submit-error]")
    error.wait_for()
    assert "evil/image" in error.text_content()
    assert editor_text(page, "Dockerfile") == refused
    # Past the per-learner limit (two active builds here), the 429 message is shown the same way.
    set_file(page, "Dockerfile", "FROM busybox:latest\n")
    submit(page)
    submit(page)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("[data-role=submit-error]:has-text('limit')")
    assert editor_text(page, "Dockerfile") == "FROM busybox:latest\n"
    screenshot(page, "refused")


def test_the_draft_survives_a_reload_and_reset_asks_first(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "barbara")
    set_file(page, "app.py", "print('my own app')\n")
    page.wait_for_timeout(400)  # drafts are saved a quarter of a second after typing stops
    page.reload()
    assert editor_text(page, "app.py") == "print('my own app')\n"
    assert "Restored your work" in page.locator("[data-role=draft-note]").text_content()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("[data-action=reset]")
    assert editor_text(page, "app.py") == "print('my own app')\n"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-action=reset]")
    assert editor_text(page, "app.py") == STARTER["app.py"]
    page.reload()
    assert editor_text(page, "app.py") == STARTER["app.py"]


def test_the_workspace_is_usable_from_the_keyboard(ui_server, new_page):
    page = new_page()
    sign_up(page, ui_server.url, "alan")
    page.focus("[role=tab][data-file=Dockerfile]")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.dataset.file") == "app.py"
    assert page.locator("#file-panel-2").is_visible() and page.locator("#file-panel-1").is_hidden()
    # Tab indents inside the editor; Esc then Tab moves focus out of it.
    page.locator("#file-panel-2 .CodeMirror").click()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('.CodeMirror') !== null")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('.CodeMirror') === null")


def test_a_narrow_screen_stacks_the_panels(ui_server, new_page):
    page = new_page(viewport={"width": 390, "height": 844})
    sign_up(page, ui_server.url, "hedy")
    editor_box = page.locator(".ws-editor").bounding_box()
    build_box = page.locator(".ws-build").bounding_box()
    assert build_box["y"] > editor_box["y"] + editor_box["height"] - 1
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "narrow")


def test_another_learner_cannot_open_someone_elses_submission(ui_server, new_page):
    owner = new_page()
    sign_up(owner, ui_server.url, "owner")
    submission_id = submit(owner)
    ui_server.publish(submission_id, log("owner-secret-output"))
    wait_for_log(owner, "owner-secret-output")

    intruder = new_page()
    sign_up(intruder, ui_server.url, "intruder")
    status = intruder.evaluate("(id) => fetch(`/api/submissions/${id}/`).then((r) => r.status)", submission_id)
    assert status == 404
    outcome = intruder.evaluate(
        """(id) => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}/ws/submissions/${id}/`);
            const seen = {opened: false, messages: []};
            socket.onopen = () => { seen.opened = true; };
            socket.onmessage = (m) => seen.messages.push(m.data);
            socket.onclose = (e) => resolve({...seen, code: e.code});
        })""",
        submission_id,
    )
    assert outcome["opened"] is False
    assert outcome["messages"] == []
    history = intruder.evaluate(f"() => fetch('/api/exercises/{EXERCISE}/submissions/').then((r) => r.json())")
    assert (history["submissions"], history["total"]) == ([], 0)
    files = intruder.evaluate(
        f"(id) => fetch(`/api/exercises/{EXERCISE}/submissions/${{id}}/files/`).then((r) => r.status)", submission_id
    )
    assert files == 404


def test_the_log_and_result_helpers_are_safe_and_exact(ui_server, new_page):
    page = new_page()
    page.goto(f"{ui_server.url}/exercises/{EXERCISE}/")
    found = page.evaluate(
        """async () => {
        const ansi = await import('/static/js/workspace/ansi.js');
        const log = await import('/static/js/workspace/buildlog.js');
        const stream = await import('/static/js/workspace/stream.js');
        const results = await import('/static/js/workspace/results.js');
        const lint = await import('/static/js/workspace/lint.js');
        const state = ansi.newAnsiState();
        const coloured = ansi.parseAnsi('a\x1b[1;31mb\x1b[0mc', state);
        const carried = [ansi.parseAnsi('\x1b[32mx', state), ansi.parseAnsi('y', state)][1];
        const extended = ansi.parseAnsi('\x1b[0m\x1b[38;5;196mz\x1b[48;2;1;2;3mw', ansi.newAnsiState());
        const cursor = ansi.parseAnsi('\x1b[2Kline\x1b[1A\x1b]0;title\x07!', ansi.newAnsiState());
        const box = document.createElement('div');
        ansi.appendAnsi(box, '\x1b[31m<img src=x onerror=alert(1)>\x1b[0m<b>', ansi.newAnsiState());
        return {
            coloured, carried, extended, cursor, html: box.innerHTML,
            step: log.parseStep('#7 [build 2/5] RUN pip install -r requirements.txt'),
            internal: log.parseStep('#4 [internal] load metadata for docker.io/library/python:3.11-slim'),
            delays: [1, 2, 5, 30].map((n) => stream.reconnectDelay(n, () => 0.5)),
            socket: stream.socketUrl('/ws/submissions/3/', 17),
            links: ['/lessons/a/#b', 'javascript:alert(1)', 'https://evil.example/x', '//evil.example/x']
                .map((url) => results.sameSiteUrl(url)),
            sizes: [999, 1500, 152000000, 2500000000].map(results.formatBytes),
            lines: lint.toAnnotations([{line: null}, {line: 99, level: 'style'}], 3)
                .map((a) => [a.from.line, a.severity]),
        };
    }"""
    )
    assert found["coloured"] == [
        {"text": "a", "classes": []},
        {"text": "b", "classes": ["ansi-fg-1", "ansi-bold"]},
        {"text": "c", "classes": []},
    ]
    assert found["carried"] == [{"text": "y", "classes": ["ansi-fg-2"]}]
    assert found["extended"] == [{"text": "z", "classes": []}, {"text": "w", "classes": []}]
    assert "".join(part["text"] for part in found["cursor"]) == "line!"
    assert found["html"] == '<span class="ansi-fg-1">&lt;img src=x onerror=alert(1)&gt;</span>&lt;b&gt;'
    assert found["step"] == {
        "vertex": 7,
        "stage": "build",
        "index": 2,
        "total": 5,
        "instruction": "RUN pip install -r requirements.txt",
    }
    assert found["internal"] is None
    assert found["delays"] == [500, 1000, 8000, 15000]
    assert found["socket"] == f"ws://127.0.0.1:{ui_server.port}/ws/submissions/3/?after=17"
    assert found["links"] == ["/lessons/a/#b", None, None, None]
    assert found["sizes"] == ["999 B", "1.5 kB", "152 MB", "2.5 GB"]
    assert found["lines"] == [[0, "info"], [2, "info"]]


# --- The whole path: Daphne, Celery worker, Redis and a sandbox daemon ------------------------------------


@pytest.fixture(scope="module")
def sandbox_stack(redis_server, tmp_path_factory):
    import redis

    from ops.livestack import LiveStack

    # A Redis database of its own, so this worker never takes builds queued by another test's servers.
    redis_url = os.environ.get("DOCKYARD_E2E_STACK_REDIS_URL", "redis://127.0.0.1:6379/9")
    stack = LiveStack(tmp_path_factory.mktemp("workspace-stack"))
    stack.start(concurrency=1, extra_env={"REDIS_URL": redis_url})
    yield stack
    stack.stop()
    redis.Redis.from_url(redis_url).flushdb()


def real_exercise(stack) -> dict:
    """The exercise to drive for real: DOCKYARD_E2E_EXERCISE, or the first one in the course."""
    wanted = os.environ.get("DOCKYARD_E2E_EXERCISE", "")
    code = (
        "import json\nfrom lessons.models import Exercise\n"
        f"qs = Exercise.objects.filter(slug={wanted!r}) if {wanted!r} else Exercise.objects.all()\n"
        "e = qs.first()\n"
        "print(json.dumps(e and {'slug': e.slug, 'starter': e.starter_files, 'solution': e.solution_files}))"
    )
    found = json.loads(stack.manage("shell", "-c", code).strip().splitlines()[-1])
    if not found:
        pytest.fail("the shipped course has no exercises loaded")
    return found


def wait_for_result(page, timeout_s: float = 240) -> str:
    page.wait_for_selector(
        "[data-role=build-state][data-state=passed], [data-role=build-state][data-state=failed], "
        "[data-role=build-state][data-state=error]",
        timeout=timeout_s * 1000,
    )
    return build_state(page)


def stored_log_lines(page, submission_id: int) -> list[str]:
    events = page.evaluate("(id) => fetch(`/api/submissions/${id}/`).then((r) => r.json())", submission_id)["events"]
    text = "".join(ANSI.sub("", event["text"]) + "\n" for event in events if event["type"] == "log")
    return text.splitlines()


@pytest.mark.sandbox
def test_the_real_pipeline_fails_the_starter_then_passes_the_solution(sandbox_stack, new_page):
    exercise = real_exercise(sandbox_stack)
    path = f"/exercises/{exercise['slug']}/"
    page = new_page()
    sign_up(page, sandbox_stack.base_url, "real-learner", next_path=path)
    first = submit(page)
    assert wait_for_result(page) in {"failed", "error"}
    assert page.locator(".ws-check").count() > 0
    assert page.locator(".ws-check-failed, .ws-check-error, .ws-check-skipped").count() > 0
    assert [line for line in log_text(page).splitlines()] == stored_log_lines(page, first)
    screenshot(page, "real-failed")

    for name, text in exercise["solution"].items():
        if page.locator(f"[role=tab][data-file='{name}']").count():
            set_file(page, name, text)
    second = submit(page)
    assert wait_for_result(page) == "passed", page.locator("[data-role=results-summary]").text_content()
    assert page.locator("[data-role=next] a").is_visible()
    assert page.locator("[data-role=image]").is_visible()
    assert [line for line in log_text(page).splitlines()] == stored_log_lines(page, second)
    screenshot(page, "real-passed")


@pytest.mark.sandbox
def test_the_real_pipeline_survives_a_reload_mid_build(sandbox_stack, new_page):
    exercise = real_exercise(sandbox_stack)
    path = f"/exercises/{exercise['slug']}/"
    page = new_page()
    sign_up(page, sandbox_stack.base_url, "real-reloader", next_path=path)
    submission_id = submit(page)
    # The build may wait for a free sandbox daemon (other tests share them), hence the generous timeout.
    page.wait_for_function("() => document.querySelector('[data-role=log]').textContent.length > 0", timeout=240_000)
    page.reload()
    wait_for_result(page)
    assert page.locator("[data-role=build-label]").text_content() == "· attempt 1"
    assert [line for line in log_text(page).splitlines()] == stored_log_lines(page, submission_id)


@pytest.mark.sandbox
def test_the_real_pipeline_keeps_submissions_private(sandbox_stack, new_page):
    exercise = real_exercise(sandbox_stack)
    owner = new_page()
    sign_up(owner, sandbox_stack.base_url, "real-owner", next_path=f"/exercises/{exercise['slug']}/")
    submission_id = submit(owner)
    intruder = new_page()
    sign_up(intruder, sandbox_stack.base_url, "real-intruder", next_path=f"/exercises/{exercise['slug']}/")
    assert intruder.evaluate("(id) => fetch(`/api/submissions/${id}/`).then((r) => r.status)", submission_id) == 404
    opened = intruder.evaluate(
        """(id) => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}/ws/submissions/${id}/`);
            socket.onopen = () => resolve(true);
            socket.onclose = () => resolve(false);
        })""",
        submission_id,
    )
    assert opened is False
    wait_for_result(owner)
