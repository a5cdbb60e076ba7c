"""The reader: from Dockerfile text to logical instruction lines, as BuildKit's parser.Parse reads them.

It follows moby/buildkit frontend/dockerfile/parser/parser.go:

- Parser directives (`# syntax=`, `# escape=`, `# check=`) are the comment lines at the very top that match
  BuildKit's pattern `^#\\s*([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$`, where `\\s` is Go's (tab, newline,
  form feed, carriage return, space: no vertical tab, no no-break space). The first line that is not a
  known directive ends them. Each may appear once.
- A line ending in the escape character (`\\` or, with `# escape=\\``, a backtick), optionally followed by
  spaces and tabs, continues on the next line, unless the escape character is itself escaped (`\\\\`).
  Comment lines and blank lines inside a continuation are skipped.
- RUN, COPY and ADD (also as ONBUILD triggers) may carry heredocs (`<<EOF` ... `EOF`).

Before any of that, the text must be something every reader agrees on. Refused, with the line and column:
control characters (anything below a space but the tab, a carriage return that does not end a line),
unusual whitespace (a no-break space, a vertical tab...) in indentation and in the comment lines at the
top where directives live, and lines longer than BuildKit's 65535 bytes. Everything here is linear in the
size of the input: no regular expression can backtrack, and text is joined once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .dockerfile_expand import GO_SPACE_CHARS, GO_SPACES, lex_words
from .dockerfile_words import Node, WordError, describe_char, split_line

KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
MAX_LINE_BYTES = 65535
MAX_INPUT_CHARS = 1024 * 1024
# Go's `\s` in BuildKit's directive pattern.
GO_REGEX_SPACES = "\t\n\f\r "
UNUSUAL_SPACES = "".join(sorted(GO_SPACES - set(" \t\n\v\f\r")))
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n|\\Z)")
_UNUSUAL_SPACE = re.compile(f"[{UNUSUAL_SPACES}]")
_HEREDOC = re.compile(r"([0-9]*)<<(-?)([^<]*)")


class ReadError(Exception):
    """The text cannot be read. `line` is 1-based; `message` says what is wrong, in words."""

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


@dataclass
class LogicalLine:
    """One instruction's text with continuations joined, and BuildKit's reading of it."""

    text: str
    line: int
    end_line: int
    node: Node
    heredocs: tuple[Heredoc, ...] = ()
    # (offset in text, physical line, 0-based column of that offset) for each joined piece.
    pieces: list[tuple[int, int, int]] = field(default_factory=list)

    def location(self, offset: int) -> tuple[int, int]:
        """The physical line and 1-based column of a character of `text`."""
        line, column, start = self.line, 0, 0
        for piece_start, piece_line, piece_column in self.pieces:
            if piece_start > offset:
                break
            line, column, start = piece_line, piece_column, piece_start
        return line, column + offset - start + 1


@dataclass
class ReadResult:
    directives: dict[str, str]
    escape: str
    lines: list[LogicalLine]
    directive_lines: dict[str, int] = field(default_factory=dict)


def read_dockerfile(text: str) -> ReadResult:
    """Check the characters, read the directives, and return the logical lines. Raises ReadError."""
    if len(text) > MAX_INPUT_CHARS:
        raise ReadError(1, f"the Dockerfile is larger than {MAX_INPUT_CHARS // 1024} KiB; make it smaller")
    if text.startswith("\ufeff"):
        text = text[1:]
    _check_characters(text)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_BYTES // 4 and len(line.encode("utf-8")) > MAX_LINE_BYTES:
            raise ReadError(number, f"this line is longer than {MAX_LINE_BYTES} bytes, the most BuildKit reads")
    return _Reader(lines).read()


def _check_characters(text: str) -> None:
    found = _FORBIDDEN.search(text)
    if found is None:
        return
    position = found.start()
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    char = text[position]
    if "\ud800" <= char <= "\udfff":
        what = "a character that is not valid text (a lone UTF-16 surrogate)"
    elif char == "\r":
        what = "a carriage return (U+000D) that does not end the line"
    else:
        what = f"the control character {describe_char(char)}"
    raise ReadError(
        line,
        f"{what} at column {column} is not allowed: BuildKit and the sandbox's checks could read it "
        "differently. Delete it (retype the line if you cannot see it).",
    )


def _unusual_space(line: str, number: int, where: str) -> None:
    found = _UNUSUAL_SPACE.search(line)
    if found is not None:
        char = found.group(0)
        raise ReadError(
            number,
            f"{describe_char(char)} at column {found.start() + 1} is not allowed {where}: BuildKit reads it "
            "differently from how it looks. Use an ordinary space.",
        )


def match_directive(line: str, spaces: str = GO_REGEX_SPACES) -> tuple[str, str] | None:
    """BuildKit's directive pattern `^#\\s*([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$`, matched by hand.

    `spaces` is what `\\s` means (Go's set by default). Returns (name, value) or None. Hand-written so a
    long run of spaces costs linear time, not the quadratic time of a backtracking regex.
    """
    if not line.startswith("#"):
        return None
    position = _skip(line, 1, spaces)
    start = position
    if position >= len(line) or not (line[position].isascii() and line[position].isalpha()):
        return None
    while position < len(line) and line[position].isascii() and line[position].isalnum():
        position += 1
    name = line[start:position]
    position = _skip(line, position, spaces)
    if not line.startswith("=", position):
        return None
    rest = line[position + 1 :]
    value = rest.strip(spaces)
    if not value:
        # `(.+?)` needs one character: the pattern then gives back the last of the spaces.
        if not rest:
            return None
        value = rest[-1]
    return name, value


def _skip(line: str, position: int, spaces: str) -> int:
    while position < len(line) and line[position] in spaces:
        position += 1
    return position


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.position = 0
        self.escape = "\\"
        self.directives: dict[str, str] = {}
        self.directive_lines: dict[str, int] = {}
        self.directives_done = False
        self.at_top = True

    def read(self) -> ReadResult:
        found = list(self._logical_lines())
        return ReadResult(self.directives, self.escape, found, self.directive_lines)

    def _next(self) -> tuple[int, str]:
        self.position += 1
        return self.position, self.lines[self.position - 1]

    def _logical_lines(self) -> Iterator[LogicalLine]:
        while self.position < len(self.lines):
            number, raw = self._next()
            stripped = raw.lstrip(GO_SPACE_CHARS)
            indent = len(raw) - len(stripped)
            _unusual_space(raw[:indent], number, "at the start of a line")
            if self.at_top and stripped.startswith("#"):
                _unusual_space(
                    raw, number, "in the comment lines at the top of a Dockerfile, where parser directives go"
                )
            else:
                self.at_top = False
            self._possible_directive(stripped, number)
            if stripped.startswith("#"):
                continue
            text, continues = self._trim_continuation(stripped)
            if not continues and not text:
                continue
            pieces = [(0, number, indent)]
            parts = [text]
            length = len(text)
            end = number
            while continues and self.position < len(self.lines):
                end, raw = self._next()
                stripped = raw.lstrip(GO_SPACE_CHARS)
                _unusual_space(raw[: len(raw) - len(stripped)], end, "at the start of a line")
                # BuildKit skips comments and blank lines inside a continued instruction.
                if stripped.startswith("#") or not stripped:
                    continue
                part, continues = self._trim_continuation(raw)
                pieces.append((length, end, 0))
                parts.append(part)
                length += len(part)
            yield self._instruction("".join(parts), number, end, pieces)

    def _possible_directive(self, line: str, number: int) -> None:
        if self.directives_done:
            return
        match = match_directive(line)
        if match is None or match[0].lower() not in KNOWN_DIRECTIVES:
            self.directives_done = True
            return
        name, value = match[0].lower(), match[1]
        if name in self.directives:
            raise ReadError(number, f"only one {name} parser directive can be used")
        if name == "escape" and value not in ("\\", "`"):
            raise ReadError(number, f"invalid escape token {value!r}: it must be ` or \\")
        if name == "escape":
            self.escape = value
        self.directives[name] = value
        self.directive_lines[name] = number

    def _trim_continuation(self, line: str) -> tuple[str, bool]:
        # BuildKit: `([^\\])\\[ \t]*$|^\\[ \t]*$` with the escape character: the last character that is not
        # a space or tab is the escape, and the character before it is not.
        trimmed = line.rstrip(" \t")
        if trimmed.endswith(self.escape) and not trimmed.endswith(self.escape * 2):
            return trimmed[:-1], True
        return line, False

    def _instruction(self, text: str, start: int, end: int, pieces: list[tuple[int, int, int]]) -> LogicalLine:
        logical = LogicalLine(text, start, end, Node("", [], ""), pieces=pieces)
        try:
            logical.node = split_line(text, self.escape)
        except WordError as error:
            if error.offset is None:
                raise ReadError(start, error.message) from None
            line, column = logical.location(error.offset)
            raise ReadError(line, error.message.replace("{where}", f"at column {column}")) from None
        heredocs = self._heredocs(logical)
        if heredocs:
            logical.heredocs = heredocs
            logical.end_line = self.position
        return logical

    def _heredocs(self, logical: LogicalLine) -> tuple[Heredoc, ...]:
        node = logical.node
        if node.keyword.upper() == "ONBUILD" and node.child is not None:
            node = node.child
        if node.keyword.upper() not in HEREDOC_KEYWORDS or node.json or "<<" not in logical.text:
            return ()
        markers = [marker for marker in map(heredoc_marker, lex_words(logical.text)) if marker]
        return tuple(self._heredoc_body(logical.line, *marker) for marker in markers)

    def _heredoc_body(self, start: int, name: str, strip_tabs: bool, expand: bool) -> Heredoc:
        body_line = self.position + 1
        content = []
        while self.position < len(self.lines):
            _, line = self._next()
            candidate = line.lstrip("\t") if strip_tabs else line
            if candidate == name:
                return Heredoc(name, "".join(content), body_line, strip_tabs, expand)
            content.append(line + "\n")
        raise ReadError(start, f"unterminated heredoc: no line with just {name!r} ends it")


def heredoc_marker(word: str) -> tuple[str, bool, bool] | None:
    """BuildKit's heredocFromMatch: (name, strip_tabs, expand) for a `<<NAME` word, else None."""
    match = _HEREDOC.fullmatch(word)
    if not match or not match.group(3):
        return None
    rest = match.group(3)
    plain = lex_words(rest, raw_quotes=False, raw_escapes=False)
    if len(plain) != 1:
        return None
    raw = lex_words(rest, raw_escapes=False)
    if len(raw) != 1:
        return None
    quotes_plain = plain[0].count("'") + plain[0].count('"')
    quotes_raw = raw[0].count("'") + raw[0].count('"')
    return plain[0], match.group(2) == "-", quotes_plain == quotes_raw
