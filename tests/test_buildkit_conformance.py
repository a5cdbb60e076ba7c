"""sandbox.dockerfile reads BuildKit's own parser test files as BuildKit does.

The files are in tests/data/buildkit-parser (see its README for where they come from). For each positive
case, the parse tree printed the way BuildKit's Node.Dump() prints it must equal the `result` file, unless
the case is listed in DELIBERATE_REFUSALS with the reason the reader refuses it on purpose. Every negative
case must be refused, by the reader and by the build policy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.dockerfile import DockerfileSyntaxError, parse_nodes
from sandbox.files import SubmissionRejected
from sandbox.policy import check_dockerfile

DATA = Path(__file__).parent / "data" / "buildkit-parser"
POSITIVE = sorted(path.name for path in (DATA / "testfiles").iterdir())
NEGATIVE = sorted(path.name for path in (DATA / "testfiles-negative").iterdir())

# Cases the reader refuses on purpose, with the reason. None of the vendored cases needs one today; a case
# with a heredoc or a `# syntax=` line would be read the same, and refused by the build policy instead.
DELIBERATE_REFUSALS: dict[str, str] = {}


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def dump(text: str) -> str:
    # BuildKit's root Dump(): each child in parentheses on its own line.
    return "".join(f"({line.node.dump()})\n" for line in parse_nodes(text).lines)


def test_the_vendored_cases_are_there():
    assert len(POSITIVE) >= 10 and {"env", "flags", "json", "trailing-backslash", "escapes"} <= set(POSITIVE)
    assert NEGATIVE == ["env_no_value", "shykes-nested-json"]
    assert all((DATA / "testfiles" / name / "result").is_file() for name in POSITIVE)


@pytest.mark.parametrize("name", POSITIVE)
def test_positive_cases_read_as_buildkit_reads_them(name):
    text = read(DATA / "testfiles" / name / "Dockerfile")
    if name in DELIBERATE_REFUSALS:
        with pytest.raises(DockerfileSyntaxError):
            parse_nodes(text)
        return
    assert dump(text) == read(DATA / "testfiles" / name / "result")


@pytest.mark.parametrize("name", NEGATIVE)
def test_negative_cases_are_refused(name):
    text = read(DATA / "testfiles-negative" / name / "Dockerfile")
    with pytest.raises(DockerfileSyntaxError):
        parse_nodes(text)
    with pytest.raises(SubmissionRejected):
        check_dockerfile(text, ["busybox:latest"])


def test_env_without_a_value_is_refused_in_words():
    text = read(DATA / "testfiles-negative" / "env_no_value" / "Dockerfile")
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_nodes(text)
    assert caught.value.line == 3
    assert caught.value.message.startswith("ENV PATH has no value: write ENV PATH=value.")


def test_an_escaped_backslash_at_the_end_of_a_line_does_not_continue_it():
    text = read(DATA / "testfiles" / "trailing-backslash" / "Dockerfile")
    lines = parse_nodes(text).lines
    assert [(line.line, line.node.values) for line in lines[3:5]] == [
        (7, ["C", "trailing\\\\backslash\\\\"]),
        (8, ["D", "This should not be appended to C"]),
    ]


def test_nested_json_is_refused_with_buildkits_reason():
    text = read(DATA / "testfiles-negative" / "shykes-nested-json" / "Dockerfile")
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_nodes(text)
    assert caught.value.message == "when using JSON array syntax, arrays must be comprised of strings only"
