"""Grading a lab (`kind: commands` or `kind: compose`): the policy, the run, then the state checks.

1. The learner's file (commands.sh or compose.yaml) is checked against its policy (sandbox/labs/). A refused
   lab runs nothing: its `lab-run` check fails with the line and the reason, and every state check is skipped.
2. The lab runs on the sandbox daemon (sandbox/labs/runner.py), each command and its output in the log.
3. The `lab-run` check passes when every command succeeded (or `docker-compose up` did).
4. The state checks (state.py) look at what the lab left, in the order the exercise lists them.
5. Leaving the run removes everything the lab made.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from sandbox.files import SubmissionRejected, as_bytes
from sandbox.labs.plan import lab_plan
from sandbox.labs.runner import LabResult, LabRun

from .lab_spec import LAB, STATE
from .lab_used import check_commands_used
from .outcome import ERROR, FAILED, SKIPPED, Outcome, make_verdict, plural, run_check
from .spec import phase_of, spec_problems
from .state import STATE_CHECKS, StateContext

NOT_RUN = "skipped: the lab did not run."


def describe_run(kind: str, result: LabResult) -> Outcome:
    """The lab-run verdict: every command succeeded, or the first that did not, with its output."""
    failed = [step for step in result.steps if not step.ok]
    if kind == "compose":
        step = result.steps[0]
        output = " ".join(step.tail[-4:]) or "(no output)"
        if step.ok:
            return Outcome(True, f"`docker-compose up --detach` started the project in {step.seconds:.1f} s.")
        if step.timed_out:
            return Outcome(False, f"`docker-compose up` did not finish in time; its output ended with: {output}")
        return Outcome(False, f"`docker-compose up` failed (exit code {step.exit_code}): {output}")
    if not failed and not result.skipped:
        total = sum(step.seconds for step in result.steps)
        count = len(result.steps)
        what = "the command" if count == 1 else f"all {count} commands"
        return Outcome(True, f"{what} ran and succeeded, in {total:.1f} s.")
    if not failed:
        return Outcome(False, f"the lab ran out of time: {plural(result.skipped, 'command')} did not run.")
    first = failed[0]
    output = " ".join(first.tail[-3:]) or "(no output)"
    how = "did not finish in time" if first.timed_out else f"exited with code {first.exit_code}"
    more = f" ({plural(len(failed) - 1, 'other command')} failed too)" if len(failed) > 1 else ""
    return Outcome(False, f"line {first.line}, `{first.text}`, {how}: {output}{more}")


class LabGrader:
    def __init__(self, exercise, files: dict, env, on_check: Callable[[dict], None] | None = None, lab_factory=LabRun):
        self.exercise = exercise
        self.spec = exercise.spec if isinstance(exercise.spec, dict) else {}
        self.kind = self.spec.get("kind")
        checks = self.spec.get("checks")
        self.checks: list[dict] = list(checks) if isinstance(checks, list) else []
        self.files = files
        # The pipeline may hand over the grading Sandbox wrapper or the BuildEnvironment itself.
        self.env = getattr(env, "env", env)
        self.on_check = on_check or (lambda verdict: None)
        self.lab_factory = lab_factory
        self.verdicts: dict[str, dict] = {}
        self.refused = ""
        self.run_result: LabResult | None = None

    def run(self) -> dict:
        problems = spec_problems(self.spec)
        if problems:
            message = f"could not run this check: the exercise's checks are invalid ({problems[0]}); please tell your instructor."
            for check in self.checks if all(isinstance(c, dict) and "id" in c for c in self.checks) else []:
                self.emit(make_verdict({"title": check["id"], "type": "", **check}, self.exercise, ERROR, message))
            return self.result()
        try:
            plan = lab_plan(self.kind, self.files)
        except SubmissionRejected as error:
            return self.refuse(error.message)
        limits = self.spec.get("limits") or {}
        state_checks = [check for check in self.checks if phase_of(check) == STATE]
        with self.lab_factory(self.env, self.kind, as_bytes(self.files), limits.get("command_seconds", 0)) as lab:
            if state_checks:
                lab.require_probe_image()
            self.run_result = lab.run_commands(plan) if self.kind == "commands" else lab.compose_up(plan)
            for check in self.checks:
                if check["type"] == "commands-used":
                    self.record(check, lambda check=check: check_commands_used(check, plan, self.run_result))
                elif phase_of(check) == LAB:
                    self.record(check, lambda: describe_run(self.kind, self.run_result))
            context = StateContext(lab, self.kind, float(limits.get("check_seconds", settings.CHECK_TIMEOUT_SECONDS)))
            for check in state_checks:
                self.record(check, lambda check=check: STATE_CHECKS[check["type"]](check, context))
        return self.result()

    def refuse(self, message: str) -> dict:
        self.refused = message
        for check in self.checks:
            if phase_of(check) == LAB:
                self.emit(make_verdict(check, self.exercise, FAILED, f"nothing ran: {message}"))
            else:
                self.emit(make_verdict(check, self.exercise, SKIPPED, NOT_RUN))
        return self.result()

    def record(self, check: dict, run: Callable[[], Outcome]) -> None:
        """Run one check and publish its verdict; a check that breaks is an error, never a pass."""
        status, message = run_check(check, run)
        self.emit(make_verdict(check, self.exercise, status, message))

    def emit(self, verdict: dict) -> None:
        self.verdicts[verdict["id"]] = verdict
        self.on_check(verdict)

    def result(self) -> dict:
        verdicts = [self.verdicts[check["id"]] for check in self.checks if check.get("id") in self.verdicts]
        total = sum(verdict["points"] for verdict in verdicts)
        earned = sum(verdict["points"] for verdict in verdicts if verdict["passed"])
        passed = bool(verdicts) and all(verdict["passed"] for verdict in verdicts)
        score = round(100 * earned / total) if total else (100 if passed else 0)
        return {
            "passed": passed,
            "score": score,
            "message": self.summary(verdicts, passed),
            "checks": verdicts,
            "image": None,
            "build": None,
            "lab": self.lab_summary(),
        }

    def summary(self, verdicts: list[dict], passed: bool) -> str:
        if self.refused:
            return f"The lab was not run: {self.refused}"
        if passed:
            return f"All {plural(len(verdicts), 'check')} passed."
        good = sum(1 for verdict in verdicts if verdict["passed"])
        todo = "; ".join(verdict["title"] for verdict in verdicts if not verdict["passed"])
        return f"{good} of {plural(len(verdicts), 'check')} passed. Still to fix: {todo}."

    def lab_summary(self) -> dict | None:
        if self.run_result is None:
            return {"ran": False, "refused": self.refused} if self.refused else None
        steps = [
            {"line": step.line, "command": step.text, "exit_code": step.exit_code, "seconds": step.seconds}
            for step in self.run_result.steps
        ]
        return {"ran": True, "ok": self.run_result.ok, "steps": steps}


def grade_lab(exercise, files: dict, env, on_check: Callable[[dict], None] | None = None) -> dict:
    return LabGrader(exercise, files, env, on_check).run()
