"""The grading engine against a real sandbox daemon: real builds, containers and rebuilds, passing and
failing, for every check type.

Uses the daemon named by DOCKYARD_TEST_DOCKER_HOST, or else the first sandbox daemon
(sandbox.daemons.all_docker_hosts()[0]); skipped when it does not answer. Every build and container is
labelled with a per-test id and removed when the test's BuildEnvironment closes.
"""

from __future__ import annotations

import os
import textwrap
import time
from types import SimpleNamespace

import docker
import pytest
from django.core.cache import cache
from django.core.management import call_command

from sandbox.cleanup import LABEL
from sandbox.environment import BuildEnvironment
from sandbox.grading import grade_submission

pytestmark = pytest.mark.sandbox


@pytest.fixture
def submission_id(request) -> str:
    return f"test-grading-{request.node.name[:30]}-{os.getpid()}-{time.monotonic_ns()}"


@pytest.fixture
def env(docker_host, submission_id):
    log: list[str] = []
    with BuildEnvironment(docker_host, submission_id, on_log=log.append) as environment:
        environment.log_lines = log
        yield environment


def exercise(checks: list[dict], solution: dict[str, str] | None = None, **spec) -> SimpleNamespace:
    numbered = [{"title": f"check {c['id']}", **c} for c in checks]
    return SimpleNamespace(
        spec={"checks": numbered, **spec},
        lesson=SimpleNamespace(slug="grading-tests"),
        solution_files=solution or {},
    )


def files(dockerfile: str, **others: str) -> dict[str, str]:
    found = {"Dockerfile": textwrap.dedent(dockerfile).lstrip("\n")}
    found.update(
        {name.replace("__", "/").replace("_dot_", "."): textwrap.dedent(text) for name, text in others.items()}
    )
    return found


def statuses(result: dict) -> dict[str, str]:
    return {verdict["id"]: verdict["status"] for verdict in result["checks"]}


def messages(result: dict) -> dict[str, str]:
    return {verdict["id"]: verdict["message"] for verdict in result["checks"]}


# --- Static, build and image checks on one busybox image -------------------------------------------------------

BUSYBOX_APP = files(
    """
    FROM busybox:latest
    WORKDIR /srv
    COPY hello.sh /srv/hello.sh
    ENV GREETING=hello API_TOKEN=abc123
    EXPOSE 8080
    USER nobody
    CMD ["sh", "/srv/hello.sh"]
    """,
    hello_dot_sh="""
    echo "$GREETING from busybox"
    echo "a warning" >&2
    """,
)

IMAGE_CHECKS = [
    {"id": "lint-pass", "type": "lint", "rules": ["DL3025"]},
    {"id": "lint-fail", "type": "lint", "rules": ["DL3007"]},
    {"id": "stages-pass", "type": "stages", "max": 1},
    {"id": "stages-fail", "type": "stages", "min": 2},
    {"id": "base-pass", "type": "base-image", "allowed": ["busybox"]},
    {"id": "base-fail", "type": "base-image", "pinned": True},
    {"id": "user-instruction-pass", "type": "non-root-user"},
    {"id": "healthcheck-instruction-fail", "type": "healthcheck-instruction"},
    {"id": "exec-form-pass", "type": "exec-form"},
    {"id": "secrets-fail", "type": "no-secrets"},
    {"id": "instructions-pass", "type": "instructions", "forbid": [{"keyword": "RUN", "pattern": "."}]},
    {"id": "install-order-fail", "type": "install-order", "manifest": "requirements.txt", "install": "pip"},
    {"id": "build", "type": "build"},
    {"id": "size-pass", "type": "image-size", "max_mb": 20},
    {"id": "size-fail", "type": "image-size", "max_mb": 0.5},
    {"id": "layers-pass", "type": "layers", "max": 10},
    {"id": "layers-fail", "type": "layers", "max": 1},
    {"id": "image-user-pass", "type": "image-user"},
    {"id": "image-user-fail", "type": "image-user", "user": "app"},
    {"id": "ports-pass", "type": "ports", "expose": [8080], "exactly": True},
    {"id": "ports-fail", "type": "ports", "expose": [9090]},
    {"id": "env-pass", "type": "env", "present": {"GREETING": "hello"}},
    {"id": "env-fail", "type": "env", "absent": [".*TOKEN.*"]},
    {"id": "workdir-pass", "type": "workdir", "path": "/srv"},
    {"id": "workdir-fail", "type": "workdir", "path": "/app"},
    {"id": "history-pass", "type": "history", "forbid": ["password"]},
    {"id": "history-fail", "type": "history", "forbid": ["API_TOKEN=abc123"]},
    {"id": "files-pass", "type": "files", "present": ["/srv/hello.sh", "/bin/sh"], "absent": ["/srv/.env"]},
    {"id": "files-fail", "type": "files", "absent": ["/srv/hello.sh"]},
    {"id": "command-default-pass", "type": "command", "stdout": "^hello from busybox$", "stderr": "a warning"},
    {"id": "command-exit-pass", "type": "command", "run": "exit 3", "exit_code": 3},
    {"id": "command-env-pass", "type": "command", "run": 'echo "token=$TOKEN"', "env": {"TOKEN": "t-1"},
     "stdout": "token=t-1"},
    {"id": "command-user-pass", "type": "command", "run": ["id", "-u"], "stdout": "^65534$"},
    {"id": "command-fail", "type": "command", "run": ["cat", "/srv/missing"]},
    {"id": "command-timeout-fail", "type": "command", "run": "sleep 30", "timeout": 2},
]  # fmt: skip


def test_static_build_image_and_command_checks_pass_and_fail_on_a_real_image(env):
    seen = []
    result = grade_submission(exercise(IMAGE_CHECKS), BUSYBOX_APP, env, on_check=seen.append)
    expected = {check["id"]: check["id"].rsplit("-", 1)[1] for check in IMAGE_CHECKS if check["id"] != "build"}
    found = statuses(result)
    assert found.pop("build") == "passed"
    assert found == {check: ("passed" if want == "pass" else "failed") for check, want in expected.items()}
    assert len(seen) == len(IMAGE_CHECKS)
    text = messages(result)
    assert text["size-fail"].startswith("the image is ") and text["size-fail"].endswith("this exercise allows 0.5 MB.")
    assert text["workdir-fail"] == "the image's working directory is /srv; this exercise expects /app."
    assert text["files-fail"] == "/srv/hello.sh is in the image and should not be."
    assert text["command-fail"].startswith("`cat /srv/missing` exited with code 1, expected 0")
    assert text["command-timeout-fail"].startswith("`sleep 30` was still running after 2 s")
    assert result["image"]["config"]["user"] == "nobody"
    assert [layer["instruction"] for layer in result["image"]["layers"]][:2] == [
        "WORKDIR /srv",
        "COPY hello.sh /srv/hello.sh",
    ]
    assert result["build"]["ok"] is True


def test_grading_leaves_no_container_or_image_behind(docker_host, submission_id):
    checks = [{"id": "build", "type": "build"}, {"id": "runs", "type": "command", "stdout": "hello"}]
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        assert grade_submission(exercise(checks), BUSYBOX_APP, env)["passed"]
    client = docker.DockerClient(base_url=docker_host, timeout=60)
    try:
        label = f"{LABEL}={submission_id}"
        assert client.containers.list(all=True, filters={"label": label}) == []
        assert client.images.list(filters={"label": label}) == []
    finally:
        client.close()


# --- Services: probed from inside the container -------------------------------------------------------------------

TWO_SERVERS = files(
    """
    FROM python:3.11-slim
    WORKDIR /app
    COPY server.py .
    CMD ["python", "server.py"]
    """,
    server_dot_py="""
    import http.server
    import threading

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status = 200 if self.path == "/" else 404
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"hello from port %d" % self.server.server_port)

    public = http.server.HTTPServer(("0.0.0.0", 8000), Hello)
    private = http.server.HTTPServer(("127.0.0.1", 8001), Hello)
    threading.Thread(target=private.serve_forever, daemon=True).start()
    print("serving", flush=True)
    public.serve_forever()
    """,
)

SERVICE_CHECKS = [
    {"id": "build", "type": "build"},
    {"id": "service-pass", "type": "service", "port": 8000, "body": "hello from port 8000"},
    {"id": "service-loopback-pass", "type": "service", "port": 8001},
    {"id": "service-status-pass", "type": "service", "port": 8000, "path": "/missing", "status": 404},
    {"id": "service-status-fail", "type": "service", "port": 8000, "path": "/missing"},
    {"id": "service-fail", "type": "service", "port": 8002, "within": 3},
    {"id": "listen-pass", "type": "listen", "port": 8000},
    {"id": "listen-fail", "type": "listen", "port": 8001},
]


def test_service_and_listen_checks_probe_a_real_app_through_its_network_namespace(env):
    result = grade_submission(exercise(SERVICE_CHECKS), TWO_SERVERS, env)
    found = statuses(result)
    assert found == {check["id"]: ("failed" if check["id"].endswith("fail") else "passed") for check in SERVICE_CHECKS}
    text = messages(result)
    assert text["service-status-fail"].startswith("GET /missing on port 8000 answered 404, expected 200")
    assert text["service-fail"].startswith("nothing answered GET / on 127.0.0.1:8002 inside the container within 3 s")
    assert text["listen-pass"].startswith("the app listens on 0.0.0.0:8000")
    assert text["listen-fail"].startswith("the app listens on 127.0.0.1:8001 only")


def test_the_service_probe_reaches_an_app_whose_image_has_no_python(env):
    site = files(
        """
        FROM busybox:latest
        COPY index.html /www/index.html
        CMD ["httpd", "-f", "-p", "8000", "-h", "/www"]
        """,
        index_dot_html="<h1>Dockyard notes</h1>\n",
    )
    checks = [
        {"id": "build", "type": "build"},
        {"id": "page", "type": "service", "port": 8000, "body": "Dockyard notes"},
        {"id": "missing-page", "type": "service", "port": 8000, "path": "/nope.html", "status": 404},
    ]
    result = grade_submission(exercise(checks), site, env)
    assert statuses(result) == {"build": "passed", "page": "passed", "missing-page": "passed"}


# --- Health and stop ----------------------------------------------------------------------------------------------

WELL_BEHAVED = files(
    """
    FROM busybox:latest
    HEALTHCHECK --interval=30s CMD ["true"]
    CMD ["sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 1; done"]
    """
)
BADLY_BEHAVED = files(
    """
    FROM busybox:latest
    HEALTHCHECK CMD ["sh", "-c", "echo database unreachable; exit 1"]
    CMD ["sleep", "600"]
    """
)


def test_health_and_stop_pass_for_a_container_that_is_healthy_and_handles_sigterm(env):
    checks = [
        {"id": "build", "type": "build"},
        {"id": "health", "type": "health", "within": 15},
        {"id": "stop", "type": "stop", "within": 5, "ready": "ready"},
    ]
    result = grade_submission(exercise(checks), WELL_BEHAVED, env)
    assert statuses(result) == {"build": "passed", "health": "passed", "stop": "passed"}
    assert messages(result)["stop"].startswith("`docker stop` ended the container in ")


def test_health_and_stop_fail_for_a_container_that_is_unhealthy_and_ignores_sigterm(env):
    checks = [
        {"id": "build", "type": "build"},
        {"id": "health", "type": "health", "within": 4},
        {"id": "stop", "type": "stop", "within": 2},
    ]
    result = grade_submission(exercise(checks), BADLY_BEHAVED, env)
    assert statuses(result) == {"build": "passed", "health": "failed", "stop": "failed"}
    text = messages(result)
    assert "the last health check exited with 1: database unreachable" in text["health"]
    assert text["stop"] == (
        "`docker stop` sent SIGTERM, waited 2 s, then killed the container (exit code 137): the signal never "
        "reached your app. PID 1 is `sleep 600`."
    )


def test_the_stop_check_catches_a_shell_form_cmd(env):
    worker = files(
        """
        FROM python:3.11-slim
        COPY worker.py .
        CMD python worker.py
        """,
        worker_dot_py="""
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
        print("worker started", flush=True)
        while True:
            time.sleep(1)
        """,
    )
    checks = [{"id": "build", "type": "build"}, {"id": "stop", "type": "stop", "within": 3, "ready": "started"}]
    result = grade_submission(exercise(checks), worker, env)
    assert statuses(result)["stop"] == "failed"
    assert "PID 1 is `/bin/sh -c python worker.py`" in messages(result)["stop"]


# --- Cache and compare --------------------------------------------------------------------------------------------

CACHE_CHECKS = [
    {"id": "build", "type": "build"},
    {"id": "cache", "type": "cache", "change": "app.sh", "step": "cat /src/deps.txt"},
]


def test_the_cache_check_passes_when_the_install_step_comes_from_the_cache(env):
    good = files(
        """
        FROM busybox:latest
        COPY deps.txt /src/deps.txt
        RUN cat /src/deps.txt > /installed
        COPY app.sh /src/app.sh
        """,
        deps_dot_txt="left-pad==1.0\n",
        app_dot_sh="echo hi\n",
    )
    result = grade_submission(exercise(CACHE_CHECKS), good, env)
    assert statuses(result) == {"build": "passed", "cache": "passed"}
    assert "came from the cache (CACHED)" in messages(result)["cache"]
    assert any("Cache check: app.sh changed" in line for line in env.log_lines)


def test_the_cache_check_fails_when_a_source_change_reaches_the_install_step(env):
    bad = files(
        """
        FROM busybox:latest
        COPY . /src
        RUN cat /src/deps.txt > /installed
        """,
        deps_dot_txt="left-pad==1.0\n",
        app_dot_sh="echo hi\n",
    )
    result = grade_submission(exercise(CACHE_CHECKS), bad, env)
    assert statuses(result) == {"build": "passed", "cache": "failed"}
    assert "ran again" in messages(result)["cache"]
    assert "first missed at [2/3] `COPY . /src`" in messages(result)["cache"]


def test_the_compare_check_builds_the_reference_solution_and_compares_sizes(env):
    cache.clear()
    solution = files("FROM busybox:latest\nCOPY a.txt /a.txt\n", a_dot_txt="small\n")
    checks = [{"id": "build", "type": "build"}, {"id": "compare", "type": "compare", "max_ratio": 1.5}]
    bloated = files("FROM busybox:latest\nRUN dd if=/dev/zero of=/big bs=1M count=8\n")
    result = grade_submission(exercise(checks, solution=solution), bloated, env)
    assert statuses(result) == {"build": "passed", "compare": "failed"}
    assert "times the reference solution's" in messages(result)["compare"]
    assert result["image"]["solution_size"] > 0
    # The solution is built quietly: none of its steps reach the learner's log.
    assert not any("COPY a.txt" in line for line in env.log_lines)
    result = grade_submission(exercise(checks, solution=solution), solution, env)
    assert statuses(result) == {"build": "passed", "compare": "passed"}


# --- Failures that must read well ---------------------------------------------------------------------------------


def test_a_failed_build_is_reported_and_the_later_checks_are_skipped(env):
    broken = files("FROM busybox:latest\nRUN echo about to fail && exit 3\n")
    checks = [
        {"id": "exec", "type": "exec-form"},
        {"id": "build", "type": "build"},
        {"id": "small", "type": "image-size", "max_mb": 5},
        {"id": "runs", "type": "command"},
    ]
    result = grade_submission(exercise(checks), broken, env)
    assert statuses(result) == {"exec": "failed", "build": "failed", "small": "skipped", "runs": "skipped"}
    assert "exit code 3" in messages(result)["build"]
    assert result["score"] == 0 and result["message"].startswith("The image did not build: ")


def test_an_unparseable_dockerfile_gets_a_line_verdict_not_a_crash(env):
    checks = [{"id": "exec", "type": "exec-form"}, {"id": "build", "type": "build"}]
    result = grade_submission(exercise(checks), files("FROM busybox:latest\nFROMM busybox\n"), env)
    assert messages(result)["exec"] == "line 2: unknown instruction: FROMM"
    assert statuses(result)["build"] == "failed"
    assert messages(result)["build"].startswith("line 2: ")


def test_context_files_are_added_to_the_build(env):
    checks = [
        {"id": "build", "type": "build"},
        {"id": "env-file", "type": "files", "present": ["/ctx/.env", "/ctx/.git/HEAD"]},
    ]
    spec = {"context_files": {".env": "A=1\n", ".git/HEAD": "ref: refs/heads/main\n"}}
    result = grade_submission(exercise(checks, **spec), files("FROM busybox:latest\nCOPY . /ctx\n"), env)
    assert statuses(result) == {"build": "passed", "env-file": "passed"}


def test_the_playground_builds_and_reports_image_facts(env):
    result = grade_submission(None, BUSYBOX_APP, env)
    assert result["passed"] is True and [verdict["id"] for verdict in result["checks"]] == ["build"]
    assert result["image"]["size"] > 0
    assert result["image"]["layers"][-1]["instruction"] == 'CMD ["sh" "/srv/hello.sh"]'


# --- The management commands --------------------------------------------------------------------------------------


def test_the_grade_command_passes_a_shipped_solution_and_fails_its_starter(capsys, settings, docker_host):
    folder = settings.LESSONS_CONTENT_DIR / "03-dockerfile-basics" / "exercises" / "first-dockerfile"
    call_command("grade", "first-dockerfile", str(folder / "solution"))
    output = capsys.readouterr().out
    assert "✓ Running the image prints the greeting" in output
    assert "Score 100/100" in output
    with pytest.raises(SystemExit) as exited:
        call_command("grade", "first-dockerfile", str(folder / "starter"))
    assert exited.value.code == 1
    output = capsys.readouterr().out
    assert "✗ The working directory is /app" in output and "Hint: Add `WORKDIR /app`" in output


def test_validate_content_proves_an_exercise_solvable(capsys, docker_host):
    call_command("validate_content", "first-dockerfile", "minimal-base")
    output = capsys.readouterr().out
    assert "All 2 exercises: solutions pass, starters fail." in output
