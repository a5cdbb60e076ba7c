"""Reading a docker subcommand's words the way the docker CLI (cobra and pflag) reads them.

`--name web`, `--name=web`, `-e A=1`, `-eA=1`, `-dit` (bundled short flags) and `--` all work as in the
CLI. Only the flags a table names are known; anything else is refused by the caller, so a flag this module
does not understand can never slip through.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class FlagError(Exception):
    """A flag that cannot be read (unknown, or missing its value); the message says why in words."""


@dataclass(frozen=True)
class FlagTable:
    """The flags of one subcommand: canonical long name → its short alias, and which take a value."""

    values: dict[str, str] = field(default_factory=dict)  # --name: "" (no short form), --env: "-e"
    switches: dict[str, str] = field(default_factory=dict)  # --detach: "-d"
    # With interspersed False (docker run, create, exec), flags end at the first argument: the rest is the
    # container's command and belongs to it.
    interspersed: bool = True

    def canonical(self, word: str) -> tuple[str, bool] | None:
        """(canonical long name, takes a value) of a flag spelled `--long` or `-s`, or None if unknown."""
        for table, takes_value in ((self.values, True), (self.switches, False)):
            for long, short in table.items():
                if word == long or (short and word == short):
                    return long, takes_value
        return None


@dataclass
class ParsedArgs:
    """Flags in the order given (canonical name, value; switches get "true" or their =value) and arguments."""

    flags: list[tuple[str, str]] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [value for flag, value in self.flags if flag == name]

    def has(self, name: str) -> bool:
        return any(flag == name and value.lower() != "false" for flag, value in self.flags)


def parse_args(words: list[str], table: FlagTable, known_elsewhere: dict[str, str]) -> ParsedArgs:
    """Split a subcommand's words into flags and arguments.

    `known_elsewhere` maps flags that are refused to the reason why; they are reported with that reason
    instead of as unknown. Raises FlagError for a flag the table does not know.
    """
    parsed = ParsedArgs()
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word == "--":
            parsed.arguments += words[index:]
            break
        if not word.startswith("-") or word == "-":
            parsed.arguments.append(word)
            if not table.interspersed:
                parsed.arguments += words[index:]
                break
            continue
        if word.startswith("--"):
            index = _long_flag(word, words, index, table, known_elsewhere, parsed)
        else:
            index = _short_flags(word, words, index, table, known_elsewhere, parsed)
    return parsed


def _long_flag(
    word: str, words: list[str], index: int, table: FlagTable, refused: dict[str, str], parsed: ParsedArgs
) -> int:
    name, has_value, value = word.partition("=")
    found = _known(name, table, refused)
    long, takes_value = found
    if takes_value and not has_value:
        if index >= len(words):
            raise FlagError(f"{name} needs a value")
        value, index = words[index], index + 1
    elif not takes_value:
        value = value if has_value else "true"
    parsed.flags.append((long, value))
    return index


def _short_flags(
    word: str, words: list[str], index: int, table: FlagTable, refused: dict[str, str], parsed: ParsedArgs
) -> int:
    letters = word[1:]
    position = 0
    while position < len(letters):
        flag = "-" + letters[position]
        long, takes_value = _known(flag, table, refused)
        position += 1
        if not takes_value:
            if letters[position : position + 1] == "=":
                parsed.flags.append((long, letters[position + 1 :]))
                return index
            parsed.flags.append((long, "true"))
            continue
        # A short flag that takes a value takes the rest of the word (`-eA=1`, `-p=80`) or the next word.
        rest = letters[position:].removeprefix("=")
        if rest:
            parsed.flags.append((long, rest))
            return index
        if index >= len(words):
            raise FlagError(f"{flag} needs a value")
        parsed.flags.append((long, words[index]))
        return index + 1
    return index


def _known(flag: str, table: FlagTable, refused: dict[str, str]) -> tuple[str, bool]:
    found = table.canonical(flag)
    if found is not None:
        return found
    if flag in refused:
        raise FlagError(refused[flag])
    raise FlagError(f"{flag} is not a flag this lab allows here")
