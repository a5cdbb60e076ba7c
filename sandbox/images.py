"""What a sandbox needs to know about images: the ones a Dockerfile takes from the daemon, and an image's facts.

Facts are what grading checks and what the learner is shown: size, layers (from the image's history) and the
configuration (user, ports, environment, working directory, command, health check, labels).
"""

from __future__ import annotations

from typing import Any

from .dockerfile import Dockerfile
from .policy import parse_mount


def image_facts(attrs: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """Size, layers and configuration of an image, from its inspect attributes and its history.

    `layers` runs from the base image's layers to the last instruction. `empty_layer` is True for
    history entries that add no filesystem layer (ENV, CMD, ...); the daemon's history API does not
    say so directly, so it is inferred from the size and the instruction. `layer_count` is the exact
    number of filesystem layers.
    """
    config = attrs.get("Config") or {}
    return {
        "id": attrs.get("Id"),
        "size": attrs.get("Size", 0),
        "layer_count": len((attrs.get("RootFS") or {}).get("Layers") or []),
        "layers": [layer_fact(entry) for entry in reversed(history)],
        "config": {
            "user": config.get("User") or "",
            "exposed_ports": sorted((config.get("ExposedPorts") or {}).keys()),
            "env": env_dict(config.get("Env") or []),
            "workdir": config.get("WorkingDir") or "",
            "cmd": config.get("Cmd"),
            "entrypoint": config.get("Entrypoint"),
            "healthcheck": config.get("Healthcheck"),
            "labels": config.get("Labels") or {},
        },
    }


def images_used(dockerfile: Dockerfile) -> list[str]:
    """The images a Dockerfile takes from the daemon: FROM bases, and COPY --from or mount from= images.

    Earlier stages, stage numbers and `scratch` are not images.
    """
    wanted: list[tuple[str, int]] = [(stage.base, stage.index) for stage in dockerfile.stages]
    for instruction in dockerfile.instructions:
        sources = instruction.flag_values("from") if instruction.keyword == "COPY" else []
        sources += [parse_mount(mount).get("from", "") for mount in instruction.flag_values("mount")]
        wanted += [(source, instruction.stage) for source in sources if source]
    images = []
    for word, stage_index in wanted:
        name = dockerfile.resolve(word)
        earlier = dockerfile.stage_named(name or "")
        if not name or name.lower() == "scratch" or (earlier is not None and earlier.index < stage_index):
            continue
        if name.isdigit() and int(name) < stage_index:
            continue
        if name not in images:
            images.append(name)
    return images


def layer_fact(entry: dict[str, Any]) -> dict[str, Any]:
    created_by = entry.get("CreatedBy") or ""
    size = int(entry.get("Size") or 0)
    return {"created_by": created_by, "size": size, "empty_layer": size == 0 and not changes_files(created_by)}


def changes_files(created_by: str) -> bool:
    # BuildKit writes `RUN /bin/sh -c ... # buildkit`, `COPY a b # buildkit`, `ENV A=1`; the classic
    # builder writes `/bin/sh -c #(nop)  ENV A=1` for metadata and `/bin/sh -c apt-get ...` for RUN.
    # RUN, COPY, ADD and WORKDIR always add a layer with BuildKit, even an empty one.
    text = created_by.strip()
    if text.startswith("/bin/sh -c #(nop)"):
        text = text.removeprefix("/bin/sh -c #(nop)").strip()
    elif text.startswith("/bin/sh -c") or text.startswith("|"):
        return True
    keyword = text.split(" ", 1)[0].upper()
    return keyword in ("RUN", "COPY", "ADD", "WORKDIR")


def env_dict(entries: list[str]) -> dict[str, str]:
    return dict(entry.split("=", 1) if "=" in entry else (entry, "") for entry in entries)
