"""The checks that make exercises grade what they claim, against a real sandbox daemon: a health check that
must notice a hung app, build secrets that must stay out of the image, arguments through an entrypoint,
hardened runs, skipped prerequisites, the catalog's alias tags, and busybox's wget where tutorials use it.

Uses the daemon of the `docker_host` fixture; every build and container is labelled with a per-test id and
removed when the test's BuildEnvironment closes.
"""

from __future__ import annotations

import os
import textwrap
import time
from types import SimpleNamespace

import pytest

from lessons.validation import load_exercises
from sandbox import catalog
from sandbox.clients import make_client
from sandbox.environment import BuildEnvironment
from sandbox.grading import grade_submission

pytestmark = pytest.mark.sandbox

EXERCISES = load_exercises()


@pytest.fixture
def env(docker_host, request):
    submission_id = f"test-exercise-checks-{request.node.name[:30]}-{os.getpid()}-{time.monotonic_ns()}"
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as environment:
        yield environment


def exercise(checks: list[dict], **spec) -> SimpleNamespace:
    titled = [{"title": f"check {check['id']}", **check} for check in checks]
    return SimpleNamespace(spec={"checks": titled, **spec}, lesson=SimpleNamespace(slug="tests"), solution_files={})


def dockerfile(text: str, **others: str) -> dict[str, str]:
    found = {"Dockerfile": textwrap.dedent(text).lstrip("\n")}
    found.update({name.replace("_dot_", "."): textwrap.dedent(content) for name, content in others.items()})
    return found


def verdicts(result: dict) -> dict[str, dict]:
    return {verdict["id"]: verdict for verdict in result["checks"]}


def statuses(result: dict) -> dict[str, str]:
    return {verdict["id"]: verdict["status"] for verdict in result["checks"]}


# --- A health check must notice when the app stops answering -----------------------------------------------------

HEALTH_CHECKS = [
    {"id": "builds", "type": "build"},
    {"id": "becomes-healthy", "type": "health", "within": 30},
    {"id": "turns-unhealthy", "type": "unhealthy", "break_file": "/tmp/app-frozen", "needs": ["becomes-healthy"]},
]


def healthcheck_files(healthcheck: str, extra: str = "") -> dict[str, str]:
    """The shipped healthcheck exercise's app, with this HEALTHCHECK line."""
    shipped = EXERCISES["healthcheck"].solution_files
    text = shipped["Dockerfile"]
    start = text.index("HEALTHCHECK")
    end = text.index("CMD [", text.index("CMD [") + 1)
    return {**shipped, "Dockerfile": text[:start] + extra + healthcheck + "\n" + text[end:]}


def test_the_shipped_health_check_turns_unhealthy_when_the_app_hangs(env):
    result = grade_submission(exercise(HEALTH_CHECKS), EXERCISES["healthcheck"].solution_files, env)
    assert statuses(result) == {"builds": "passed", "becomes-healthy": "passed", "turns-unhealthy": "passed"}
    message = verdicts(result)["turns-unhealthy"]["message"]
    assert message.startswith("after the app stopped answering, the container turned unhealthy in ")
    assert "TimeoutError: timed out" in message


def test_a_health_check_that_always_succeeds_is_healthy_but_fails_the_unhealthy_check(env):
    started = time.monotonic()
    result = grade_submission(exercise(HEALTH_CHECKS), healthcheck_files('HEALTHCHECK CMD ["true"]'), env)
    assert statuses(result) == {"builds": "passed", "becomes-healthy": "passed", "turns-unhealthy": "failed"}
    assert verdicts(result)["turns-unhealthy"]["message"] == (
        "after the app stopped answering, the health check still passed 3 times in a row (the last health check "
        "exited with 0): it does not find out whether the app answers."
    )
    assert time.monotonic() - started < 40


BUSYBOX_WGET = "COPY --from=busybox:1.35 /bin/busybox /bin/wget\n"


def test_busybox_wget_copied_into_python_slim_works_as_a_health_check_bounded_by_timeout(env):
    # Tutorials copy busybox into images that lack curl and wget; the catalog's static busybox works there,
    # by address and by name, as long as the time limit comes from `timeout` rather than wget's -T.
    files = healthcheck_files(
        "HEALTHCHECK --interval=10s --timeout=3s --retries=3 "
        'CMD ["timeout", "2", "wget", "-q", "-O", "/dev/null", "http://localhost:8000/health"]',
        extra=BUSYBOX_WGET,
    )
    checks = [*HEALTH_CHECKS, {"id": "wget", "type": "command", "run": "wget -q -O- http://127.0.0.1:9/ ; echo rc=$?"}]
    result = grade_submission(exercise(checks), files, env)
    assert statuses(result) == {
        "builds": "passed", "becomes-healthy": "passed", "turns-unhealthy": "passed", "wget": "passed"
    }  # fmt: skip
    # A refused connection is an error exit, not a crash.
    assert "rc=1" in verdicts(result)["wget"]["message"]


def test_busybox_wget_copied_into_python_slim_takes_its_timeout_option_without_crashing(env):
    # Debian's busybox 1.35 is built without wget's -T, and its option parser wrote through a null pointer
    # (exit code 139); the catalog's copy accepts -T and drops it (sandbox/rootfs.py), wherever it is copied,
    # and HEALTHCHECK --timeout bounds the check instead.
    files = healthcheck_files(
        "HEALTHCHECK --interval=10s --timeout=3s --retries=3 "
        'CMD ["wget", "-q", "-T", "2", "-O", "/dev/null", "http://127.0.0.1:8000/health"]',
        extra=BUSYBOX_WGET + "COPY --from=busybox:1.35 /bin/busybox /bin/busybox\n",
    )
    checks = [
        *HEALTH_CHECKS,
        {"id": "refused", "type": "command", "run": "wget -q -T 2 -O /dev/null http://127.0.0.1:9/", "exit_code": 1},
        {"id": "busybox-image", "type": "command", "run": "busybox wget -T 2 http://127.0.0.1:9/", "exit_code": 1},
    ]
    assert statuses(grade_submission(exercise(checks), files, env)) == {
        "builds": "passed", "becomes-healthy": "passed", "turns-unhealthy": "passed",
        "refused": "passed", "busybox-image": "passed",
    }  # fmt: skip


# --- Build secrets ---------------------------------------------------------------------------------------------------

SECRET_CHECKS = [
    {"id": "builds", "type": "build"},
    {"id": "secret", "type": "build-secret", "secret": "index_token", "proof_file": "/proof"},
]


def secret_dockerfile(run: str) -> dict[str, str]:
    return dockerfile(f'FROM busybox:1.35\n{run}\nCMD ["true"]\n')


PROOF_STEP = "sha256sum /run/secrets/index_token | cut -d' ' -f1 > /proof"


def test_a_build_secret_mounted_for_one_step_is_used_and_left_nowhere(env):
    files = secret_dockerfile(f"RUN --mount=type=secret,id=index_token {PROOF_STEP}")
    result = grade_submission(exercise(SECRET_CHECKS, build_secrets=["index_token"]), files, env)
    assert statuses(result) == {"builds": "passed", "secret": "passed"}, result["checks"]


def test_a_build_secret_copied_into_the_image_is_found_in_its_layer(env):
    files = secret_dockerfile(
        f"RUN --mount=type=secret,id=index_token {PROOF_STEP} && cp /run/secrets/index_token /etc/token\n"
        "RUN rm /etc/token"
    )
    result = grade_submission(exercise(SECRET_CHECKS, build_secrets=["index_token"]), files, env)
    message = verdicts(result)["secret"]["message"]
    assert message.startswith(
        "the value of the build secret `index_token` is in the image: the file /etc/token (layer 2 of 3)"
    )


def test_a_build_that_does_not_mount_the_secret_fails_its_proof(env):
    files = secret_dockerfile("RUN echo idx_live_hardcoded | sha256sum | cut -d' ' -f1 > /proof")
    result = grade_submission(exercise(SECRET_CHECKS, build_secrets=["index_token"]), files, env)
    assert "did not get this build's secret `index_token`" in verdicts(result)["secret"]["message"]


def test_a_secret_the_exercise_does_not_declare_cannot_be_mounted(env):
    files = secret_dockerfile("RUN --mount=type=secret,id=aws_credentials cat /run/secrets/aws_credentials")
    result = grade_submission(exercise(SECRET_CHECKS, build_secrets=["index_token"]), files, env)
    assert result["build"]["reason"] == "refused"
    assert result["build"]["message"].startswith("line 2: this build has no secret `aws_credentials`")
    plain = grade_submission(exercise([{"id": "builds", "type": "build"}]), files, env)
    assert "not available in this exercise" in plain["build"]["message"]


# --- Arguments through an entrypoint, hardened runs, setuid files -------------------------------------------------


def test_run_args_reach_the_entrypoint_script_as_given(env):
    files = dockerfile(
        """
        FROM busybox:1.35
        COPY entry.sh /entry.sh
        ENTRYPOINT ["sh", "/entry.sh"]
        CMD ["echo", "default"]
        """,
        entry_dot_sh='echo "prepared, $# arguments"\nexec "$@"\n',
    )
    checks = [
        {"id": "builds", "type": "build"},
        {"id": "args", "type": "run-args", "args": ["echo", "two words"], "stdout": "prepared, 2 arguments\ntwo words"},
    ]
    assert statuses(grade_submission(exercise(checks), files, env)) == {"builds": "passed", "args": "passed"}


READ_ONLY_APP = """
    FROM busybox:1.35
    ENV CACHE=/tmp/cache
    CMD ["sh", "-c", "mkdir -p $CACHE && echo staged > $CACHE/x && grep CapEff /proc/self/status && echo done"]
    """


def test_read_only_runs_with_a_tmpfs_and_no_capabilities(env):
    checks = [
        {"id": "builds", "type": "build"},
        {"id": "with-tmpfs", "type": "read-only", "tmpfs": ["/tmp"], "stdout": "CapEff:\\s+0+\\ndone"},
        {"id": "without-tmpfs", "type": "read-only", "stdout": "done"},
    ]
    result = grade_submission(exercise(checks), dockerfile(READ_ONLY_APP), env)
    assert statuses(result) == {"builds": "passed", "with-tmpfs": "passed", "without-tmpfs": "failed"}
    assert "Read-only file system" in verdicts(result)["without-tmpfs"]["message"]


def test_no_setuid_finds_the_base_images_setuid_programs_until_they_are_removed(env):
    checks = [{"id": "builds", "type": "build"}, {"id": "setuid", "type": "no-setuid"}]
    plain = grade_submission(exercise(checks), dockerfile("FROM debian:bookworm-slim\n"), env)
    message = verdicts(plain)["setuid"]["message"]
    assert message.startswith("the image has ") and "/usr/bin/chfn (setuid)" in message
    cleaned = dockerfile("FROM debian:bookworm-slim\nRUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +\n")
    assert statuses(grade_submission(exercise(checks), cleaned, env))["setuid"] == "passed"


# --- A check that cannot run says why ------------------------------------------------------------------------------


def test_flask_service_without_a_cmd_fails_in_words_and_skips_what_needs_the_app(env):
    shipped = EXERCISES["flask-service"]
    solution = dict(shipped.solution_files)
    solution["Dockerfile"] = "\n".join(
        line for line in solution["Dockerfile"].splitlines() if not line.startswith("CMD")
    )
    result = grade_submission(shipped, solution, env)
    found = verdicts(result)
    assert found["answers"]["status"] == "failed"
    assert found["answers"]["message"].startswith("GET / on port 8000 got no answer: the container stopped by itself")
    assert "gunicorn" in found["answers"]["hint"]
    assert found["all-interfaces"]["status"] == "skipped"
    assert (
        found["all-interfaces"]["message"] == "skipped: this check needs “The app answers on port 8000” to pass first."
    )
    assert not [verdict for verdict in result["checks"] if verdict["status"] == "error"]


# --- The catalog's alias tags ------------------------------------------------------------------------------------


def test_every_alias_is_tagged_on_its_image_and_names_what_it_holds(docker_host):
    client = make_client(docker_host)
    try:
        for alias in catalog.aliases_in_catalog():
            assert client.images.get(alias).id == client.images.get(catalog.ALIASES[alias]).id, alias
        env = dict(
            entry.split("=", 1) for entry in client.images.get("python:3.11.2-slim-bookworm").attrs["Config"]["Env"]
        )
        assert env["PYTHON_VERSION"] == "3.11.2"
        labels = {"dockyard.test": "1"}
        debian = client.containers.run(
            "python:3.11-slim-bookworm", ["cat", "/etc/debian_version"], network_mode="none", remove=True, labels=labels
        )
        assert debian.decode().startswith("12.")
        version = client.containers.run(
            "busybox:1.35", ["sh", "-c", "busybox | head -1"], network_mode="none", remove=True, labels=labels
        )
        assert version.decode().startswith("BusyBox v1.35.")
    finally:
        client.close()
