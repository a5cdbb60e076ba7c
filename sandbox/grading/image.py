"""Image checks: facts of the built image (size, layers, config, history) and the files inside it.

Each check is a small function `(check, context) -> Outcome`; `context` is a GradingContext.
"""

from __future__ import annotations

import re

from .context import GradingContext
from .outcome import Outcome, fail, mb, ok, plural
from .static import is_root_user


def check_image_size(check: dict, context: GradingContext) -> Outcome:
    size = context.facts["size"]
    limit = check["max_mb"]
    if size > limit * 1_000_000:
        return fail(f"the image is {mb(size)}; this exercise allows {limit:g} MB.")
    return ok(f"the image is {mb(size)} (at most {limit:g} MB allowed).")


def check_layers(check: dict, context: GradingContext) -> Outcome:
    count = context.facts["layer_count"]
    if count > check["max"]:
        return fail(f"the image has {plural(count, 'layer')}; this exercise allows {check['max']}.")
    return ok(f"the image has {plural(count, 'layer')} (at most {check['max']} allowed).")


def check_image_user(check: dict, context: GradingContext) -> Outcome:
    user = context.facts["config"]["user"]
    shown = user or "not set (root)"
    if "user" in check:
        if user != check["user"]:
            return fail(f"the image's user is {shown}; this exercise expects {check['user']}.")
        return ok(f"the image runs as {user}.")
    if is_root_user(user):
        return fail(f"the image's user is {shown}, so every container of it runs as root.")
    return ok(f"the image runs as {user}.")


def check_ports(check: dict, context: GradingContext) -> Outcome:
    exposed = set(context.facts["config"]["exposed_ports"])
    wanted = {_port_key(port) for port in check["expose"]}
    shown = ", ".join(sorted(exposed)) or "none"
    missing = sorted(wanted - exposed)
    if missing:
        return fail(f"the image does not expose {', '.join(missing)} (exposed: {shown}).")
    extra = sorted(exposed - wanted)
    if check.get("exactly") and extra:
        return fail(
            f"the image also exposes {', '.join(extra)}; this exercise expects only {', '.join(sorted(wanted))}."
        )
    return ok(f"the image exposes {shown}.")


def _port_key(port: int) -> str:
    return f"{port}/tcp"


def check_env(check: dict, context: GradingContext) -> Outcome:
    env = context.facts["config"]["env"]
    for name, pattern in (check.get("present") or {}).items():
        if name not in env:
            return fail(f"the image does not set {name}.")
        if not re.fullmatch(pattern, env[name]):
            return fail(f"the image sets {name}={env[name]!r}, which is not what this exercise expects.")
    for pattern in check.get("absent") or []:
        found = [name for name in env if re.fullmatch(pattern, name, re.IGNORECASE)]
        if found:
            return fail(
                f"the image sets {found[0]}, which every container and `docker inspect` can read "
                "(it is stored in the image's configuration)."
            )
    return ok("the image's environment is as expected.")


def check_workdir(check: dict, context: GradingContext) -> Outcome:
    workdir = context.facts["config"]["workdir"]
    wanted = check["path"].rstrip("/") or "/"
    if (workdir.rstrip("/") or "/") != wanted:
        return fail(f"the image's working directory is {workdir or 'not set (/)'}; this exercise expects {wanted}.")
    return ok(f"the image's working directory is {workdir}.")


def check_history(check: dict, context: GradingContext) -> Outcome:
    for pattern in check["forbid"]:
        for layer in context.facts["layers"]:
            created_by = layer.get("created_by", "")
            if re.search(pattern, created_by):
                shown = " ".join(created_by.split())[:100]
                return fail(
                    f"the image history shows `{shown}`; anyone with the image can read it with "
                    "`docker history --no-trunc`."
                )
    return ok("nothing forbidden appears in the image history.")


def check_files(check: dict, context: GradingContext) -> Outcome:
    present, absent = check.get("present") or [], check.get("absent") or []
    found = context.sandbox.paths_exist(context.image, present + absent)
    missing = [path for path in present if not found[path]]
    if missing:
        return fail(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the image.")
    unwanted = [path for path in absent if found[path]]
    if unwanted:
        return fail(f"{', '.join(unwanted)} {'is' if len(unwanted) == 1 else 'are'} in the image and should not be.")
    parts = []
    if present:
        parts.append(f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} in the image")
    if absent:
        parts.append(f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} absent")
    return ok("; ".join(parts) + ".")


IMAGE_CHECKS = {
    "image-size": check_image_size,
    "layers": check_layers,
    "image-user": check_image_user,
    "ports": check_ports,
    "env": check_env,
    "workdir": check_workdir,
    "history": check_history,
    "files": check_files,
}
