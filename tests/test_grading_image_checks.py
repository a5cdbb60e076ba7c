"""Image, runtime, cache and compare checks, and the grading flow, on fake image facts and a fake sandbox.

Nothing here needs Docker: `FakeSandbox` stands in for the Docker operations the checks use.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox.buildkit import BuildResult, StepInfo
from sandbox.clients import SandboxError
from sandbox.environment import RunResult
from sandbox.grading import grade_submission, rebuild, runtime
from sandbox.grading.containers import Sandbox
from sandbox.grading.context import GradingContext
from sandbox.grading.grader import clean_created_by, own_layers
from sandbox.grading.image import IMAGE_CHECKS
from sandbox.grading.rebuild import REBUILD_CHECKS
from sandbox.grading.runtime import RUNTIME_CHECKS, listening_addresses

PYTHON_BASE_LAYERS = [{"created_by": "ENV PATH=/usr/local/bin", "size": 0}, {"created_by": "", "size": 149_000_000}]


def make_facts(**config) -> dict:
    base = {
        "user": "",
        "exposed_ports": ["8000/tcp"],
        "env": {"PATH": "/usr/bin", "PYTHONUNBUFFERED": "1"},
        "workdir": "/app",
        "cmd": ["python", "app.py"],
        "entrypoint": None,
        "healthcheck": None,
        "labels": {},
    }
    base.update(config)
    return {
        "id": "sha256:abc",
        "size": 152_000_000,
        "layer_count": 5,
        "layers": PYTHON_BASE_LAYERS
        + [
            {"created_by": "WORKDIR /app", "size": 0},
            {"created_by": "COPY requirements.txt . # buildkit", "size": 10},
            {"created_by": "RUN /bin/sh -c pip install -r requirements.txt # buildkit", "size": 3_000_000},
            {"created_by": "ENV API_TOKEN=sk_live_123", "size": 0},
        ],
        "config": base,
    }


class FakeContainer:
    def __init__(self, states: list[dict] | None = None, logs: str = ""):
        self.states = states or [{"Running": True}]
        self.logs = logs
        self.removed = False
        self.stopped_with: float | None = None

    def state(self) -> dict:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


class FakeSandbox(Sandbox):
    """The Docker operations the checks use, answered from the test's script."""

    def __init__(self, facts: dict | None = None, **script):
        self.image_facts = {"sha256:image": facts or make_facts(), **script.get("more_facts", {})}
        self.build_results = list(script.get("builds", []))
        self.run_result = script.get("run_result", RunResult(0, "", ""))
        self.answer = script.get("answer", lambda command: (0, ""))
        self.container = script.get("container") or FakeContainer()
        self.existing = set(script.get("existing", []))
        self.stop_seconds = script.get("stop_seconds", 0.3)
        self.exit_after_stop = script.get("exit_after_stop", 0)
        self.pid1 = script.get("pid1")
        self.probes: list[FakeContainer] = []
        self.calls: list[tuple] = []
        self.lines: list[str] = []

    def build(self, files, tag_suffix="", quiet=False):
        self.calls.append(("build", tag_suffix, quiet, dict(files)))
        return self.build_results.pop(0)

    def log(self, line):
        self.lines.append(line)

    def facts(self, image):
        if image not in self.image_facts:
            raise SandboxError("not_found", "no such image")
        return self.image_facts[image]

    def run(self, image, command, environment, timeout):
        self.calls.append(("run", command, environment, timeout))
        return self.run_result

    def start(self, image, health_interval=None):
        self.calls.append(("start", health_interval))
        return self.container

    def start_probe(self, container):
        self.calls.append(("probe", container))
        self.probes.append(FakeContainer())
        return self.probes[-1]

    def exec(self, container, command, timeout):
        # Every command of a runtime check runs in the grader's probe, never in the learner's container.
        assert container in self.probes, "a check ran a command inside the learner's container"
        return self.answer(command)

    def main_command(self, container):
        return self.pid1

    def state(self, container):
        return container.state()

    def logs(self, container):
        return container.logs

    def stop(self, container, timeout):
        container.stopped_with = timeout
        container.states = [{"Running": False, "ExitCode": self.exit_after_stop}]
        return self.stop_seconds

    def remove(self, container):
        container.removed = True

    def paths_exist(self, image, paths):
        return {path: path in self.existing for path in paths}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(runtime, "POLL_SECONDS", 0)
    monkeypatch.setattr(runtime, "SETTLE_SECONDS", 0)
    monkeypatch.setattr(runtime, "READY_SECONDS", 0.3)


def context_for(sandbox: FakeSandbox, **extra) -> GradingContext:
    return GradingContext(
        sandbox=sandbox,
        image="sha256:image",
        facts=sandbox.image_facts["sha256:image"],
        files={"Dockerfile": b"FROM python:3.11-slim\n", "app.py": b"print('hi')\n"},
        check_seconds=30,
        extra=extra,
    )


def run_check(check: dict, sandbox: FakeSandbox | None = None, **extra):
    checks = {**IMAGE_CHECKS, **RUNTIME_CHECKS, **REBUILD_CHECKS}
    return checks[check["type"]](check, context_for(sandbox or FakeSandbox(), **extra))


# --- Image facts ------------------------------------------------------------------------------------------------


def test_image_size_fails_with_the_size_and_the_limit():
    outcome = run_check({"type": "image-size", "max_mb": 60})
    assert not outcome.passed
    assert outcome.message == "the image is 152 MB; this exercise allows 60 MB."


def test_image_size_passes_under_the_limit():
    outcome = run_check({"type": "image-size", "max_mb": 200})
    assert outcome.passed and outcome.message == "the image is 152 MB (at most 200 MB allowed)."


def test_image_size_shows_small_images_with_a_decimal():
    facts = make_facts()
    facts["size"] = 4_321_000
    assert run_check({"type": "image-size", "max_mb": 2}, FakeSandbox(facts)).message == (
        "the image is 4.3 MB; this exercise allows 2 MB."
    )


def test_layers_counts_filesystem_layers():
    assert run_check({"type": "layers", "max": 5}).passed
    assert run_check({"type": "layers", "max": 4}).message == "the image has 5 layers; this exercise allows 4."


def test_image_user_treats_an_empty_user_as_root():
    assert (
        run_check({"type": "image-user"}).message
        == "the image's user is not set (root), so every container of it runs as root."
    )
    assert not run_check({"type": "image-user"}, FakeSandbox(make_facts(user="0:0"))).passed
    assert run_check({"type": "image-user"}, FakeSandbox(make_facts(user="app"))).passed


def test_image_user_can_require_a_named_user():
    outcome = run_check({"type": "image-user", "user": "app"}, FakeSandbox(make_facts(user="nobody")))
    assert outcome.message == "the image's user is nobody; this exercise expects app."


def test_ports_need_every_port_and_with_exactly_no_others():
    assert run_check({"type": "ports", "expose": [8000]}).passed
    assert (
        run_check({"type": "ports", "expose": [9000]}).message
        == "the image does not expose 9000/tcp (exposed: 8000/tcp)."
    )
    facts = make_facts(exposed_ports=["8000/tcp", "9000/tcp"])
    outcome = run_check({"type": "ports", "expose": [8000], "exactly": True}, FakeSandbox(facts))
    assert outcome.message == "the image also exposes 9000/tcp; this exercise expects only 8000/tcp."


def test_env_checks_present_values_and_absent_names():
    assert run_check({"type": "env", "present": {"PYTHONUNBUFFERED": "1"}}).passed
    assert run_check({"type": "env", "present": {"PYTHONUNBUFFERED": "0"}}).message == (
        "the image sets PYTHONUNBUFFERED='1', which is not what this exercise expects."
    )
    assert run_check({"type": "env", "present": {"APP_ENV": ".*"}}).message == "the image does not set APP_ENV."
    facts = make_facts(env={"api_token": "x"})
    assert "sets api_token" in run_check({"type": "env", "absent": [".*TOKEN.*"]}, FakeSandbox(facts)).message


def test_workdir_compares_without_a_trailing_slash():
    assert run_check({"type": "workdir", "path": "/app/"}).passed
    outcome = run_check({"type": "workdir", "path": "/app"}, FakeSandbox(make_facts(workdir="")))
    assert outcome.message == "the image's working directory is not set (/); this exercise expects /app."


def test_history_finds_a_secret_in_any_layer():
    outcome = run_check({"type": "history", "forbid": ["sk_live_"]})
    assert outcome.message.startswith("the image history shows `ENV API_TOKEN=sk_live_123`")
    assert run_check({"type": "history", "forbid": ["password"]}).passed


def test_files_reports_missing_and_unwanted_paths():
    sandbox = FakeSandbox(existing={"/app/app.py", "/app/.env"})
    assert run_check({"type": "files", "present": ["/app/app.py"], "absent": ["/app/.git"]}, sandbox).message == (
        "/app/app.py is in the image; /app/.git is absent."
    )
    assert run_check({"type": "files", "absent": ["/app/.env", "/app/.git"]}, sandbox).message == (
        "/app/.env is in the image and should not be."
    )
    assert (
        run_check({"type": "files", "present": ["/app/main.py"]}, sandbox).message
        == "/app/main.py is not in the image."
    )


# --- command ------------------------------------------------------------------------------------------------------


def test_command_runs_shell_text_with_sh_and_passes_the_environment():
    sandbox = FakeSandbox(run_result=RunResult(0, "10001\n", ""))
    outcome = run_check({"type": "command", "run": "id -u", "stdout": "^[1-9][0-9]*$", "env": {"A": "1"}}, sandbox)
    assert outcome.passed
    assert sandbox.calls == [("run", ["/bin/sh", "-c", "id -u"], {"A": "1"}, 30)]


def test_command_without_run_uses_the_default_command():
    sandbox = FakeSandbox(run_result=RunResult(0, "Hello\n", ""))
    assert run_check({"type": "command", "stdout": "Hello"}, sandbox).passed
    assert sandbox.calls[0][1] is None


def test_command_fails_on_the_wrong_exit_code_with_the_output():
    sandbox = FakeSandbox(run_result=RunResult(1, "", "Traceback: boom\n"))
    outcome = run_check({"type": "command", "run": ["python", "app.py"]}, sandbox)
    assert outcome.message == "`python app.py` exited with code 1, expected 0; output: Traceback: boom"


def test_command_matches_stdout_and_stderr_separately():
    sandbox = FakeSandbox(run_result=RunResult(0, "out\n", "Hello\n"))
    outcome = run_check({"type": "command", "stdout": "Hello"}, sandbox)
    assert outcome.message == "the stdout of the image's default command does not match `Hello`; it was: out"
    assert run_check({"type": "command", "stderr": "Hello"}, sandbox).passed


def test_command_that_runs_too_long_fails():
    sandbox = FakeSandbox(run_result=RunResult(None, "tick\n", "", timed_out=True))
    outcome = run_check({"type": "command", "run": "sleep 100", "timeout": 2}, sandbox)
    assert outcome.message == "`sleep 100` was still running after 2 s; output: tick"


def test_command_reports_a_command_that_cannot_start():
    sandbox = FakeSandbox(run_result=RunResult(127, "", "sh: curl: not found\n"))
    assert "could not be started (exit code 127)" in run_check({"type": "command", "run": "curl x"}, sandbox).message


# --- service ------------------------------------------------------------------------------------------------------


def python_answers(status: int, body: str):
    def answer(command):
        return (0, f"{status}\n{body}") if command[0] == "python3" else (1, "")

    return answer


def test_service_passes_when_the_probe_gets_the_status_and_body():
    sandbox = FakeSandbox(answer=python_answers(200, '{"message": "Hello"}'))
    outcome = run_check({"type": "service", "port": 8000, "body": "Hello"}, sandbox)
    assert outcome.passed
    assert outcome.message.startswith("GET / on port 8000 answered 200 after")
    assert sandbox.container.removed


def test_service_fails_on_the_wrong_status_or_body():
    sandbox = FakeSandbox(answer=python_answers(500, "Internal Server Error"))
    outcome = run_check({"type": "service", "port": 8000}, sandbox)
    assert outcome.message == "GET / on port 8000 answered 500, expected 200: Internal Server Error"
    sandbox = FakeSandbox(answer=python_answers(200, "Bye"))
    assert (
        "the body does not match `Hello`"
        in run_check({"type": "service", "port": 8000, "body": "Hello"}, sandbox).message
    )


def test_service_fails_when_nothing_answers_in_time():
    refused = (1, "Traceback (most recent call last):\nConnectionRefusedError: [Errno 111] Connection refused\n")
    sandbox = FakeSandbox(answer=lambda command: refused, container=FakeContainer(logs="Running on 127.0.0.1:5000"))
    outcome = run_check({"type": "service", "port": 8000, "within": 0.2}, sandbox)
    assert outcome.message.startswith("nothing answered GET / on 127.0.0.1:8000 inside the container within 0.2 s")
    assert "ConnectionRefusedError" in outcome.message and "Running on 127.0.0.1:5000" in outcome.message


def test_service_fails_when_the_container_stops():
    container = FakeContainer(states=[{"Running": False, "ExitCode": 1}], logs="ModuleNotFoundError: flask")
    outcome = run_check({"type": "service", "port": 8000}, FakeSandbox(container=container))
    assert outcome.message == (
        "GET / on port 8000 got no answer: the container stopped by itself (exit code 1); "
        "its output: ModuleNotFoundError: flask"
    )


def test_service_probes_from_the_graders_own_container_and_removes_it():
    sandbox = FakeSandbox(answer=python_answers(200, "ok"))
    assert run_check({"type": "service", "port": 8000}, sandbox).passed
    assert sandbox.calls == [("start", None), ("probe", sandbox.container)]
    assert [probe.removed for probe in sandbox.probes] == [True]


def test_service_reports_a_container_that_stopped_before_the_probe_could_join_it():
    class StoppingSandbox(FakeSandbox):
        def start_probe(self, container):
            raise SandboxError("docker_error", "cannot join network of a non running container")

    container = FakeContainer(states=[{"Running": True}, {"Running": False, "ExitCode": 3}], logs="crashed")
    outcome = run_check({"type": "service", "port": 8000}, StoppingSandbox(container=container))
    assert outcome.message == (
        "GET / on port 8000 got no answer: the container stopped by itself (exit code 3); its output: crashed"
    )


# --- listen -------------------------------------------------------------------------------------------------------

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 00000000:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:1F40 0100007F:8CA0 01 00000000:00000000 00:00000000 00000000     0        0 3 1
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:1F42 00000000000000000000000000000000:0000 0A 00000000
   1: 00000000000000000000000001000000:1F43 00000000000000000000000000000000:0000 0A 00000000
"""


def test_listening_addresses_reads_ipv4_and_ipv6_listeners_only():
    assert listening_addresses(PROC_NET_TCP, 8000) == ["127.0.0.1"]
    assert listening_addresses(PROC_NET_TCP, 8001) == ["0.0.0.0"]
    assert listening_addresses(PROC_NET_TCP, 8002) == ["::"]
    assert listening_addresses(PROC_NET_TCP, 8003) == ["::1"]
    assert listening_addresses(PROC_NET_TCP, 9999) == []


def test_listen_fails_for_an_app_on_loopback_only():
    sandbox = FakeSandbox(answer=lambda command: (0, PROC_NET_TCP))
    outcome = run_check({"type": "listen", "port": 8000}, sandbox)
    assert outcome.message.startswith("the app listens on 127.0.0.1:8000 only")
    assert "Bind to 0.0.0.0." in outcome.message


def test_listen_passes_for_all_interfaces_in_ipv4_or_ipv6():
    sandbox = FakeSandbox(answer=lambda command: (0, PROC_NET_TCP))
    assert run_check({"type": "listen", "port": 8001}, sandbox).passed
    assert run_check({"type": "listen", "port": 8002}, sandbox).message.startswith("the app listens on [::]:8002")


def test_listen_fails_when_nothing_listens():
    sandbox = FakeSandbox(answer=lambda command: (0, PROC_NET_TCP))
    outcome = run_check({"type": "listen", "port": 5000, "within": 0.2}, sandbox)
    assert outcome.message.startswith("nothing listens on port 5000 within 0.2 s")


# --- health -------------------------------------------------------------------------------------------------------


def healthy_facts() -> dict:
    return make_facts(healthcheck={"Test": ["CMD", "python", "-c", "..."], "Interval": 30_000_000_000})


def test_health_needs_a_healthcheck_in_the_image():
    assert run_check({"type": "health"}).message == "the image has no HEALTHCHECK, so Docker never reports it healthy."
    facts = make_facts(healthcheck={"Test": ["NONE"]})
    assert not run_check({"type": "health"}, FakeSandbox(facts)).passed


def test_health_passes_once_docker_reports_healthy_and_probes_every_second():
    log = [{"ExitCode": 0, "Output": ""}]
    states = [
        {"Running": True, "Health": {"Status": "starting"}},
        {"Running": True, "Health": {"Status": "healthy", "Log": log}},
    ]
    sandbox = FakeSandbox(healthy_facts(), container=FakeContainer(states=states))
    outcome = run_check({"type": "health", "within": 5}, sandbox)
    assert outcome.passed
    assert "became healthy" in outcome.message
    assert ("start", 1) in sandbox.calls


def test_health_fails_with_the_last_probe_output():
    log = [{"ExitCode": 1, "Output": "/bin/sh: 1: curl: not found"}]
    states = [{"Running": True, "Health": {"Status": "unhealthy", "Log": log}}]
    sandbox = FakeSandbox(healthy_facts(), container=FakeContainer(states=states))
    outcome = run_check({"type": "health", "within": 0.2}, sandbox)
    assert outcome.message == (
        "the container was still unhealthy after 0.2 s; "
        "the last health check exited with 1: /bin/sh: 1: curl: not found."
    )


# --- stop ---------------------------------------------------------------------------------------------------------


def test_stop_passes_when_the_container_exits_cleanly_in_time():
    sandbox = FakeSandbox(pid1="python worker.py", stop_seconds=0.4, exit_after_stop=0)
    outcome = run_check({"type": "stop", "within": 5}, sandbox)
    assert outcome.passed
    assert outcome.message == "`docker stop` ended the container in 0.4 s (exit code 0); PID 1 was `python worker.py`."
    assert sandbox.container.stopped_with == 5


def test_stop_fails_when_docker_has_to_kill_and_names_pid_1():
    sandbox = FakeSandbox(pid1="/bin/sh -c python worker.py", stop_seconds=5.2, exit_after_stop=137)
    outcome = run_check({"type": "stop", "within": 5}, sandbox)
    assert outcome.message == (
        "`docker stop` sent SIGTERM, waited 5 s, then killed the container (exit code 137): the signal never "
        "reached your app. PID 1 is `/bin/sh -c python worker.py`."
    )


def test_stop_waits_for_the_ready_message_first():
    container = FakeContainer(logs="booting\n")
    outcome = run_check({"type": "stop", "ready": "worker started"}, FakeSandbox(container=container))
    assert outcome.message.startswith("the app did not get ready within 0.3 s; its output: booting")


# --- cache --------------------------------------------------------------------------------------------------------


def step(index: int, instruction: str, status: str, duration: float | None = None) -> StepInfo:
    return StepInfo(vertex=index + 3, stage=None, index=index, total=4, instruction=instruction, status=status,
                    duration=duration)  # fmt: skip


def rebuilt(*steps: StepInfo) -> BuildResult:
    return BuildResult(True, "ok", "built", image_id="sha256:rebuilt", steps=list(steps))


def test_cache_passes_when_the_install_step_is_cached_after_a_change():
    sandbox = FakeSandbox(builds=[rebuilt(step(2, "COPY requirements.txt .", "cached"),
                                          step(3, "RUN pip install -r requirements.txt", "cached"),
                                          step(4, "COPY . .", "done", 0.1))])  # fmt: skip
    outcome = run_check({"type": "cache", "change": "app.py", "step": "pip install"}, sandbox)
    assert outcome.passed
    assert (
        outcome.message
        == "after a change to app.py, [3/4] `RUN pip install -r requirements.txt` came from the cache (CACHED)."
    )
    _, suffix, quiet, files = sandbox.calls[0]
    assert suffix == "-cache" and quiet is False
    assert files["app.py"].startswith(b"print('hi')\n\n# changed by the grader")


def test_cache_fails_naming_the_step_that_missed_first():
    sandbox = FakeSandbox(builds=[rebuilt(step(1, "FROM docker.io/library/python:3.11-slim", "done", 0.0),
                                          step(2, "COPY . .", "done", 0.1),
                                          step(3, "RUN pip install -r requirements.txt", "done", 4.2))])  # fmt: skip
    outcome = run_check({"type": "cache", "change": "app.py", "step": "pip install"}, sandbox)
    assert outcome.message == (
        "after a change to app.py, [3/4] `RUN pip install -r requirements.txt` ran again (4.2 s) instead of coming "
        "from the cache. The cache was first missed at [2/4] `COPY . .`, and every step after a miss runs again."
    )


def test_cache_changes_the_file_differently_every_time():
    files = [rebuild.change_mark() for _ in range(2)]
    assert files[0] != files[1]


def test_cache_fails_without_a_matching_step_or_file():
    sandbox = FakeSandbox(builds=[rebuilt(step(2, "COPY . .", "done"))])
    assert (
        "no build step matches `pip install`"
        in run_check({"type": "cache", "change": "app.py", "step": "pip install"}, sandbox).message
    )
    outcome = run_check({"type": "cache", "change": "main.py", "step": "pip install"}, FakeSandbox())
    assert outcome.message == "main.py is not in the submission, so the grader cannot change it to test the cache."


def test_cache_fails_when_the_rebuild_fails():
    sandbox = FakeSandbox(builds=[BuildResult(False, "step_failed", "The step failed with exit code 1.")])
    outcome = run_check({"type": "cache", "change": "app.py", "step": "pip"}, sandbox)
    assert outcome.message == "the rebuild after changing app.py failed: The step failed with exit code 1."


# --- compare ------------------------------------------------------------------------------------------------------


def solution_sandbox(size: int) -> FakeSandbox:
    facts = make_facts()
    facts["size"] = size
    return FakeSandbox(builds=[BuildResult(True, "ok", "built", image_id="sha256:solution")],
                       more_facts={"sha256:solution": facts})  # fmt: skip


def test_compare_fails_above_the_ratio_with_both_sizes():
    from django.core.cache import cache

    cache.clear()
    sandbox = solution_sandbox(50_000_000)
    outcome = run_check({"type": "compare", "max_ratio": 1.5}, sandbox, solution_files={"Dockerfile": b"FROM x\n"})
    assert outcome.message == (
        "the image is 152 MB, 3.0 times the reference solution's 50 MB; this exercise allows 1.5 times."
    )
    assert sandbox.calls[0][1:3] == ("-solution", True)  # built quietly: the solution's steps stay private


def test_compare_measures_the_solution_once_and_caches_it():
    from django.core.cache import cache

    cache.clear()
    files = {"Dockerfile": b"FROM busybox:latest\n"}
    sandbox = solution_sandbox(140_000_000)
    assert run_check({"type": "compare"}, sandbox, solution_files=files).passed
    again = FakeSandbox()
    assert run_check({"type": "compare"}, again, solution_files=files).passed
    assert again.calls == []


# --- Layers shown to the learner ----------------------------------------------------------------------------------


def test_clean_created_by_shows_instructions_as_written():
    assert clean_created_by("RUN /bin/sh -c pip install x # buildkit") == "RUN pip install x"
    assert clean_created_by("COPY . . # buildkit") == "COPY . ."
    assert clean_created_by("EXPOSE map[8000/tcp:{}]") == "EXPOSE 8000/tcp"
    assert clean_created_by('/bin/sh -c #(nop)  CMD ["sh"]') == 'CMD ["sh"]'


def test_own_layers_marks_cached_steps():
    layers = [{"created_by": "WORKDIR /app", "size": 0}, {"created_by": "RUN /bin/sh -c make # buildkit", "size": 5}]
    steps = [step(2, "WORKDIR /app", "cached"), step(3, "RUN make", "done", 1.0)]
    assert own_layers(layers, steps) == [
        {"instruction": "WORKDIR /app", "size": 0, "cached": True},
        {"instruction": "RUN make", "size": 5, "cached": False},
    ]


# --- The grading flow ---------------------------------------------------------------------------------------------

DOCKERFILE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"


def exercise_with(checks: list[dict], **spec):
    return SimpleNamespace(
        spec={"checks": checks, **spec},
        lesson=SimpleNamespace(slug="multi-stage-builds"),
        solution_files={"Dockerfile": "FROM busybox:latest\n"},
    )


def ok_build() -> BuildResult:
    steps = [step(2, "WORKDIR /app", "cached"), step(4, "RUN pip install -r requirements.txt", "done", 3.0)]
    return BuildResult(True, "ok", "The image was built in 1.0 s.", image_id="sha256:image", duration=1.0, steps=steps)


CHECKS = [
    {"id": "exec", "type": "exec-form", "title": "Exec form"},
    {"id": "builds", "type": "build", "title": "Builds", "section": "stages"},
    {"id": "small", "type": "image-size", "title": "Small", "max_mb": 60, "points": 2},
    {"id": "runs", "type": "command", "title": "Runs", "stdout": "hi"},
]


def test_a_failed_build_skips_every_later_check_and_counts_them_as_failed():
    sandbox = FakeSandbox(builds=[BuildResult(False, "step_failed", "The step `RUN make` failed with exit code 2.")])
    seen = []
    result = grade_submission(exercise_with(CHECKS), {"Dockerfile": DOCKERFILE}, sandbox, on_check=seen.append)
    statuses = {verdict["id"]: verdict["status"] for verdict in result["checks"]}
    assert statuses == {"exec": "failed", "builds": "failed", "small": "skipped", "runs": "skipped"}
    skipped = result["checks"][2]
    assert skipped["message"] == "skipped: the image did not build." and skipped["passed"] is False
    assert result["score"] == 0 and result["passed"] is False
    assert (
        result["message"]
        == "The image did not build: The step `RUN make` failed with exit code 2. 2 checks could not run."
    )
    assert result["build"]["ok"] is False and result["build"]["reason"] == "step_failed"
    assert result["image"] is None
    assert [verdict["id"] for verdict in seen] == ["exec", "builds", "small", "runs"]


def test_a_built_image_is_checked_in_phases_and_reported_in_spec_order():
    base = {"size": 149_000_000, "layers": PYTHON_BASE_LAYERS}
    sandbox = FakeSandbox(
        builds=[ok_build()], run_result=RunResult(0, "hi\n", ""), more_facts={"python:3.11-slim": base}
    )
    seen = []
    result = grade_submission(exercise_with(CHECKS), {"Dockerfile": DOCKERFILE}, sandbox, on_check=seen.append)
    assert [verdict["id"] for verdict in result["checks"]] == ["exec", "builds", "small", "runs"]
    assert {verdict["id"]: verdict["status"] for verdict in seen} == {
        "exec": "failed", "builds": "passed", "small": "failed", "runs": "passed"
    }  # fmt: skip
    assert result["score"] == 40  # builds (1) + runs (1) of 5 points
    assert result["checks"][1]["section_url"] == "/lessons/multi-stage-builds/#stages"
    image = result["image"]
    assert image["size"] == 152_000_000 and image["base_size"] == 149_000_000
    assert image["layers"][0] == {"instruction": "WORKDIR /app", "size": 0, "cached": True}
    assert image["layers"][2] == {
        "instruction": "RUN pip install -r requirements.txt",
        "size": 3_000_000,
        "cached": False,
    }
    assert result["build"]["steps"][1]["instruction"] == "RUN pip install -r requirements.txt"


def test_context_files_of_the_exercise_are_added_to_the_build():
    sandbox = FakeSandbox(builds=[ok_build()])
    exercise = exercise_with([{"id": "builds", "type": "build", "title": "B"}], context_files={".env": "SECRET=1\n"})
    grade_submission(exercise, {"Dockerfile": DOCKERFILE, ".env": "mine"}, sandbox)
    assert sandbox.calls[0][3] == {"Dockerfile": DOCKERFILE.encode(), ".env": b"SECRET=1\n"}


def test_invalid_files_fail_the_build_check_with_the_reason():
    sandbox = FakeSandbox()
    result = grade_submission(exercise_with(CHECKS), {"app.py": "print()"}, sandbox)
    assert result["checks"][1]["message"] == "The submission has no Dockerfile (a file named exactly 'Dockerfile')."
    assert sandbox.calls == []


def test_a_check_that_breaks_is_an_error_and_an_unreachable_daemon_stops_grading(monkeypatch):
    from sandbox.grading import grader

    def sandbox_error(check, context):
        raise SandboxError("docker_error", "The sandbox could not start a container.")

    monkeypatch.setitem(grader.LATER_CHECKS, "command", sandbox_error)
    result = grade_submission(exercise_with(CHECKS), {"Dockerfile": DOCKERFILE}, FakeSandbox(builds=[ok_build()]))
    assert result["checks"][3]["status"] == "error"
    assert result["checks"][3]["message"] == "could not run this check: The sandbox could not start a container."

    def daemon_gone(check, context):
        raise SandboxError("daemon_unavailable", "The build sandbox is not answering.")

    monkeypatch.setitem(grader.LATER_CHECKS, "command", daemon_gone)
    with pytest.raises(SandboxError):
        grade_submission(exercise_with(CHECKS), {"Dockerfile": DOCKERFILE}, FakeSandbox(builds=[ok_build()]))


def test_the_playground_only_builds_and_reports_the_image():
    sandbox = FakeSandbox(builds=[ok_build()])
    result = grade_submission(None, {"Dockerfile": DOCKERFILE}, sandbox)
    assert [verdict["id"] for verdict in result["checks"]] == ["build"]
    assert result["passed"] is True and result["score"] == 100
    assert result["message"] == "The image was built in 1.0 s."
    assert result["image"]["size"] == 152_000_000 and result["image"]["solution_size"] is None
    assert result["checks"][0]["section_url"] == ""


def test_an_exercise_with_an_invalid_spec_grades_nothing_and_says_so():
    exercise = exercise_with([{"id": "small", "type": "image-size", "title": "Small", "max_mb": "big"}])
    sandbox = FakeSandbox()
    result = grade_submission(exercise, {"Dockerfile": DOCKERFILE}, sandbox)
    verdict = result["checks"][0]
    assert verdict["status"] == "error" and result["passed"] is False
    assert verdict["message"].startswith("could not run this check: the exercise's checks are invalid (checks[0]")
    assert sandbox.calls == []


def test_an_exercise_without_checks_never_passes():
    result = grade_submission(exercise_with([]), {"Dockerfile": DOCKERFILE}, FakeSandbox())
    assert result["passed"] is False and result["checks"][0]["status"] == "error"
