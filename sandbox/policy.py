"""What the sandbox refuses to build, checked before any build starts.

A refused Dockerfile never reaches a daemon. Besides the security rules, anything that would make the
daemon reach for a registry is refused too: the sandbox has no network, and a lookup would only fail
slowly (a base image outside the catalog, `COPY --from=some/image`, a foreign `--platform`).

The checks run on sandbox.dockerfile's reading, which is BuildKit's (see that module), with variables
already expanded in each stage's scope, so `ARG URL=https://...` followed by `ADD $URL` is seen as the
download it is. Where the reading of a Dockerfile depends on something the parser cannot see (a variable
only the base image sets) or on which BuildKit version reads it, the Dockerfile is refused on purpose.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NoReturn

from .dockerfile import (
    Dockerfile,
    DockerfileSyntaxError,
    Expanded,
    Instruction,
    Mount,
    host_platform,
    match_directive,
    parse_dockerfile,
)
from .dockerfile_words import split_csv
from .files import SubmissionRejected

# The Docker 20.10 builder in the sandbox has the Dockerfile frontend built in, and that frontend predates
# heredocs; a `# syntax=` line could bring a newer one, but those are refused (a frontend image is
# arbitrary code, and it could not be pulled anyway). So heredocs are refused with a clear message here
# instead of a puzzling "unknown instruction" from the builder.
SUPPORTS_HEREDOCS = False

ALLOWED_NETWORKS = frozenset({"none", "default"})
ALLOWED_SECURITY = frozenset({"sandbox"})
NO_SECRETS_HERE = (
    "secret mounts (--mount=type=secret) are not available in this exercise. They are the right way to "
    "use a secret while building without leaving it in a layer (the secrets lesson teaches them), but this "
    "exercise gives the build no secrets, so the step could not run. Remove the --mount here, and do not bake "
    "a secret in with COPY, ENV or ARG instead."
)
REFUSED_MOUNT_TYPES = {
    "ssh": (
        "SSH agent mounts (--mount=type=ssh) are not available in the sandbox: it has no SSH agent and no "
        "network to use one with. Remove the --mount here."
    ),
}
PLATFORM_ARGS = ("$BUILDPLATFORM", "${BUILDPLATFORM}", "$TARGETPLATFORM", "${TARGETPLATFORM}")
URL_PREFIXES = ("http://", "https://", "git://", "git@", "ssh://", "ftp://", "github.com/")


def check_dockerfile(text: str, catalog: list[str], secret_ids: Collection[str] = ()) -> None:
    """Refuse a Dockerfile the sandbox will not build.

    Raises SubmissionRejected with a "line N: ..." message for a syntax error or a refused construct.
    `catalog` lists the image references FROM may name (see sandbox.catalog.catalog_names); `secret_ids`
    the build secrets the exercise gives the build, which `RUN --mount=type=secret` may mount (no others).
    """
    _check_syntax_directive(text)
    try:
        dockerfile = parse_dockerfile(text)
    except DockerfileSyntaxError as error:
        raise SubmissionRejected(f"line {error.line}: {error.message}") from None
    _check_directive_order(dockerfile)
    rules = _Rules({normalize_image_ref(name) for name in catalog}, catalog, frozenset(secret_ids))
    for instruction in dockerfile.instructions:
        _check_instruction(dockerfile, instruction, rules)


class _Rules:
    """What this check allows: the catalog's images (normalised and as listed) and the build secrets."""

    def __init__(self, allowed: set[str], catalog: list[str], secret_ids: frozenset[str]):
        self.allowed = allowed
        self.catalog = catalog
        self.secret_ids = secret_ids


# Whitespace and control characters, for the generous reading of directive lines below.
GENEROUS_SPACES = "".join(chr(code) for code in range(0x21) if code != 0x0A) + "\x7f\x85\xa0\u1680\u2028\u2029\u3000"
GENEROUS_SPACES += "".join(chr(code) for code in range(0x2000, 0x200C)) + "\u202f\u205f\ufeff"


def _check_syntax_directive(text: str) -> None:
    # Checked on the raw text with the most generous reading of "the top of the file": Docker 20.10 keeps
    # reading directive-shaped lines even past unknown ones, newer frontends skip a `#!` first line and also
    # accept `// syntax=`, and any whitespace counts. So no builder can find a syntax directive here.
    lines = text.split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    start = 1 if lines and lines[0].startswith("#!") else 0
    for number, line in enumerate(lines[start:], start=start + 1):
        line = line.strip(GENEROUS_SPACES)
        if line.startswith("//"):
            line = "#" + line[2:]
        match = match_directive(line, GENEROUS_SPACES)
        if not match:
            return
        if match[0].lower() == "syntax":
            raise SubmissionRejected(
                f"line {number}: `# syntax=` directives are not allowed here. They make the builder download "
                "and run a frontend image, and the sandbox has no network; the built-in Dockerfile syntax "
                "is used instead. Remove this line."
            )


def _check_directive_order(dockerfile: Dockerfile) -> None:
    # The sandbox's builder does not know `# check=`: it stops reading directives there, so an escape
    # directive after it would be a comment to the builder but a directive to current BuildKit.
    lines = dockerfile.directive_lines
    if "check" in lines and "escape" in lines and lines["check"] < lines["escape"]:
        raise SubmissionRejected(
            f"line {lines['escape']}: the sandbox's builder stops reading parser directives at `# check=` "
            f"(line {lines['check']}), so it would not see this `# escape=` line. Put `# escape=` first."
        )


def _check_instruction(dockerfile: Dockerfile, instruction: Instruction, rules: _Rules) -> None:
    keyword = instruction.keyword
    if keyword == "FROM":
        _check_from(dockerfile, instruction, rules.allowed, rules.catalog)
    elif keyword == "ONBUILD" and instruction.trigger is not None:
        # An ONBUILD trigger runs when a later stage builds FROM this one, so it obeys the same rules.
        _check_trigger_variables(instruction.trigger)
        _check_instruction(dockerfile, instruction.trigger, rules)
    if keyword in ("RUN", "COPY", "ADD") and instruction.heredocs and not SUPPORTS_HEREDOCS:
        _refuse(
            instruction,
            "heredocs (<<EOF ... EOF) are not supported by the sandbox's builder (Docker 20.10). Put the "
            "commands on one RUN joined with &&, or COPY a script file and RUN it.",
        )
    if keyword == "RUN":
        _check_run_flags(dockerfile, instruction, rules)
    if keyword == "ADD":
        _check_add_sources(instruction)
    if keyword == "COPY" and instruction.expanded_from is not None:
        shown = instruction.flag("from") or ""
        _check_image_source(dockerfile, instruction, shown, instruction.expanded_from, rules.allowed, rules.catalog)


def _check_trigger_variables(trigger: Instruction) -> None:
    words = [trigger.flag("from") or ""] if trigger.keyword == "COPY" else []
    if trigger.keyword == "ADD":
        words += list(trigger.values[:-1])
    words += trigger.flag_values("mount")
    if any("$" in word for word in words):
        _refuse(
            trigger,
            f"this ONBUILD {trigger.keyword} uses a variable where the sandbox checks what it names. A trigger "
            "runs later, in another stage, where the variable may have another value; write the value out.",
        )


def _check_from(dockerfile: Dockerfile, instruction: Instruction, allowed: set[str], catalog: list[str]) -> None:
    stage = dockerfile.stages[instruction.stage]
    if stage.platform is not None:
        _check_platform(dockerfile, instruction, stage.platform)
    base = dockerfile.resolved_base(stage)
    if base is None:
        _refuse(
            instruction,
            f"FROM {stage.base} uses a build argument that has no value. Give the ARG a default before the "
            "first FROM (ARG NAME=value) or write the image name.",
        )
    if not base:
        _refuse(instruction, f"FROM {stage.base} names no image.")
    if _is_earlier_stage(dockerfile, base, instruction.stage) or base.lower() == "scratch":
        return
    if normalize_image_ref(base) not in allowed:
        _refuse(instruction, f"the base image {base!r} is not available in the sandbox. {_catalog_hint(catalog)}")


def _check_platform(dockerfile: Dockerfile, instruction: Instruction, platform: str) -> None:
    resolved = dockerfile.resolve(platform)
    if platform in PLATFORM_ARGS or resolved == host_platform():
        return
    _refuse(
        instruction,
        f"--platform={platform} asks for another kind of machine. The sandbox builds for {host_platform()} "
        "only; remove --platform or use --platform=$BUILDPLATFORM.",
    )


def _check_run_flags(dockerfile: Dockerfile, instruction: Instruction, rules: _Rules) -> None:
    for network in instruction.flag_values("network"):
        if network.lower() not in ALLOWED_NETWORKS:
            _refuse(
                instruction,
                f"RUN --network={network} is not allowed: build steps in the sandbox never have a network. "
                "Remove the flag.",
            )
    for security in instruction.flag_values("security"):
        if security.lower() not in ALLOWED_SECURITY:
            _refuse(
                instruction,
                f"RUN --security={security} is not allowed: build steps never run with extra privileges here.",
            )
    for mount in instruction.mounts:
        _check_mount(dockerfile, instruction, mount, rules)


def _check_mount(dockerfile: Dockerfile, instruction: Instruction, mount: Mount, rules: _Rules) -> None:
    if mount.options is None:
        _refuse(
            instruction,
            f"--mount={mount.spec} cannot be read: write it as comma-separated key=value pairs, with "
            'double quotes only around a whole value ("...").',
        )
    mount_type = mount.options.get("type")
    if mount_type is not None:
        _known(instruction, "--mount type", mount_type)
    kind = mount_type.value.lower() if mount_type is not None else "bind"
    if kind in REFUSED_MOUNT_TYPES:
        _refuse(instruction, REFUSED_MOUNT_TYPES[kind])
    if kind == "secret":
        _check_secret_mount(instruction, mount, rules.secret_ids)
    source = mount.options.get("from")
    if source is not None:
        shown = parse_mount(mount.spec).get("from", "")
        _check_image_source(dockerfile, instruction, shown, source, rules.allowed, rules.catalog)


def _check_secret_mount(instruction: Instruction, mount: Mount, secret_ids: frozenset[str]) -> None:
    # BuildKit names the secret by `id`, or else by the last part of `target` (alias `dst`, `destination`).
    if not secret_ids:
        _refuse(instruction, NO_SECRETS_HERE)
    named = mount.options.get("id")
    if named is None:
        named = next((mount.options[key] for key in ("target", "dst", "destination") if key in mount.options), None)
        what = "--mount=type=secret target"
    else:
        what = "--mount=type=secret id"
    if named is None:
        _refuse(instruction, "--mount=type=secret needs id=NAME to say which secret to mount.")
    _known(instruction, what, named)
    secret = named.value if what.endswith(" id") else named.value.rstrip("/").rsplit("/", 1)[-1]
    if secret not in secret_ids:
        offered = ", ".join(f"`{name}`" for name in sorted(secret_ids))
        _refuse(
            instruction,
            f"this build has no secret `{secret}`; the exercise gives it {offered}. "
            f"Mount it with --mount=type=secret,id={sorted(secret_ids)[0]}.",
        )


def _check_image_source(
    dockerfile: Dockerfile,
    instruction: Instruction,
    shown: str,
    source: Expanded,
    allowed: set[str],
    catalog: list[str],
) -> None:
    # --from names an earlier stage (by name or number) or an image; an image must come from the catalog.
    _known(instruction, f"--from={shown}", source)
    resolved = source.value
    if resolved.isdecimal() and resolved.isascii() and int(resolved) < instruction.stage:
        return
    if _is_earlier_stage(dockerfile, resolved, instruction.stage):
        return
    if resolved and normalize_image_ref(resolved) in allowed:
        return
    _refuse(
        instruction,
        f"--from={shown} is neither an earlier build stage nor an image in the sandbox. "
        f"Name a stage defined above with FROM ... AS name. {_catalog_hint(catalog)}",
    )


def _check_add_sources(instruction: Instruction) -> None:
    for source in instruction.expanded_args[:-1]:
        _known(instruction, f"ADD {source.value or '(empty)'}", source)
        lowered = source.value.lower()
        if lowered.startswith(URL_PREFIXES) or "://" in lowered:
            _refuse(
                instruction,
                f"ADD {source.value} would download from the network, and the sandbox has none. Add the file "
                "to your submission and COPY it instead.",
            )


def _known(instruction: Instruction, what: str, expanded: Expanded) -> None:
    if expanded.unknown:
        names = ", ".join(f"${name}" for name in sorted(expanded.unknown))
        _refuse(
            instruction,
            f"{what} uses {names}, which this Dockerfile does not set (only the base image could), so the "
            "sandbox cannot check what it names. Set it with ARG or ENV above, or write the value out.",
        )


def _is_earlier_stage(dockerfile: Dockerfile, name: str, before: int) -> bool:
    stage = dockerfile.stage_named(name)
    return stage is not None and stage.index < before


def parse_mount(spec: str) -> dict[str, str]:
    """Parse a RUN --mount value (`type=cache,target=/root/.cache`) into lower-case keys and values."""
    options: dict[str, str] = {}
    for item in split_csv(spec) or []:
        key, _, value = item.strip().partition("=")
        options[key.strip().lower()] = value.strip()
    return options


def normalize_image_ref(ref: str) -> str:
    """Docker's canonical spelling of an image reference: `busybox` → `docker.io/library/busybox:latest`."""
    name = ref.strip()
    if "@" in name:
        return name
    first, _, rest = name.partition("/")
    has_registry = bool(rest) and ("." in first or ":" in first or first == "localhost")
    if not has_registry:
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    elif first == "index.docker.io":
        name = f"docker.io/{rest}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    return name


def _catalog_hint(catalog: list[str]) -> str:
    # The catalog lists each image in several spellings; show the plainest one of each.
    shown = []
    for name in catalog:
        if not name.startswith("docker.io/") and normalize_image_ref(name) not in {
            normalize_image_ref(other) for other in shown
        }:
            shown.append(name if ":" in name else f"{name}:latest")
    if not shown:
        return "The sandbox has no base images at the moment."
    return "Available base images: " + ", ".join(shown) + " (and scratch)."


def _refuse(instruction: Instruction, message: str) -> NoReturn:
    raise SubmissionRejected(f"line {instruction.line}: {message}")
