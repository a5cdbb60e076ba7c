"""Static checks: the Dockerfile text only (our parser and hadolint), no Docker.

Each check is a small function `(check, source) -> Outcome`. `source` is a DockerfileSource: the text,
its parse (or the syntax error) and hadolint's findings, each computed once per submission.
"""

from __future__ import annotations

import fnmatch
import re

from sandbox.dockerfile import Dockerfile, DockerfileSyntaxError, Instruction, parse_dockerfile, split_words, unquote
from sandbox.policy import normalize_image_ref, parse_mount

from .hadolint import HadolintError, run_hadolint
from .outcome import CheckError, Outcome, fail, ok, plural

# Names that suggest a secret, for ENV and ARG. Deliberately broad: a false alarm costs a rename.
SECRET_NAME_PATTERN = r"(?i)(pass(word|wd)?|secret|token|api_?key|access_?key|private_?key|credential|auth)"
# Values that are secrets whatever they are called.
SECRET_VALUE_PATTERNS = [
    r"sk_(live|test)_[A-Za-z0-9]{8,}",
    r"AKIA[0-9A-Z]{16}",
    r"gh[pousr]_[A-Za-z0-9]{20,}",
    r"xox[abposr]-[A-Za-z0-9-]{10,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
]
SHELLS = {"sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash", "dash", "/bin/dash"}
WHOLE_CONTEXT = {".", "./", "*", "./*", "/"}


class Unparsed(Exception):
    """The Dockerfile could not be parsed; checks that need the parse fail with the parser's message."""


class DockerfileSource:
    """The submitted Dockerfile, parsed once, with hadolint run once for every rule the exercise grades."""

    def __init__(self, text: str, lint_rules: list[str] | None = None):
        self.text = text
        self.lint_rules = sorted(set(lint_rules or []))
        self._findings: list[dict] | None = None
        try:
            self.parsed: Dockerfile | None = parse_dockerfile(text)
            self.error: DockerfileSyntaxError | None = None
        except DockerfileSyntaxError as error:
            self.parsed, self.error = None, error

    def require(self) -> Dockerfile:
        if self.parsed is None:
            raise Unparsed(f"line {self.error.line}: {self.error.message}")
        return self.parsed

    def findings(self) -> list[dict]:
        if self._findings is None:
            try:
                self._findings = run_hadolint(self.text, self.lint_rules)
            except HadolintError as error:
                raise CheckError(str(error)) from None
        return self._findings


# --- Helpers on the parsed Dockerfile ------------------------------------------------------------------------


def stage_chain(dockerfile: Dockerfile, index: int | None = None) -> list[int]:
    """The stage's index, then the earlier stage it is built FROM, and so on (the final stage by default)."""
    index = len(dockerfile.stages) - 1 if index is None else index
    chain = [index]
    while True:
        base = dockerfile.resolved_base(dockerfile.stages[index]) or ""
        parent = dockerfile.stage_named(base)
        if parent is None or parent.index >= index or parent.index in chain:
            return chain
        index = parent.index
        chain.append(index)


def needed_stages(dockerfile: Dockerfile) -> set[int]:
    """The stages the default build runs: the final stage and every stage it uses, directly or not.

    BuildKit skips the others (a `test` stage only `--target test` asks for, say).
    """
    needed: set[int] = set()
    pending = [len(dockerfile.stages) - 1]
    while pending:
        index = pending.pop()
        if index in needed:
            continue
        needed.add(index)
        pending += stage_chain(dockerfile, index)[1:2]
        for instruction in dockerfile.stage_instructions(index):
            for source in _stage_sources(instruction):
                used = _earlier_stage(dockerfile, source, index)
                if used is not None:
                    pending.append(used)
    return needed


def _stage_sources(instruction: Instruction) -> list[str]:
    sources = []
    if instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is not None:
        sources.append(instruction.flag("from") or "")
    if instruction.keyword == "RUN":
        for mount in instruction.flag_values("mount"):
            options = parse_mount(mount)
            if "from" in options:
                sources.append(options["from"])
    return sources


def _earlier_stage(dockerfile: Dockerfile, source: str, before: int) -> int | None:
    resolved = dockerfile.resolve(source) or source
    if resolved.isdigit() and int(resolved) < before:
        return int(resolved)
    stage = dockerfile.stage_named(resolved)
    return stage.index if stage is not None and stage.index < before else None


def built_instructions(dockerfile: Dockerfile) -> list[Instruction]:
    """The instructions of the stages the default build runs, in file order."""
    needed = needed_stages(dockerfile)
    return [instruction for instruction in dockerfile.instructions if instruction.stage in needed]


def final_instructions(dockerfile: Dockerfile) -> list[Instruction]:
    """Every instruction that shapes the final image: its stage's and its parent stages', in build order."""
    found = []
    for index in reversed(stage_chain(dockerfile)):
        found += dockerfile.stage_instructions(index)
    return found


def last_of(instructions: list[Instruction], keyword: str) -> Instruction | None:
    matching = [instruction for instruction in instructions if instruction.keyword == keyword]
    return matching[-1] if matching else None


def final_base(dockerfile: Dockerfile) -> tuple[str, int]:
    """The image the final stage is ultimately built on, and the line of that FROM."""
    root = dockerfile.stages[stage_chain(dockerfile)[-1]]
    return dockerfile.resolved_base(root) or root.base, root.line


def show(instruction: Instruction, limit: int = 60) -> str:
    """An instruction quoted for a message, shortened: `RUN pip install -r requirements.txt`."""
    text = " ".join(instruction.source.split())
    return f"`{text[: limit - 1]}…`" if len(text) > limit else f"`{text}`"


def env_pairs(instruction: Instruction) -> list[tuple[str, str]]:
    """The NAME/value pairs of an ENV or ARG (ARG without a default gives value "")."""
    words = split_words(instruction.args)
    if instruction.keyword == "ENV" and words and "=" not in words[0]:
        # The old form `ENV NAME value with spaces` sets one variable.
        name, _, value = instruction.args.strip().partition(" ")
        return [(name, unquote(value.strip()))]
    pairs = []
    for word in words:
        name, _, value = word.partition("=")
        pairs.append((name, unquote(value)))
    return pairs


def is_root_user(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


# --- The checks ----------------------------------------------------------------------------------------------


def check_lint(check: dict, source: DockerfileSource) -> Outcome:
    rules = set(check["rules"])
    findings = source.findings()
    unparsed = [f for f in findings if f["rule"] == "DL1000"]
    if unparsed:
        return fail(f"line {unparsed[0]['line']}: hadolint cannot read the Dockerfile: {unparsed[0]['message']}")
    hits = [f for f in findings if f["rule"] in rules]
    if not hits:
        return ok(f"hadolint finds none of {', '.join(sorted(rules))}.")
    lines = [f"line {f['line']}: {f['rule']} {f['message'].rstrip('.')}" for f in hits[:5]]
    more = f" (and {len(hits) - 5} more)" if len(hits) > 5 else ""
    return fail("; ".join(lines) + more + ".")


def check_stages(check: dict, source: DockerfileSource) -> Outcome:
    dockerfile = source.require()
    count = len(dockerfile.stages)
    lines = ", ".join(str(stage.line) for stage in dockerfile.stages)
    found = f"the Dockerfile has {plural(count, 'stage')} (FROM on line{'s' if count > 1 else ''} {lines})"
    if "min" in check and count < check["min"]:
        return fail(f"{found}; this exercise needs at least {check['min']}.")
    if "max" in check and count > check["max"]:
        return fail(f"{found}; this exercise allows at most {check['max']}.")
    return ok(f"{found}.")


def check_base_image(check: dict, source: DockerfileSource) -> Outcome:
    dockerfile = source.require()
    if check.get("pinned"):
        for stage in dockerfile.stages:
            problem = _unpinned(dockerfile, stage)
            if problem:
                return fail(f"line {stage.line}: {problem}")
    if "allowed" in check:
        base, line = final_base(dockerfile)
        allowed = {normalize_image_ref(name) for name in check["allowed"]}
        if normalize_image_ref(base) not in allowed:
            wanted = " or ".join(check["allowed"])
            return fail(f"line {line}: the final image is built FROM {base}; this exercise wants {wanted}.")
        return ok(f"line {line}: the final image is built FROM {base}.")
    return ok("every FROM names an explicit version tag.")


def _unpinned(dockerfile: Dockerfile, stage) -> str:
    base = dockerfile.resolved_base(stage) or stage.base
    if dockerfile.stage_named(base) is not None or base.lower() == "scratch" or "@" in base:
        return ""
    last = base.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"FROM {base} names no tag, so Docker takes `latest`, which moves whenever a new version ships."
    if last.rsplit(":", 1)[1] == "latest":
        return f"FROM {base} uses the `latest` tag, which moves whenever a new version ships."
    return ""


def check_non_root_user(check: dict, source: DockerfileSource) -> Outcome:
    dockerfile = source.require()
    user = last_of(final_instructions(dockerfile), "USER")
    if user is None:
        return fail("the final stage has no USER instruction, so the container runs as root.")
    if is_root_user(user.args):
        return fail(f"line {user.line}: the last USER is {user.args.strip()}, so the container runs as root.")
    return ok(f"line {user.line}: the container runs as {user.args.strip()}.")


def check_healthcheck_instruction(check: dict, source: DockerfileSource) -> Outcome:
    dockerfile = source.require()
    health = last_of(final_instructions(dockerfile), "HEALTHCHECK")
    if health is None:
        return fail("the final stage has no HEALTHCHECK, so Docker cannot tell whether the app inside works.")
    if health.args.strip().upper() == "NONE":
        return fail(f"line {health.line}: HEALTHCHECK NONE switches health checks off.")
    return ok(f"line {health.line}: {show(health)}.")


def check_exec_form(check: dict, source: DockerfileSource) -> Outcome:
    dockerfile = source.require()
    instructions = final_instructions(dockerfile)
    found = [i for i in (last_of(instructions, "ENTRYPOINT"), last_of(instructions, "CMD")) if i is not None]
    if not found:
        return fail("the Dockerfile has no CMD or ENTRYPOINT, so the container runs the base image's command.")
    for instruction in found:
        if instruction.json_args is None:
            return fail(
                f"line {instruction.line}: {show(instruction)} is shell form, so /bin/sh -c runs as PID 1 and "
                "the SIGTERM from `docker stop` never reaches your app."
            )
        if _shell_stays_pid_1(instruction.json_args):
            return fail(
                f"line {instruction.line}: {show(instruction)} is JSON, but it starts a shell that stays PID 1 "
                "and does not pass signals on; run the program itself (or `exec` it)."
            )
    shown = " and ".join(f"line {i.line} {show(i)}" for i in found)
    return ok(f"{shown} use exec form." if len(found) > 1 else f"{shown} uses exec form.")


def _shell_stays_pid_1(args: list[str]) -> bool:
    """["sh", "-c", "..."] keeps the shell as PID 1, unless the script `exec`s the program or traps signals."""
    if len(args) < 3 or args[0] not in SHELLS or args[1] != "-c":
        return False
    script = args[2].strip()
    return not script.startswith("exec ") and "trap " not in script


def check_install_order(check: dict, source: DockerfileSource) -> Outcome:
    dockerfile = source.require()
    manifest = check["manifest"].strip("/").removeprefix("./")
    install_pattern = re.compile(check["install"])
    runs = [i for i in built_instructions(dockerfile) if i.keyword == "RUN"]
    install = next((i for i in runs if install_pattern.search(i.args)), None)
    if install is None:
        return fail(f"no RUN instruction installs the dependencies (none matches `{check['install']}`).")
    copied_manifest = None
    for instruction in dockerfile.stage_instructions(install.stage):
        if instruction.line >= install.line:
            break
        if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
            continue
        sources = _copy_sources(instruction)
        others = [s for s in sources if not _names_file(s, manifest)]
        if others:
            return fail(
                f"line {instruction.line} {show(instruction)} comes before line {install.line} {show(install)}, "
                "so any source change re-installs every dependency."
            )
        copied_manifest = copied_manifest or instruction
    if copied_manifest is None:
        return fail(f"{manifest} is not copied before line {install.line} {show(install)}, so it cannot be read.")
    return ok(
        f"line {copied_manifest.line} copies only {manifest} and line {install.line} installs from it before "
        "the rest of the source is copied."
    )


def _copy_sources(instruction: Instruction) -> list[str]:
    if instruction.json_args is not None:
        words = instruction.json_args
    else:
        words = [unquote(word) for word in split_words(instruction.args)]
    return words[:-1] or words


def _names_file(source: str, manifest: str) -> bool:
    cleaned = source.strip().removeprefix("./")
    if cleaned in WHOLE_CONTEXT or not cleaned:
        return False
    return cleaned == manifest or fnmatch.fnmatch(manifest, cleaned)


def check_no_secrets(check: dict, source: DockerfileSource) -> Outcome:
    dockerfile = source.require()
    name_pattern = re.compile(check.get("names", SECRET_NAME_PATTERN))
    for instruction in dockerfile.instructions:
        if instruction.keyword not in ("ENV", "ARG"):
            continue
        for name, value in env_pairs(instruction):
            problem = _secret_problem(instruction.keyword, name, value, name_pattern)
            if problem:
                return fail(f"line {instruction.line}: {problem}")
    return ok("no ENV or ARG holds a secret-looking name or value.")


def _secret_problem(keyword: str, name: str, value: str, name_pattern: re.Pattern) -> str:
    for pattern in SECRET_VALUE_PATTERNS:
        if re.search(pattern, value):
            return f"{keyword} {name} holds a value that looks like a real credential; it is stored in the image."
    if not name_pattern.search(name):
        return ""
    if name.upper().endswith("_FILE") and value.startswith("/"):
        # The NAME_FILE convention (lesson 14): the variable holds where a mounted secret is, not the secret.
        return ""
    if keyword == "ARG":
        return (
            f"ARG {name} looks like a secret; build arguments are recorded in the image history, "
            "so anyone with the image can read the value."
        )
    if value:
        return f"ENV {name} sets a secret-looking value that every container and `docker inspect` can read."
    return ""


def check_instructions(check: dict, source: DockerfileSource) -> Outcome:
    # Only stages the default build runs count: a `test` stage that only CI builds is fine.
    instructions = built_instructions(source.require())
    for rule in check.get("forbid", []):
        match = next((i for i in instructions if _matches(rule, i)), None)
        if match is not None:
            reason = rule.get("message") or f"it matches `{rule['pattern']}`, which this exercise forbids."
            return fail(f"line {match.line} {show(match)}: {reason}")
    for rule in check.get("require", []):
        if not any(_matches(rule, i) for i in instructions):
            what = rule.get("keyword", "instruction").upper()
            reason = rule.get("message") or f"this exercise needs one that matches `{rule['pattern']}`."
            return fail(f"no {what} instruction does what is needed: {reason}")
    return ok("the instructions are as this exercise asks.")


def _matches(rule: dict, instruction: Instruction) -> bool:
    keyword = rule.get("keyword")
    if keyword and instruction.keyword != keyword.upper():
        return False
    return re.search(rule["pattern"], instruction.source) is not None


STATIC_CHECKS = {
    "lint": check_lint,
    "stages": check_stages,
    "base-image": check_base_image,
    "non-root-user": check_non_root_user,
    "healthcheck-instruction": check_healthcheck_instruction,
    "exec-form": check_exec_form,
    "install-order": check_install_order,
    "no-secrets": check_no_secrets,
    "instructions": check_instructions,
}


def run_static_check(check: dict, source: DockerfileSource) -> Outcome:
    """Run one static check; a Dockerfile that cannot be parsed fails it with the parser's line and reason."""
    try:
        return STATIC_CHECKS[check["type"]](check, source)
    except Unparsed as error:
        return fail(str(error))
