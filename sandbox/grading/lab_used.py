"""The `commands-used` check of command labs: the lab ran the commands the exercise practises, and they worked.

A debugging lab is about reading what Docker knows (`docker logs`, `docker inspect`, ...) before changing
anything. The state checks grade the fix; this check grades that the lab's log holds the evidence: each listed
command ran, aimed at the named container, and exited 0. It reads the checked plan (what each line is, by
the policy's own parse) and the run's results, never the text by pattern.
"""

from __future__ import annotations

from sandbox.labs.commands import CommandPlan, LabCommand
from sandbox.labs.runner import LabResult

from .outcome import Outcome, fail, ok


def aims_at(command: LabCommand, container: str) -> bool:
    """True when the command names the container: as an argument, `NAME:/path` (docker cp), or a filter."""
    if any(word == container or word.startswith(f"{container}:") for word in command.parsed.arguments):
        return True
    return any(value == f"container={container}" for _, value in command.parsed.flags)


def check_commands_used(check: dict, plan: CommandPlan, result: LabResult | None) -> Outcome:
    """With `result` None (the mock interview's preview, sandbox/grading/lab_preview.py), only the text counts."""
    container = check.get("container", "")
    on = f" on {container}" if container else ""
    written = {command.line: 0 for command in plan.commands}
    exit_codes = written if result is None else {step.line: step.exit_code for step in result.steps}
    found, missing, failed = [], [], []
    for name in check["commands"]:
        ran = [c for c in plan.commands if c.canonical == name and (not container or aims_at(c, container))]
        worked = [c for c in ran if exit_codes.get(c.line) == 0]
        if worked:
            found.append(f"`{worked[0].text}` (line {worked[0].line})")
        elif ran:
            first = ran[0]
            code = exit_codes.get(first.line)
            how = "did not run" if code is None else f"exited with code {code}"
            failed.append(f"`{first.text}` (line {first.line}) {how}")
        else:
            missing.append(f"docker {name}{on}")
    if missing or failed:
        problems = []
        if missing:
            problems.append(f"commands.sh never runs {', '.join(missing)}")
        problems += failed
        seen = f"; it did run {', '.join(found)}" if found else ""
        return fail(f"{'; '.join(problems)}{seen}.")
    if result is None:
        return ok(f"commands.sh runs {', '.join(found)}.")
    return ok(f"the lab ran {', '.join(found)}, and each showed its output in the log.")
