"""The checks that make exercises grade what they claim, on a fake sandbox: prerequisites, default hints,
unhealthy, run-args, read-only, no-setuid and build secrets, and the build secrets' way to the build.

Nothing here needs Docker: `ExerciseSandbox` extends the fake of test_grading_image_checks.py.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import stat
import tarfile
from types import SimpleNamespace

import pytest

from sandbox import catalog
from sandbox.clients import SandboxError
from sandbox.environment import Hardening, RunResult, secret_options
from sandbox.grading import grade_submission, health
from sandbox.grading.build_secrets import find_secret, needles
from sandbox.grading.containers import Sandbox
from sandbox.grading.grader import LATER_CHECKS
from sandbox.grading.hints import GENERIC_HINT, default_hint
from sandbox.grading.outcome import make_verdict
from sandbox.grading.spec import build_secret_ids, spec_problems
from sandbox.grading.static import DockerfileSource, run_static_check

from .test_grading_image_checks import DOCKERFILE, FakeContainer, FakeSandbox, context_for, make_facts, ok_build

SECRET = "dockyard-index_token-0123456789abcdef0123456789abcdef"


class ExerciseSandbox(FakeSandbox):
    """The fake sandbox, with the operations the new checks use."""

    def __init__(self, facts: dict | None = None, **script):
        super().__init__(facts, **script)
        self.after_break = script.get("after_break")
        self.written: list[tuple[str, bytes]] = []
        self.entries = script.get("filesystem", [])
        self.archive = script.get("archive", b"")
        self.contents = script.get("contents", {})

    def put_file(self, container, path, content):
        self.written.append((path, content))
        if self.after_break is not None:
            container.states = list(self.after_break)

    def run_args(self, image, args, environment, timeout):
        self.calls.append(("run_args", args, environment, timeout))
        return self.run_result

    def run_hardened(self, image, hardening, timeout):
        self.calls.append(("run_hardened", hardening, timeout))
        return self.run_result

    def filesystem(self, image):
        for entry in self.entries:
            yield entry, None

    def image_archive(self, image):
        return [self.archive[i : i + 1000] for i in range(0, len(self.archive), 1000)]

    def read_file(self, image, path):
        return self.contents.get(path)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(health, "POLL_SECONDS", 0)


def run(check: dict, sandbox: FakeSandbox, **context):
    found = context_for(sandbox)
    for name, value in context.items():
        setattr(found, name, value)
    return LATER_CHECKS[check["type"]](check, found)


# --- Hints and prerequisites ------------------------------------------------------------------------------------


def test_a_check_without_a_hint_gets_the_default_hint_of_its_type():
    verdict = make_verdict({"id": "answers", "type": "service", "title": "Answers"}, None, "failed", "no answer")
    assert verdict["hint"] == default_hint("service") and "foreground" in verdict["hint"]
    own = make_verdict({"id": "a", "type": "service", "title": "A", "hint": "Mine."}, None, "failed", "x")
    assert own["hint"] == "Mine."
    assert make_verdict({"id": "a", "type": "some-new-type", "title": "A"}, None, "failed", "x")["hint"] == GENERIC_HINT


def test_every_check_type_has_a_default_hint_of_its_own():
    from sandbox.grading.spec import CHECK_TYPES

    assert [kind for kind in CHECK_TYPES if default_hint(kind) == GENERIC_HINT] == []


def exercise(checks: list[dict], **spec) -> SimpleNamespace:
    titled = [{"title": f"The check {check['id']}", **check} for check in checks]
    return SimpleNamespace(spec={"checks": titled, **spec}, lesson=SimpleNamespace(slug="ports"), solution_files={})


SERVICE_THEN_LISTEN = [
    {"id": "builds", "type": "build"},
    {"id": "answers", "type": "service", "port": 8000, "within": 0.2},
    {"id": "all-interfaces", "type": "listen", "port": 8000, "needs": ["answers"]},
]


def test_a_check_whose_prerequisite_failed_is_skipped_with_a_sentence_naming_it():
    stopped = FakeContainer(states=[{"Running": False, "ExitCode": 0}], logs="")
    sandbox = ExerciseSandbox(builds=[ok_build()], container=stopped)
    result = grade_submission(exercise(SERVICE_THEN_LISTEN), {"Dockerfile": DOCKERFILE}, sandbox)
    verdicts = {verdict["id"]: verdict for verdict in result["checks"]}
    assert verdicts["answers"]["status"] == "failed"
    assert "the container stopped by itself (exit code 0)" in verdicts["answers"]["message"]
    skipped = verdicts["all-interfaces"]
    assert skipped["status"] == "skipped" and skipped["passed"] is False
    assert skipped["message"] == "skipped: this check needs “The check answers” to pass first."
    assert skipped["hint"] == default_hint("listen")


def test_a_check_whose_prerequisite_passed_runs():
    answer = lambda command: (0, "200\nhello") if command[0] == "python3" else (0, TCP_ALL)  # noqa: E731
    sandbox = ExerciseSandbox(builds=[ok_build()], answer=answer)
    result = grade_submission(exercise(SERVICE_THEN_LISTEN), {"Dockerfile": DOCKERFILE}, sandbox)
    assert [verdict["status"] for verdict in result["checks"]] == ["passed", "passed", "passed"]


TCP_ALL = "  sl  local_address rem_address   st\n   0: 00000000:1F40 00000000:0000 0A 00000000:00000000\n"


@pytest.mark.parametrize(
    ("checks", "problem"),
    [
        ([{"id": "a", "type": "build", "needs": ["b"]}, {"id": "b", "type": "build"}], "which is not the id of an earlier check"),
        ([{"id": "a", "type": "build", "needs": "b"}], "'needs' must list the ids of earlier checks"),
        (
            [{"id": "b", "type": "build"}, {"id": "r", "type": "command"}, {"id": "s", "type": "files", "present": ["/x"], "needs": ["r"]}],
            "which runs in a later phase (runtime)",
        ),
        ([{"id": "b", "type": "build"}, {"id": "s", "type": "build-secret", "secret": "token"}], "'build_secrets' does not declare"),
        ([{"id": "b", "type": "build"}, {"id": "u", "type": "unhealthy"}], "'break_file' is required"),
        ([{"id": "b", "type": "build"}, {"id": "r", "type": "run-args", "args": []}], "'args' must be a non-empty list"),
        ([{"id": "b", "type": "build"}, {"id": "r", "type": "read-only", "tmpfs": ["tmp"]}], "'tmpfs' item 1 must be an absolute path"),
    ],
)  # fmt: skip
def test_the_spec_refuses_wrong_prerequisites_and_new_checks_with_missing_keys(checks, problem):
    titled = [{"title": "T", **check} for check in checks]
    problems = spec_problems({"checks": titled})
    assert any(problem in found for found in problems), problems


def test_an_exercise_with_build_secrets_cannot_have_a_cache_check():
    checks = [
        {"id": "b", "type": "build", "title": "B"},
        {"id": "c", "type": "cache", "title": "C", "change": "a", "step": "x"},
    ]
    assert spec_problems({"build_secrets": ["t"], "checks": checks}) == [
        "checks (cache): an exercise with 'build_secrets' builds without the cache, so it cannot have a cache check"
    ]
    assert spec_problems({"checks": checks}) == []


@pytest.mark.parametrize("declared", [["bad id"], [], "index_token", ["a", "a"], [""]])
def test_the_spec_refuses_build_secrets_that_are_not_a_list_of_ids(declared):
    spec = {"build_secrets": declared, "checks": [{"id": "b", "type": "build", "title": "B"}]}
    assert any(problem.startswith("'build_secrets' ") for problem in spec_problems(spec))


def test_declared_build_secrets_are_read_from_the_spec():
    assert build_secret_ids({"build_secrets": ["index_token", "npm.token"]}) == ["index_token", "npm.token"]
    assert build_secret_ids({"checks": []}) == [] and build_secret_ids(None) == []


# --- unhealthy --------------------------------------------------------------------------------------------------


def with_healthcheck(**settings) -> dict:
    return make_facts(healthcheck={"Test": ["CMD", "python", "-c", "..."], **settings})


HEALTHY = {"Running": True, "Health": {"Status": "healthy", "Log": [{"Start": "t0", "End": "t0e", "ExitCode": 0}]}}


def probes(*codes: int, status: str = "healthy") -> dict:
    log = [
        {"Start": f"t{n}", "End": f"t{n}e", "ExitCode": code, "Output": "TimeoutError: timed out"}
        for n, code in enumerate(codes, start=1)
    ]
    return {"Running": True, "Health": {"Status": status, "Log": log}}


UNHEALTHY_CHECK = {"type": "unhealthy", "break_file": "/tmp/app-frozen"}


def test_unhealthy_needs_a_healthcheck_in_the_image():
    outcome = run(UNHEALTHY_CHECK, ExerciseSandbox())
    assert outcome.message == "the image has no HEALTHCHECK, so Docker cannot notice when the app stops answering."


def test_unhealthy_passes_when_docker_reports_unhealthy_after_the_app_is_broken():
    sandbox = ExerciseSandbox(
        with_healthcheck(Retries=3, Timeout=3_000_000_000),
        container=FakeContainer(states=[HEALTHY]),
        after_break=[probes(1), probes(1, 1), probes(1, 1, 1, status="unhealthy")],
    )
    outcome = run(UNHEALTHY_CHECK, sandbox)
    assert outcome.passed, outcome.message
    assert "turned unhealthy" in outcome.message and "3 failed checks in a row" in outcome.message
    assert "TimeoutError: timed out" in outcome.message
    assert sandbox.written == [("/tmp/app-frozen", b"stopped answering\n")]
    assert ("start", 1) in sandbox.calls and sandbox.container.removed


def test_unhealthy_fails_when_the_check_keeps_passing_after_the_break():
    sandbox = ExerciseSandbox(
        with_healthcheck(), container=FakeContainer(states=[HEALTHY]), after_break=[probes(0, 0, 0)]
    )
    outcome = run(UNHEALTHY_CHECK, sandbox)
    assert not outcome.passed
    assert outcome.message.startswith("after the app stopped answering, the health check still passed 3 times in a row")


def test_unhealthy_fails_when_the_container_never_becomes_healthy(monkeypatch):
    monkeypatch.setattr(health, "HEALTHY_WITHIN", 0.1)
    sandbox = ExerciseSandbox(with_healthcheck(), container=FakeContainer(states=[probes(1, status="starting")]))
    outcome = run(UNHEALTHY_CHECK, sandbox)
    assert outcome.message.startswith("the container never became healthy (still starting after 0.1 s;")
    assert sandbox.written == []


def test_unhealthy_fails_naming_the_slow_timeout_when_no_verdict_comes_in_time():
    sandbox = ExerciseSandbox(
        with_healthcheck(), container=FakeContainer(states=[HEALTHY]), after_break=[probes(status="healthy")]
    )
    outcome = run({**UNHEALTHY_CHECK, "within": 0.2}, sandbox)
    assert outcome.message.startswith("the app stopped answering, but after 0.2 s the container was still healthy")
    assert "up to 30 s (HEALTHCHECK --timeout)" in outcome.message


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        # retries x (1 s interval + the probe's timeout) + 5 s, the timeout counted as 10 s at most.
        ({"Retries": 5, "Timeout": 2_000_000_000}, (20, 5, 2.0)),
        ({}, (38, 3, 30.0)),
    ],
)
def test_unhealthy_waits_for_retries_probes_of_at_most_ten_seconds_each(monkeypatch, settings, expected):
    timings = []

    def record(context, container, seen, broken_at, within, retries, timeout):
        timings.append((within, retries, timeout))
        return health.fail("recorded")

    monkeypatch.setattr(health, "_watch_after_break", record)
    run(UNHEALTHY_CHECK, ExerciseSandbox(with_healthcheck(**settings), container=FakeContainer(states=[HEALTHY])))
    assert timings == [expected]


# --- run-args, read-only, no-setuid ------------------------------------------------------------------------------


def test_run_args_runs_the_arguments_through_the_entrypoint_and_judges_the_output():
    sandbox = ExerciseSandbox(run_result=RunResult(0, "entrypoint: ready\nprocessed job 'nightly'\n", ""))
    check = {
        "type": "run-args",
        "args": ["python", "worker.py", "--once", "nightly report"],
        "stdout": "'nightly report'",
    }
    outcome = run(check, sandbox)
    assert sandbox.calls[-1] == ("run_args", ["python", "worker.py", "--once", "nightly report"], None, 30)
    assert outcome.message.startswith(
        "the stdout of `docker run IMAGE python worker.py --once \"nightly report\"` does not match `'nightly report'`"
    )
    sandbox.run_result = RunResult(0, "processed job 'nightly report'\n", "")
    assert run(check, sandbox).passed


def test_read_only_runs_with_a_read_only_root_the_tmpfs_paths_and_no_capabilities():
    failed = RunResult(1, "", "OSError: [Errno 30] Read-only file system: '/app/cache'\n")
    sandbox = ExerciseSandbox(run_result=failed)
    outcome = run({"type": "read-only", "tmpfs": ["/tmp"], "stdout": "Report ready"}, sandbox)
    _, hardening, _ = sandbox.calls[-1]
    assert hardening == Hardening(read_only=True, tmpfs=("/tmp",), cap_drop=("ALL",))
    assert hardening.options() == {
        "read_only": True,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,size=64m"},
        "cap_drop": ["ALL"],
    }
    assert outcome.message.startswith("`docker run --read-only --tmpfs /tmp --cap-drop ALL IMAGE` exited with code 1")
    assert outcome.message.endswith("A 'Read-only file system' error names a path the app writes to.")
    sandbox.run_result = RunResult(0, "Report ready: 3580 sold\n", "")
    assert run({"type": "read-only", "tmpfs": ["/tmp"], "stdout": "Report ready"}, sandbox).passed


def tar_entry(name: str, mode: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.mode, entry.type = mode, kind
    return entry


def test_no_setuid_lists_the_setuid_and_setgid_files_of_the_image():
    entries = [
        tar_entry("usr/bin/su", 0o4755),
        tar_entry("usr/bin/chage", 0o2755),
        tar_entry("usr/bin/python3", 0o755),
        tar_entry("tmp", 0o1777 | stat.S_ISGID, tarfile.DIRTYPE),
    ]
    outcome = run({"type": "no-setuid"}, ExerciseSandbox(filesystem=entries))
    assert outcome.message == (
        "the image has 2 files that run with their owner's or group's rights, whoever starts them: "
        "/usr/bin/su (setuid), /usr/bin/chage (setgid)."
    )
    assert run({"type": "no-setuid"}, ExerciseSandbox(filesystem=entries[2:])).passed


# --- build-secret -------------------------------------------------------------------------------------------------


def tar_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, content in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(content)
            tar.addfile(entry, io.BytesIO(content))
    return out.getvalue()


def saved_image(layers: dict[str, dict[str, bytes]], env: list[str] = (), history: list[str] = ()) -> bytes:
    """A `docker save` archive: the layers (listed in the manifest in the order given), config and manifest."""
    config = {"config": {"Env": list(env)}, "history": [{"created_by": line} for line in history]}
    files = {f"{layer}/layer.tar": tar_bytes(content) for layer, content in sorted(layers.items())}
    files["cafe.json"] = json.dumps(config).encode()
    files["manifest.json"] = json.dumps(
        [{"Config": "cafe.json", "Layers": [f"{n}/layer.tar" for n in layers]}]
    ).encode()
    return tar_bytes(files)


SECRET_CHECK = {"type": "build-secret", "secret": "index_token", "proof_file": "/app/vendor/INSTALLED_WITH"}
PROOF = {"/app/vendor/INSTALLED_WITH": hashlib.sha256(SECRET.encode()).hexdigest().encode() + b"\n"}
BASE = {"usr/bin/python3": b"\x7fELF" + b"x" * 3000}


def secret_outcome(archive: bytes, contents: dict | None = None):
    sandbox = ExerciseSandbox(archive=archive, contents=PROOF if contents is None else contents)
    return run(SECRET_CHECK, sandbox, build_secrets={"index_token": SECRET})


def test_a_secret_copied_into_a_file_is_found_in_its_layer_even_if_a_later_layer_deletes_it():
    archive = saved_image(
        {"zz-base": BASE, "aa-app": {"app/.token": SECRET.encode()}, "mm-later": {"app/.wh..token": b""}}
    )
    outcome = secret_outcome(archive)
    assert outcome.message == (
        "the value of the build secret `index_token` is in the image: the file /app/.token (layer 2 of 3). "
        "Anyone who pulls the image can read it there."
    )


def test_a_secret_is_found_across_read_chunks_and_in_base64():
    padded = b"a" * ((1 << 20) - 10) + SECRET.encode() + b"b" * 100
    assert not secret_outcome(saved_image({"l1": {"big.bin": padded}})).passed
    encoded = base64.b64encode(SECRET.encode())
    assert "the file /x.b64 (layer 1 of 1)" in secret_outcome(saved_image({"l1": {"x.b64": encoded}})).message


def test_a_secret_in_the_history_or_the_configuration_is_reported_there():
    history = secret_outcome(saved_image({"l1": BASE}, history=[f"RUN /bin/sh -c echo {SECRET} # buildkit"]))
    assert "the image history (`RUN /bin/sh -c echo dockyard-index_token-" in history.message
    config = secret_outcome(saved_image({"l1": BASE}, env=[f"INDEX_TOKEN={SECRET}"]))
    assert "the image configuration (ENV, LABEL, CMD and the like" in config.message


def test_a_secret_used_and_left_nowhere_passes_with_its_proof():
    outcome = secret_outcome(
        saved_image({"l1": BASE, "l2": {"app/vendor/INSTALLED_WITH": PROOF["/app/vendor/INSTALLED_WITH"]}})
    )
    assert outcome.passed, outcome.message
    assert "a build step received the secret `index_token`" in outcome.message


def test_a_build_that_used_another_token_or_none_fails_the_proof():
    other = {"/app/vendor/INSTALLED_WITH": hashlib.sha256(b"idx_live_hardcoded").hexdigest().encode()}
    assert "did not get this build's secret `index_token`" in secret_outcome(saved_image({"l1": BASE}), other).message
    missing = secret_outcome(saved_image({"l1": BASE}), {})
    assert missing.message.startswith("/app/vendor/INSTALLED_WITH is not in the image")


def test_a_build_secret_the_build_was_not_given_is_an_error_not_a_pass():
    from sandbox.grading.outcome import CheckError

    with pytest.raises(CheckError, match="was not given the secret `index_token`"):
        run(SECRET_CHECK, ExerciseSandbox(), build_secrets={})


def test_find_secret_reads_only_the_image_config_not_the_legacy_layer_json():
    archive = tar_bytes(
        {
            "l1/layer.tar": tar_bytes(BASE),
            "l1/json": json.dumps({"config": {"Env": [f"X={SECRET}"]}}).encode(),
            "cafe.json": json.dumps({"config": {"Env": [f"X={SECRET}"]}, "history": []}).encode(),
            "manifest.json": json.dumps([{"Layers": ["l1/layer.tar"]}]).encode(),
        }
    )
    assert find_secret([archive], needles(SECRET)) == [
        "the image configuration (ENV, LABEL, CMD and the like, shown by `docker inspect`)"
    ]


# --- Build secrets on their way to the build ---------------------------------------------------------------------


def test_each_grading_gives_the_build_a_fresh_value_for_each_declared_secret():
    seen = []

    class Recording(ExerciseSandbox):
        def build(self, files, tag_suffix="", quiet=False):
            seen.append(dict(self.build_secrets))
            return super().build(files, tag_suffix, quiet)

    spec = {"build_secrets": ["index_token"]}
    for _ in range(2):
        grade_submission(
            exercise([{"id": "b", "type": "build"}], **spec), {"Dockerfile": DOCKERFILE}, Recording(builds=[ok_build()])
        )
    assert [list(values) for values in seen] == [["index_token"], ["index_token"]]
    first, second = seen[0]["index_token"], seen[1]["index_token"]
    assert first != second and first.startswith("dockyard-index_token-") and len(first) == len(SECRET)


def test_the_secret_files_live_in_the_build_folder_readable_by_the_owner_only(tmp_path):
    options = secret_options(tmp_path, {"index_token": "v1", "npm.token": "v2"})
    assert options == [
        "--no-cache",
        "--secret", f"id=index_token,src={tmp_path / 'secrets' / 'index_token'}",
        "--secret", f"id=npm.token,src={tmp_path / 'secrets' / 'npm.token'}",
    ]  # fmt: skip
    assert (tmp_path / "secrets" / "index_token").read_text() == "v1"
    assert stat.S_IMODE((tmp_path / "secrets" / "index_token").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert secret_options(tmp_path / "other", {}) == []


def test_a_command_in_a_container_that_stopped_meanwhile_answers_none_instead_of_a_docker_error():
    class StoppedEnv:
        def exec(self, container, command, timeout):
            raise SandboxError("docker_error", "The sandbox could not run a command: Container abc is not running")

        def container_state(self, container):
            return {"Running": False, "ExitCode": 0}

    assert Sandbox(StoppedEnv()).exec(object(), ["cat", "/proc/net/tcp"], 5) == (None, "the container is not running")

    class RunningEnv(StoppedEnv):
        def container_state(self, container):
            return {"Running": True}

    with pytest.raises(SandboxError):
        Sandbox(RunningEnv()).exec(object(), ["cat"], 5)


# --- NAME_FILE and catalog aliases ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "passes"),
    [
        ("ENV API_TOKEN_FILE=/run/secrets/api_token", True),
        ("ARG DATABASE_PASSWORD_FILE=/run/secrets/db_password", True),
        ("ENV API_TOKEN_FILE=sk_live_51HxTq2Lr8Vb0Wz9Kp4Ms7Yd", False),
        ("ENV API_TOKEN_FILE=relative-token", False),
        ("ENV API_TOKEN=/run/secrets/api_token", False),
    ],
)
def test_no_secrets_accepts_the_name_file_convention_only_for_a_path(line, passes):
    source = DockerfileSource(f"FROM python:3.11-slim\n{line}\n")
    assert run_static_check({"type": "no-secrets"}, source).passed is passes


def test_aliases_are_base_images_only_when_their_image_is_in_the_catalog(settings):
    settings.CATALOG_IMAGES = ["busybox:latest", "python:3.11-slim"]
    names = catalog.catalog_names()
    for alias in ("python:3.11-slim-bookworm", "python:3.11.2-slim-bookworm", "busybox:1.35"):
        assert alias in names and f"docker.io/library/{alias}" in names
    settings.CATALOG_IMAGES = ["busybox:latest"]
    assert "python:3.11.2-slim-bookworm" not in catalog.catalog_names()
    assert catalog.images_to_make() == ["busybox:latest", catalog.PROBE_IMAGE]


def test_tagging_aliases_moves_each_tag_to_its_images_id(settings):
    settings.CATALOG_IMAGES = ["busybox:latest", "python:3.11-slim"]

    class Image:
        def __init__(self, ident):
            self.id = ident

        def tag(self, name):
            tags[name] = self.id

    tags = {"busybox:latest": "sha256:b", "python:3.11-slim": "sha256:p", "busybox:1.35": "sha256:old"}

    def get(name):
        if name not in tags:
            raise catalog.docker.errors.ImageNotFound(name)
        return Image(tags[name])

    client = SimpleNamespace(images=SimpleNamespace(get=get))
    tagged = catalog.tag_aliases(client)
    assert sorted(tagged) == [
        "busybox:1.35",
        "busybox:1.35.0",
        "python:3.11-slim-bookworm",
        "python:3.11.2-slim-bookworm",
    ]
    assert tags["busybox:1.35"] == "sha256:b" and tags["python:3.11.2-slim-bookworm"] == "sha256:p"
    assert catalog.tag_aliases(client) == []
