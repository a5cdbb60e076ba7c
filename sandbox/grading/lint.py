"""Live lint for the editor: parser errors, sandbox refusals and hadolint findings. No Docker; fast."""

from __future__ import annotations

import re
from collections.abc import Collection

from sandbox.catalog import catalog_names
from sandbox.dockerfile import DockerfileSyntaxError, parse_dockerfile
from sandbox.files import SubmissionRejected
from sandbox.labs.commands import command_problems
from sandbox.labs.compose import compose_problems
from sandbox.policy import check_dockerfile

from .hadolint import TIMEOUT_SECONDS, HadolintError, run_hadolint

LINE_PREFIX = re.compile(r"^line (\d+): (.*)$", re.DOTALL)


def lint_dockerfile(
    text: str, secret_ids: Collection[str] = (), hadolint_timeout: float = TIMEOUT_SECONDS
) -> list[dict]:
    """Problems in Dockerfile text as [{line, rule, level, message}], sorted by line.

    rule is "syntax" for what the parser cannot read, "sandbox" for what the sandbox refuses to build, and
    a hadolint id (DL3007, SC2086, ...) otherwise. secret_ids: the build secrets the exercise declares.
    hadolint is stopped after `hadolint_timeout` seconds, and says so in an "info" finding.
    """
    findings = []
    try:
        parse_dockerfile(text)
    except DockerfileSyntaxError as error:
        findings.append({"line": error.line, "rule": "syntax", "level": "error", "message": error.message})
    if not findings:
        findings += _policy_findings(text, secret_ids)
    try:
        hadolint = run_hadolint(text, timeout=hadolint_timeout)
    except HadolintError as error:
        hadolint = [{"line": 1, "rule": "hadolint", "level": "info", "message": f"hadolint did not run: {error}"}]
    if findings:
        # Our parser already said why the file cannot be read; hadolint's parse error would repeat it.
        hadolint = [finding for finding in hadolint if finding["rule"] != "DL1000"]
    return sorted(findings + hadolint, key=lambda finding: finding["line"])


def _policy_findings(text: str, secret_ids: Collection[str]) -> list[dict]:
    try:
        check_dockerfile(text, catalog_names(), secret_ids)
    except SubmissionRejected as error:
        match = LINE_PREFIX.match(error.message)
        line, message = (int(match.group(1)), match.group(2)) if match else (1, error.message)
        return [{"line": line, "rule": "sandbox", "level": "error", "message": message}]
    return []


def lint_lab(kind: str, text: str) -> list[dict]:
    """What a lab's policy refuses in commands.sh or compose.yaml, as [{line, rule, level, message}].

    Only the text is checked: files it names (a Dockerfile to build, an env file) are checked on submit.
    """
    problems = command_problems(text) if kind == "commands" else compose_problems(text, None)
    return [{"line": p["line"], "rule": "sandbox", "level": "error", "message": p["message"]} for p in problems]
