"""The exercise.yaml checks spec: which check types exist, their fields, and a pure validator.

`spec_problems` is called by the content loader, so a typo in an exercise is reported when the course is
loaded, not when a learner first submits. It never touches Docker. See README.md for the format.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .lab_spec import LAB, LAB_CHECK_TYPES, LAB_KINDS, LAB_LIMIT_FIELDS, STATE, lab_problems

# When each check type runs. The grader runs the phases in this order.
STATIC = "static"  # the Dockerfile text only: hadolint and our own parser
BUILD = "build"  # the build itself
IMAGE = "image"  # facts of the built image (size, layers, config, files)
RUNTIME = "runtime"  # a container started from the image
CACHE = "cache"  # a second build after a source change
COMPARE = "compare"  # the reference solution's image

# Labs (kind: commands or compose) have phases of their own, LAB then STATE: see lab_spec.py.
PHASES = (STATIC, BUILD, IMAGE, RUNTIME, CACHE, COMPARE, LAB, STATE)
KINDS = ("dockerfile", *LAB_KINDS)

RULE_PATTERN = re.compile(r"^(DL|SC)\d{4}$")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KEYWORDS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip
COMMON_FIELDS = {"id", "type", "title", "hint", "section", "points", "needs"}
# A build secret's id, as `docker build --secret id=...` and `RUN --mount=type=secret,id=...` name it.
SECRET_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LIMIT_FIELDS = {"check_seconds"}


# --- Field validators: each returns a problem ("must be ...") or "" when the value is fine -------------------


def _int(minimum: int = 0) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"must be a whole number of at least {minimum}"
        return ""

    return check


def _number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return "must be a number"
    return ""


def _bool(value: object) -> str:
    return "" if isinstance(value, bool) else "must be true or false"


def _text(value: object) -> str:
    return "" if isinstance(value, str) and value.strip() else "must be text"


def _regex(value: object) -> str:
    if not isinstance(value, str) or not value:
        return "must be a regular expression (text)"
    try:
        re.compile(value)
    except re.error as error:
        return f"is not a valid regular expression: {error}"
    return ""


def _list_of(item: Callable[[object], str], what: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, list) or not value:
            return f"must be a non-empty list of {what}"
        for index, entry in enumerate(value):
            problem = item(entry)
            if problem:
                return f"item {index + 1} {problem}"
        return ""

    return check


def _rule(value: object) -> str:
    if not isinstance(value, str) or not RULE_PATTERN.match(value):
        return "must be a hadolint rule id such as DL3007 or SC2086"
    return ""


def _url_path(value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/") or any(c.isspace() for c in value):
        return "must be a URL path starting with /, such as /health"
    return ""


def _relative_path(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or value.startswith("/") or ".." in value.split("/"):
        return "must be a relative path inside the build context"
    return ""


def _absolute_path(value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        return "must be an absolute path in the image, such as /app/app.py"
    return ""


def _str_map(value: object) -> str:
    if not isinstance(value, dict) or not value:
        return "must map names to text values"
    for name, text in value.items():
        if not isinstance(name, str) or not isinstance(text, str):
            return f"entry {name!r} must be text (quote numbers)"
    return ""


def _port(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        return "must be a port number (1-65535)"
    return ""


def _argv(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return ""
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return ""
    return "must be a shell command (text) or a list of arguments"


def _env_map(value: object) -> str:
    if not isinstance(value, dict) or not value:
        return "must map variable names to regular expressions their value must match"
    for name, pattern in value.items():
        problem = _regex(pattern)
        if not isinstance(name, str) or problem:
            return f"entry '{name}' {problem or 'must be a variable name'}"
    return ""


def _context_files(value: object) -> str:
    if not isinstance(value, dict) or not value:
        return "must map relative paths to file contents"
    for name, content in value.items():
        if _relative_path(name) or not isinstance(content, str):
            return f"entry '{name}' must be a relative path with text content"
    return ""


def _secret_ids(value: object) -> str:
    if not isinstance(value, list) or not value:
        return "must be a non-empty list of secret ids, such as [index_token]"
    for entry in value:
        if not isinstance(entry, str) or not SECRET_ID_PATTERN.match(entry):
            return f"entry {entry!r} must be a secret id: letters, digits, '_', '.' or '-'"
    if len(set(value)) != len(value):
        return "must not name a secret twice"
    return ""


def _pattern_item(value: object) -> str:
    if not isinstance(value, dict):
        return "must be a mapping with 'pattern' (and optional 'keyword', 'message')"
    unknown = set(value) - {"keyword", "pattern", "message"}
    if unknown:
        return f"has unknown keys: {', '.join(sorted(unknown))}"
    keyword = value.get("keyword")
    if keyword is not None and (not isinstance(keyword, str) or keyword.upper() not in KEYWORDS):
        return f"'keyword' must be a Dockerfile instruction such as RUN, not {keyword!r}"
    if "message" in value and _text(value["message"]):
        return "'message' must be text"
    problem = _regex(value.get("pattern"))
    return f"'pattern' {problem}" if problem else ""


# --- Check types: phase, fields (validator, required) and rules across fields --------------------------------

FieldSpec = dict[str, tuple[Callable[[object], str], bool]]


class CheckType:
    def __init__(self, phase: str, fields: FieldSpec | None = None, one_of: tuple[str, ...] = ()):
        self.phase = phase
        self.fields = fields or {}
        # At least one of these fields must be given (for checks with several optional assertions).
        self.one_of = one_of


CHECK_TYPES: dict[str, CheckType] = {
    # Static: the Dockerfile text.
    "lint": CheckType(STATIC, {"rules": (_list_of(_rule, "hadolint rule ids"), True)}),
    "stages": CheckType(STATIC, {"min": (_int(1), False), "max": (_int(1), False)}, one_of=("min", "max")),
    "base-image": CheckType(
        STATIC,
        {"allowed": (_list_of(_text, "image names"), False), "pinned": (_bool, False)},
        one_of=("allowed", "pinned"),
    ),
    "non-root-user": CheckType(STATIC),
    "healthcheck-instruction": CheckType(STATIC),
    "exec-form": CheckType(STATIC),
    "install-order": CheckType(STATIC, {"manifest": (_relative_path, True), "install": (_regex, True)}),
    "no-secrets": CheckType(STATIC, {"names": (_regex, False)}),
    "instructions": CheckType(
        STATIC,
        {
            "forbid": (_list_of(_pattern_item, "patterns"), False),
            "require": (_list_of(_pattern_item, "patterns"), False),
        },
        one_of=("forbid", "require"),
    ),
    # The build.
    "build": CheckType(BUILD),
    # Facts of the built image.
    "image-size": CheckType(IMAGE, {"max_mb": (_number, True)}),
    "layers": CheckType(IMAGE, {"max": (_int(1), True)}),
    "image-user": CheckType(IMAGE, {"user": (_text, False)}),
    "ports": CheckType(IMAGE, {"expose": (_list_of(_port, "port numbers"), True), "exactly": (_bool, False)}),
    "env": CheckType(
        IMAGE,
        {"present": (_env_map, False), "absent": (_list_of(_regex, "variable name patterns"), False)},
        one_of=("present", "absent"),
    ),
    "workdir": CheckType(IMAGE, {"path": (_absolute_path, True)}),
    "history": CheckType(IMAGE, {"forbid": (_list_of(_regex, "regular expressions"), True)}),
    "files": CheckType(
        IMAGE,
        {
            "present": (_list_of(_absolute_path, "absolute paths"), False),
            "absent": (_list_of(_absolute_path, "absolute paths"), False),
        },
        one_of=("present", "absent"),
    ),
    # A container started from the image.
    "command": CheckType(
        RUNTIME,
        {
            "run": (_argv, False),
            "exit_code": (_int(0), False),
            "stdout": (_regex, False),
            "stderr": (_regex, False),
            "env": (_str_map, False),
            "timeout": (_number, False),
        },
    ),
    "service": CheckType(
        RUNTIME,
        {
            "port": (_port, True),
            "path": (_url_path, False),
            "status": (_int(100), False),
            "body": (_regex, False),
            "within": (_number, False),
        },
    ),
    "listen": CheckType(RUNTIME, {"port": (_port, True), "within": (_number, False)}),
    "health": CheckType(RUNTIME, {"within": (_number, False)}),
    "stop": CheckType(RUNTIME, {"within": (_number, False), "ready": (_regex, False), "port": (_port, False)}),
    # health.py, hardening.py, entrypoint.py and secrets.py.
    "unhealthy": CheckType(RUNTIME, {"break_file": (_absolute_path, True), "within": (_number, False)}),
    "run-args": CheckType(
        RUNTIME,
        {
            "args": (_list_of(_text, "arguments"), True),
            "exit_code": (_int(0), False),
            "stdout": (_regex, False),
            "stderr": (_regex, False),
            "env": (_str_map, False),
            "timeout": (_number, False),
        },
    ),
    "read-only": CheckType(
        RUNTIME,
        {
            "tmpfs": (_list_of(_absolute_path, "absolute paths"), False),
            "exit_code": (_int(0), False),
            "stdout": (_regex, False),
            "stderr": (_regex, False),
            "timeout": (_number, False),
        },
    ),
    "no-setuid": CheckType(IMAGE),
    "build-secret": CheckType(IMAGE, {"secret": (_text, True), "proof_file": (_absolute_path, False)}),
    # A rebuild after a source change.
    "cache": CheckType(CACHE, {"change": (_relative_path, True), "step": (_regex, True)}),
    # The reference solution's image.
    "compare": CheckType(COMPARE, {"max_ratio": (_number, False)}),
}
CHECK_TYPES |= LAB_CHECK_TYPES


def phase_of(check: dict) -> str:
    return CHECK_TYPES[check["type"]].phase


def _check_problems(index: int, check: object) -> list[str]:
    if not isinstance(check, dict):
        return [f"checks[{index}] must be a mapping with id, type and title"]
    kind = check.get("type")
    where = f"checks[{index}] ({kind})" if isinstance(kind, str) else f"checks[{index}]"
    if kind not in CHECK_TYPES:
        known = ", ".join(sorted(CHECK_TYPES))
        return [f"{where}: 'type' must be one of {known}; got {kind!r}"]
    problems = []
    if not isinstance(check.get("id"), str) or not ID_PATTERN.match(check["id"]):
        problems.append(f"{where}: 'id' must be a lower-case slug such as small-image")
    if _text(check.get("title")):
        problems.append(f"{where}: 'title' is required and must be text")
    for key in ("hint", "section"):
        if key in check and _text(check[key]):
            problems.append(f"{where}: '{key}' must be text")
    if "points" in check and _int(0)(check["points"]):
        problems.append(f"{where}: 'points' must be a whole number of at least 0")
    if "needs" in check and _list_of(_text, "check ids")(check["needs"]):
        problems.append(f"{where}: 'needs' must list the ids of earlier checks, such as [answers]")
    spec = CHECK_TYPES[kind]
    unknown = set(check) - COMMON_FIELDS - set(spec.fields)
    if unknown:
        allowed = ", ".join(sorted(spec.fields)) or "none"
        problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))} (this type takes: {allowed})")
    for name, (validate, required) in spec.fields.items():
        if name not in check:
            if required:
                problems.append(f"{where}: '{name}' is required")
            continue
        problem = validate(check[name])
        if problem:
            problems.append(f"{where}: '{name}' {problem}")
    if spec.one_of and not any(name in check for name in spec.one_of):
        problems.append(f"{where}: give at least one of {', '.join(repr(n) for n in spec.one_of)}")
    return problems


def _reference_problems(index: int, check: dict, earlier: dict[str, dict], spec: dict) -> list[str]:
    """What a check names elsewhere in the spec: the earlier checks it needs, the build secret it grades."""
    where = f"checks[{index}] ({check['type']})"
    problems = []
    for needed in check.get("needs") or []:
        if needed not in earlier:
            problems.append(f"{where}: 'needs' names '{needed}', which is not the id of an earlier check")
        elif PHASES.index(phase_of(earlier[needed])) > PHASES.index(phase_of(check)):
            # The grader runs the phases in order, so a check cannot wait for one of a later phase.
            problems.append(
                f"{where}: 'needs' names '{needed}', which runs in a later phase ({phase_of(earlier[needed])})"
            )
    declared = spec.get("build_secrets")
    if check["type"] == "build-secret" and check["secret"] not in (declared if isinstance(declared, list) else []):
        problems.append(f"{where}: 'secret' names '{check['secret']}', which 'build_secrets' does not declare")
    return problems


def build_secret_ids(spec: object) -> list[str]:
    """The build secrets an exercise declares (`build_secrets`), which its Dockerfiles may mount."""
    declared = spec.get("build_secrets") if isinstance(spec, dict) else None
    if not isinstance(declared, list):
        return []
    return [entry for entry in declared if isinstance(entry, str) and SECRET_ID_PATTERN.match(entry)]


def _limits_problems(limits: object, known: set[str] = LIMIT_FIELDS) -> list[str]:
    if not isinstance(limits, dict):
        return ["'limits' must be a mapping such as {check_seconds: 20}"]
    problems = []
    for key, value in limits.items():
        if key not in known:
            problems.append(f"limits: unknown key '{key}' (known: {', '.join(sorted(known))})")
        elif _number(value):
            problems.append(f"limits: '{key}' must be a number of seconds")
    return problems


def spec_problems(spec: dict) -> list[str]:
    """Every problem in an exercise's checks, limits and context files, each naming the check; [] if fine."""
    if not isinstance(spec, dict):
        return ["the exercise must be a mapping with title, prompt and checks"]
    problems = []
    if "kind" in spec and spec["kind"] not in KINDS:
        problems.append(f"'kind' must be one of {', '.join(KINDS)}; got {spec['kind']!r}")
    if "limits" in spec:
        lab = spec.get("kind") in LAB_KINDS
        problems.extend(_limits_problems(spec["limits"], LIMIT_FIELDS | LAB_LIMIT_FIELDS if lab else LIMIT_FIELDS))
    if "context_files" in spec and _context_files(spec["context_files"]):
        problems.append(f"'context_files' {_context_files(spec['context_files'])}")
    if "build_secrets" in spec and _secret_ids(spec["build_secrets"]):
        problems.append(f"'build_secrets' {_secret_ids(spec['build_secrets'])}")
    checks = spec.get("checks")
    if not isinstance(checks, list) or not checks:
        return problems + ["'checks' must be a non-empty list of checks"]
    seen: dict[str, dict] = {}
    for index, check in enumerate(checks):
        found = _check_problems(index, check)
        problems.extend(found)
        if found:
            continue
        if check["id"] in seen:
            problems.append(f"checks[{index}] ({check['type']}): id '{check['id']}' is used twice")
        problems.extend(_reference_problems(index, check, seen, spec))
        seen[check["id"]] = check
    valid = [c for c in checks if isinstance(c, dict) and c.get("type") in CHECK_TYPES]
    if build_secret_ids(spec) and any(c["type"] == "cache" for c in valid):
        # Builds given secrets run without the cache (see sandbox/environment.py), so no step is ever CACHED.
        problems.append(
            "checks (cache): an exercise with 'build_secrets' builds without the cache, so it cannot have a cache check"
        )
    problems.extend(lab_problems(spec, [c for c in checks if isinstance(c, dict) and not _check_problems(0, c)]))
    needs_image = [c for c in valid if phase_of(c) in (IMAGE, RUNTIME, CACHE, COMPARE)]
    if needs_image and not any(c["type"] == "build" for c in valid):
        first = needs_image[0]
        problems.append(
            f"checks ({first['type']}): checks that need the image require a 'build' check too, "
            "so a failed build is reported as such"
        )
    return problems
