"""A small, honest Dockerfile parser shared by the build policy and the grading engine.

It reads a Dockerfile the way BuildKit does (moby/buildkit, frontend/dockerfile), in three steps, each in
its own module:

- sandbox.dockerfile_lines, the reader: characters, parser directives, line continuations, comments and
  heredocs, giving one logical line per instruction.
- sandbox.dockerfile_words: the keyword, the builder flags and the arguments of one logical line, as
  BuildKit's parse tree has them.
- sandbox.dockerfile_expand: `$VAR` expansion as BuildKit's shell lexer does it, with limits.

This module puts them together and checks what BuildKit checks when it turns the parse tree into
instructions (known keywords, flags, FROM lines, stage names, ENV pairs...). It also follows variables the
way BuildKit scopes them: ARGs before the first FROM are for FROM lines; inside a stage, ARG and ENV set
variables for the instructions after them, ENV overriding ARG, and a stage built FROM an earlier stage
starts with that stage's variables. With them it expands the words the build policy checks (ADD sources,
COPY --from, RUN --mount options) and every word BuildKit expands, under a size limit, so a doubling
chain is refused here instead of reaching the builder.

Anything that cannot be read raises DockerfileSyntaxError with a line number and a message for a learner;
nothing else escapes, whatever the input.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass, field, replace

from .dockerfile_expand import (
    MAX_VALUE_CHARS,
    Budget,
    Expanded,
    ExpansionError,
    Scope,
    expand_word,
    remove_quotes,
)
from .dockerfile_lines import Heredoc, LogicalLine, ReadError, ReadResult, match_directive, read_dockerfile
from .dockerfile_words import Node, WordError, extract_flags, parse_words, split_csv
from .dockerfile_words import parse_json_array as _parse_json_array

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
# written without a value; flags in REPEATABLE_FLAGS may be given more than once; every other flag needs
# `=value` and may appear once. Flag names are case-sensitive, as in BuildKit.
KNOWN_FLAGS = {
    "FROM": {"platform"},
    "RUN": {"mount", "network", "security"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude", "unpack"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}
BOOLEAN_FLAGS = frozenset({"link", "parents", "keep-git-dir", "unpack"})
REPEATABLE_FLAGS = frozenset({"mount", "exclude"})

# Instructions whose arguments may be a JSON array (exec form or a list of paths).
JSON_FORM_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
# Instructions whose words BuildKit expands ($VAR) when it builds the stage.
EXPANDED_INSTRUCTIONS = frozenset({"ADD", "COPY", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})
MAX_STAGES = 128

STAGE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9\-_.]*$")
VARIABLE_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WHITESPACE = " \t\r\n\v\f"

__all__ = [
    "BOOLEAN_FLAGS",
    "KNOWN_FLAGS",
    "KNOWN_INSTRUCTIONS",
    "Dockerfile",
    "DockerfileSyntaxError",
    "Expanded",
    "Heredoc",
    "Instruction",
    "Mount",
    "Stage",
    "expand_variables",
    "host_platform",
    "match_directive",
    "parse_arg_defaults",
    "parse_dockerfile",
    "parse_json_array",
    "parse_nodes",
    "platform_args",
    "split_flag_words",
    "split_words",
    "unquote",
]


class DockerfileSyntaxError(Exception):
    """The Dockerfile cannot be parsed. `line` is 1-based; `message` says what is wrong."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Mount:
    """One RUN --mount value: as written, and its options with variables expanded (BuildKit's reading).

    options: lower-case option names to their expanded values, or None when BuildKit could not read the
        value (it is not valid CSV).
    """

    spec: str
    options: dict[str, Expanded] | None


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
    values: the arguments as BuildKit's parse tree holds them (ENV: name, value, name, value...).
    expanded_args: for ADD and COPY, `values` with variables expanded in the stage's scope.
    expanded_from: for COPY, the --from value expanded in the stage's scope.
    mounts: for RUN, each --mount value and its expanded options.
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
    values: tuple[str, ...] = ()
    expanded_args: tuple[Expanded, ...] = ()
    expanded_from: Expanded | None = None
    mounts: tuple[Mount, ...] = ()

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
    directive_lines: the line of each directive.
    """

    instructions: list[Instruction]
    stages: list[Stage]
    directives: dict[str, str]
    escape: str = "\\"
    global_args: dict[str, str | None] = field(default_factory=dict)
    directive_lines: dict[str, int] = field(default_factory=dict)

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


# --- Reading (BuildKit's parser.Parse) ---------------------------------------------------------------------


def parse_nodes(text: str) -> ReadResult:
    """Read the text as BuildKit's parser.Parse does: directives and one parse-tree node per instruction.

    This is the step BuildKit's own parser test files check (see tests/data/buildkit-parser).
    """
    try:
        return read_dockerfile(text)
    except ReadError as error:
        raise DockerfileSyntaxError(error.line, error.message) from None


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse Dockerfile text. Raises DockerfileSyntaxError with a line number when it cannot."""
    read = parse_nodes(text)
    return _Assembler(read).run()


# --- Instructions (BuildKit's instructions.Parse) and scopes -----------------------------------------------


class _Assembler:
    def __init__(self, read: ReadResult) -> None:
        self.read = read
        self.escape = read.escape
        self.budget = Budget()
        self.instructions: list[Instruction] = []
        self.stages: list[Stage] = []
        self.global_args: dict[str, str | None] = {}
        self.global_scope = Scope({k: v for k, v in platform_args().items() if v is not None})
        self.stage_scopes: list[Scope] = []
        self.scope = Scope()

    def run(self) -> Dockerfile:
        for logical in self.read.lines:
            self._add(logical)
        if not self.instructions:
            raise DockerfileSyntaxError(1, "the Dockerfile is empty: it needs at least a FROM line")
        if not self.stages:
            raise DockerfileSyntaxError(self.instructions[-1].line, "the Dockerfile has no FROM line")
        return Dockerfile(
            self.instructions,
            self.stages,
            self.read.directives,
            self.escape,
            self.global_args,
            self.read.directive_lines,
        )

    def _add(self, logical: LogicalLine) -> None:
        node = logical.node
        keyword = node.keyword.upper()
        if not keyword:
            raise DockerfileSyntaxError(
                logical.line, "this line continues (it ends with the escape character) into nothing"
            )
        starts_stage = keyword == "FROM"
        stage_index = len(self.stages) if starts_stage else len(self.stages) - 1
        instruction = self._instruction(node, logical, stage_index)
        if starts_stage:
            self._start_stage(instruction)
        elif not self.stages:
            if keyword != "ARG":
                raise DockerfileSyntaxError(
                    logical.line,
                    f"{keyword} comes before the first FROM; a Dockerfile must start with FROM (only ARG may "
                    "come before it)",
                )
            self._global_arg(instruction)
        else:
            instruction = self._in_stage(instruction)
        self.instructions.append(instruction)

    def _instruction(self, node: Node, logical: LogicalLine, stage: int, *, trigger: bool = False) -> Instruction:
        line = logical.line
        keyword = node.keyword.upper()
        if keyword not in KNOWN_INSTRUCTIONS:
            raise DockerfileSyntaxError(line, f"unknown instruction: {node.keyword}")
        flags = _parse_flags(keyword, node.flags, line)
        if not node.args:
            raise DockerfileSyntaxError(line, f"{keyword} requires at least one argument")
        json_args = _json_args(keyword, node, line)
        _check_pairs(keyword, node, line)
        child = None
        if keyword == "ONBUILD" and node.child is not None:
            child_keyword = node.child.keyword.upper()
            if child_keyword in ("FROM", "MAINTAINER"):
                raise DockerfileSyntaxError(line, f"{child_keyword} isn't allowed as an ONBUILD trigger")
            child = self._instruction(node.child, logical, stage, trigger=True)
        return Instruction(
            line=line,
            end_line=logical.end_line,
            keyword=keyword,
            args=node.args,
            flags=flags,
            json_args=json_args,
            stage=stage,
            heredocs=logical.heredocs,
            trigger=child,
            source=f"{keyword} {node.rest}".rstrip() if node.rest else keyword,
            values=tuple(node.values),
        )

    # --- Stages and scopes ---------------------------------------------------------------------------------

    def _start_stage(self, instruction: Instruction) -> None:
        if len(self.stages) >= MAX_STAGES:
            raise DockerfileSyntaxError(instruction.line, f"a Dockerfile may have at most {MAX_STAGES} stages here")
        stage = _make_stage(instruction, self.stages)
        base = self._expand(instruction, stage.base, self.global_scope)
        if stage.platform is not None:
            self._expand(instruction, stage.platform, self.global_scope)
        parent = next((s for s in self.stages if s.name == base.value.lower()), None) if base.value else None
        if parent is not None:
            self.scope = self.stage_scopes[parent.index].copy()
        else:
            # An image's configuration may set variables the parser cannot see; scratch sets none.
            self.scope = Scope({}, complete=base.value.lower() == "scratch")
        self.stages.append(stage)
        self.stage_scopes.append(self.scope)

    def _global_arg(self, instruction: Instruction) -> None:
        for name, raw in _arg_pairs(instruction):
            if raw is None:
                value = platform_args().get(name)
            else:
                value = self._expand(instruction, raw, self.global_scope, name=name).value
            self.global_args[name] = value
            if value is None:
                self.global_scope.values.pop(name, None)
            else:
                self.global_scope.values[name] = value

    def _in_stage(self, instruction: Instruction) -> Instruction:
        keyword = instruction.keyword
        if keyword == "ARG":
            self._stage_arg(instruction)
        elif keyword == "ENV":
            self._stage_env(instruction)
        elif keyword == "ONBUILD" and instruction.trigger is not None:
            trigger = self._expanded_fields(instruction.trigger, self.scope.copy())
            return _replace(instruction, trigger=trigger)
        return self._expanded_fields(instruction, self.scope)

    def _stage_arg(self, instruction: Instruction) -> None:
        pairs = _arg_pairs(instruction)
        before = self.scope.copy() if len(pairs) > 1 else self.scope
        for name, raw in pairs:
            if raw is None:
                inherited = self.global_args.get(name, platform_args().get(name))
                if inherited is not None:
                    self.scope.values[name] = inherited
                continue
            value = self._expand(instruction, raw, self.scope, name=name)
            if before is not self.scope and not _same_expansion(raw, before, value, self.escape):
                # Current BuildKit expands each ARG with the ones before it on the same line; the sandbox's
                # builder expands them all first. Refuse the lines where the two readings differ.
                raise DockerfileSyntaxError(
                    instruction.line,
                    f"ARG {name} uses a variable set earlier on the same ARG line, which builders read "
                    "differently. Put each ARG on its own line.",
                )
            self.scope.values[name] = value.value

    def _stage_env(self, instruction: Instruction) -> None:
        # All values are expanded with the variables set before this ENV line, then assigned.
        pairs = []
        for index in range(0, len(instruction.values) - 1, 2):
            name = self._name(instruction, instruction.values[index])
            pairs.append((name, self._expand(instruction, instruction.values[index + 1], self.scope, name=name)))
        for name, value in pairs:
            self.scope.values[name] = value.value

    def _expanded_fields(self, instruction: Instruction, scope: Scope) -> Instruction:
        keyword = instruction.keyword
        if keyword == "LABEL":
            for value in instruction.values:
                self._expand(instruction, value, scope)
        elif keyword in EXPANDED_INSTRUCTIONS:
            changes: dict = {}
            expanded = tuple(self._expand(instruction, value, scope) for value in instruction.values)
            for name in ("chown", "chmod"):
                for value in instruction.flag_values(name):
                    self._expand(instruction, value, scope)
            if keyword in ("ADD", "COPY"):
                changes["expanded_args"] = expanded
            if keyword == "COPY" and instruction.flag("from") is not None:
                changes["expanded_from"] = self._expand(instruction, instruction.flag("from") or "", scope)
            if changes:
                return _replace(instruction, **changes)
        elif keyword == "RUN" and instruction.flag_values("mount"):
            mounts = tuple(self._mount(instruction, spec, scope) for spec in instruction.flag_values("mount"))
            return _replace(instruction, mounts=mounts)
        return instruction

    def _mount(self, instruction: Instruction, spec: str, scope: Scope) -> Mount:
        fields = split_csv(spec)
        if fields is None:
            return Mount(spec, None)
        options: dict[str, Expanded] = {}
        for item in fields:
            key, _, value = item.partition("=")
            options[key.lower()] = self._expand(instruction, value, scope)
        return Mount(spec, options)

    def _name(self, instruction: Instruction, raw: str) -> str:
        if "$" in raw:
            raise DockerfileSyntaxError(
                instruction.line,
                f"the name {raw!r} in {instruction.keyword} uses a variable; write the name itself",
            )
        name = remove_quotes(raw, self.escape)
        if not name:
            raise DockerfileSyntaxError(instruction.line, f"{instruction.keyword} names can not be blank")
        return name

    def _expand(self, instruction: Instruction, word: str, scope: Scope, *, name: str | None = None) -> Expanded:
        try:
            return expand_word(word, scope, self.escape, budget=self.budget)
        except ExpansionError as error:
            what = f"the value of {name}" if name else repr(word[:60] + ("..." if len(word) > 60 else ""))
            raise DockerfileSyntaxError(
                instruction.line, f"{instruction.keyword}: {what} cannot be expanded: {error.message}"
            ) from None


def _same_expansion(raw: str, scope: Scope, expected: Expanded, escape: str) -> bool:
    try:
        return expand_word(raw, scope, escape).value == expected.value
    except ExpansionError:
        return False


def _replace(instruction: Instruction, **changes: object) -> Instruction:
    return replace(instruction, **changes)


def _arg_pairs(instruction: Instruction) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for word in instruction.values:
        name, has_value, value = word.partition("=")
        if not name:
            raise DockerfileSyntaxError(instruction.line, "ARG names can not be blank")
        if "$" in name or "'" in name or '"' in name or "\\" in name or "`" in name:
            raise DockerfileSyntaxError(
                instruction.line,
                f"the ARG name {name!r} uses quotes, escapes or a variable, which builders read differently; "
                "write the plain name",
            )
        pairs.append((name, value if has_value else None))
    return pairs


def _check_pairs(keyword: str, node: Node, line: int) -> None:
    if keyword not in ("ENV", "LABEL"):
        return
    for index in range(0, len(node.values), 2):
        if not node.values[index]:
            raise DockerfileSyntaxError(line, f"{keyword} names can not be blank")


def _parse_flags(keyword: str, words: list[str], line: int) -> dict[str, list[str]]:
    # BuildKit's BFlags.Parse: case-sensitive names, one value per flag unless it may repeat.
    allowed = KNOWN_FLAGS.get(keyword, set())
    flags: dict[str, list[str]] = {}
    for word in words:
        if not word.startswith("--"):
            raise DockerfileSyntaxError(line, f"flag {word!r} must start with '--'")
        name, has_value, value = word[2:].partition("=")
        if name not in allowed:
            hint = f" (flag names are lower case: --{name.lower()})" if name.lower() in allowed else ""
            raise DockerfileSyntaxError(line, f"unknown flag for {keyword}: --{name}{hint}")
        if name in flags and name not in REPEATABLE_FLAGS:
            raise DockerfileSyntaxError(line, f"the flag --{name} is given twice")
        if name in BOOLEAN_FLAGS:
            if has_value and value.lower() not in ("true", "false"):
                raise DockerfileSyntaxError(line, f"--{name} takes true or false, not {value!r}")
        elif not has_value:
            raise DockerfileSyntaxError(line, f"missing a value on flag --{name} (write --{name}=...)")
        flags.setdefault(name, []).append(value)
    return flags


def _json_args(keyword: str, node: Node, line: int) -> list[str] | None:
    if keyword == "HEALTHCHECK":
        return _healthcheck_json(node, line)
    if keyword not in JSON_FORM_INSTRUCTIONS:
        return None
    if not node.json and keyword == "SHELL":
        raise DockerfileSyntaxError(line, 'SHELL requires the arguments in JSON form, e.g. ["/bin/sh", "-c"]')
    return list(node.values) if node.json else None


def _healthcheck_json(node: Node, line: int) -> list[str] | None:
    kind = node.values[0].upper()
    if kind == "NONE":
        if len(node.values) > 1:
            raise DockerfileSyntaxError(line, "HEALTHCHECK NONE takes no arguments")
        return None
    if kind != "CMD":
        raise DockerfileSyntaxError(line, f"unknown type {node.values[0]!r} in HEALTHCHECK (try CMD)")
    if len(node.values) < 2 and not node.json:
        raise DockerfileSyntaxError(line, "HEALTHCHECK CMD needs a command")
    return list(node.values[1:]) if node.json else None


def _make_stage(instruction: Instruction, stages: list[Stage]) -> Stage:
    words = list(instruction.values)
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


# --- Helpers kept for callers ----------------------------------------------------------------------------


def parse_json_array(text: str) -> list[str] | None:
    """Docker's JSON-form test: the list of strings, or None when the text is shell form.

    Text that starts with `[` but is not valid JSON is shell form, as in Docker. A valid JSON array with
    something other than strings in it raises ValueError, as Docker refuses it.
    """
    return _parse_json_array(text)


def split_flag_words(text: str) -> tuple[str, list[str]]:
    """Split the leading `--flag=value` words off an instruction's arguments (BuildKit's rules).

    Quotes inside a flag value are removed (`--chown="app:app"`). A lone `--` ends the flags. Returns the
    remaining text and the flag words; raises ValueError for characters BuildKit would read differently.
    """
    try:
        rest, words, _ = extract_flags(text)
    except WordError as error:
        raise ValueError(error.message.replace("{where}", "here")) from None
    return rest, words


def split_words(text: str) -> list[str]:
    """Split text into shell words on unquoted whitespace, keeping quotes and backslashes as written."""
    return parse_words(text, "\\")


def unquote(word: str, escape: str = "\\") -> str:
    """Remove shell quoting from one word: quotes go, backslash-escaped characters stay."""
    return remove_quotes(word, escape)


def parse_arg_defaults(args: str, known: dict[str, str | None], escape: str = "\\") -> dict[str, str | None]:
    """Parse `ARG NAME[=default] ...` into names and defaults (None when there is no default).

    Defaults may use earlier ARGs (`known`); a variable without a value expands to "" as in Docker.
    """
    found: dict[str, str | None] = {}
    for word in parse_words(args, escape):
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
    """Expand `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alt}`, `${NAME+alt}`...

    Quotes are removed as BuildKit's lexer does; single quotes stop expansion. A variable used bare that
    is unset (missing, or an ARG without default) makes the result None when `strict`, or expands to ""
    otherwise. A word BuildKit cannot expand gives None. With expand=False only quotes and escapes are
    processed.
    """
    if not expand:
        return remove_quotes(word, escape)
    scope = Scope({name: value for name, value in variables.items() if value is not None})
    try:
        expanded = expand_word(word, scope, escape, limit=MAX_VALUE_CHARS)
    except ExpansionError:
        return None
    if strict and expanded.missing:
        return None
    return expanded.value
