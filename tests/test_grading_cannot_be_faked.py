"""Grading that the learner's image cannot fake: the runtime checks observe the app with the grader's own tools.

The image below replaces python3, wget and cat (the tools the checks once ran inside the learner's container)
with a script that prints what a passing check would read: an HTTP 200 with the expected body, and a
/proc/net/tcp line that says something listens on 0.0.0.0:8000. Nothing listens. The checks must fail, and
say that nothing answered: they run in the grader's probe container (sandbox.catalog.PROBE_IMAGE), which
shares only the app container's network namespace.
"""

from __future__ import annotations

import os
import textwrap
import time
from types import SimpleNamespace

import pytest

from sandbox.catalog import PROBE_IMAGE
from sandbox.cleanup import LABEL
from sandbox.clients import make_client
from sandbox.environment import BuildEnvironment
from sandbox.grading import grade_submission

pytestmark = pytest.mark.sandbox

FAKE_SUCCESS = textwrap.dedent(
    """\
    #!/bin/sh
    # Whatever it is asked, it prints what a passing probe would read.
    echo 200
    echo "  HTTP/1.1 200 OK"
    echo "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
    echo "   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1"
    echo "hello from port 8000"
    """
)
LIAR = {
    "Dockerfile": textwrap.dedent(
        """\
        FROM busybox:latest
        COPY fake-success.sh /usr/local/bin/fake-success
        RUN chmod 755 /usr/local/bin/fake-success \\
         && rm -f /bin/cat /bin/wget \\
         && for tool in /bin/cat /bin/wget /usr/bin/python3 /usr/local/bin/python3 /bin/python3; do \\
              mkdir -p "$(dirname $tool)" && ln -s /usr/local/bin/fake-success "$tool"; \\
            done
        CMD ["sleep", "600"]
        """
    ),
    "fake-success.sh": FAKE_SUCCESS,
}
CHECKS = [
    {"id": "build", "type": "build", "title": "builds"},
    {"id": "service", "type": "service", "title": "answers", "port": 8000, "body": "hello", "within": 4},
    {"id": "listen", "type": "listen", "title": "listens", "port": 8000, "within": 4},
    {"id": "stop", "type": "stop", "title": "stops", "within": 2},
]


@pytest.fixture
def env(docker_host, request):
    submission_id = f"test-faked-{request.node.name[:24]}-{os.getpid()}-{time.monotonic_ns()}"
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as environment:
        yield environment


def test_an_image_whose_tools_print_a_fake_success_fails_the_runtime_checks(env):
    exercise = SimpleNamespace(spec={"checks": CHECKS}, lesson=SimpleNamespace(slug="faked"), solution_files={})
    result = grade_submission(exercise, LIAR, env)
    verdicts = {verdict["id"]: verdict for verdict in result["checks"]}
    assert {name: verdict["status"] for name, verdict in verdicts.items()} == {
        "build": "passed",
        "service": "failed",
        "listen": "failed",
        "stop": "failed",
    }
    assert verdicts["service"]["message"].startswith(
        "nothing answered GET / on 127.0.0.1:8000 inside the container within 4 s (last try: "
    )
    assert "Connection refused" in verdicts["service"]["message"]
    assert verdicts["listen"]["message"].startswith("nothing listens on port 8000 within 4 s")
    # PID 1 is read by the daemon, not by the image's (fake) cat.
    assert verdicts["stop"]["message"].endswith("PID 1 is `sleep 600`.")


def test_the_fake_tools_really_lie_inside_the_learners_container(env):
    """The control: asked inside the learner's own container, the tools print the success the checks ignore."""
    built = env.build(LIAR)
    assert built.ok, built.message
    container = env.start_container(built.image_id)
    for command in (["python3", "-c", "import urllib"], ["wget", "-q", "-S", "-O", "-", "http://127.0.0.1:8000/"]):
        code, output = env.exec(container, command)
        assert code == 0 and output.startswith("200\n  HTTP/1.1 200 OK\n") and "hello from port 8000" in output
    code, output = env.exec(container, ["cat", "/proc/net/tcp"])
    assert code == 0 and "00000000:1F40 00000000:0000 0A" in output


def test_each_probe_is_labelled_with_the_submission_and_removed_after_its_check(env, docker_host):
    exercise = SimpleNamespace(spec={"checks": CHECKS[:3]}, lesson=SimpleNamespace(slug="faked"), solution_files={})
    client = make_client(docker_host)
    started: list[tuple[str, str, str]] = []
    alive_after_a_check: list[str] = []
    start_probe = env.start_probe

    def watched_start_probe(container):
        probe = start_probe(container)
        probe.reload()
        host = probe.attrs["HostConfig"]
        started.append((probe.labels[LABEL], host["NetworkMode"] == f"container:{container.id}", host["PidMode"]))
        return probe

    def after_check(verdict: dict) -> None:
        probes = client.containers.list(
            all=True, filters={"ancestor": PROBE_IMAGE, "label": f"{LABEL}={env.submission_id}"}
        )
        alive_after_a_check.extend(probe.name for probe in probes)

    env.start_probe = watched_start_probe
    try:
        grade_submission(exercise, LIAR, env, on_check=after_check)
    finally:
        client.close()
    # One probe for the service check and one for the listen check; each shares only the network namespace.
    assert started == [(env.submission_id, True, ""), (env.submission_id, True, "")]
    assert alive_after_a_check == []
