"""Variable expansion as BuildKit's shell lexer does it (moby/buildkit, frontend/dockerfile/shell/lex.go).

BuildKit expands `$NAME` and `${NAME...}` in the words of ADD, COPY, ENV, ARG, LABEL, WORKDIR, USER,
EXPOSE, VOLUME, STOPSIGNAL and FROM (FROM with the ARGs before the first FROM only). This module does the
same, character for character, with three differences that keep the parser safe on any input:

- One expansion may produce at most `limit` characters (counting text it builds and then throws away,
  like the unused word of `${A:+word}`); past that it stops with an ExpansionError. So a doubling chain
  (`ARG A=$A$A`) is refused at 64 KiB instead of growing to gigabytes.
- `${A:-${B:-...}}` may nest at most MAX_NESTING deep.
- The pattern forms `${A#p}`, `${A%p}` and `${A/p/r}` are refused: the sandbox's builder does not know them.

A variable the Dockerfile does not set may still come from the base image's configuration, which the
parser cannot see. Such names are collected in `Expanded.unknown` so the build policy can refuse words
whose value it cannot know.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Go's unicode.IsSpace, which BuildKit uses to split words (Python's str.isspace() is wider).
GO_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
GO_SPACE_CHARS = "".join(sorted(GO_SPACES))
SPECIAL_PARAMETERS = frozenset("@*#?-$!0")
MAX_VALUE_CHARS = 64 * 1024
MAX_TOTAL_CHARS = 256 * 1024
MAX_NESTING = 16
_EOF = ""


class ExpansionError(Exception):
    """A word cannot be expanded. `message` says why, in words a learner can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LimitExceeded(ExpansionError):
    """An expansion would produce more text than it may."""


@dataclass(frozen=True)
class Expanded:
    """The result of expanding one word.

    unknown: the variables the word used that the Dockerfile does not set; their value (if any) comes from
        the base image, so `value` is only what the word gives when they are unset.
    missing: the variables used bare (`$A`, `${A}`) that have no value.
    """

    value: str
    unknown: frozenset[str] = frozenset()
    missing: frozenset[str] = frozenset()


@dataclass
class Scope:
    """The variables in force at one point of a Dockerfile.

    values: name → value for every variable set (an ARG without a value is not set).
    complete: True when no other variable can be set (a variable missing here is unset); False when the
        base image may set more.
    """

    values: dict[str, str] = field(default_factory=dict)
    complete: bool = True

    def copy(self) -> Scope:
        return Scope(dict(self.values), self.complete)


class Budget:
    """How many characters all expansions in one Dockerfile may still produce together."""

    def __init__(self, total: int = MAX_TOTAL_CHARS) -> None:
        self.total = total
        self.used = 0

    @property
    def remaining(self) -> int:
        return max(self.total - self.used, 0)

    def limit(self) -> int:
        return min(MAX_VALUE_CHARS, self.remaining)

    def charge(self, produced: int) -> None:
        self.used += produced


def expand_word(
    word: str,
    scope: Scope,
    escape: str = "\\",
    *,
    limit: int = MAX_VALUE_CHARS,
    budget: Budget | None = None,
) -> Expanded:
    """Expand one word as BuildKit's ProcessWord does (quotes removed, variables substituted).

    Raises ExpansionError for what BuildKit refuses (`${}`, a missing `}`, an unterminated quote) and for
    what the sandbox refuses (too much text, too deep, pattern forms). With a `budget`, the text produced
    is charged to it and the limit is also what the budget has left.
    """
    if budget is not None:
        limit = min(limit, budget.limit())
    lexer = _Lexer(word, scope, escape, limit=limit, total_limit=budget is not None and limit < MAX_VALUE_CHARS)
    try:
        value, _ = lexer.process()
    finally:
        if budget is not None:
            budget.charge(lexer.produced)
    return Expanded(value, frozenset(lexer.unknown), frozenset(lexer.missing))


def lex_words(text: str, *, raw_quotes: bool = True, raw_escapes: bool = True) -> list[str]:
    """BuildKit's ProcessWords with a backslash escape and unset variables left as written.

    This is how BuildKit finds heredoc markers (`<<EOF`) on a RUN, COPY or ADD line (raw quotes and escapes)
    and names them. Returns [] when the text cannot be lexed (BuildKit then finds no heredoc either).
    """
    lexer = _Lexer(
        text, Scope(), "\\", raw_quotes=raw_quotes, raw_escapes=raw_escapes, skip_unset=True, want_words=True
    )
    try:
        _, words = lexer.process()
    except ExpansionError:
        return []
    return words


def remove_quotes(word: str, escape: str = "\\") -> str:
    """Remove quotes and escapes from one word as BuildKit's lexer does, leaving `$` alone."""
    lexer = _Lexer(word, Scope(), escape, expand=False)
    try:
        value, _ = lexer.process()
    except ExpansionError:
        return word
    return value


class _Words:
    """BuildKit's wordsStruct: splits the lexed text into words on unquoted whitespace."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.current: list[str] = []
        self.in_word = False

    def add_char(self, char: str) -> None:
        if char in GO_SPACES:
            if self.in_word and self.current:
                self.words.append("".join(self.current))
                self.current = []
                self.in_word = False
        else:
            self.add_raw(char)

    def add_raw(self, text: str) -> None:
        self.current.append(text)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for char in text:
            self.add_char(char)

    def result(self) -> list[str]:
        if self.current:
            self.words.append("".join(self.current))
            self.current = []
            self.in_word = False
        return self.words


class _Lexer:
    def __init__(
        self,
        word: str,
        scope: Scope,
        escape: str,
        *,
        limit: int = MAX_VALUE_CHARS,
        total_limit: bool = False,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_unset: bool = False,
        expand: bool = True,
        want_words: bool = False,
    ) -> None:
        self.text = word
        self.want_words = want_words
        self.position = 0
        self.scope = scope
        self.escape = escape
        self.limit = limit
        self.total_limit = total_limit
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset
        self.expand = expand
        self.depth = 0
        self.produced = 0
        self.unknown: set[str] = set()
        # Names used bare ($A, ${A}) that have no value: FROM refuses those.
        self.missing: set[str] = set()

    # --- Reading characters -----------------------------------------------------------------------------

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else _EOF

    def next(self) -> str:
        char = self.peek()
        if char:
            self.position += 1
        return char

    def grow(self, amount: int) -> None:
        # Every character produced counts, kept or not, so no input can make the lexer do unbounded work.
        self.produced += amount
        if self.produced > self.limit:
            if self.total_limit:
                raise LimitExceeded(
                    f"its variables expand to too much text: all expanded values in one Dockerfile may hold "
                    f"{MAX_TOTAL_CHARS // 1024} KiB together"
                )
            raise LimitExceeded(
                f"its variables expand to more than {MAX_VALUE_CHARS // 1024} KiB of text, which the sandbox "
                "refuses (a variable that doubles itself on every line grows without end)"
            )

    # --- BuildKit's processStopOn -----------------------------------------------------------------------

    def process(self) -> tuple[str, list[str]]:
        return self.process_until(_EOF, self.raw_escapes)

    def process_until(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while self.peek():
            char = self.peek()
            if stop and char == stop:
                self.next()
                return "".join(result), words.result()
            if char == "$" and self.expand:
                text = self.dollar()
                self.grow(len(text))
                result.append(text)
                words.add_string(text)
            elif char in "'\"":
                text = self.single_quoted() if char == "'" else self.double_quoted(raw_escapes)
                self.grow(len(text))
                result.append(text)
                words.add_raw(text)
            elif not self.want_words and char != self.escape:
                # A run of ordinary characters is copied in one step (the common case).
                end = self.plain_run_end(stop)
                self.grow(end - self.position)
                result.append(self.text[self.position : end])
                self.position = end
            else:
                char = self.next()
                if char == self.escape:
                    if raw_escapes:
                        words.add_raw(char)
                        result.append(char)
                    char = self.next()
                    if not char:
                        break
                    words.add_raw(char)
                else:
                    words.add_char(char)
                self.grow(1)
                result.append(char)
        if stop:
            raise ExpansionError(f"a `{stop}` is missing")
        return "".join(result), words.result()

    def plain_run_end(self, stop: str) -> int:
        specials = "$'\"" + self.escape + stop
        end = self.position + 1
        while end < len(self.text) and self.text[end] not in specials:
            end += 1
        return end

    def single_quoted(self) -> str:
        start = self.position
        self.next()
        end = self.text.find("'", self.position)
        if end < 0:
            raise ExpansionError("a single quote (') is not closed")
        self.position = end + 1
        return self.text[start : end + 1] if self.raw_quotes else self.text[start + 1 : end]

    def double_quoted(self, raw_escapes: bool) -> str:
        result: list[str] = []
        opening = self.next()
        if self.raw_quotes:
            result.append(opening)
        while True:
            char = self.peek()
            if not char:
                raise ExpansionError('a double quote (") is not closed')
            if char == '"':
                self.next()
                if self.raw_quotes:
                    result.append(char)
                return "".join(result)
            if char == "$" and self.expand:
                text = self.dollar()
                self.grow(len(text))
                result.append(text)
                continue
            char = self.next()
            if char == self.escape:
                if raw_escapes:
                    result.append(char)
                following = self.peek()
                if not following:
                    continue
                if following in ('"', "$", self.escape):
                    char = self.next()
            self.grow(1)
            result.append(char)

    # --- BuildKit's processDollar -----------------------------------------------------------------------

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value = self.lookup(name)
            if value is None:
                self.missing.add(name)
                return "$" + name if self.skip_unset else ""
            return value
        self.next()
        char = self.peek()
        if not char:
            raise ExpansionError("a `}` is missing")
        if char in "{}:":
            raise ExpansionError("bad substitution: `${` must be followed by a variable name")
        name = self.name()
        char = self.next()
        if not char:
            raise ExpansionError("a `}` is missing")
        if char == "}":
            value = self.lookup(name)
            if value is None:
                self.missing.add(name)
                return "${" + name + "}" if self.skip_unset else ""
            return value
        if char in ("/", "#", "%") or (char == ":" and self.peek() in ("#", "%")):
            raise ExpansionError(
                f"the form ${{{name}{char}...}} is not supported by the sandbox's builder; use ${{{name}}}, "
                f"${{{name}:-default}} or ${{{name}:+value}}"
            )
        null_is_unset = char == ":"
        operator = self.next() if null_is_unset else char
        if operator not in ("-", "+", "?"):
            shown = (":" if null_is_unset else "") + operator
            raise ExpansionError(f"unsupported modifier ({shown}) in ${{{name}...}}")
        word = self.nested_word()
        value = self.lookup(name)
        if self.skip_unset and value is None:
            return "${" + name + (":" if null_is_unset else "") + operator + word + "}"
        is_set = value is not None and not (null_is_unset and value == "")
        if operator == "-":
            return value if is_set else word
        if operator == "+":
            return word if is_set else ""
        if value is None and name in self.unknown:
            # Set or not depends on the base image: BuildKit may stop here; the value is unknown either way.
            return ""
        if not is_set:
            raise ExpansionError(f"{name}: {word or 'is not allowed to be unset or empty'}")
        return value or ""

    def nested_word(self) -> str:
        if self.depth >= MAX_NESTING:
            raise ExpansionError(f"variables are nested more than {MAX_NESTING} deep")
        self.depth += 1
        try:
            word, _ = self.process_until("}", False)
        finally:
            self.depth -= 1
        return word

    def name(self) -> str:
        char = self.peek()
        if not char:
            return ""
        if char.isdecimal():
            start = self.position
            while self.peek() and self.peek().isdecimal():
                self.next()
            return self.text[start : self.position]
        if char in SPECIAL_PARAMETERS:
            return self.next()
        start = self.position
        while self.peek() and (self.peek().isalpha() or self.peek().isdecimal() or self.peek() == "_"):
            self.next()
        return self.text[start : self.position]

    def lookup(self, name: str) -> str | None:
        value = self.scope.values.get(name)
        if value is None and not self.scope.complete:
            self.unknown.add(name)
        return value


__all__ = [
    "GO_SPACES",
    "GO_SPACE_CHARS",
    "MAX_NESTING",
    "MAX_TOTAL_CHARS",
    "MAX_VALUE_CHARS",
    "Budget",
    "Expanded",
    "ExpansionError",
    "LimitExceeded",
    "Scope",
    "expand_word",
    "lex_words",
    "remove_quotes",
]
