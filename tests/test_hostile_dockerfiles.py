"""Hostile Dockerfiles through the real sandbox: sandbox.environment.BuildEnvironment on a sandbox daemon.

Each row is a Dockerfile written to get around the build policy, and what must happen to it: refused
before any build (BuildEnvironment.build returns reason "refused", a message naming the line, and no
build output at all), or handed to the builder and harmless there. Marked `sandbox`: these need a running
sandbox daemon (the docker_host fixture).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pytest

from sandbox.environment import BuildEnvironment

pytestmark = pytest.mark.sandbox

NBSP = "\u00a0"
DOUBLING = "ARG A=0123456789abcdef\n" + "ARG A=$A$A\n" * 40


@dataclass(frozen=True)
class Row:
    dockerfile: str
    refused: str | None = None  # the start of the refusal message, line number included
    reason: str = "ok"  # for Dockerfiles that reach the builder: BuildResult.reason
    steps: tuple[str, ...] = ()  # for built ones: the steps BuildKit ran, in order
    files: dict[str, str] = field(default_factory=dict)


ROWS = {
    "a vertical tab hides an escape directive": Row(
        "#\vescape=`\nFROM busybox\nRUN echo a `\nRUN --network=host wget http://example.com\n",
        refused="line 1: the control character U+000B (vertical tab) at column 2 is not allowed",
    ),
    "a no-break space hides an escape directive": Row(
        "#\u00a0escape=`\nFROM busybox\n",
        refused="line 1: U+00A0 (no-break space) at column 2 is not allowed in the comment lines at the top",
    ),
    "a no-break space splits one flag into two mounts": Row(
        f"FROM busybox AS b\nFROM busybox\nRUN --mount=type=tmpfs,target=/t{NBSP}--mount=type=bind,from=alpine,"
        "target=/x ls /x\n",
        refused="line 3: a flag may only use plain ASCII letters, digits and punctuation, but it has U+00A0 "
        "(no-break space) at column 33",
    ),
    "ADD of a URL carried by an ARG": Row(
        "FROM busybox\nARG URL=https://example.com/app.tar.gz\nADD $URL /app/\n",
        refused="line 3: ADD https://example.com/app.tar.gz would download from the network",
    ),
    "ADD of a URL carried by a global ARG": Row(
        "ARG URL=http://example.com/x\nFROM busybox\nARG URL\nADD ${URL} /x\n",
        refused="line 4: ADD http://example.com/x would download from the network",
    ),
    "ADD of a URL assembled from the base image's PATH": Row(
        "FROM busybox\nADD ht${PATH:+tp://example.com}/x /x\n",
        refused="line 2: ADD ht/x uses $PATH, which this Dockerfile does not set",
    ),
    "ADD of a git ref": Row(
        "FROM busybox\nADD git@github.com:moby/buildkit.git /src\n",
        refused="line 2: ADD git@github.com:moby/buildkit.git would download from the network",
    ),
    "ADD of a git URL over https": Row(
        "FROM busybox\nADD https://github.com/moby/buildkit.git#v0.12.5 /src\n",
        refused="line 2: ADD https://github.com/moby/buildkit.git#v0.12.5 would download from the network",
    ),
    "a doubling ARG chain": Row(
        "FROM busybox\n" + DOUBLING,
        refused="line 15: ARG: the value of A cannot be expanded: its variables expand to more than 64 KiB",
    ),
    "a doubling ENV chain": Row(
        "FROM busybox\nENV A=0123456789abcdef\n" + "ENV A=$A$A\n" * 40,
        refused="line 15: ENV: the value of A cannot be expanded: its variables expand to more than 64 KiB",
    ),
    "a syntax directive": Row(
        "# syntax=docker/dockerfile:1\nFROM busybox\n",
        refused="line 1: `# syntax=` directives are not allowed here",
    ),
    "a syntax directive after a shebang": Row(
        "#!/usr/bin/env docker\n# syntax=docker/dockerfile:1\nFROM busybox\n",
        refused="line 2: `# syntax=` directives are not allowed here",
    ),
    "a syntax directive written with //": Row(
        "// syntax=docker/dockerfile:1\nFROM busybox\n",
        refused="line 1: `# syntax=` directives are not allowed here",
    ),
    "a syntax directive past an unknown one": Row(
        "# foo=bar\n# syntax=evil/frontend\nFROM busybox\n",
        refused="line 2: `# syntax=` directives are not allowed here",
    ),
    "an escape directive the builder would not see": Row(
        "# check=skip=all\n# escape=`\nFROM busybox\nRUN echo a `\n  b\n",
        refused="line 2: the sandbox's builder stops reading parser directives at `# check=` (line 1)",
    ),
    "RUN --network=host": Row(
        "FROM busybox\nRUN --network=host wget http://example.com\n",
        refused="line 2: RUN --network=host is not allowed",
    ),
    "RUN --security=insecure": Row(
        "FROM busybox\nRUN --security=insecure true\n",
        refused="line 2: RUN --security=insecure is not allowed",
    ),
    "an SSH agent mount": Row(
        "FROM busybox\nRUN --mount=type=ssh true\n",
        refused="line 2: SSH agent mounts (--mount=type=ssh) are not available",
    ),
    "a secret mount": Row(
        "FROM busybox\nRUN --mount=type=secret,id=token cat /run/secrets/token\n",
        refused="line 2: secret mounts (--mount=type=secret) are not available in this exercise",
    ),
    "a secret mount whose type comes from an ARG": Row(
        "FROM busybox\nARG KIND=secret\nRUN --mount=type=$KIND,id=token true\n",
        refused="line 3: secret mounts (--mount=type=secret) are not available in this exercise",
    ),
    "FROM an image outside the catalog": Row(
        "FROM alpine:3.19\n",
        refused="line 1: the base image 'alpine:3.19' is not available in the sandbox",
    ),
    "COPY --from an image outside the catalog": Row(
        "FROM busybox\nCOPY --from=nginx:latest /etc/nginx /etc/nginx\n",
        refused="line 2: --from=nginx:latest is neither an earlier build stage nor an image in the sandbox",
    ),
    "a mount from an image outside the catalog, named by an ARG": Row(
        "FROM busybox\nARG IMAGE=alpine\nRUN --mount=from=$IMAGE,target=/a true\n",
        refused="line 3: --from=$IMAGE is neither an earlier build stage nor an image in the sandbox",
    ),
    "ENV with a name alone": Row(
        "FROM busybox\nENV PATH\n",
        refused="line 2: ENV PATH has no value: write ENV PATH=value.",
    ),
    "ARGs that builders expand differently": Row(
        "FROM busybox\nARG A=1 B=$A\n",
        refused="line 2: ARG B uses a variable set earlier on the same ARG line",
    ),
    "a heredoc": Row(
        "FROM busybox\nRUN <<EOF\nwget http://example.com\nEOF\n",
        refused="line 2: heredocs (<<EOF ... EOF) are not supported by the sandbox's builder",
    ),
    # Reaching the builder, harmlessly.
    "an escaped backslash at a line's end does not swallow the next instruction": Row(
        "FROM busybox\nENV C=trailing\\\\\nRUN echo second\n",
        steps=("FROM", "RUN"),
    ),
    "ENV overrides an ARG that held a URL": Row(
        "FROM busybox\nARG SRC=https://example.com/x\nENV SRC=local.txt\nADD $SRC /local.txt\n",
        steps=("FROM", "ADD"),
        files={"local.txt": "hello\n"},
    ),
    "a no-break space inside a command is just text": Row(
        f'FROM busybox\nRUN echo "10{NBSP}MB"\n',
        steps=("FROM", "RUN"),
    ),
    "COPY --from a stage named by an ARG": Row(
        # The policy expands it to an earlier stage; the sandbox's builder does not expand --from at all
        # and stops with a Dockerfile error.
        "FROM busybox AS base\nRUN echo hi > /f\nFROM busybox\nARG STAGE=base\nCOPY --from=$STAGE /f /f\n",
        reason="dockerfile_error",
    ),
}


class Collector:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


@pytest.mark.parametrize("name", list(ROWS))
def test_hostile_dockerfile(docker_host, name):
    row = ROWS[name]
    submission_id = f"test-hostile-{os.getpid()}-{time.monotonic_ns()}"
    files = {"Dockerfile": row.dockerfile.encode(), **{k: v.encode() for k, v in row.files.items()}}
    log = Collector()
    with BuildEnvironment(docker_host, submission_id, on_log=log) as env:
        result = env.build(files)
    if row.refused is not None:
        assert (result.ok, result.reason, log.lines) == (False, "refused", [])
        assert result.message.startswith(row.refused), result.message
        return
    assert result.reason == row.reason, result.message
    assert log.lines, "the build ran, so it printed its progress"
    if row.reason == "ok":
        assert [step.instruction.split(" ")[0] for step in result.steps] == list(row.steps)
