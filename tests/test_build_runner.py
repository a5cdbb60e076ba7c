"""Building and running learners' work in a sandbox daemon: sandbox/environment.py, buildkit.py and cleanup.py.

The first part needs nothing running: it feeds the build-output reader real BuildKit output recorded from
the sandbox's Docker 20.10. The tests marked `sandbox` build for real against the daemon named by
DOCKYARD_TEST_DOCKER_HOST, or else the first sandbox daemon (sandbox.daemons.all_docker_hosts()[0]).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import docker
import pytest

from sandbox import buildkit
from sandbox.buildkit import MAX_LINE_BYTES, TRUNCATED_MARK, BuildStream, run_streaming
from sandbox.cgroups import DaemonLimits, daemon_limits, leftover_build_pids
from sandbox.cleanup import LABEL, docker_time, remove_labelled, remove_leftovers, stop_leftover_build
from sandbox.clients import SandboxError, make_client
from sandbox.dockerfile import parse_dockerfile
from sandbox.environment import BuildEnvironment, RunResult
from sandbox.images import images_used

LIMITS = DaemonLimits(memory_mb=1024, pids=512, cgroup="dockyard-sb0")


def feed(text: str, limit: int = 1024 * 1024) -> tuple[BuildStream, list[str]]:
    received: list[str] = []
    stream = BuildStream(received.append, limit)
    stream.feed(textwrap.dedent(text).lstrip("\n").encode())
    stream.finish()
    return stream, received


def classify(text: str, returncode: int | None = 1, timed_out: bool = False, image_id: str | None = None):
    stream, _ = feed(text)
    return buildkit.classify(stream.progress, returncode, timed_out, image_id, 1.0, LIMITS)


# --- Reading the output, without a daemon -------------------------------------------------------------------

GOOD_OUTPUT = """
#1 [internal] load build definition from Dockerfile
#1 sha256:4c34499e694a1d46f9e578126bcafb6d22cbc024df62c0ebd23d2959e9c67e71
#1 transferring dockerfile: 126B done
#1 DONE 0.0s

#3 [internal] load metadata for docker.io/library/busybox:latest
#3 DONE 0.0s

#4 [1/3] FROM docker.io/library/busybox:latest
#4 sha256:08a03f3ffe5fba421a6403c31e153425ced631d108868f30e04985f99d69326e
#4 DONE 0.0s

#6 [internal] load build context
#6 transferring context: 35B done
#6 DONE 0.0s

#5 [2/3] RUN echo hello && echo world
#5 sha256:d6b24ed96ee85e24baa420c67aae215b5fd299f910a74723e1cd2ec325f89a19
#5 0.075 hello
#5 0.075 world
#5 DONE 0.1s

#7 [3/3] COPY a.txt /a.txt
#7 CACHED

#8 exporting to image
#8 writing image sha256:cbb57833b581770e91f2e4093920af1643f493c69d95048cdbf48ed96a940411 done
#8 DONE 0.0s
"""

FAILED_RUN_OUTPUT = """
#5 [3/3] RUN exit 3
#5 sha256:b51b5e38193f9db9f087f31e135785af579fae51e12d9154b4555172ae3c814a
#5 ERROR: executor failed running [/bin/sh -c exit 3]: exit code: 3
------
 > [3/3] RUN exit 3:
------
executor failed running [/bin/sh -c exit 3]: exit code: 3
"""

OOM_OUTPUT = """
#5 [2/2] RUN echo start; x=a; while true; do x="$x$x"; done
#5 0.075 start
#5 ERROR: executor failed running [/bin/sh -c echo start; x=a; while true; do x="$x$x"; done]: exit code: 137
------
 > [2/2] RUN echo start; x=a; while true; do x="$x$x"; done:
------
executor failed running [/bin/sh -c echo start; x=a; while true; do x="$x$x"; done]: exit code: 137
"""

FORK_OUTPUT = """
#4 [2/2] RUN i=0; while [ $i -lt 400 ]; do sleep 30 & i=$((i+1)); done; wait
#4 0.088 start
#4 0.163 /bin/sh: can't fork: Resource temporarily unavailable
#4 ERROR: executor failed running [/bin/sh -c i=0; while [ $i -lt 400 ]; do sleep 30 & i=$((i+1)); done; wait]: exit code: 2
------
executor failed running [/bin/sh -c i=0; while [ $i -lt 400 ]; do sleep 30 & i=$((i+1)); done; wait]: exit code: 2
"""

DISK_OUTPUT = """
#5 [2/2] RUN dd if=/dev/zero of=/big bs=1M
#5 4.909 dd: error writing '/big': No space left on device
#5 4.909 955+0 records in
#5 ERROR: executor failed running [/bin/sh -c dd if=/dev/zero of=/big bs=1M]: exit code: 1
------
executor failed running [/bin/sh -c dd if=/dev/zero of=/big bs=1M]: exit code: 1
"""

PARSE_ERROR_OUTPUT = """
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: Unknown flag: network
"""

COPY_MISSING_OUTPUT = """
#6 [2/2] COPY missing.txt /x
#6 ERROR: "/missing.txt" not found: not found
------
 > [2/2] COPY missing.txt /x:
------
failed to compute cache key: "/missing.txt" not found: not found
"""


def test_every_line_is_forwarded_raw_and_in_order():
    stream, received = feed(GOOD_OUTPUT)
    assert received == textwrap.dedent(GOOD_OUTPUT).lstrip("\n").rstrip("\n").split("\n")
    assert not stream.truncated


def test_steps_are_parsed_in_dockerfile_order():
    stream, _ = feed(GOOD_OUTPUT)
    steps = stream.progress.ordered_steps()
    assert [(s.index, s.total, s.instruction, s.status) for s in steps] == [
        (1, 3, "FROM docker.io/library/busybox:latest", "done"),
        (2, 3, "RUN echo hello && echo world", "done"),
        (3, 3, "COPY a.txt /a.txt", "cached"),
    ]
    assert steps[1].duration == 0.1 and steps[1].vertex == 5 and steps[1].stage is None
    assert steps[2].cached


def test_multi_stage_step_names():
    stream, _ = feed(
        """
        #5 [builder 2/2] RUN echo built > /out
        #5 DONE 0.1s
        #6 [stage-1 2/3] COPY --from=builder /out /out
        #6 DONE 0.0s
        #4 [builder 1/2] FROM docker.io/library/busybox:latest
        #4 CACHED
        """
    )
    steps = stream.progress.ordered_steps()
    assert [(s.stage, s.index, s.status) for s in steps] == [
        ("builder", 1, "cached"),
        ("builder", 2, "done"),
        ("stage-1", 2, "done"),
    ]


def test_lines_split_across_chunks_are_joined():
    received: list[str] = []
    stream = BuildStream(received.append, 1024)
    for chunk in (b"#5 0.1 hel", b"lo\n#5 0.2 wor", b"ld\n#5 DO", b"NE 0.3s\n"):
        stream.feed(chunk)
    stream.finish()
    assert received == ["#5 0.1 hello", "#5 0.2 world", "#5 DONE 0.3s"]


def test_a_line_without_an_end_is_cut_into_pieces():
    received: list[str] = []
    stream = BuildStream(received.append, 10 * MAX_LINE_BYTES)
    stream.feed(b"y" * (3 * MAX_LINE_BYTES + 5))
    assert [len(line) for line in received] == [MAX_LINE_BYTES] * 3
    stream.finish()
    assert len(received[-1]) == 5


def test_invalid_utf8_is_replaced_not_fatal():
    received: list[str] = []
    stream = BuildStream(received.append, 1024)
    stream.feed(b"#5 0.1 caf\xe9\n")
    assert received == ["#5 0.1 caf\ufffd"]


def test_output_past_the_limit_is_dropped_after_one_mark():
    received: list[str] = []
    stream = BuildStream(received.append, 1024)
    stream.feed(b"#5 [2/2] RUN yes\n")
    for _ in range(1000):
        stream.feed(b"#5 0.1 y\n")
    stream.feed(b"#5 DONE 1.0s\n")
    assert received[-1] == TRUNCATED_MARK and received.count(TRUNCATED_MARK) == 1
    assert sum(len(line) + 1 for line in received[:-1]) <= 1024
    assert stream.sent_bytes <= 1024 and stream.truncated
    # Lines past the limit are still read for the step table.
    assert stream.progress.ordered_steps()[0].status == "done"


def test_ok():
    assert classify(GOOD_OUTPUT, returncode=0, image_id="sha256:abc")[0] == "ok"


def test_a_failed_run_step_reports_its_exit_code():
    reason, message, code = classify(FAILED_RUN_OUTPUT)
    assert (reason, code) == ("step_failed", 3)
    assert message == "The step `RUN exit 3` failed with exit code 3."


def test_exit_code_127_gets_a_hint():
    output = FAILED_RUN_OUTPUT.replace("exit 3", "nosuch").replace("exit code: 3", "exit code: 127")
    assert "command was not found" in classify(output)[1]


def test_exit_code_137_is_out_of_memory_with_the_limit():
    reason, message, code = classify(OOM_OUTPUT)
    assert (reason, code) == ("out_of_memory", 137)
    assert "ran out of memory (limit 1024 MiB)" in message and "RUN echo start;" in message


def test_fork_failures_are_the_process_limit():
    reason, message, code = classify(FORK_OUTPUT)
    assert (reason, code) == ("process_limit", 2)
    assert "the sandbox allows 512 processes" in message


@pytest.mark.parametrize(
    "sign",
    [
        "bash: fork: retry: Resource temporarily unavailable",
        "bash: fork: Resource temporarily unavailable",
        "BlockingIOError: [Errno 11] Resource temporarily unavailable",
    ],
)
def test_other_fork_failure_messages_count_too(sign):
    output = FORK_OUTPUT.replace("/bin/sh: can't fork: Resource temporarily unavailable", sign)
    assert classify(output)[0] == "process_limit"


def test_no_space_left_is_disk_full():
    reason, message, _ = classify(DISK_OUTPUT)
    assert reason == "disk_full"
    assert "ran out of disk space in `RUN dd if=/dev/zero of=/big bs=1M`" in message


def test_parse_errors_give_the_dockerfile_line():
    assert classify(PARSE_ERROR_OUTPUT)[:2] == ("dockerfile_error", "Dockerfile line 2: Unknown flag: network")


def test_newer_buildkit_parse_error_format():
    output = "Dockerfile:3\n--------------------\nERROR: failed to solve: dockerfile parse error on line 3: unknown instruction: FOO\n"
    assert classify(output)[:2] == ("dockerfile_error", "Dockerfile line 3: unknown instruction: FOO")


def test_other_llb_errors_are_dockerfile_errors():
    output = "failed to solve with frontend dockerfile.v0: failed to create LLB definition: circular dependency detected on stage: a\n"
    reason, message, _ = classify(output)
    assert reason == "dockerfile_error" and "circular dependency" in message


def test_a_missing_copy_source_names_the_file():
    reason, message, code = classify(COPY_MISSING_OUTPUT)
    assert (reason, code) == ("step_failed", None)
    assert message.startswith('The step `COPY missing.txt /x` failed: "/missing.txt" not found')
    assert "part of your submission" in message


def test_timeout_wins_over_everything():
    assert classify(FAILED_RUN_OUTPUT, returncode=None, timed_out=True)[0] == "timeout"


@pytest.mark.parametrize(
    "line",
    [
        "Cannot connect to the Docker daemon at unix:///x/docker.sock. Is the docker daemon running?",
        "error during connect: Post http://x/build: EOF",
    ],
)
def test_unreachable_daemon(line):
    assert classify(line + "\n")[:2] == (
        "daemon_unavailable",
        "The build sandbox is not answering; try again in a minute.",
    )


def test_anything_else_is_build_failed_with_the_last_line():
    reason, message, _ = classify("something odd happened\n")
    assert (reason, message) == ("build_failed", "The build failed: something odd happened")


def testdocker_time():
    assert docker_time("1970-01-01T00:00:10.500000000Z") == 10.5
    assert docker_time("1970-01-01T01:00:10+01:00") == 10
    assert docker_time(None) == 0.0


def test_images_used_lists_bases_and_from_images_but_not_stages():
    dockerfile = parse_dockerfile(
        "ARG PY=3.11\n"
        "FROM python:${PY}-slim AS build\n"
        "RUN --mount=type=bind,from=debian:bookworm-slim,target=/d --mount=type=cache,target=/c true\n"
        "FROM scratch\n"
        "COPY --from=build /a /a\n"
        "COPY --from=0 /b /b\n"
        "COPY --from=busybox:latest /bin/busybox /busybox\n"
        "FROM build\n"
    )
    assert images_used(dockerfile) == ["python:3.11-slim", "debian:bookworm-slim", "busybox:latest"]


def test_leftover_build_processes_are_killed_after_the_grace_time(tmp_path, monkeypatch):
    # A fake cgroup tree for a daemon whose socket sits in a folder named like its cgroup; the "RUN step"
    # is a sleep started by this test.
    monkeypatch.setattr("sandbox.cgroups.CGROUP_ROOT", tmp_path)
    step = tmp_path / "pids" / "dockyard-fake" / "buildkit" / "abc123"
    step.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        (step / "cgroup.procs").write_text(f"{sleeper.pid}\n")
        host = "unix:///nowhere/dockyard-fake/docker.sock"
        assert leftover_build_pids(host) == [sleeper.pid]
        assert stop_leftover_build(host, grace=0.3) >= 1
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        sleeper.kill()
        sleeper.wait()


def test_no_leftovers_means_nothing_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr("sandbox.cgroups.CGROUP_ROOT", tmp_path)
    (tmp_path / "pids" / "dockyard-fake" / "buildkit").mkdir(parents=True)
    assert stop_leftover_build("unix:///nowhere/dockyard-fake/docker.sock", grace=0.3) == 0


def test_a_remote_daemon_has_no_cgroup_here():
    assert daemon_limits("tcp://sandbox:2376").cgroup is None
    assert leftover_build_pids("tcp://sandbox:2376") == []


def test_an_unreachable_daemon_is_a_sandbox_error():
    with pytest.raises(SandboxError) as caught:
        with BuildEnvironment("unix:///nonexistent/dockyard/docker.sock", 1, on_log=print):
            pass
    assert caught.value.reason == "daemon_unavailable"
    assert caught.value.message == "The build sandbox is not answering; try again in a minute."


def test_a_quiet_pause_in_the_output_is_reported_between_chunks():
    seen: list[str] = []
    command = ["sh", "-c", "echo first; sleep 0.8; echo second"]
    returncode, timed_out = run_streaming(
        command, dict(os.environ), 10, lambda chunk: seen.append(chunk.decode()), lambda: seen.append("<quiet>")
    )
    assert (returncode, timed_out) == (0, False)
    first, second = seen.index("first\n"), seen.index("second\n")
    assert "<quiet>" in seen[first:second]


# --- Against a real sandbox daemon --------------------------------------------------------------------------


@pytest.fixture
def client(docker_host):
    client = docker.DockerClient(base_url=docker_host, timeout=60)
    yield client
    client.close()


def answers(docker_host: str) -> bool:
    client = make_client(docker_host)
    try:
        return client.ping()
    finally:
        client.close()


@pytest.fixture
def submission_id(request) -> str:
    # A unique id per test, so tests never clean up each other's work.
    return f"test-{request.node.name[:40]}-{os.getpid()}-{time.monotonic_ns()}"


class Collector:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def size(self) -> int:
        return sum(len(line.encode()) + 1 for line in self.lines)


def build(docker_host: str, submission_id: str, dockerfile: str, **files: str):
    log = Collector()
    with BuildEnvironment(docker_host, submission_id, on_log=log) as env:
        result = env.build({"Dockerfile": dockerfile.encode(), **{k: v.encode() for k, v in files.items()}})
    return result, log


def labelled(client, submission_id: str) -> tuple[list, list]:
    label = {"label": f"{LABEL}={submission_id}"}
    return client.containers.list(all=True, filters=label), client.images.list(filters=label)


def local_limits(docker_host: str, what: str) -> DaemonLimits:
    limits = daemon_limits(docker_host)
    if limits.cgroup is None:
        pytest.skip(f"the daemon at {docker_host} has no cgroup on this machine, so its {what} limit is unknown")
    return limits


@pytest.mark.sandbox
def test_a_good_build_streams_every_line_and_succeeds(docker_host, submission_id):
    dockerfile = (
        'FROM busybox:latest\nRUN echo "hello from $((6 * 7))"\nCOPY app.txt /app.txt\nCMD ["cat", "/app.txt"]\n'
    )
    log = Collector()
    with BuildEnvironment(docker_host, submission_id, on_log=log) as env:
        result = env.build({"Dockerfile": dockerfile.encode(), "app.txt": b"hi\n"})
        assert result.ok, result.message
        facts = env.image_facts(result.image_id)
        run = env.run_to_end(result.image_id, timeout=20)
    assert result.reason == "ok" and result.image_id.startswith("sha256:")
    assert result.message.startswith("The image was built in")
    assert any(line.startswith("#") and "[2/3] RUN echo" in line for line in log.lines)
    assert any(line.endswith("hello from 42") for line in log.lines) or any("CACHED" in line for line in log.lines)
    assert any("exporting to image" in line for line in log.lines)
    assert [step.instruction.split(" ")[0] for step in result.steps] == ["FROM", "RUN", "COPY"]
    assert all(step.status in ("done", "cached") for step in result.steps)
    assert not result.truncated and result.log_bytes == log.size
    assert facts["config"]["cmd"] == ["cat", "/app.txt"]
    assert facts["config"]["labels"][LABEL] == submission_id
    assert facts["size"] > 0 and facts["layer_count"] >= 3
    assert [layer["empty_layer"] for layer in facts["layers"][-3:]] == [False, False, True]
    assert facts["layers"][-2]["created_by"].startswith("COPY app.txt /app.txt")
    assert run == RunResult(exit_code=0, stdout="hi\n", stderr="")


@pytest.mark.sandbox
def test_a_failing_run_reports_exit_code_3(docker_host, submission_id):
    result, log = build(docker_host, submission_id, "FROM busybox\nRUN echo before\nRUN exit 3\n")
    assert (result.ok, result.reason, result.exit_code) == (False, "step_failed", 3)
    assert result.message == "The step `RUN exit 3` failed with exit code 3."
    assert result.image_id is None
    assert result.steps[-1].status == "error" and "exit code: 3" in result.steps[-1].error
    assert any("exit code: 3" in line for line in log.lines)


@pytest.mark.sandbox
def test_a_dockerfile_error_found_by_buildkit_gives_its_line(docker_host, submission_id):
    # The current Dockerfile syntax knows RUN --network, so the policy lets it through; 20.10's built-in
    # frontend does not, and says so with a line number.
    result, _ = build(docker_host, submission_id, "FROM busybox\nRUN --network=none true\n")
    if result.ok:
        pytest.skip("this daemon's Dockerfile frontend knows RUN --network")
    assert result.reason == "dockerfile_error"
    assert result.message.startswith("Dockerfile line 2:")


@pytest.mark.sandbox
def test_refused_dockerfiles_never_reach_the_daemon(docker_host, submission_id):
    result, log = build(docker_host, submission_id, "FROM busybox\nRUN --network=host true\n")
    assert (result.reason, log.lines) == ("refused", [])
    assert result.message.startswith("line 2: RUN --network=host is not allowed")


@pytest.mark.sandbox
def test_a_catalog_image_missing_from_the_daemon_is_reported_before_building(docker_host, submission_id, settings):
    settings.CATALOG_IMAGES = [*settings.CATALOG_IMAGES, "dockyard/never-loaded:1"]
    result, log = build(docker_host, submission_id, "FROM dockyard/never-loaded:1\nRUN true\n")
    assert (result.reason, log.lines) == ("base_image_missing", [])
    assert result.message.startswith("The base image dockyard/never-loaded:1 is not loaded in this sandbox.")
    copied, _ = build(docker_host, submission_id, "FROM busybox\nCOPY --from=dockyard/never-loaded:1 /a /a\n")
    assert copied.reason == "base_image_missing"


@pytest.mark.sandbox
def test_a_memory_hog_runs_out_of_memory(docker_host, submission_id):
    limits = local_limits(docker_host, "memory")
    if limits.memory_mb > 4096:
        pytest.skip(f"the daemon's memory limit ({limits.memory_mb} MiB) is too large to fill in a test")
    result, _ = build(docker_host, submission_id, 'FROM busybox\nRUN x=a; while true; do x="$x$x"; done\n')
    assert (result.reason, result.exit_code) == ("out_of_memory", 137)
    assert f"ran out of memory (limit {limits.memory_mb} MiB)" in result.message


@pytest.mark.sandbox
def test_a_fork_bomb_hits_the_process_limit_and_the_daemon_survives(docker_host, submission_id):
    limits = local_limits(docker_host, "process")
    if limits.pids > 4000:
        pytest.skip(f"the daemon's process limit ({limits.pids}) is too large for this test")
    dockerfile = "FROM busybox\nRUN i=0; while [ $i -lt 5000 ]; do sleep 60 & i=$((i+1)); done; wait\n"
    result, log = build(docker_host, submission_id, dockerfile)
    assert result.reason == "process_limit", result.message
    assert f"the sandbox allows {limits.pids} processes" in result.message
    assert any("can't fork" in line for line in log.lines)
    assert answers(docker_host)
    again, _ = build(docker_host, submission_id + "-after", "FROM busybox\nRUN echo still working\n")
    assert again.ok, again.message


@pytest.mark.sandbox
def test_an_endless_loop_times_out_and_dies_on_the_daemon(docker_host, submission_id, settings):
    settings.BUILD_TIMEOUT_SECONDS = 5
    dockerfile = "FROM busybox\nRUN echo looping; trap '' TERM INT; while true; do :; done\n"
    started = time.monotonic()
    result, log = build(docker_host, submission_id, dockerfile)
    assert result.reason == "timeout"
    assert result.message.startswith("The build took longer than 5 seconds and was stopped.")
    assert time.monotonic() - started < 5 + 15
    assert any(line.endswith("looping") for line in log.lines)
    # The RUN step's processes are gone from the daemon's cgroup, not only the CLI.
    assert leftover_build_pids(docker_host) == []
    assert answers(docker_host)


@pytest.mark.sandbox
def test_killing_the_worker_cancels_its_build_on_the_daemon(docker_host, tmp_path):
    if daemon_limits(docker_host).cgroup is None:
        pytest.skip("the daemon is not on this machine, so its build processes cannot be watched")
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import django
            django.setup()
            from sandbox.environment import BuildEnvironment
            with BuildEnvironment({docker_host!r}, "test-killed-worker-{os.getpid()}", on_log=print) as env:
                env.build({{"Dockerfile": b"FROM busybox\\nRUN echo spinning; while true; do :; done\\n"}})
            """
        )
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tutorial.settings", PYTHONPATH=str(Path.cwd()))
    worker = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not leftover_build_pids(docker_host) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert leftover_build_pids(docker_host), "the build never started"
    finally:
        # The worker is our own child; SIGKILL gives it no chance to clean up, like a hard time limit.
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker.stdout.close()
    deadline = time.monotonic() + 15
    while leftover_build_pids(docker_host) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftover_build_pids(docker_host) == []
    # The killed worker could not remove its temporary folder or its labelled leftovers; do it here.
    for folder in Path(tempfile.gettempdir()).glob(f"dockyard-sub-test-killed-worker-{os.getpid()}-*"):
        shutil.rmtree(folder, ignore_errors=True)
    client = make_client(docker_host)
    remove_labelled(client, f"{LABEL}=test-killed-worker-{os.getpid()}")
    client.close()


@pytest.mark.sandbox
def test_a_yes_flood_is_truncated_with_bounded_output(docker_host, submission_id, settings):
    settings.BUILD_LOG_LIMIT_BYTES = 64 * 1024
    # The submission id makes the step new each time, so it runs instead of coming from the cache.
    dockerfile = f"FROM busybox\nRUN echo {submission_id}; yes | head -c 3000000; echo; echo flood-done\n"
    result, log = build(docker_host, submission_id, dockerfile)
    assert result.ok, result.message
    assert result.truncated
    assert log.lines[-1] == TRUNCATED_MARK and log.lines.count(TRUNCATED_MARK) == 1
    assert log.size <= 64 * 1024 + len(TRUNCATED_MARK) + 1
    assert result.log_bytes <= 64 * 1024
    # The step table still saw the end of the RUN step, long after the output stopped being forwarded.
    assert result.steps[-1].instruction.startswith("RUN echo test-") and result.steps[-1].status == "done"


# Fills the build's disk for real in about a second: fallocate reserves all but 20 MiB of the free space,
# then dd writes until the disk is full. The step always fails (`exit 1`), so BuildKit never keeps the
# multi-gigabyte layer in its cache.
DISK_FILLER = (
    "FROM busybox\n"
    "RUN free=$(df -k / | awk 'NR==2 {print $4}'); "
    "fallocate -l $((free - 20480))k /reserve; dd if=/dev/zero of=/big bs=1M; exit 1\n"
)


@pytest.mark.sandbox
def test_a_disk_filler_reports_disk_full(docker_host, submission_id, client):
    result, log = build(docker_host, submission_id, DISK_FILLER)
    assert result.reason == "disk_full", result.message
    assert "no space left on device" in result.message
    assert any("No space left on device" in line for line in log.lines)
    root = client.info().get("DockerRootDir", "")
    if os.path.isdir(root):
        # BuildKit frees the failed step's layer again.
        total = shutil.disk_usage(root).total
        deadline = time.monotonic() + 30
        while shutil.disk_usage(root).free < total / 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert shutil.disk_usage(root).free >= total / 4


@pytest.mark.sandbox
def test_leaving_the_environment_removes_labelled_containers_and_images(docker_host, submission_id, client):
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        result = env.build({"Dockerfile": b"FROM busybox\nRUN echo cache-me > /f\n"})
        assert result.ok, result.message
        env.build({"Dockerfile": b"FROM busybox\nRUN echo cache-me > /f\nRUN true\n"}, tag_suffix="-second")
        env.start_container(result.image_id, ["sleep", "300"])
        containers, images = labelled(client, submission_id)
        assert len(containers) == 1 and len(images) == 2
        workdir = env.workdir
    assert labelled(client, submission_id) == ([], [])
    assert not workdir.exists()
    # Catalog images stay, and so does the build cache.
    client.images.get("busybox:latest")
    again, _ = build(docker_host, submission_id, "FROM busybox\nRUN echo cache-me > /f\n")
    assert again.steps[-1].instruction.startswith("RUN echo cache-me") and again.steps[-1].cached


@pytest.mark.sandbox
def test_cleanup_happens_even_when_the_block_fails(docker_host, submission_id, client):
    with pytest.raises(RuntimeError):
        with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
            env.start_container("busybox:latest", ["sleep", "300"])
            raise RuntimeError("grading crashed")
    assert labelled(client, submission_id) == ([], [])


@pytest.mark.sandbox
def test_containers_have_no_network_and_their_limits(docker_host, submission_id):
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        container = env.start_container("busybox:latest", ["sleep", "300"])
        container.reload()
        host_config = container.attrs["HostConfig"]
        code, output = env.exec(container, ["sh", "-c", "ls /sys/class/net; echo out; echo err >&2; exit 4"])
    assert host_config["NetworkMode"] == "none"
    assert host_config["Privileged"] is False and not host_config.get("Binds")
    assert host_config["Memory"] == 512 * 1024 * 1024 and host_config["PidsLimit"] == 256
    assert container.labels[LABEL] == submission_id
    assert code == 4
    assert sorted(output.split()) == ["err", "lo", "out"]


@pytest.mark.sandbox
def test_run_to_end_reports_exit_codes_and_output(docker_host, submission_id):
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        result = env.run_to_end(
            "busybox:latest",
            ["sh", "-c", "echo $GREETING; echo oops >&2; exit 7"],
            environment={"GREETING": "hi"},
            replace_entrypoint=True,
        )
    assert result == RunResult(exit_code=7, stdout="hi\n", stderr="oops\n")


@pytest.mark.sandbox
def test_run_to_end_stops_a_command_that_runs_too_long(docker_host, submission_id, client):
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        started = time.monotonic()
        result = env.run_to_end("busybox:latest", ["sleep", "300"], timeout=2)
        assert time.monotonic() - started < 15
        assert labelled(client, submission_id)[0] == []
    assert (result.exit_code, result.timed_out) == (None, True)


@pytest.mark.sandbox
def test_exec_times_out_and_the_container_lives_on(docker_host, submission_id):
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        container = env.start_container("busybox:latest", ["sleep", "300"])
        started = time.monotonic()
        with pytest.raises(SandboxError) as caught:
            env.exec(container, ["sh", "-c", "sleep 100 & sleep 200"], timeout=2)
        assert time.monotonic() - started < 10
        assert caught.value.reason == "timeout"
        assert env.exec(container, ["echo", "alive"], timeout=10) == (0, "alive\n")


@pytest.mark.sandbox
def test_a_missing_image_is_a_sandbox_error_in_words(docker_host, submission_id):
    with BuildEnvironment(docker_host, submission_id, on_log=lambda line: None) as env:
        with pytest.raises(SandboxError) as caught:
            env.image_facts("dockyard/no-such-image:never")
    assert caught.value.reason == "not_found"
    assert "Traceback" not in caught.value.message


@pytest.mark.sandbox
def test_removing_leftovers_spares_young_ones_and_removes_by_label(docker_host, submission_id, client):
    container = client.containers.create("busybox:latest", ["true"], labels={LABEL: submission_id}, network_mode="none")
    try:
        remove_leftovers(docker_host, older_than_seconds=3600)
        assert labelled(client, submission_id)[0] != []
        removed = remove_labelled(client, f"{LABEL}={submission_id}")
        assert removed == {"containers": 1, "images": 0, "networks": 0, "volumes": 0}
        assert labelled(client, submission_id)[0] == []
    finally:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
