"""Limits on the public endpoints, answered in words: live lint (size, time box, threads, rate) and request
bodies (413 in JSON on the API). The tests marked `sandbox` go through the real server (Daphne, with the
Redis cache every web process shares) started by ops/livestack.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.test import AsyncClient, Client, RequestFactory
from django.urls import reverse

from ops.livestack import Learner, LiveStack
from sandbox.grading import lint_dockerfile
from workspace import lint
from workspace.limits import RequestTooLargeMiddleware

from .conftest import make_user

# hadolint needs far longer than any time box for this (over 15 s on a 2-core machine); it is under the
# 256 KiB file limit, so it is exactly what a hostile visitor could send.
HOSTILE_DOCKERFILE = "FROM busybox\n" + "RUN echo hello world && ls -la /tmp\n" * 7000
PROBLEM = {"line": 1, "rule": "DL3007", "level": "warning", "message": "Pin the version of the base image."}


def post_lint(client, text: str = "FROM busybox:latest\n", **extra):
    return client.post(
        reverse("workspace_lint"), data=json.dumps({"dockerfile": text}), content_type="application/json", **extra
    )


class SlowLinter:
    """A stand-in for lint_dockerfile that works until the test lets it go."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, text: str, secret_ids=(), hadolint_timeout: float = 5) -> list[dict]:
        self.started.set()
        self.release.wait(timeout=30)
        return [PROBLEM]


# --- Live lint, with Django's test client ---------------------------------------------------------------------


@pytest.mark.django_db
def test_lint_is_rate_limited_per_client_with_words(settings, monkeypatch):
    monkeypatch.setattr(lint, "lint_dockerfile", lambda text, secret_ids=(), hadolint_timeout=5: [PROBLEM])
    settings.LINT_REQUESTS_PER_MINUTE = 3
    anonymous = Client()
    assert [post_lint(anonymous).status_code for _ in range(3)] == [200, 200, 200]
    refused = post_lint(anonymous)
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("Live lint runs at most 3 times a minute; it resumes in ")
    assert refused.json()["error"].endswith(" s. Your Dockerfile is still checked when you submit it.")
    # Another address has its own count, and so has a logged-in learner (counted by account).
    assert post_lint(anonymous, REMOTE_ADDR="198.51.100.7").status_code == 200
    learner = Client()
    learner.force_login(make_user())
    assert [post_lint(learner).status_code for _ in range(4)] == [200, 200, 200, 429]


async def test_the_lint_runner_answers_busy_at_once_when_every_thread_is_working(monkeypatch):
    slow = SlowLinter()
    monkeypatch.setattr(lint, "lint_dockerfile", slow)
    runner = lint.LintRunner(workers=1)
    first = asyncio.ensure_future(runner.run("FROM busybox:latest\n", timeout=10))
    try:
        while not slow.started.is_set():
            await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(lint.LintBusy):
            await runner.run("FROM busybox:latest\n", timeout=10)
        assert time.monotonic() - started < 0.5
    finally:
        slow.release.set()
    assert await first == [PROBLEM]
    # The slot is free again once the lint has really ended.
    assert await runner.run("FROM busybox:latest\n", timeout=10) == [PROBLEM]


@pytest.mark.django_db
def test_a_busy_lint_is_a_503_in_words(monkeypatch):
    async def busy(text: str, secret_ids=()) -> list[dict]:
        raise lint.LintBusy

    monkeypatch.setattr("workspace.views.lint_in_time_box", busy)
    response = post_lint(Client())
    assert response.status_code == 503
    assert response.json() == {
        "error": "Live lint is busy right now; it tries again when you next pause typing. "
        "Your Dockerfile is still checked when you submit it."
    }


async def test_lint_gives_up_at_its_time_box(settings, monkeypatch):
    settings.LINT_TIMEOUT_SECONDS = 1
    settings.LINT_WORKERS = 3
    slow = SlowLinter()
    monkeypatch.setattr(lint, "lint_dockerfile", slow)
    started = time.monotonic()
    try:
        response = await post_lint(AsyncClient())
        took = time.monotonic() - started
    finally:
        slow.release.set()
    assert response.status_code == 503
    assert response.json()["error"] == (
        "Checking this Dockerfile took too long, so live lint stopped. "
        "Your Dockerfile is still checked when you submit it."
    )
    assert 1 <= took < 1 + lint.GRACE_SECONDS + 1


def test_hadolint_is_stopped_at_the_time_box():
    started = time.monotonic()
    problems = lint_dockerfile(HOSTILE_DOCKERFILE, hadolint_timeout=1)
    assert time.monotonic() - started < 5
    assert {"line": 1, "rule": "hadolint", "level": "info", "message": "hadolint did not run: hadolint took longer "
            "than 1 s"} in problems  # fmt: skip


# --- Request bodies, with Django's test client ---------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("sandbox.submissions.enqueue", lambda submission: sent.append(submission.pk))
    monkeypatch.setattr("sandbox.submissions.catalog_names", lambda: ["busybox:latest"])
    return sent


@pytest.mark.django_db
def test_a_whole_submission_json_escaped_fits_under_the_body_limit(settings, queued):
    learner = Client()
    learner.force_login(make_user())
    per_file = settings.SUBMISSION_MAX_FILE_BYTES
    files = {f"notes/{n:02d}.txt": ("echo hi\n" * (per_file // 8)) for n in range(19)}
    files["Dockerfile"] = "FROM busybox:latest\nCOPY notes /notes\n"
    body = json.dumps({"exercise": None, "files": files})
    assert sum(len(text) for text in files.values()) <= settings.SUBMISSION_MAX_TOTAL_BYTES
    assert len(body) > 5 * 1024 * 1024  # more than Django's default limit of 2.5 MB, twice over
    response = learner.post("/api/submissions/", body, content_type="application/json")
    assert response.status_code == 202, response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/submissions/", "/api/lint/"])
def test_a_body_over_the_limit_is_413_in_json_with_words_on_the_api(settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    learner = Client()
    learner.force_login(make_user())
    response = learner.post(path, "x" * 100_001, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "The request is larger than the 0.1 MiB this site accepts. A submission's files may total at "
        "most 5 MiB; send less and try again."
    }


@pytest.mark.django_db
def test_a_form_body_over_the_limit_gets_a_page_in_words_not_a_bare_400(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = Client().post(reverse("login"), {"username": "x" * 100_001, "password": "p"})
    assert response.status_code == 413
    assert "The request is larger than the 0.1 MiB this site accepts." in response.content.decode()


def test_django_refusing_a_body_itself_becomes_the_same_answer():
    from django.core.exceptions import RequestDataTooBig

    middleware = RequestTooLargeMiddleware(lambda request: None)
    answer = middleware.process_exception(RequestFactory().post("/api/lint/"), RequestDataTooBig())
    assert answer.status_code == 413 and "error" in json.loads(answer.content)


# --- Through the real server -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    live = LiveStack(tmp_path_factory.mktemp("limits")).start(concurrency=1)
    yield live
    live.stop()


def timed_get(url: str) -> tuple[float, int]:
    started = time.monotonic()
    status = requests.get(url, timeout=60).status_code
    return time.monotonic() - started, status


@pytest.mark.sandbox
def test_hostile_lint_requests_do_not_stall_other_visitors(stack):
    session = requests.Session()
    session.get(f"{stack.base_url}/accounts/login/", timeout=10)
    headers = {"Content-Type": "application/json", "X-CSRFToken": session.cookies["csrftoken"]}
    headers["Referer"] = f"{stack.base_url}/"

    def hostile() -> tuple[float, int, dict]:
        started = time.monotonic()
        response = session.post(
            f"{stack.base_url}/api/lint/", data=json.dumps({"dockerfile": HOSTILE_DOCKERFILE}), headers=headers,
            timeout=120,
        )  # fmt: skip
        return time.monotonic() - started, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=4) as pool:
        attacks = [pool.submit(hostile) for _ in range(4)]
        # Two hostile lints are told at once that live lint is busy: from then on, the other two hold both lint
        # threads until hadolint is stopped at the time box. Everything below happens while they are held.
        deadline = time.monotonic() + 30
        while sum(attack.done() for attack in attacks) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        pages = [timed_get(f"{stack.base_url}/"), timed_get(f"{stack.base_url}/lessons/")]
        started = time.monotonic()
        small = session.post(
            f"{stack.base_url}/api/lint/", data=json.dumps({"dockerfile": "FROM busybox:latest\n"}), headers=headers,
            timeout=60,
        )  # fmt: skip
        small_took = time.monotonic() - started
        results = [attack.result() for attack in attacks]
    # Other visitors are answered promptly while the hostile lints run, and another lint is told at once that
    # live lint is busy instead of waiting behind them. (Generous bounds: other work on a shared 2-core machine
    # slows everything a little; the hostile lints hold their threads for 5 s.)
    assert [status for _, status in pages] == [200, 200]
    assert all(took < 3 for took, _ in pages), pages
    assert small.status_code == 503 and small.json()["error"].startswith("Live lint is busy right now"), small.text
    assert small_took < 3
    # ... which were really hostile: two held the lint threads until hadolint was stopped at the time box,
    # and the others were told at once that live lint was busy.
    held = [result for result in results if result[1] == 200]
    busy = [result for result in results if result[1] == 503]
    assert len(held) == 2 and len(busy) == 2, [(took, status) for took, status, _ in results]
    for took, _, body in held:
        assert 4.5 <= took < 12
        assert {"line": 1, "rule": "hadolint", "level": "info", "message": "hadolint did not run: hadolint took "
                "longer than 5 s"} in body["problems"]  # fmt: skip
    for took, _, body in busy:
        assert took < 3 and body["error"].startswith("Live lint is busy right now")


@pytest.mark.sandbox
def test_a_body_over_the_limit_is_413_in_json_through_daphne(stack):
    body = b"x" * (11 * 1024 * 1024 + 2)
    response = requests.post(
        f"{stack.base_url}/api/submissions/", data=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == (
        "The request is larger than the 11.0 MiB this site accepts. A submission's files may total at most 5 MiB; "
        "send less and try again."
    )


@pytest.mark.sandbox
def test_a_streamed_body_is_cut_off_at_the_limit(stack):
    def chunks():
        for _ in range(20):
            yield b"x" * (1024 * 1024)

    response = requests.post(
        f"{stack.base_url}/api/lint/", data=chunks(), headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 413
    assert response.json()["error"].startswith("The request is larger than the 11.0 MiB this site accepts.")


@pytest.mark.sandbox
def test_the_log_in_lock_holds_on_the_real_server(stack):
    Learner(stack, "locked-out")
    visitor = requests.Session()
    page = visitor.get(f"{stack.base_url}/accounts/login/", timeout=10)
    assert page.status_code == 200

    def attempt(password: str) -> requests.Response:
        return visitor.post(
            f"{stack.base_url}/accounts/login/",
            data={"username": "locked-out", "password": password, "csrfmiddlewaretoken": visitor.cookies["csrftoken"]},
            headers={"Referer": f"{stack.base_url}/accounts/login/"},
            timeout=10,
            allow_redirects=False,
        )

    assert [attempt(f"wrong-{n}").status_code for n in range(4)] == [200, 200, 200, 200]
    locked = attempt("wrong-5")
    assert locked.status_code == 429
    assert "too many failed log-ins for this account" in locked.text
    assert attempt("a-long-Passw0rd!").status_code == 429
