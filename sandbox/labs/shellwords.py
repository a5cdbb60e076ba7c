"""Reading `commands.sh`: one command per line, split into words as a POSIX shell would, minus its features.

A learner types the commands as in a terminal. Comments (`#`), blank lines and `\\` continuations are
allowed, and quoting works as in a shell ('single quotes' keep everything, "double quotes" keep everything
but `\\"` and `\\\\`). Anything a shell would treat specially outside quotes (pipes, `;`, `&&`, redirections,
substitutions, variables, wildcards, braces, `~`, history) is refused with the line and the reason, because
nothing here runs a shell: each command runs as a plain argument list.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_COMMANDS = 40
MAX_COMMAND_CHARS = 4000

# Characters a shell treats specially outside quotes, with the reason each is refused.
UNQUOTED_REFUSALS = {
    "|": "pipes (|) are not available: write one docker command per line, and read its output in the log",
    "&": "`&&` and `&` are not available: write each command on its own line; they run one after another",
    ";": "`;` is not available: write each command on its own line",
    "<": "redirections (< and >) are not available: each command's output is shown in the log",
    ">": "redirections (< and >) are not available: each command's output is shown in the log",
    "$": "variables and substitutions ($...) are not available: write the value itself",
    "`": "command substitution (`...`) is not available: write the value itself",
    "(": "subshells and parentheses are not available: put text with ( or ) in quotes",
    ")": "subshells and parentheses are not available: put text with ( or ) in quotes",
    "*": "wildcards (*, ? and [...]) are not available: put the text in quotes",
    "?": "wildcards (*, ? and [...]) are not available: put the text in quotes",
    "[": "wildcards (*, ? and [...]) are not available: put the text in quotes",
    "{": "braces are expanded by a shell: put templates in single quotes, such as '{{.State.Status}}'",
    "}": "braces are expanded by a shell: put templates in single quotes, such as '{{.State.Status}}'",
    "!": "history expansion (!) is not available: put the text in single quotes",
}
DOUBLE_QUOTED_REFUSALS = {
    "$": "variables and substitutions ($...) are not available, even in double quotes: write the value "
    "itself, or use single quotes",
    "`": "command substitution (`...`) is not available, even in double quotes: use single quotes",
}
# Inside double quotes a backslash escapes only these; before anything else it stays a backslash.
DOUBLE_QUOTE_ESCAPES = {'"', "\\"}
WHITESPACE = {" ", "\t"}


class CommandRefused(Exception):
    """A line of commands.sh that cannot run, with its line number and the reason in words."""

    def __init__(self, line: int, reason: str, text: str = "") -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason
        self.text = text

    @property
    def message(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class CommandLine:
    """One command: where it starts, its text as written (continuations joined) and its words."""

    line: int
    text: str
    words: list[str]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each command, continuation lines joined, comment and blank lines left out.

    A line that ends with a backslash (trailing spaces after it are forgiven) continues on the next one.
    """
    found: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.rstrip()
        if not parts:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = number
        if _ends_with_continuation(line):
            parts.append(line[:-1])
            continue
        parts.append(line)
        found.append((start, " ".join(part.strip() for part in parts)))
        parts = []
    if parts:
        found.append((start, " ".join(part.strip() for part in parts)))
    return found


def _ends_with_continuation(line: str) -> bool:
    # An odd number of backslashes at the end: the last one is not escaped by the one before it.
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def split_words(line: int, text: str) -> list[str]:
    """The words of one command, as a shell would split them; CommandRefused for any shell feature."""
    words: list[str] = []
    word: list[str] | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if char in WHITESPACE:
            if word is not None:
                words.append("".join(word))
                word = None
            index += 1
            continue
        if ord(char) < 32 or ord(char) == 127:
            raise CommandRefused(line, "the line holds a control character; write plain text", text)
        if char == "#" and word is None:
            break  # a comment runs to the end of the line
        if char == "~" and word is None:
            raise CommandRefused(line, "`~` (your home folder) does not exist here: write the path itself", text)
        if char in UNQUOTED_REFUSALS:
            raise CommandRefused(line, UNQUOTED_REFUSALS[char], text)
        word = word if word is not None else []
        if char == "'":
            end = text.find("'", index + 1)
            if end == -1:
                raise CommandRefused(line, "a single quote (') is not closed", text)
            word.append(text[index + 1 : end])
            index = end + 1
        elif char == '"':
            index = _double_quoted(line, text, index + 1, word)
        elif char == "\\":
            if index + 1 < len(text):
                word.append(text[index + 1])
            index += 2
        else:
            word.append(char)
            index += 1
    if word is not None:
        words.append("".join(word))
    return words


def _double_quoted(line: int, text: str, index: int, word: list[str]) -> int:
    """Read a double-quoted part starting after its opening quote; returns the index after the closing one."""
    while index < len(text):
        char = text[index]
        if char == '"':
            return index + 1
        if char in DOUBLE_QUOTED_REFUSALS:
            raise CommandRefused(line, DOUBLE_QUOTED_REFUSALS[char], text)
        if char == "\\" and index + 1 < len(text) and text[index + 1] in DOUBLE_QUOTE_ESCAPES:
            word.append(text[index + 1])
            index += 2
            continue
        word.append(char)
        index += 1
    raise CommandRefused(line, 'a double quote (") is not closed', text)


def read_commands(text: str) -> list[CommandLine]:
    """Every command of commands.sh, split into words. Raises CommandRefused at the first bad line."""
    commands = []
    for line, joined in logical_lines(text):
        if len(joined) > MAX_COMMAND_CHARS:
            raise CommandRefused(line, f"the command is longer than {MAX_COMMAND_CHARS} characters", joined)
        words = split_words(line, joined)
        if words:
            commands.append(CommandLine(line, joined, words))
    if len(commands) > MAX_COMMANDS:
        raise CommandRefused(
            commands[MAX_COMMANDS].line, f"a lab may have at most {MAX_COMMANDS} commands", commands[MAX_COMMANDS].text
        )
    return commands
