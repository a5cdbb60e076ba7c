"""sandbox.policy: what the sandbox refuses to build, with the line and a reason a learner can act on."""

from __future__ import annotations

import time

import pytest

from sandbox.dockerfile import host_platform
from sandbox.files import SubmissionRejected
from sandbox.policy import check_dockerfile, normalize_image_ref, parse_mount

# The same spellings sandbox.catalog.catalog_names() gives for the default catalog.
CATALOG = [
    "busybox:latest",
    "docker.io/library/busybox:latest",
    "busybox",
    "docker.io/library/busybox",
    "debian:bookworm-slim",
    "docker.io/library/debian:bookworm-slim",
    "python:3.11-slim",
    "docker.io/library/python:3.11-slim",
]


def refused(text: str) -> str:
    with pytest.raises(SubmissionRejected) as caught:
        check_dockerfile(text, CATALOG)
    return caught.value.message


def accepted(text: str) -> None:
    check_dockerfile(text, CATALOG)


# --- Accepted -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
        "FROM busybox\n",
        "FROM busybox:latest\n",
        "FROM docker.io/library/busybox:latest\n",
        "FROM library/busybox\n",
        "FROM scratch\nCOPY app /app\n",
        "FROM debian:bookworm-slim AS base\nFROM base AS build\nFROM build\n",
        "FROM python:3.11-slim AS build\nRUN true\nFROM python:3.11-slim\nCOPY --from=build /a /a\n",
        "FROM busybox AS one\nFROM busybox\nCOPY --from=0 /bin/sh /sh\n",
        "FROM busybox\nCOPY --from=python:3.11-slim /usr/bin/python3 /py\n",
        "ARG VERSION=3.11\nFROM python:${VERSION}-slim\n",
        "ARG BASE=busybox\nFROM $BASE AS b\nFROM b\n",
        "ARG BASE\nFROM ${BASE:-busybox}\n",
        "FROM --platform=$BUILDPLATFORM busybox\n",
        "FROM --platform=${BUILDPLATFORM} busybox\n",
        "FROM --platform=$TARGETPLATFORM busybox\n",
        f"FROM --platform={host_platform()} busybox\n",
        "FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n",
        "FROM busybox\nRUN --mount=type=tmpfs,target=/tmp true\n",
        "FROM busybox AS b\nFROM busybox\nRUN --mount=type=bind,from=b,source=/x,target=/x true\n",
        "FROM busybox\nRUN --network=none true\n",
        "FROM busybox\nRUN --network=default true\n",
        "FROM busybox\nRUN --security=sandbox true\n",
        "FROM busybox\nADD app.tar.gz /app/\n",
        'FROM busybox\nADD ["a file.txt", "/app/"]\n',
        "FROM busybox\nCOPY https.txt /x\n",
        "FROM busybox\nRUN echo 'ADD http://example.com'\n",
        "# escape=`\nFROM busybox\nRUN echo a `\n  b\n",
        "# check=skip=all\nFROM busybox\n",
        "FROM busybox\n# syntax=docker/dockerfile:1\nRUN true\n",
        "\n# syntax=docker/dockerfile:1\nFROM busybox\n",
        "FROM busybox\nRUN echo '<<EOF'\n",
    ],
)
def test_accepted(text):
    accepted(text)


# --- # syntax= directives -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# syntax=docker/dockerfile:1\nFROM busybox\n", 1),
        ("#syntax=docker/dockerfile:1.4\nFROM busybox\n", 1),
        ("# SYNTAX = evil/frontend\nFROM busybox\n", 1),
        ("# escape=`\n# syntax=docker/dockerfile:1\nFROM busybox\n", 2),
        ("\ufeff# syntax=docker/dockerfile:1\nFROM busybox\n", 1),
        # Docker 20.10 keeps reading directive-shaped lines past an unknown one.
        ("# foo=bar\n# syntax=docker/dockerfile:1\nFROM busybox\n", 2),
        ("  # syntax=docker/dockerfile:1\nFROM busybox\n", 1),
    ],
)
def test_syntax_directives_are_refused(text, line):
    message = refused(text)
    assert message.startswith(f"line {line}: `# syntax=` directives are not allowed")
    assert "Remove this line" in message


# --- RUN flags ----------------------------------------------------------------------------------------------


def test_run_network_host_is_refused():
    message = refused("FROM busybox\nRUN --network=host wget http://example.com\n")
    assert message.startswith("line 2: RUN --network=host is not allowed")
    assert "never have a network" in message


@pytest.mark.parametrize("network", ["HOST", "bridge", "mynet", ""])
def test_any_other_network_is_refused(network):
    assert refused(f"FROM busybox\nRUN --network={network} true\n").startswith(f"line 2: RUN --network={network} ")


def test_security_insecure_is_refused():
    message = refused("FROM busybox\nRUN --security=insecure mount -t proc proc /proc\n")
    assert message.startswith("line 2: RUN --security=insecure is not allowed")


def test_secret_mounts_are_refused_kindly_when_the_exercise_gives_no_secrets():
    message = refused("FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token\n")
    assert message.startswith("line 2: secret mounts (--mount=type=secret) are not available in this exercise")
    assert "secrets lesson" in message and "do not bake a secret in" in message


@pytest.mark.parametrize(
    "mount",
    [
        "type=secret,id=index_token",
        "type=secret,id=index_token,required=true",
        "type=secret,target=/run/secrets/index_token",
        "type=secret,dst=/tmp/index_token,mode=0400",
        "id=index_token,type=SECRET",
    ],
)
def test_a_secret_mount_of_a_secret_the_exercise_declares_is_accepted(mount):
    check_dockerfile(f"FROM busybox\nRUN --mount={mount} wc -c /run/secrets/index_token\n", CATALOG, {"index_token"})


@pytest.mark.parametrize(
    "mount",
    ["type=secret,id=api_token", "type=secret,target=/run/secrets/other", "type=secret,id=index_token/x"],
)
def test_a_secret_mount_of_any_other_secret_is_refused_with_the_ones_offered(mount):
    with pytest.raises(SubmissionRejected) as caught:
        check_dockerfile(f"FROM busybox\nRUN --mount={mount} true\n", CATALOG, {"index_token"})
    assert caught.value.message.startswith("line 2: this build has no secret `")
    assert "the exercise gives it `index_token`" in caught.value.message


def test_a_secret_mount_that_names_no_secret_or_a_variable_is_refused():
    with pytest.raises(SubmissionRejected, match="needs id=NAME"):
        check_dockerfile("FROM busybox\nRUN --mount=type=secret true\n", CATALOG, {"index_token"})
    with pytest.raises(SubmissionRejected, match=r"uses \$NAME"):
        check_dockerfile("FROM busybox\nRUN --mount=type=secret,id=$NAME true\n", CATALOG, {"index_token"})


def test_secret_mount_type_is_case_insensitive_and_order_free():
    assert "secret mounts" in refused("FROM busybox\nRUN --mount=id=t,TYPE=Secret true\n")


def test_ssh_mounts_are_refused():
    message = refused("FROM busybox\nRUN --mount=type=ssh git clone git@github.com:x/y\n")
    assert message.startswith("line 2: SSH agent mounts (--mount=type=ssh) are not available")


def test_a_refused_mount_among_allowed_ones_is_found():
    text = "FROM busybox\nRUN --mount=type=cache,target=/c \\\n    --mount=type=secret,id=x true\n"
    assert refused(text).startswith("line 2: secret mounts")


def test_mount_from_an_unknown_image_is_refused():
    message = refused("FROM busybox\nRUN --mount=type=bind,from=alpine,target=/a true\n")
    assert message.startswith("line 2: --from=alpine is neither an earlier build stage nor an image")


# --- ADD ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "https://example.com/app.tar.gz",
        "http://example.com/x",
        "HTTPS://EXAMPLE.COM/X",
        "git@github.com:moby/buildkit.git",
        "git://example.com/repo.git",
        "github.com/moby/buildkit",
        "ftp://example.com/file",
        "s3://bucket/key",
    ],
)
def test_add_from_the_network_is_refused(source):
    message = refused(f"FROM busybox\nADD {source} /app/\n")
    assert message.startswith(f"line 2: ADD {source} would download from the network")
    assert "COPY it instead" in message


def test_add_url_in_json_form_is_refused():
    assert "would download" in refused('FROM busybox\nADD ["https://example.com/x", "/x"]\n')


def test_add_url_among_local_sources_is_refused():
    assert "would download" in refused("FROM busybox\nADD local.txt https://example.com/x /dst/\n")


def test_add_url_with_flags_is_refused():
    assert "would download" in refused("FROM busybox\nADD --chown=1:1 --checksum=sha256:abc https://e.com/x /x\n")


# --- FROM ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["alpine", "alpine:3.19", "python:3.12-slim", "ubuntu", "nginx:latest", "python"])
def test_base_images_outside_the_catalog_are_refused_with_the_list(image):
    message = refused(f"FROM {image}\n")
    assert message == (
        f"line 1: the base image '{image}' is not available in the sandbox. Available base images: "
        "busybox:latest, debian:bookworm-slim, python:3.11-slim (and scratch)."
    )


def test_other_registries_are_refused():
    assert "not available" in refused("FROM ghcr.io/library/busybox:latest\n")


def test_digests_are_refused():
    assert "not available" in refused("FROM busybox@sha256:" + "a" * 64 + "\n")


def test_the_failing_from_line_is_named_in_a_multi_stage_build():
    assert refused("FROM busybox AS one\nRUN true\nFROM node:20\n").startswith("line 3: the base image 'node:20'")


def test_a_later_stage_is_not_an_earlier_one():
    # FROM can only use stages defined above it; anything else would be looked up in a registry.
    assert refused("FROM later\nFROM busybox AS later\n").startswith("line 1: the base image 'later'")


def test_a_stage_cannot_use_itself():
    assert refused("FROM me AS me\n").startswith("line 1: the base image 'me'")


def test_arg_substituted_from_outside_the_catalog():
    assert refused("ARG BASE=alpine\nFROM $BASE\n").startswith("line 2: the base image 'alpine'")


def test_unresolved_arg_in_from_is_refused():
    message = refused("ARG BASE\nFROM ${BASE}\n")
    assert message.startswith("line 2: FROM ${BASE} uses a build argument that has no value")
    assert "ARG NAME=value" in message


def test_undeclared_arg_in_from_is_refused():
    assert "has no value" in refused("FROM $NOPE\n")


def test_an_arg_declared_after_from_does_not_count_for_from():
    assert "has no value" in refused("FROM busybox\nARG BASE=busybox\nFROM $BASE\n")


def test_empty_default_names_no_image():
    assert refused('ARG BASE=""\nFROM $BASE\n') == "line 2: FROM $BASE names no image."


@pytest.mark.parametrize("platform", ["linux/arm64", "linux/arm/v7", "windows/amd64", "linux/s390x"])
def test_foreign_platforms_are_refused(platform):
    if platform == host_platform():
        pytest.skip("this is the host's platform")
    message = refused(f"FROM --platform={platform} busybox\n")
    assert message.startswith(f"line 1: --platform={platform} asks for another kind of machine")
    assert host_platform() in message


def test_copy_from_an_image_outside_the_catalog_is_refused():
    message = refused("FROM busybox\nCOPY --from=nginx:latest /etc/nginx /etc/nginx\n")
    assert message.startswith("line 2: --from=nginx:latest is neither an earlier build stage nor an image")
    assert "Available base images: busybox:latest" in message


def test_copy_from_a_later_stage_number_is_refused():
    assert "--from=1 is neither" in refused("FROM busybox\nCOPY --from=1 /a /a\nFROM busybox\n")


def test_copy_from_a_later_stage_name_is_refused():
    assert "--from=later is neither" in refused("FROM busybox\nCOPY --from=later /a /a\nFROM busybox AS later\n")


def test_empty_catalog_says_so():
    with pytest.raises(SubmissionRejected) as caught:
        check_dockerfile("FROM busybox\n", [])
    assert caught.value.message.endswith("The sandbox has no base images at the moment.")


# --- ONBUILD and heredocs -----------------------------------------------------------------------------------


def test_onbuild_triggers_obey_the_same_rules():
    assert refused("FROM busybox\nONBUILD RUN --network=host true\n").startswith("line 2: RUN --network=host")
    assert refused("FROM busybox\nONBUILD ADD http://e.com/x /x\n").startswith("line 2: ADD http://e.com/x")
    assert "secret mounts" in refused("FROM busybox\nONBUILD RUN --mount=type=secret,id=a true\n")


def test_heredocs_are_refused_because_the_sandbox_builder_is_too_old():
    message = refused("FROM busybox\nRUN <<EOF\necho hi\nEOF\n")
    assert message.startswith("line 2: heredocs (<<EOF ... EOF) are not supported by the sandbox's builder")
    assert "&&" in message


def test_copy_heredocs_are_refused_too():
    assert "heredocs" in refused("FROM busybox\nCOPY <<EOF /x\nhi\nEOF\n")


# --- Syntax errors become refusals with a line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM busybox\nFOO bar\n", "line 2: unknown instruction: FOO"),
        ("", "line 1: the Dockerfile is empty: it needs at least a FROM line"),
        ("RUN true\nFROM busybox\n", "line 1: RUN comes before the first FROM"),
        ("FROM busybox\nRUN <<EOF\nx\n", "line 2: unterminated heredoc"),
        ("FROM busybox\nCOPY --nope=1 a b\n", "line 2: unknown flag for COPY: --nope"),
    ],
)
def test_syntax_errors_are_refused_with_their_line(text, expected):
    assert refused(text).startswith(expected)


# --- Helpers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:latest", "docker.io/library/busybox:latest"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("python:3.11-slim", "docker.io/library/python:3.11-slim"),
        ("me/app", "docker.io/me/app:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("ghcr.io/a/b:1", "ghcr.io/a/b:1"),
    ],
)
def test_normalize_image_ref(ref, expected):
    assert normalize_image_ref(ref) == expected


def test_parse_mount():
    assert parse_mount("type=cache,target=/root/.cache,id=pip") == {
        "type": "cache",
        "target": "/root/.cache",
        "id": "pip",
    }
    assert parse_mount("TYPE=Secret") == {"type": "Secret"}


# --- Hostile inputs: refused (or read) quickly, whatever their size ----------------------------------------

# Generous: this is about complexity (linear time, bounded depth), not speed.
TIME_LIMIT_SECONDS = 2.0
DOUBLING = "ARG A=0123456789abcdef\n" + "ARG A=$A$A\n" * 40
HOSTILE = {
    "spaces in a directive": (
        "# escape=" + " " * 20000 + "x\nFROM busybox\n",
        "line 1: invalid escape token 'x': it must be ` or \\",
    ),
    "a directive line of 200 000 spaces": (
        "#" + " " * 200000 + "\nFROM busybox\n",
        "line 1: this line is longer than 65535 bytes, the most BuildKit reads",
    ),
    "60 000 continuation lines": ("FROM busybox\nRUN a \\\n" + "b \\\n" * 60000 + "c\n", None),
    "nested defaults": (
        "FROM busybox\nARG A=" + "${a:-" * 5000 + "x" + "}" * 5000 + "\n",
        "line 2: ARG: the value of A cannot be expanded: variables are nested more than 16 deep",
    ),
    "a doubling ARG chain": (
        "FROM busybox\n" + DOUBLING,
        "line 15: ARG: the value of A cannot be expanded: its variables expand to more than 64 KiB of text",
    ),
    "a doubling ARG chain before FROM": (
        DOUBLING + "FROM busybox\n",
        "line 14: ARG: the value of A cannot be expanded: its variables expand to more than 64 KiB of text",
    ),
    "a doubling ENV chain": (
        "FROM busybox\nENV A=0123456789abcdef\n" + "ENV A=$A$A\n" * 40,
        "line 15: ENV: the value of A cannot be expanded: its variables expand to more than 64 KiB of text",
    ),
    "many 60 KiB values": (
        "FROM busybox\nARG B=" + "x" * 60000 + "\n" + "".join(f"ENV C{i}=$B\n" for i in range(10)),
        "line 6: ENV: the value of C3 cannot be expanded: its variables expand to too much text",
    ),
    "text built and thrown away": (
        "FROM busybox\nARG B=" + "x" * 60000 + "\nENV C=" + "${X:+$B}" * 5000 + "\n",
        "line 3: ENV: the value of C cannot be expanded: its variables expand to more than 64 KiB of text",
    ),
    "256 KiB of one character": ("a" * (256 * 1024), "line 1: this line is longer than 65535 bytes"),
    "256 KiB of newlines": ("\n" * (256 * 1024), "line 1: the Dockerfile is empty"),
    "256 KiB of backslashes": ("FROM busybox\nRUN " + "\\" * 60000 + "\n", None),
    "an array nested 60 000 deep": (
        "FROM busybox\nCMD " + "[" * 60000 + "\n",
        "line 2: when using JSON array syntax, arrays must be comprised of strings only",
    ),
    "20 000 instructions": ("FROM busybox\n" + "RUN x\n" * 20000, None),
    "10 000 chained ENV lines": ("FROM busybox\n" + "".join(f"ENV A{i}=$A{i - 1}x\n" for i in range(10000)), None),
    "ONBUILD ONBUILD ...": (
        "FROM busybox\n" + "ONBUILD " * 8000 + "RUN x\n",
        "line 2: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
    ),
    "2 000 stages": (
        "".join(f"FROM busybox AS s{i}\n" for i in range(2000)),
        "line 129: a Dockerfile may have at most 128 stages here",
    ),
    "an unterminated heredoc of 100 000 lines": (
        "FROM busybox\nRUN <<EOF\n" + "x\n" * 100000,
        "line 2: unterminated heredoc",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_inputs_finish_quickly_with_the_expected_answer(name):
    text, expected = HOSTILE[name]
    started = time.perf_counter()
    try:
        check_dockerfile(text, CATALOG)
        outcome = None
    except SubmissionRejected as error:
        outcome = error.message
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT_SECONDS, f"{name} took {elapsed:.2f}s"
    if expected is None:
        assert outcome is None
    else:
        assert outcome is not None and outcome.startswith(expected), outcome


# --- What a second reader could see differently is refused --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # BuildKit's directive pattern does not count a vertical tab as a space, so this is a comment to it.
        (
            "#\vescape=`\nFROM busybox\nRUN echo a `\nRUN --network=host true\n",
            "line 1: the control character U+000B (vertical tab) at column 2 is not allowed",
        ),
        (
            "#\u00a0escape=`\nFROM busybox\n",
            "line 1: U+00A0 (no-break space) at column 2 is not allowed in the comment lines at the top",
        ),
        # BuildKit splits flag words on the byte 0xA0 inside a no-break space: two mounts to it, one to us.
        (
            "FROM busybox AS b\nFROM busybox\nRUN --mount=type=tmpfs,target=/t\u00a0--mount=from=b,target=/x ls\n",
            "line 3: a flag may only use plain ASCII letters, digits and punctuation, but it has U+00A0 "
            "(no-break space) at column 33",
        ),
        (
            "FROM busybox\nRUN\u00a0--network=host true\n",
            "line 2: an instruction keyword may only use plain ASCII letters, digits and punctuation, but it has "
            "U+00A0 (no-break space) at column 4",
        ),
        (
            "FROM busybox\n\u2003RUN true\n",
            "line 2: U+2003 (em space) at column 1 is not allowed at the start of a line",
        ),
        ("FROM busybox\nRUN echo a\rRUN b\n", "line 2: a carriage return (U+000D) that does not end the line"),
        (
            "# check=skip=all\n# escape=`\nFROM busybox\n",
            "line 2: the sandbox's builder stops reading parser directives at `# check=` (line 1)",
        ),
        ("#!/usr/bin/env docker\n# syntax=docker/dockerfile:1\nFROM busybox\n", "line 2: `# syntax=` directives"),
        ("// syntax=docker/dockerfile:1\nFROM busybox\n", "line 1: `# syntax=` directives"),
        (
            "FROM busybox\nARG A=1 B=$A\n",
            "line 2: ARG B uses a variable set earlier on the same ARG line, which builders read differently",
        ),
    ],
)
def test_what_builders_read_differently_is_refused(text, expected):
    assert refused(text).startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM busybox\nARG U=https://example.com/x\nADD $U /x\n", "line 3: ADD https://example.com/x would download"),
        ("ARG U=https://example.com/x\nFROM busybox\nARG U\nADD ${U} /x\n", "line 4: ADD https://example.com/x"),
        ("FROM busybox\nENV H=example.com\nADD https://$H/x /x\n", "line 3: ADD https://example.com/x"),
        ("FROM busybox\nARG U=https://e.com/x\nENV U=local.txt\nADD $U /x\n", None),
        ("FROM busybox AS a\nENV G=git@github.com:x/y\nFROM a\nADD $G /y\n", "line 4: ADD git@github.com:x/y"),
        ("FROM busybox\nADD ht${PATH:+tp://e.com}/x /x\n", "line 2: ADD ht/x uses $PATH, which this Dockerfile"),
        ("FROM busybox\nARG T=secret\nRUN --mount=type=$T,id=a true\n", "line 3: secret mounts"),
        ("FROM busybox\nARG I=alpine\nRUN --mount=from=$I,target=/a true\n", "line 3: --from=$I is neither"),
        ("FROM busybox\nARG I=alpine\nCOPY --from=$I /a /a\n", "line 3: --from=$I is neither"),
        ("FROM busybox AS b\nFROM busybox\nARG S=b\nCOPY --from=$S /a /a\n", None),
        ("FROM busybox\nCOPY --from=$FROM_IMAGE /a /a\n", "line 2: --from=$FROM_IMAGE uses $FROM_IMAGE"),
        ("FROM busybox\nARG U=http://e.com/x\nONBUILD ADD $U /x\n", "line 3: this ONBUILD ADD uses a variable"),
        ("FROM busybox\nENV PATH\n", "line 2: ENV PATH has no value: write ENV PATH=value."),
        ("FROM busybox\nARG A=${B#x}\n", "line 2: ARG: the value of A cannot be expanded: the form ${B#...}"),
    ],
)
def test_variables_are_expanded_before_sources_images_and_mounts_are_checked(text, expected):
    if expected is None:
        accepted(text)
    else:
        assert refused(text).startswith(expected)
