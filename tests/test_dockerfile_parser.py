"""sandbox.dockerfile: parsing Dockerfiles the way BuildKit does."""

from __future__ import annotations

import pytest

from sandbox.dockerfile import (
    DockerfileSyntaxError,
    expand_variables,
    host_platform,
    parse_arg_defaults,
    parse_dockerfile,
    parse_json_array,
    split_flag_words,
    split_words,
)


def syntax_error(text: str) -> DockerfileSyntaxError:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_dockerfile(text)
    return caught.value


def only(text: str, keyword: str):
    found = [i for i in parse_dockerfile(text).instructions if i.keyword == keyword]
    assert len(found) == 1
    return found[0]


# --- Basics -------------------------------------------------------------------------------------------------


def test_simple_dockerfile():
    parsed = parse_dockerfile('FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nCMD ["python", "app.py"]\n')
    assert [(i.line, i.keyword, i.args) for i in parsed.instructions] == [
        (1, "FROM", "python:3.11-slim"),
        (2, "WORKDIR", "/app"),
        (3, "COPY", ". ."),
        (4, "CMD", '["python", "app.py"]'),
    ]
    assert [i.stage for i in parsed.instructions] == [0, 0, 0, 0]
    assert parsed.instructions[3].json_args == ["python", "app.py"]
    assert parsed.stages[0].base == "python:3.11-slim" and parsed.stages[0].name is None


def test_keywords_are_case_insensitive():
    parsed = parse_dockerfile("from busybox\nrun echo hi\n")
    assert [i.keyword for i in parsed.instructions] == ["FROM", "RUN"]


def test_blank_lines_and_comments_are_skipped_but_count_for_line_numbers():
    parsed = parse_dockerfile("# a comment\n\nFROM busybox\n   # indented comment\n\nRUN true\n")
    assert [(i.line, i.keyword) for i in parsed.instructions] == [(3, "FROM"), (6, "RUN")]


def test_hash_inside_a_line_is_not_a_comment():
    assert only("FROM busybox\nRUN echo hi # not a comment\n", "RUN").args == "echo hi # not a comment"


def test_leading_whitespace_before_an_instruction_is_fine():
    assert only("FROM busybox\n    RUN true\n", "RUN").line == 2


def test_crlf_line_endings_and_a_byte_order_mark():
    parsed = parse_dockerfile("\ufeffFROM busybox\r\nRUN echo hi\r\n")
    assert [(i.keyword, i.args) for i in parsed.instructions] == [("FROM", "busybox"), ("RUN", "echo hi")]


def test_source_is_the_instruction_on_one_line():
    assert only("FROM busybox\nRUN --mount=type=cache,target=/c echo a \\\n b\n", "RUN").source == (
        "RUN --mount=type=cache,target=/c echo a  b"
    )


# --- Line continuations -------------------------------------------------------------------------------------


def test_continuations_are_joined_as_docker_joins_them():
    text = "FROM busybox\nRUN apt-get update && \\\n    apt-get install -y curl \\\n    && rm -rf /x\nUSER app\n"
    run = only(text, "RUN")
    assert run.args == "apt-get update &&     apt-get install -y curl     && rm -rf /x"
    assert (run.line, run.end_line) == (2, 4)
    assert only(text, "USER").line == 5


def test_whitespace_after_the_backslash_still_continues():
    assert only("FROM busybox\nRUN echo a \\   \n b\n", "RUN").args == "echo a  b"


def test_comments_and_blank_lines_inside_a_continuation_are_skipped():
    text = "FROM busybox\nRUN echo a \\\n  # a comment\n\n  b\n"
    run = only(text, "RUN")
    assert run.args == "echo a   b"
    assert run.end_line == 5


def test_continuation_on_the_last_line_is_accepted():
    run = only("FROM busybox\nRUN echo hi \\", "RUN")
    assert run.args == "echo hi"


def test_escape_directive_switches_to_backtick():
    text = "# escape=`\nFROM busybox\nRUN echo a `\n    b\nWORKDIR C:\\app\\\n"
    parsed = parse_dockerfile(text)
    assert parsed.escape == "`"
    assert only(text, "RUN").args == "echo a     b"
    # With a backtick escape, a trailing backslash is just a character.
    assert only(text, "WORKDIR").args == "C:\\app\\"


# --- Parser directives --------------------------------------------------------------------------------------


def test_directives_at_the_top_are_recorded():
    parsed = parse_dockerfile("# syntax=docker/dockerfile:1\n# escape=\\\nFROM busybox\n")
    assert parsed.directives == {"syntax": "docker/dockerfile:1", "escape": "\\"}


def test_directive_names_are_case_insensitive_and_spaces_allowed():
    assert parse_dockerfile("#  SYNTAX = docker/dockerfile:1.4\nFROM busybox\n").directives == {
        "syntax": "docker/dockerfile:1.4"
    }


def test_a_directive_after_a_blank_line_is_a_comment():
    assert parse_dockerfile("\n# syntax=docker/dockerfile:1\nFROM busybox\n").directives == {}


def test_a_directive_after_a_comment_is_a_comment():
    assert parse_dockerfile("# hello\n# escape=`\nFROM busybox\n").directives == {}


def test_a_directive_after_an_instruction_is_a_comment():
    assert parse_dockerfile("FROM busybox\n# syntax=x\n").directives == {}


def test_an_unknown_directive_ends_the_directive_block():
    assert parse_dockerfile("# foo=bar\n# escape=`\nFROM busybox\n").directives == {}


def test_a_directive_may_appear_only_once():
    error = syntax_error("# escape=`\n# escape=\\\nFROM busybox\n")
    assert error.line == 2 and "only one escape parser directive" in error.message


def test_an_invalid_escape_token_is_an_error():
    error = syntax_error("# escape=x\nFROM busybox\n")
    assert error.line == 1 and "invalid escape token" in error.message


# --- Heredocs -----------------------------------------------------------------------------------------------


def test_run_heredoc():
    text = "FROM busybox\nRUN <<EOF\necho one\n# not a comment here\n\necho two\nEOF\nUSER nobody\n"
    run = only(text, "RUN")
    assert (run.line, run.end_line) == (2, 7)
    assert run.args == "<<EOF"
    (heredoc,) = run.heredocs
    assert heredoc.name == "EOF" and heredoc.line == 3
    assert heredoc.content == "echo one\n# not a comment here\n\necho two\n"
    assert heredoc.expand and not heredoc.strip_tabs
    assert only(text, "USER").line == 8


def test_copy_heredoc_with_a_destination():
    copy = only("FROM busybox\nCOPY <<EOF /app/config.ini\n[main]\nx=1\nEOF\n", "COPY")
    assert copy.args == "<<EOF /app/config.ini"
    assert copy.heredocs[0].content == "[main]\nx=1\n"


def test_heredoc_with_dash_strips_tabs_from_the_terminator():
    run = only("FROM busybox\nRUN <<-END\n\techo hi\n\tEND\n", "RUN")
    assert run.heredocs[0].strip_tabs and run.heredocs[0].content == "\techo hi\n"


def test_quoted_heredoc_delimiter_turns_off_expansion():
    run = only("FROM busybox\nRUN <<'EOF'\necho $HOME\nEOF\n", "RUN")
    assert run.heredocs[0].name == "EOF" and not run.heredocs[0].expand


def test_two_heredocs_on_one_line_are_read_in_order():
    copy = only("FROM busybox\nCOPY <<A <<B /dest/\nfirst\nA\nsecond\nB\n", "COPY")
    assert [(h.name, h.content) for h in copy.heredocs] == [("A", "first\n"), ("B", "second\n")]
    assert copy.end_line == 6


def test_heredoc_with_a_command_before_it():
    run = only("FROM python:3.11-slim\nRUN python3 <<EOF\nprint('hi')\nEOF\n", "RUN")
    assert run.heredocs[0].content == "print('hi')\n"


def test_unterminated_heredoc_is_an_error_at_its_instruction():
    error = syntax_error("FROM busybox\nRUN <<EOF\necho hi\n")
    assert error.line == 2 and "unterminated heredoc" in error.message


def test_heredoc_markers_only_count_for_run_copy_and_add():
    cmd = only("FROM busybox\nCMD cat <<EOF\n", "CMD")
    assert cmd.heredocs == ()


def test_a_quoted_heredoc_marker_is_just_text():
    run = only("FROM busybox\nRUN echo '<<EOF'\n", "RUN")
    assert run.heredocs == ()


def test_an_append_redirect_is_not_a_heredoc():
    assert only("FROM busybox\nRUN echo a >>file\n", "RUN").heredocs == ()


# --- JSON (exec) form and shell form ------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["RUN", "CMD", "ENTRYPOINT"])
def test_exec_form(keyword):
    instruction = only(f'FROM busybox\n{keyword} ["sh", "-c", "echo hi"]\n', keyword)
    assert instruction.json_args == ["sh", "-c", "echo hi"]


@pytest.mark.parametrize("keyword", ["RUN", "CMD", "ENTRYPOINT"])
def test_shell_form_has_no_json_args(keyword):
    assert only(f"FROM busybox\n{keyword} echo hi\n", keyword).json_args is None


def test_invalid_json_starting_with_a_bracket_is_shell_form_like_docker():
    # Docker runs this with /bin/sh -c, which then fails with "[echo,: not found" (checked on 20.10).
    run = only("FROM busybox\nRUN [\"echo\", 'hi']\n", "RUN")
    assert run.json_args is None and run.args == "[\"echo\", 'hi']"


def test_unquoted_words_in_brackets_are_shell_form():
    assert only("FROM busybox\nCMD [python, app.py]\n", "CMD").json_args is None


def test_a_json_array_with_non_strings_is_an_error():
    error = syntax_error('FROM busybox\nCMD ["sleep", 10]\n')
    assert error.line == 2 and "comprised of strings only" in error.message


def test_text_after_the_json_array_is_ignored_like_go():
    assert only('FROM busybox\nCMD ["a"] trailing\n', "CMD").json_args == ["a"]


def test_empty_json_array():
    assert only("FROM busybox\nCMD []\n", "CMD").json_args == []


def test_copy_json_form():
    assert only('FROM busybox\nCOPY ["my file.txt", "/app/"]\n', "COPY").json_args == ["my file.txt", "/app/"]


def test_shell_requires_json():
    error = syntax_error("FROM busybox\nSHELL /bin/bash -c\n")
    assert error.line == 2 and "SHELL requires the arguments in JSON form" in error.message


def test_shell_json():
    assert only('FROM busybox\nSHELL ["/bin/sh", "-ec"]\n', "SHELL").json_args == ["/bin/sh", "-ec"]


def test_healthcheck_cmd_json_and_flags():
    health = only(
        'FROM busybox\nHEALTHCHECK --interval=5s --retries=3 CMD ["wget", "-q", "localhost"]\n', "HEALTHCHECK"
    )
    assert health.flags == {"interval": ["5s"], "retries": ["3"]}
    assert health.json_args == ["wget", "-q", "localhost"]


def test_healthcheck_shell_form_and_none():
    assert only("FROM busybox\nHEALTHCHECK CMD wget -q localhost || exit 1\n", "HEALTHCHECK").json_args is None
    assert only("FROM busybox\nHEALTHCHECK NONE\n", "HEALTHCHECK").args == "NONE"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("HEALTHCHECK NONE now", "NONE takes no arguments"),
        ("HEALTHCHECK curl localhost", "unknown type 'curl' in HEALTHCHECK"),
        ("HEALTHCHECK CMD", "needs a command"),
    ],
)
def test_healthcheck_errors(line, expected):
    assert expected in syntax_error(f"FROM busybox\n{line}\n").message


def test_parse_json_array_directly():
    assert parse_json_array('  ["a", "b"]') == ["a", "b"]
    assert parse_json_array("echo [x]") is None
    assert parse_json_array('{"a": 1}') is None
    assert parse_json_array("[not json") is None
    with pytest.raises(ValueError):
        parse_json_array("[1, 2]")


# --- Flags --------------------------------------------------------------------------------------------------


def test_copy_flags():
    copy = only('FROM busybox AS build\nFROM busybox\nCOPY --from=build --chown="app:app" --chmod=755 a b\n', "COPY")
    assert copy.flags == {"from": ["build"], "chown": ["app:app"], "chmod": ["755"]}
    assert copy.flag("from") == "build" and copy.args == "a b"


def test_repeated_mount_flags_keep_every_value():
    run = only(
        "FROM busybox\nRUN --mount=type=cache,target=/root/.cache --mount=type=bind,source=x,target=/x make\n", "RUN"
    )
    assert run.flag_values("mount") == ["type=cache,target=/root/.cache", "type=bind,source=x,target=/x"]
    assert run.flag("mount") == "type=bind,source=x,target=/x"
    assert run.flag("network") is None and run.flag_values("network") == []


def test_run_network_and_security_flags():
    run = only("FROM busybox\nRUN --network=none --security=sandbox true\n", "RUN")
    assert run.flags == {"network": ["none"], "security": ["sandbox"]}


def test_boolean_flag_without_a_value():
    assert only("FROM busybox\nCOPY --link a /a\n", "COPY").flags == {"link": [""]}


def test_flag_names_are_case_sensitive_like_buildkit():
    # BuildKit (and the sandbox's builder) answer "Unknown flag: FROM" for this.
    error = syntax_error("FROM busybox AS b\nFROM busybox\nCOPY --FROM=b a /a\n")
    assert error.line == 3 and error.message.startswith("unknown flag for COPY: --FROM (flag names are lower case")


def test_double_dash_ends_the_flags():
    copy = only("FROM busybox\nCOPY -- --weird-name /dst\n", "COPY")
    assert copy.flags == {} and copy.args == "--weird-name /dst"


def test_flags_stop_at_the_first_plain_word():
    run = only("FROM busybox\nRUN echo --network=host\n", "RUN")
    assert run.flags == {} and run.args == "echo --network=host"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("COPY --nope=1 a b", "unknown flag for COPY: --nope"),
        ("RUN --from=x true", "unknown flag for RUN: --from"),
        ("USER --chown=x app", "unknown flag for USER: --chown"),
        ("COPY --from a b", "missing a value on flag --from"),
        ("RUN --mount", "missing a value on flag --mount"),
    ],
)
def test_bad_flags(line, expected):
    error = syntax_error(f"FROM busybox\n{line}\n")
    assert error.line == 2 and expected in error.message


def test_split_flag_words():
    assert split_flag_words("--a=1 --b='x y' rest of it") == ("rest of it", ["--a=1", "--b=x y"])
    assert split_flag_words("--only=flags") == ("", ["--only=flags"])
    assert split_flag_words("no flags") == ("no flags", [])


# --- Stages -------------------------------------------------------------------------------------------------


def test_multi_stage():
    text = "FROM python:3.11-slim AS Build\nRUN pip wheel .\nFROM python:3.11-slim\nCOPY --from=build /w /w\n"
    parsed = parse_dockerfile(text)
    assert [(s.index, s.base, s.name, s.line) for s in parsed.stages] == [
        (0, "python:3.11-slim", "build", 1),
        (1, "python:3.11-slim", None, 3),
    ]
    assert [i.stage for i in parsed.instructions] == [0, 0, 1, 1]
    assert [i.keyword for i in parsed.stage_instructions(1)] == ["FROM", "COPY"]
    assert parsed.stage_named("BUILD").index == 0
    assert parsed.stage_named("nope") is None


def test_from_platform_flag():
    assert parse_dockerfile("FROM --platform=linux/amd64 busybox\n").stages[0].platform == "linux/amd64"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM busybox AS\n", "FROM requires either one or three arguments"),
        ("FROM busybox builder\n", "FROM requires either one or three arguments"),
        ("FROM busybox AS a b\n", "FROM requires either one or three arguments"),
        ("FROM busybox AS 1st\n", "invalid name for build stage: '1st'"),
        ("FROM busybox AS my/stage\n", "invalid name for build stage"),
    ],
)
def test_bad_from_lines(text, expected):
    error = syntax_error(text)
    assert error.line == 1 and expected in error.message


def test_duplicate_stage_names():
    error = syntax_error("FROM busybox AS app\nFROM busybox AS App\n")
    assert error.line == 2 and "duplicate stage name 'app'" in error.message


# --- ARG and FROM substitution ------------------------------------------------------------------------------


def test_global_args_and_resolved_base():
    text = 'ARG PYTHON=3.11\nARG VARIANT="slim"\nFROM python:${PYTHON}-$VARIANT\nARG LATE=1\n'
    parsed = parse_dockerfile(text)
    assert parsed.global_args == {"PYTHON": "3.11", "VARIANT": "slim"}
    assert parsed.instructions[0].stage == -1 and parsed.instructions[3].stage == 0
    assert parsed.resolved_base(parsed.stages[0]) == "python:3.11-slim"


def test_arg_without_default_leaves_from_unresolved():
    parsed = parse_dockerfile("ARG BASE\nFROM $BASE\n")
    assert parsed.global_args == {"BASE": None}
    assert parsed.resolved_base(parsed.stages[0]) is None


def test_default_in_from_substitution():
    parsed = parse_dockerfile("ARG BASE\nFROM ${BASE:-busybox:latest}\n")
    assert parsed.resolved_base(parsed.stages[0]) == "busybox:latest"


def test_undeclared_variable_is_unresolved():
    parsed = parse_dockerfile("FROM ${NOPE}\n")
    assert parsed.resolved_base(parsed.stages[0]) is None


def test_platform_args_are_known_in_from():
    parsed = parse_dockerfile("FROM --platform=$BUILDPLATFORM busybox\n")
    assert parsed.resolve(parsed.stages[0].platform) == host_platform()


def test_args_may_use_earlier_args():
    assert parse_arg_defaults("B=${A}-x C", {"A": "1"}) == {"B": "1-x", "C": None}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$A", "a"),
        ("${A}", "a"),
        ("x${A}y", "xay"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET+alt}", ""),
        ("'$A'", "$A"),
        ('"$A"', "a"),
        ("\\$A", "$A"),
        ("$", "$"),
        ("${A:?oops}", "a"),
        ("${UNSET:?oops}", None),
        ("${A#prefix}", None),
        ("$UNSET", None),
        ("${UNSET}", None),
    ],
)
def test_expand_variables(word, expected):
    assert expand_variables(word, {"A": "a", "EMPTY": ""}) == expected


def test_expand_variables_not_strict_uses_empty_strings():
    assert expand_variables("x$UNSET", {}, strict=False) == "x"


def test_split_words_keeps_quotes():
    assert split_words("a 'b c' \"d e\" f\\ g") == ["a", "'b c'", '"d e"', "f\\ g"]


# --- Structure errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "# syntax=x\n"])
def test_empty_dockerfile(text):
    error = syntax_error(text)
    assert error.line == 1 and "empty" in error.message


def test_only_args_means_no_from():
    assert "no FROM" in syntax_error("ARG A=1\n").message


def test_instruction_before_from():
    error = syntax_error("# hi\nRUN echo hi\nFROM busybox\n")
    assert error.line == 2 and "RUN comes before the first FROM" in error.message


def test_unknown_instruction():
    error = syntax_error("FROM busybox\n\nFOO bar\n")
    assert error.line == 3 and error.message == "unknown instruction: FOO"
    assert str(error) == "line 3: unknown instruction: FOO"


def test_a_heredoc_body_under_an_old_parser_would_be_unknown_instructions_but_not_here():
    # BuildKit's built-in 20.10 frontend reports "unknown instruction: ECHO" for this; the current syntax
    # (and this parser) reads it as a heredoc. The build policy refuses heredocs for that reason.
    run = only("FROM busybox\nRUN <<EOF\necho hi\nEOF\n", "RUN")
    assert run.heredocs[0].content == "echo hi\n"


@pytest.mark.parametrize("keyword", ["RUN", "COPY", "WORKDIR", "USER", "ENV", "CMD", "EXPOSE"])
def test_instructions_need_arguments(keyword):
    error = syntax_error(f"FROM busybox\n{keyword}\n")
    assert error.line == 2 and f"{keyword} requires at least one argument" in error.message


def test_flags_without_arguments_are_not_enough():
    assert "requires at least one argument" in syntax_error("FROM busybox\nRUN --network=none\n").message


# --- ONBUILD ------------------------------------------------------------------------------------------------


def test_onbuild_trigger_is_parsed():
    onbuild = only("FROM busybox\nONBUILD RUN --mount=type=cache,target=/c make\n", "ONBUILD")
    assert onbuild.trigger.keyword == "RUN"
    assert onbuild.trigger.flag("mount") == "type=cache,target=/c"
    assert onbuild.trigger.line == 2 and onbuild.trigger.stage == 0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ONBUILD ONBUILD RUN x", "ONBUILD ONBUILD"),
        ("ONBUILD FROM busybox", "FROM isn't allowed as an ONBUILD trigger"),
        ("ONBUILD MAINTAINER me", "MAINTAINER isn't allowed"),
        ("ONBUILD FOO bar", "unknown instruction: FOO"),
    ],
)
def test_bad_onbuild_triggers(line, expected):
    assert expected in syntax_error(f"FROM busybox\n{line}\n").message
