"""Grading one submission: static checks, build, image, runtime, cache and compare checks, in that order.

Checks come only from the exercise on the server (`exercise.spec`), never from the submission. Each
verdict is handed to `on_check` the moment its check finishes, so the browser can tick the list live.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings

from sandbox.buildkit import BuildResult
from sandbox.clients import SandboxError
from sandbox.files import SubmissionRejected, as_bytes, validate_files
from sandbox.timings import check_stage

from .build_secrets import SECRET_CHECKS
from .containers import Sandbox
from .context import GradingContext
from .entrypoint import ENTRYPOINT_CHECKS
from .hardening import HARDENING_CHECKS
from .health import HEALTH_CHECKS
from .image import IMAGE_CHECKS
from .lab import grade_lab
from .lab_spec import LAB_KINDS
from .outcome import ERROR, SKIPPED, Outcome, make_verdict, plural, run_check
from .rebuild import REBUILD_CHECKS
from .runtime import RUNTIME_CHECKS
from .spec import BUILD, CACHE, COMPARE, IMAGE, RUNTIME, STATIC, build_secret_ids, phase_of, spec_problems
from .static import DockerfileSource, final_base, run_static_check

logger = logging.getLogger(__name__)

PLAYGROUND_CHECKS = [{"id": "build", "type": "build", "title": "The image builds"}]
SKIPPED_MESSAGE = "skipped: the image did not build."
LATER_CHECKS = {
    **IMAGE_CHECKS,
    **RUNTIME_CHECKS,
    **REBUILD_CHECKS,
    **HEALTH_CHECKS,
    **ENTRYPOINT_CHECKS,
    **HARDENING_CHECKS,
    **SECRET_CHECKS,
}


def build_files(exercise, files: dict) -> dict[str, bytes]:
    """The build context: the submitted files plus the exercise's own context files (which win)."""
    context_files = (exercise.spec.get("context_files") or {}) if exercise is not None else {}
    return {**as_bytes(files), **as_bytes(context_files)}


class Grader:
    def __init__(
        self,
        exercise,
        files: dict,
        env,
        on_check: Callable[[dict], None] | None = None,
        on_stage: Callable[[str], None] | None = None,
    ):
        self.exercise = exercise
        spec = exercise.spec if exercise is not None else {}
        # The spec is checked again in run(): an exercise edited in the admin may no longer be valid.
        self.spec = spec if isinstance(spec, dict) else {}
        checks = self.spec.get("checks")
        self.checks: list[dict] = (
            PLAYGROUND_CHECKS if exercise is None else list(checks if isinstance(checks, list) else [])
        )
        self.files = files
        self.sandbox = env if isinstance(env, Sandbox) else Sandbox(env)
        self.on_check = on_check or (lambda verdict: None)
        # Told "image_inspected" and each check's start and end, for the stage timings (sandbox/timings.py).
        self.on_stage = on_stage or (lambda stage: None)
        self.verdicts: dict[str, dict] = {}
        self.build_result: BuildResult | None = None
        self.build_problem = ""
        self.context: GradingContext | None = None
        self.base_facts: dict | None = None
        self.check_seconds = float(settings.CHECK_TIMEOUT_SECONDS)
        # A fresh random value for each build secret the exercise declares, made for this grading only, so
        # the image checks can search the image for it. The builds of this grading are given them.
        self.build_secrets = {name: f"dockyard-{name}-{secrets.token_hex(16)}" for name in build_secret_ids(self.spec)}
        self.sandbox.build_secrets = self.build_secrets

    def of_phase(self, phase: str) -> list[dict]:
        return [check for check in self.checks if phase_of(check) == phase]

    # --- Running -----------------------------------------------------------------------------------------

    def run(self) -> dict:
        problems = spec_problems(self.spec) if self.exercise is not None else []
        if problems:
            return self.refuse_invalid_spec(problems)
        limits = self.spec.get("limits") or {}
        self.check_seconds = float(limits.get("check_seconds", settings.CHECK_TIMEOUT_SECONDS))
        source = self.run_static_checks()
        later = [check for check in self.checks if phase_of(check) not in (STATIC, BUILD)]
        if not (self.of_phase(BUILD) or later):
            return self.result()
        built = self.build()
        for check in self.of_phase(BUILD):
            self.record(check, lambda: Outcome(built, self.build_message()))
        if not built:
            for check in later:
                self.emit(make_verdict(check, self.exercise, SKIPPED, SKIPPED_MESSAGE))
            return self.result()
        self.context = self.make_context()
        self.base_facts = self.find_base_facts(source)
        self.on_stage("image_inspected")
        for phase in (IMAGE, RUNTIME, CACHE, COMPARE):
            for check in self.of_phase(phase):
                if not self.skip_unless_prerequisites_passed(check):
                    self.record(check, lambda check=check: LATER_CHECKS[check["type"]](check, self.context))
        return self.result()

    def skip_unless_prerequisites_passed(self, check: dict) -> bool:
        """Skip a check whose `needs` did not pass, saying which one; True when it was skipped.

        A check that cannot run because an earlier one found the app broken would only repeat that failure,
        or show a Docker error about a container that is not running.
        """
        failed = [
            self.verdicts.get(needed)
            for needed in check.get("needs") or []
            if not self.verdicts.get(needed, {}).get("passed")
        ]
        if not failed:
            return False
        titles = " and ".join(f"“{verdict['title']}”" if verdict else "an earlier check" for verdict in failed)
        self.emit(make_verdict(check, self.exercise, SKIPPED, f"skipped: this check needs {titles} to pass first."))
        return True

    def run_static_checks(self) -> DockerfileSource:
        text = self.files.get("Dockerfile", "")
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        # hadolint runs once, with every rule any lint check of this exercise needs.
        rules = [rule for check in self.of_phase(STATIC) if check["type"] == "lint" for rule in check["rules"]]
        source = DockerfileSource(text, rules)
        for check in self.of_phase(STATIC):
            if not self.skip_unless_prerequisites_passed(check):
                self.record(check, lambda check=check: run_static_check(check, source))
        return source

    def refuse_invalid_spec(self, problems: list[str]) -> dict:
        """An exercise edited into an invalid state (say, in the admin): nothing is graded, and every check
        says why instead of the grader crashing halfway."""
        logger.error("Exercise %s has an invalid checks spec: %s", getattr(self.exercise, "slug", "?"), problems)
        message = (
            f"could not run this check: the exercise's checks are invalid ({problems[0]}); please tell your instructor."
        )
        self.checks = placeholder_checks(self.spec)
        for check in self.checks:
            self.emit(make_verdict(check, self.exercise, ERROR, message))
        return self.result()

    def build(self) -> bool:
        try:
            validate_files(self.files)
        except SubmissionRejected as error:
            self.build_problem = error.message
            return False
        self.build_result = self.sandbox.build(build_files(self.exercise, self.files))
        return self.build_result.ok

    def build_message(self) -> str:
        if self.build_problem:
            return self.build_problem
        return self.build_result.message

    def make_context(self) -> GradingContext:
        image = self.build_result.image_id
        extra: dict[str, Any] = {}
        if self.exercise is not None:
            extra["solution_files"] = build_files(self.exercise, self.exercise.solution_files or {})
        return GradingContext(
            sandbox=self.sandbox,
            image=image,
            facts=self.sandbox.facts(image),
            files=build_files(self.exercise, self.files),
            exercise=self.exercise,
            check_seconds=self.check_seconds,
            extra=extra,
            build_secrets=self.build_secrets,
        )

    def find_base_facts(self, source: DockerfileSource) -> dict | None:
        """The final stage's base image facts, to tell the base's layers from the Dockerfile's own."""
        if source.parsed is None:
            return None
        base, _ = final_base(source.parsed)
        if base.lower() == "scratch":
            return {"layers": []}
        try:
            return self.sandbox.facts(base)
        except SandboxError:
            return None

    def record(self, check: dict, run: Callable[[], Outcome]) -> None:
        """Run one check and publish its verdict; a check that breaks is an error, never a pass.

        Its start and end are told to on_stage (the end once its verdict is published)."""
        self.on_stage(check_stage(check["id"], "started"))
        status, message = run_check(check, run)
        self.emit(make_verdict(check, self.exercise, status, message))
        self.on_stage(check_stage(check["id"], "finished"))

    def emit(self, verdict: dict) -> None:
        self.verdicts[verdict["id"]] = verdict
        self.on_check(verdict)

    # --- The result ----------------------------------------------------------------------------------------

    def result(self) -> dict:
        verdicts = [self.verdicts[check["id"]] for check in self.checks if check["id"] in self.verdicts]
        total = sum(verdict["points"] for verdict in verdicts)
        earned = sum(verdict["points"] for verdict in verdicts if verdict["passed"])
        passed = all(verdict["passed"] for verdict in verdicts)
        score = round(100 * earned / total) if total else (100 if passed else 0)
        return {
            "passed": passed,
            "score": score,
            "message": self.summary(verdicts, passed),
            "checks": verdicts,
            "image": self.image_summary(),
            "build": self.build_summary(),
        }

    def summary(self, verdicts: list[dict], passed: bool) -> str:
        if self.build_problem or (self.build_result is not None and not self.build_result.ok):
            skipped = sum(1 for verdict in verdicts if verdict["status"] == SKIPPED)
            tail = f" {plural(skipped, 'check')} could not run." if skipped else ""
            return f"The image did not build: {self.build_message()}{tail}"
        if self.exercise is None:
            return self.build_message()
        if passed:
            return f"All {plural(len(verdicts), 'check')} passed."
        good = sum(1 for verdict in verdicts if verdict["passed"])
        todo = "; ".join(verdict["title"] for verdict in verdicts if not verdict["passed"])
        return f"{good} of {plural(len(verdicts), 'check')} passed. Still to fix: {todo}."

    def build_summary(self) -> dict | None:
        if self.build_problem:
            return {"ok": False, "reason": "refused", "message": self.build_problem, "duration": 0.0, "steps": []}
        result = self.build_result
        if result is None:
            return None
        return {
            "ok": result.ok,
            "reason": result.reason,
            "message": result.message,
            "duration": result.duration,
            "steps": [
                {
                    "index": step.index,
                    "total": step.total,
                    "stage": step.stage,
                    "instruction": step.instruction,
                    "status": step.status,
                    "cached": step.cached,
                    "duration": step.duration,
                }
                for step in result.steps
            ],
        }

    def image_summary(self) -> dict | None:
        if self.context is None:
            return None
        facts = self.context.facts
        base_count = len(self.base_facts["layers"]) if self.base_facts else 0
        return {
            "id": facts.get("id"),
            "size": facts["size"],
            "layer_count": facts.get("layer_count"),
            "base_size": self.base_facts.get("size") if self.base_facts else None,
            "layers": own_layers(facts["layers"][base_count:], self.build_result.steps),
            "config": facts.get("config"),
            "solution_size": self.context.extra.get("solution_size"),
        }


def placeholder_checks(spec: object) -> list[dict]:
    """Ids and titles of the checks of an invalid spec, as far as they can be read (at least one)."""
    checks = spec.get("checks") if isinstance(spec, dict) else None
    found = []
    for index, check in enumerate(checks if isinstance(checks, list) else []):
        check = check if isinstance(check, dict) else {}
        ident = str(check.get("id") or f"check-{index + 1}")
        found.append({"id": ident, "type": str(check.get("type", "")), "title": str(check.get("title") or ident)})
    return found or [{"id": "checks", "type": "", "title": "The exercise's checks"}]


def clean_created_by(created_by: str) -> str:
    """History's `created_by` as the learner wrote it.

    `RUN /bin/sh -c pip install x # buildkit` becomes `RUN pip install x`.
    """
    text = " ".join(created_by.split())
    text = text.removesuffix("# buildkit").strip()
    exposed = re.fullmatch(r"EXPOSE map\[(.*)\]", text)
    if exposed:  # BuildKit records `EXPOSE 8000` as `EXPOSE map[8000/tcp:{}]`
        return "EXPOSE " + " ".join(port.removesuffix(":{}") for port in exposed.group(1).split())
    if text.startswith("/bin/sh -c #(nop)"):
        return text.removeprefix("/bin/sh -c #(nop)").strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text.removeprefix("/bin/sh -c ")
    return text.replace("/bin/sh -c ", "", 1) if text.startswith("RUN ") else text


def own_layers(layers: list[dict], steps: list) -> list[dict]:
    """The Dockerfile's own history entries, each with whether its build step came from the cache."""
    unused = list(reversed(steps))  # the final stage's steps come last; match those first
    shown = []
    for layer in layers:
        instruction = clean_created_by(layer.get("created_by", ""))
        step = next((s for s in unused if " ".join(s.instruction.split()) == instruction), None)
        if step is not None:
            unused.remove(step)
        shown.append({"instruction": instruction, "size": layer.get("size", 0), "cached": bool(step and step.cached)})
    return shown


def grade_submission(
    exercise,
    files: dict,
    env,
    on_check: Callable[[dict], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict:
    """Grade a submission's files against the exercise's checks (or only build it, for the playground).

    on_stage is told the stages of grading as they happen (see sandbox/timings.py).
    """
    spec = exercise.spec if exercise is not None and isinstance(exercise.spec, dict) else {}
    if spec.get("kind") in LAB_KINDS:
        return grade_lab(exercise, files, env, on_check)
    return Grader(exercise, files, env, on_check, on_stage).run()
