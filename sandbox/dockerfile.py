"""A small, honest Dockerfile parser shared by the build policy and the grading engine.

It follows BuildKit's Dockerfile parser (moby/buildkit, frontend/dockerfile/parser) closely enough to give
the same answers for what learners write, and says so with a line number when it cannot:

- Parser directives (`# syntax=`, `# escape=`, `# check=`) are recognised only at the very top, before any
  blank line, comment or instruction. Each may appear once. An unknown directive ends the directive block.
- A line ending in the escape character (`\\` or, with `# escape=\\``, a backtick) continues on the next line.
  Comment lines and blank lines inside a continuation are skipped. `#` only starts a comment at the start
  of a line: `RUN echo # hi` keeps the `#`.
- Builder flags (`--from=`, `--mount=`, ...) are the leading `--name=value` words of an instruction.
- `RUN`, `COPY` and `ADD` may use heredocs (`RUN <<EOF` ... `EOF`).
- Arguments that start with `[` and are a JSON array of strings are the exec (JSON) form. A `[` that is not
  valid JSON is shell form, exactly as Docker does it (`RUN ["echo", 'hi']` runs `/bin/sh -c`).

The result is a `Dockerfile`: its instructions in order, its build stages, and its directives.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass, field

KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)

# The builder flags each instruction accepts (current Dockerfile syntax). Flags in BOOLEAN_FLAGS may be
# written without a value; every other flag needs `=value`.
KNOWN_FLAGS = {
    "FROM": {"platform"},
    "RUN": {"mount", "network", "security"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude", "unpack"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
BOOLEAN_FLAGS = frozenset({"link", "parents", "keep-git-dir", "unpack"})

# Instructions whose arguments may be a JSON array (exec form or a list of paths).
JSON_FORM_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})

DIRECTIVE_PATTERN = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
HEREDOC_PATTERN = re.compile(r"^(\d*)<<(-?)([^<]*)$")
STAGE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9\-_.]*$")
VARIABLE_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WHITESPACE = " \t\r\n\v\f"


class DockerfileSyntaxError(Exception):
    """The Dockerfile cannot be parsed. `line` is 1-based; `message` says what is wrong."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Heredoc:
    """The body of one heredoc (`<<EOF` ... `EOF`) attached to a RUN, COPY or ADD instruction.

    `content` holds the body lines as written, each ending with a newline. With `<<-EOF` (strip_tabs)
    Docker removes leading tabs from each line when it uses the body. `expand` is False when the
    delimiter was quoted (`<<'EOF'`), which turns off variable expansion in the body.
    """

    name: str
    content: str
    line: int
    strip_tabs: bool
    expand: bool


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction.

    line, end_line: the first and last physical line (1-based), including continuations and heredocs.
    keyword: the instruction in upper case (`RUN`).
    args: the text after the keyword and its flags, continuations joined as Docker joins them.
    flags: builder flags by name without dashes, each with its values in order (`--mount` may repeat);
        a flag written without `=value` has the value "".
    json_args: the JSON array when the exec (JSON) form is used, else None. For HEALTHCHECK it is the
        array after `CMD`.
    stage: the index of the build stage it belongs to; -1 for ARGs before the first FROM.
    heredocs: the heredoc bodies of RUN, COPY or ADD, in order.
    trigger: for ONBUILD, the instruction it registers (same line numbers and stage).
    source: the whole instruction as one line, as BuildKit shows it in its progress output.
    """

    line: int
    end_line: int
    keyword: str
    args: str
    flags: dict[str, list[str]] = field(default_factory=dict)
    json_args: list[str] | None = None
    stage: int = -1
    heredocs: tuple[Heredoc, ...] = ()
    trigger: Instruction | None = None
    source: str = ""

    def flag(self, name: str) -> str | None:
        """The last value given for flag `name`, or None when the flag is absent."""
        values = self.flags.get(name)
        return values[-1] if values else None

    def flag_values(self, name: str) -> list[str]:
        """Every value given for flag `name` (empty when absent)."""
        return list(self.flags.get(name, []))


@dataclass(frozen=True)
class Stage:
    """One build stage, started by a FROM line.

    base: the image or earlier stage named by FROM, as written (ARGs not yet substituted).
    name: the stage name from `AS name`, in lower case as BuildKit keeps it, or None.
    platform: the value of `--platform`, if given.
    """

    index: int
    base: str
    name: str | None
    line: int
    platform: str | None = None


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile.

    directives: the parser directives found at the top, by lower-case name (`syntax`, `escape`, `check`).
    global_args: ARGs declared before the first FROM with their default values (None when an ARG has
        no default). Only these can be used in FROM lines.
    """

    instructions: list[Instruction]
    stages: list[Stage]
    directives: dict[str, str]
    escape: str = "\\"
    global_args: dict[str, str | None] = field(default_factory=dict)

    def stage_instructions(self, index: int) -> list[Instruction]:
        """The instructions of stage `index`, its FROM first."""
        return [instruction for instruction in self.instructions if instruction.stage == index]

    def stage_named(self, name: str) -> Stage | None:
        """The stage called `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((stage for stage in self.stages if stage.name == wanted), None)

    def resolve(self, word: str) -> str | None:
        """Substitute the global ARGs (and BuildKit's platform ARGs) into `word`, as FROM does.

        Returns None when the word uses a variable that has no value.
        """
        return expand_variables(word, {**platform_args(), **self.global_args}, self.escape)

    def resolved_base(self, stage: Stage) -> str | None:
        """The stage's base with ARGs substituted, or None when a variable has no value."""
        return self.resolve(stage.base)


def host_platform() -> str:
    """The platform builds run on here, in Docker's spelling (`linux/amd64`)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"linux/{arch}"


def platform_args() -> dict[str, str | None]:
    """BuildKit's automatic platform ARGs; builds here are native, so build and target match."""
    os_name, arch = host_platform().split("/")
    values: dict[str, str | None] = {}
    for prefix in ("BUILD", "TARGET"):
        values[f"{prefix}PLATFORM"] = host_platform()
        values[f"{prefix}OS"] = os_name
        values[f"{prefix}ARCH"] = arch
        values[f"{prefix}VARIANT"] = ""
    return values


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse Dockerfile text. Raises DockerfileSyntaxError with a line number when it cannot."""
    lines = text.split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    directives = _parse_directives(lines)
    escape = directives.get("escape", "\\")
    raw = _Reader(lines, escape).read_all()
    return _assemble(raw, directives, escape)


def _parse_directives(lines: list[str]) -> dict[str, str]:
    directives: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        match = DIRECTIVE_PATTERN.match(line.lstrip(" \t"))
        if not match:
            break
        name = match.group(1).lower()
        if name not in KNOWN_DIRECTIVES:
            break
        if name in directives:
            raise DockerfileSyntaxError(number, f"only one {name} parser directive can be used")
        if name == "escape" and match.group(2) not in ("\\", "`"):
            raise DockerfileSyntaxError(number, f"invalid escape token {match.group(2)!r}: it must be ` or \\")
        directives[name] = match.group(2)
    return directives


@dataclass
class _RawInstruction:
    line: int
    end_line: int
    text: str
    heredocs: tuple[Heredoc, ...]


class _Reader:
    """Turns physical lines into logical instruction lines (continuations and heredocs resolved)."""

    def __init__(self, lines: list[str], escape: str) -> None:
        self.lines = lines
        self.position = 0
        self.continuation = re.compile(re.escape(escape) + r"[ \t]*$")

    def read_all(self) -> list[_RawInstruction]:
        found = []
        while self.position < len(self.lines):
            instruction = self._read_one()
            if instruction is not None:
                found.append(instruction)
        return found

    def _next_line(self) -> tuple[int, str]:
        self.position += 1
        return self.position, self.lines[self.position - 1]

    def _read_one(self) -> _RawInstruction | None:
        start, line = self._next_line()
        stripped = line.lstrip(WHITESPACE)
        if not stripped or stripped.startswith("#"):
            return None
        text, continues = self._trim_continuation(stripped)
        end = start
        while continues and self.position < len(self.lines):
            number, line = self._next_line()
            stripped = line.lstrip(WHITESPACE)
            # BuildKit skips comments and blank lines inside a continued instruction.
            if not stripped or stripped.startswith("#"):
                continue
            part, continues = self._trim_continuation(line)
            text += part
            end = number
        if not text.strip():
            return None
        heredocs = self._read_heredocs(text, start)
        if heredocs:
            end = self.position
        return _RawInstruction(start, end, text.strip(WHITESPACE), heredocs)

    def _trim_continuation(self, line: str) -> tuple[str, bool]:
        match = self.continuation.search(line)
        if match:
            return line[: match.start()], True
        return line, False

    def _read_heredocs(self, text: str, start: int) -> tuple[Heredoc, ...]:
        keyword, _, rest = text.strip(WHITESPACE).partition(" ")
        if keyword.upper() not in HEREDOC_INSTRUCTIONS:
            return ()
        try:
            args, _ = split_flag_words(rest.strip(WHITESPACE))
        except ValueError:
            return ()
        markers = [marker for marker in map(_heredoc_marker, split_words(args)) if marker]
        return tuple(self._read_heredoc_body(start, *marker) for marker in markers)

    def _read_heredoc_body(self, start: int, name: str, strip_tabs: bool, expand: bool) -> Heredoc:
        body_line = self.position + 1
        content = []
        while self.position < len(self.lines):
            _, line = self._next_line()
            candidate = line.lstrip("\t") if strip_tabs else line
            if candidate == name:
                return Heredoc(name, "".join(content), body_line, strip_tabs, expand)
            content.append(line + "\n")
        raise DockerfileSyntaxError(start, f"unterminated heredoc: no line with just {name!r} ends it")


def _heredoc_marker(word: str) -> tuple[str, bool, bool] | None:
    match = HEREDOC_PATTERN.match(word)
    if not match or not match.group(3):
        return None
    raw_name = match.group(3)
    name = unquote(raw_name)
    if not name or len(split_words(raw_name)) != 1:
        return None
    quoted = any(char in raw_name for char in "'\"")
    return name, match.group(2) == "-", not quoted


def _assemble(raw: list[_RawInstruction], directives: dict[str, str], escape: str) -> Dockerfile:
    instructions: list[Instruction] = []
    stages: list[Stage] = []
    global_args: dict[str, str | None] = {}
    for item in raw:
        # A FROM line opens the next stage; anything else belongs to the current one (-1 before any FROM).
        starts_stage = item.text.split(None, 1)[0].upper() == "FROM"
        stage_index = len(stages) if starts_stage else len(stages) - 1
        instruction = _parse_instruction(item.text, item.line, item.end_line, stage_index, item.heredocs)
        if starts_stage:
            stages.append(_make_stage(instruction, stages))
        elif not stages:
            if instruction.keyword != "ARG":
                raise DockerfileSyntaxError(
                    item.line,
                    f"{instruction.keyword} comes before the first FROM; a Dockerfile must start with "
                    "FROM (only ARG may come before it)",
                )
            global_args.update(parse_arg_defaults(instruction.args, global_args, escape))
        instructions.append(instruction)
    if not instructions:
        raise DockerfileSyntaxError(1, "the Dockerfile is empty: it needs at least a FROM line")
    if not stages:
        raise DockerfileSyntaxError(instructions[-1].line, "the Dockerfile has no FROM line")
    return Dockerfile(instructions, stages, directives, escape, global_args)


def _parse_instruction(
    text: str, line: int, end_line: int, stage: int, heredocs: tuple[Heredoc, ...] = ()
) -> Instruction:
    parts = text.strip(WHITESPACE).split(None, 1)
    keyword = parts[0].upper()
    rest = parts[1] if len(parts) > 1 else ""
    if keyword not in KNOWN_INSTRUCTIONS:
        raise DockerfileSyntaxError(line, f"unknown instruction: {parts[0]}")
    try:
        args, flag_words = split_flag_words(rest)
    except ValueError as error:
        raise DockerfileSyntaxError(line, str(error)) from None
    flags = _parse_flags(keyword, flag_words, line)
    args = args.strip(WHITESPACE)
    if not args:
        raise DockerfileSyntaxError(line, f"{keyword} requires at least one argument")
    json_args = _json_args(keyword, args, line)
    trigger = _onbuild_trigger(args, line, end_line, stage) if keyword == "ONBUILD" else None
    source = f"{keyword} {rest.strip(WHITESPACE)}"
    return Instruction(line, end_line, keyword, args, flags, json_args, stage, heredocs, trigger, source)


def _parse_flags(keyword: str, words: list[str], line: int) -> dict[str, list[str]]:
    allowed = KNOWN_FLAGS.get(keyword, set())
    flags: dict[str, list[str]] = {}
    for word in words:
        if not word.startswith("--"):
            raise DockerfileSyntaxError(line, f"flag {word!r} must start with '--'")
        name, has_value, value = word[2:].partition("=")
        name = name.lower()
        if name not in allowed:
            raise DockerfileSyntaxError(line, f"unknown flag for {keyword}: --{name}")
        if not has_value and name not in BOOLEAN_FLAGS:
            raise DockerfileSyntaxError(line, f"missing a value on flag --{name} (write --{name}=...)")
        flags.setdefault(name, []).append(value)
    return flags


def _json_args(keyword: str, args: str, line: int) -> list[str] | None:
    if keyword == "HEALTHCHECK":
        return _healthcheck_json(args, line)
    if keyword not in JSON_FORM_INSTRUCTIONS:
        return None
    parsed = _json_or_error(args, line)
    if parsed is None and keyword == "SHELL":
        raise DockerfileSyntaxError(line, 'SHELL requires the arguments in JSON form, e.g. ["/bin/sh", "-c"]')
    return parsed


def _healthcheck_json(args: str, line: int) -> list[str] | None:
    parts = args.split(None, 1)
    kind = parts[0].upper()
    if kind == "NONE":
        if len(parts) > 1:
            raise DockerfileSyntaxError(line, "HEALTHCHECK NONE takes no arguments")
        return None
    if kind != "CMD":
        raise DockerfileSyntaxError(line, f"unknown type {parts[0]!r} in HEALTHCHECK (try CMD)")
    if len(parts) < 2:
        raise DockerfileSyntaxError(line, "HEALTHCHECK CMD needs a command")
    return _json_or_error(parts[1], line)


def _json_or_error(text: str, line: int) -> list[str] | None:
    try:
        return parse_json_array(text)
    except ValueError as error:
        raise DockerfileSyntaxError(line, str(error)) from None


def parse_json_array(text: str) -> list[str] | None:
    """Docker's JSON-form test: the list of strings, or None when the text is shell form.

    Text that starts with `[` but is not valid JSON is shell form, as in Docker. A valid JSON array with
    something other than strings in it raises ValueError, as Docker refuses it. Like Go's json.Decoder,
    only the first JSON value counts: text after the closing `]` is ignored.
    """
    text = text.lstrip(WHITESPACE)
    if not text.startswith("["):
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise ValueError("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _onbuild_trigger(args: str, line: int, end_line: int, stage: int) -> Instruction:
    trigger_keyword = args.split(None, 1)[0].upper()
    if trigger_keyword == "ONBUILD":
        raise DockerfileSyntaxError(line, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger_keyword in ("FROM", "MAINTAINER"):
        raise DockerfileSyntaxError(line, f"{trigger_keyword} isn't allowed as an ONBUILD trigger")
    return _parse_instruction(args, line, end_line, stage)


def _make_stage(instruction: Instruction, stages: list[Stage]) -> Stage:
    words = instruction.args.split()
    line = instruction.line
    if len(words) == 1:
        name = None
    elif len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not STAGE_NAME_PATTERN.match(name):
            raise DockerfileSyntaxError(
                line,
                f"invalid name for build stage: {words[2]!r}, name can't start with a number or contain symbols",
            )
        if any(stage.name == name for stage in stages):
            raise DockerfileSyntaxError(line, f"duplicate stage name {name!r}")
    else:
        raise DockerfileSyntaxError(line, "FROM requires either one or three arguments (FROM image AS name)")
    return Stage(len(stages), words[0], name, line, instruction.flag("platform"))


def split_flag_words(text: str) -> tuple[str, list[str]]:
    """Split the leading `--flag=value` words off an instruction's arguments (BuildKit's rules).

    Quotes inside a flag value are removed (`--chown="app:app"`). A lone `--` ends the flags.
    Returns the remaining text and the flag words.
    """
    words: list[str] = []
    position = 0
    length = len(text)
    while True:
        while position < length and text[position] in WHITESPACE:
            position += 1
        if position >= length:
            return "", words
        if not text.startswith("--", position):
            return text[position:], words
        word, position = _read_flag_word(text, position)
        if word == "--":
            return text[position:], words
        words.append(word)


def _read_flag_word(text: str, position: int) -> tuple[str, int]:
    word = []
    quote = ""
    length = len(text)
    while position < length:
        char = text[position]
        if not quote and char in WHITESPACE:
            break
        if not quote and char in "'\"":
            quote = char
        elif quote and char == quote:
            quote = ""
        elif char == "\\" and position + 1 < length:
            position += 1
            word.append(text[position])
        elif char != "\\":
            word.append(char)
        position += 1
    return "".join(word), position


def split_words(text: str) -> list[str]:
    """Split text into shell words on unquoted whitespace, keeping quotes and backslashes as written."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\" and quote != "'" and position + 1 < len(text):
            current.append(text[position : position + 2])
            position += 2
            continue
        if quote:
            quote = "" if char == quote else quote
            current.append(char)
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char in WHITESPACE:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
        position += 1
    if current:
        words.append("".join(current))
    return words


def unquote(word: str, escape: str = "\\") -> str:
    """Remove shell quoting from one word: quotes go, backslash-escaped characters stay."""
    return expand_variables(word, {}, escape, expand=False) or ""


def parse_arg_defaults(args: str, known: dict[str, str | None], escape: str = "\\") -> dict[str, str | None]:
    """Parse `ARG NAME[=default] ...` into names and defaults (None when there is no default).

    Defaults may use earlier ARGs (`known`); a variable without a value expands to "" as in Docker.
    """
    found: dict[str, str | None] = {}
    for word in split_words(args):
        name, has_default, value = word.partition("=")
        if not has_default:
            found[name] = None
            continue
        variables = {**known, **found}
        found[name] = expand_variables(value, variables, escape, strict=False) or ""
    return found


def expand_variables(
    word: str,
    variables: dict[str, str | None],
    escape: str = "\\",
    *,
    strict: bool = True,
    expand: bool = True,
) -> str | None:
    """Expand `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alt}`, `${NAME+alt}`.

    Quotes are removed as the shell would; single quotes stop expansion. A variable that is unset
    (missing, or an ARG without default) makes the result None when `strict`, or expands to "" otherwise.
    With expand=False only quotes and escapes are processed.
    """
    expander = _Expander(word, variables, escape, strict, expand)
    return expander.run()


class _Unresolved(Exception):
    pass


class _Expander:
    def __init__(self, word: str, variables: dict[str, str | None], escape: str, strict: bool, expand: bool) -> None:
        self.word = word
        self.variables = variables
        self.escape = escape
        self.strict = strict
        self.expand = expand
        self.position = 0

    def run(self) -> str | None:
        try:
            return self._read_until("")
        except _Unresolved:
            return None

    def _read_until(self, stop: str) -> str:
        out: list[str] = []
        quote = ""
        while self.position < len(self.word):
            char = self.word[self.position]
            if not quote and stop and char == stop:
                return "".join(out)
            self.position += 1
            if char == self.escape and quote != "'" and self.position < len(self.word):
                out.append(self.word[self.position])
                self.position += 1
            elif char in "'\"" and (not quote or quote == char):
                quote = "" if quote else char
            elif char == "$" and quote != "'" and self.expand:
                out.append(self._variable())
            else:
                out.append(char)
        return "".join(out)

    def _variable(self) -> str:
        if self.word.startswith("{", self.position):
            return self._braced_variable()
        match = VARIABLE_NAME_PATTERN.match(self.word, self.position)
        if not match:
            return "$"
        self.position = match.end()
        return self._value(match.group(0))

    def _braced_variable(self) -> str:
        start = self.position
        match = VARIABLE_NAME_PATTERN.match(self.word, self.position + 1)
        if not match:
            return "$"
        name = match.group(0)
        self.position = match.end()
        operator = ""
        for candidate in (":-", ":+", "-", "+"):
            if self.word.startswith(candidate, self.position):
                operator = candidate
                self.position += len(candidate)
                break
        alternative = self._read_until("}") if operator else ""
        if not self.word.startswith("}", self.position):
            # Not a form we know (such as `${A:?message}`): keep the text as written.
            self.position = start
            return "$"
        self.position += 1
        return self._apply(name, operator, alternative)

    def _apply(self, name: str, operator: str, alternative: str) -> str:
        value = self.variables.get(name)
        if operator == ":-":
            return value if value else alternative
        if operator == "-":
            return value if value is not None else alternative
        if operator == ":+":
            return alternative if value else ""
        if operator == "+":
            return alternative if value is not None else ""
        return self._value(name)

    def _value(self, name: str) -> str:
        value = self.variables.get(name)
        if value is None:
            if self.strict:
                raise _Unresolved(name)
            return ""
        return value
