"""How BuildKit cuts one logical Dockerfile line into a keyword, flags and arguments.

This follows moby/buildkit frontend/dockerfile/parser (split_command.go and line_parsers.go) step by step,
so the arguments come out exactly as BuildKit's parse tree has them (its `result` test files print them).
Two places are stricter than BuildKit, because BuildKit reads them byte by byte and so disagrees with any
reading of the text as characters:

- Builder flags (`--mount=...`) and the whitespace around them may only use plain ASCII. BuildKit splits
  flag words on the bytes 0x85 and 0xA0, which occur inside characters like a no-break space or `à`.
- The keyword and the type word of HEALTHCHECK are read the same way.

Failures raise WordError with the offset (in the logical line) of the character at fault.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field

from .dockerfile_expand import GO_SPACE_CHARS, GO_SPACES

# BuildKit's reWhitespace: the only characters that separate the keyword and whitespace-delimited lists.
SEPARATORS = "\t\v\f\r "
NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only"

# Which of BuildKit's line parsers reads each instruction's arguments.
LINE_PARSERS = {
    "ADD": "json_list",
    "ARG": "name_or_name_value",
    "CMD": "maybe_json",
    "COPY": "json_list",
    "ENTRYPOINT": "maybe_json",
    "ENV": "name_value",
    "EXPOSE": "whitespace_list",
    "FROM": "whitespace_list",
    "HEALTHCHECK": "health",
    "LABEL": "name_value",
    "MAINTAINER": "string",
    "ONBUILD": "sub_command",
    "RUN": "maybe_json",
    "SHELL": "maybe_json",
    "STOPSIGNAL": "string",
    "USER": "string",
    "VOLUME": "json_list",
    "WORKDIR": "string",
}


class WordError(ValueError):
    """The line cannot be read. `offset` is where in the logical line the problem is (or None).

    When `offset` is given, `message` holds the mark `{where}`, which the reader replaces with the column.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass
class Node:
    """One instruction as BuildKit's parser builds it.

    keyword: as written (BuildKit keeps the case; its dump prints it in lower case).
    flags: the flag words (`--from=build`) with quotes and backslashes already processed.
    args: the text after the keyword and flags, trimmed.
    values: the argument nodes (`Next` chain) in order, as BuildKit's line parser made them.
    json: the arguments were a JSON array.
    child: for ONBUILD, the instruction it registers.
    """

    keyword: str
    flags: list[str]
    args: str
    values: list[str] = field(default_factory=list)
    json: bool = False
    child: Node | None = None
    args_offset: int = 0
    rest: str = ""

    def dump(self) -> str:
        """The node as BuildKit's Node.Dump() prints it (one line of a `result` file, without parentheses)."""
        text = self.keyword.lower()
        if self.flags:
            text += " [" + " ".join(go_quote(flag) for flag in self.flags) + "]"
        if self.child is not None:
            text += " (" + self.child.dump() + ")"
        for value in self.values:
            text += " " + go_quote(value)
        return text.strip(" \t\n\v\f\r")


def go_quote(text: str) -> str:
    """Go's strconv.Quote: a double-quoted string with Go escapes for what is not printable."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_trim_space(text: str) -> str:
    """Go's strings.TrimSpace."""
    return text.strip(GO_SPACE_CHARS)


def describe_char(char: str) -> str:
    """A character named for a learner: `U+00A0 (NO-BREAK SPACE)`."""
    name = unicodedata.name(char, "")
    if not name:
        name = {"\t": "TAB", "\v": "VERTICAL TAB", "\f": "FORM FEED", "\r": "CARRIAGE RETURN"}.get(char, "")
    return f"U+{ord(char):04X}" + (f" ({name.lower()})" if name else "")


# --- Keyword and flags (split_command.go) --------------------------------------------------------------------


def split_line(line: str, escape: str, base: int = 0, *, nested: bool = False) -> Node:
    """Split a logical line into keyword, flags and arguments, then read the arguments as BuildKit does.

    `base` is the offset of `line` in the logical line, so errors point at the right column.
    """
    start = base + len(line) - len(line.lstrip(GO_SPACE_CHARS))
    trimmed = go_trim_space(line)
    end = 0
    while end < len(trimmed) and trimmed[end] not in SEPARATORS:
        end += 1
    keyword = trimmed[:end]
    _check_plain(keyword, start, "an instruction keyword")
    if nested and keyword.upper() == "ONBUILD":
        raise WordError("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    rest_start = end
    while rest_start < len(trimmed) and trimmed[rest_start] in SEPARATORS:
        rest_start += 1
    args, flags, consumed = extract_flags(trimmed[rest_start:], start + rest_start)
    leading = len(args) - len(args.lstrip(GO_SPACE_CHARS))
    node = Node(keyword, flags, go_trim_space(args), args_offset=start + rest_start + consumed + leading)
    node.rest = trimmed[rest_start:]
    read_arguments(node, escape)
    return node


def _check_plain(text: str, offset: int, what: str) -> None:
    for index, char in enumerate(text):
        if not (" " < char < "\x7f"):
            raise WordError(
                f"{what} may only use plain ASCII letters, digits and punctuation, but it has "
                f"{describe_char(char)} {{where}}; retype it with ordinary characters",
                offset + index,
            )


def extract_flags(line: str, offset: int = 0) -> tuple[str, list[str], int]:
    """BuildKit's extractBuilderFlags: the leading `--name=value` words and the text after them.

    BuildKit walks the bytes of the line, so flag words may only hold ASCII (see the module doc), and an
    unusual space between them is refused. Returns the remaining text, the flag words and how many
    characters of `line` the flags used.
    """
    words: list[str] = []
    position = 0
    length = len(line)
    while True:
        while position < length and line[position] in " \t":
            position += 1
        if position == length:
            return "", words, length
        if line[position] in GO_SPACES:
            raise WordError(
                f"{describe_char(line[position])} {{where}} is not an ordinary space, and BuildKit reads it "
                "differently from how it looks; use an ordinary space here",
                offset + position,
            )
        if not line.startswith("--", position):
            return line[position:], words, position
        word, blank_ok, position = _flag_word(line, position, offset)
        if word == "--":
            return line[position:], words, position
        if blank_ok or word:
            words.append(word)


def _check_flag_char(char: str, offset: int) -> None:
    if char not in " \t":
        _check_plain(char, offset, "a flag")


def _flag_word(line: str, position: int, offset: int) -> tuple[str, bool, int]:
    word: list[str] = []
    quote = ""
    blank_ok = False
    length = len(line)
    while position < length:
        char = line[position]
        _check_flag_char(char, offset + position)
        if not quote and char in " \t":
            break
        if not quote and char in "'\"":
            quote, blank_ok = char, True
        elif quote and char == quote:
            quote = ""
        elif char == "\\" and position + 1 == length:
            quote = ""
        elif char == "\\":
            position += 1
            char = line[position]
            _check_flag_char(char, offset + position)
            word.append(char)
        else:
            word.append(char)
        position += 1
    return "".join(word), blank_ok, position


# --- Arguments (line_parsers.go) -----------------------------------------------------------------------------


def read_arguments(node: Node, escape: str) -> None:
    """Fill node.values (and node.json, node.child) the way BuildKit's line parser for the keyword does."""
    kind = LINE_PARSERS.get(node.keyword.upper())
    rest = node.args
    if kind is None:
        node.values = [""]
    elif kind == "name_or_name_value":
        node.values = parse_words(rest, escape)
    elif kind == "name_value":
        node.values = _name_values(rest, node.keyword.upper(), escape)
    elif kind == "whitespace_list":
        node.values = split_on_separators(rest) if rest else []
    elif kind == "string":
        node.values = [rest] if rest else []
    elif kind == "maybe_json":
        _maybe_json(node, rest, to_list=False)
    elif kind == "json_list":
        _maybe_json(node, rest, to_list=True)
    elif kind == "health":
        _health(node, rest)
    elif rest:
        node.child = split_line(rest, escape, node.args_offset, nested=True)


def split_on_separators(text: str) -> list[str]:
    """Go's reWhitespace.Split(text, -1): split on runs of tab, VT, FF, CR and space."""
    parts: list[str] = []
    current: list[str] = []
    previous_separator = False
    for char in text:
        if char in SEPARATORS:
            if not previous_separator:
                parts.append("".join(current))
                current = []
            previous_separator = True
        else:
            current.append(char)
            previous_separator = False
    parts.append("".join(current))
    return parts


def parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords: split on unquoted whitespace, keeping quotes and escapes as written."""
    words: list[str] = []
    word: list[str] = []
    in_word = in_quote = False
    blank_ok = False
    quote = ""
    position = 0
    length = len(rest)
    while position < length:
        char = rest[position]
        if not in_word and not in_quote:
            if char in GO_SPACES:
                position += 1
                continue
            in_word = True
        if in_word:
            if char in GO_SPACES:
                in_word = False
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                position += 1
                continue
            if char in "'\"":
                quote = char
                blank_ok = True
                in_word, in_quote = False, True
            if char == escape and not in_quote:
                if position + 1 == length:
                    position += 1
                    continue
                word.append(char)
                position += 1
                char = rest[position]
            word.append(char)
            position += 1
            continue
        if char == quote:
            in_word, in_quote = True, False
        if char == escape and quote != "'":
            if position + 1 == length:
                in_word, in_quote = True, False
                position += 1
                continue
            position += 1
            word.append(char)
            char = rest[position]
        word.append(char)
        position += 1
    if (in_word or in_quote) and (blank_ok or word):
        words.append("".join(word))
    return words


def _name_values(rest: str, keyword: str, escape: str) -> list[str]:
    words = parse_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _split_once(rest)
        if len(parts) < 2:
            raise WordError(
                f"{keyword} {rest} has no value: write {keyword} {rest}=value. BuildKit refuses {keyword} with a "
                f"name alone ({keyword} must have two arguments)"
            )
        return parts
    values: list[str] = []
    for word in words:
        if "=" not in word:
            raise WordError(f"{keyword} needs NAME=value pairs, but {word!r} has no `=`")
        name, _, value = word.partition("=")
        values += [name, value]
    return values


def _split_once(text: str) -> list[str]:
    end = 0
    while end < len(text) and text[end] not in SEPARATORS:
        end += 1
    if end == len(text):
        return [text]
    start = end
    while start < len(text) and text[start] in SEPARATORS:
        start += 1
    return [text[:end], text[start:]]


def _maybe_json(node: Node, rest: str, *, to_list: bool) -> None:
    if not rest and not to_list:
        return
    values = parse_json_array(rest)
    if values is not None:
        node.values, node.json = values, True
    elif to_list:
        node.values = split_on_separators(rest) if rest else []
    else:
        node.values = [rest]


def _health(node: Node, rest: str) -> None:
    # BuildKit finds the type word byte by byte, so it and the space after it must be ASCII here.
    separator = 0
    while separator < len(rest) and rest[separator] not in " \t\n\v\f\r":
        _check_plain(rest[separator], node.args_offset + separator, "the HEALTHCHECK type")
        separator += 1
    if separator == 0:
        return
    following = separator
    while following < len(rest) and rest[following] in GO_SPACES:
        if not rest[following].isascii():
            _check_plain(rest[following], node.args_offset + following, "the space after the HEALTHCHECK type")
        following += 1
    command = Node(node.keyword, [], rest[following:])
    _maybe_json(command, rest[following:], to_list=False)
    node.values, node.json = [rest[:separator], *command.values], command.json


def parse_json_array(text: str) -> list[str] | None:
    """BuildKit's JSON-form test: the list of strings, or None when the text is shell form.

    Text that starts with `[` but is not valid JSON is shell form, as in BuildKit. A valid JSON array with
    something other than strings in it raises WordError, as BuildKit refuses it. Like Go's json.Decoder,
    only the first JSON value counts: text after the closing `]` is ignored.
    """
    text = text.lstrip(GO_SPACE_CHARS)
    if not text.startswith("["):
        return None
    try:
        value, _ = _DECODER.raw_decode(text)
    except RecursionError:
        # Arrays nested this deep are refused; BuildKit refuses nested arrays too.
        raise WordError(NOT_STRINGS) from None
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise WordError(NOT_STRINGS)
    return value


def _reject_constant(name: str) -> None:
    # Go's JSON has no NaN or Infinity; text with them is not JSON, so it is shell form.
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


# --- RUN --mount values ----------------------------------------------------------------------------------------


def split_csv(text: str) -> list[str] | None:
    """One record of Go's encoding/csv (as BuildKit reads --mount values), or None where Go refuses it."""
    if not text:
        return None
    fields: list[str] = []
    position = 0
    length = len(text)
    while True:
        if position < length and text[position] == '"':
            field_chars: list[str] = []
            position += 1
            while True:
                end = text.find('"', position)
                if end < 0:
                    return None
                field_chars.append(text[position:end])
                position = end + 1
                if position < length and text[position] == '"':
                    field_chars.append('"')
                    position += 1
                    continue
                break
            if position < length and text[position] != ",":
                return None
            fields.append("".join(field_chars))
        else:
            end = text.find(",", position)
            end = length if end < 0 else end
            if '"' in text[position:end]:
                return None
            fields.append(text[position:end])
            position = end
        if position >= length:
            return fields
        position += 1
