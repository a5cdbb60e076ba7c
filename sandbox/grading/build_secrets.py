"""The `build-secret` check: a build secret was used by the build, and its value is nowhere in the image.

For each build secret an exercise declares (`build_secrets`), the grader makes a fresh random value and gives
it to the build (`docker build --secret id=NAME,src=FILE`, see sandbox/environment.py), so a Dockerfile can
use it with `RUN --mount=type=secret,id=NAME`. Then the image is read as `docker save` writes it, through
the Docker API, not with any tool of the image: every file of every layer (a file deleted by a later step
is still in the layer that added it), the configuration (ENV, labels, CMD, ...) and the history (each step's
command line). The value, or its base64 form, must be in none of them.

With `proof_file`, the build must also show that a step received the value: the exercise's own script writes
the value's SHA-256 there, and the grader compares it with the value it gave.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tarfile
from collections.abc import Iterable

from .containers import ChunkReader
from .context import GradingContext
from .outcome import CheckError, Outcome, fail, ok

READ_BYTES = 1 << 20
CONFIG_LIMIT = 4 * 1024 * 1024


def needles(value: str) -> list[bytes]:
    """The forms of a secret to look for: as written, and base64-encoded (a common way to hide one)."""
    raw = value.encode()
    return [raw, base64.b64encode(raw).rstrip(b"=")]


def stream_contains(stream, wanted: list[bytes]) -> bool:
    """Whether any of the byte strings occurs in a file-like stream, read in chunks (across their edges too)."""
    overlap = max(len(item) for item in wanted) - 1
    tail = b""
    while chunk := stream.read(READ_BYTES):
        window = tail + chunk
        if any(item in window for item in wanted):
            return True
        tail = window[-overlap:] if overlap else b""
    return False


def find_in_config(config: dict, wanted: list[bytes]) -> list[str]:
    """Where in an image's configuration JSON a value appears: its history, or its settings."""
    places = []
    for entry in config.get("history") or []:
        created_by = " ".join(str(entry.get("created_by", "")).split())
        if any(item.decode() in created_by for item in wanted):
            places.append(f"the image history (`{created_by[:100]}`)")
    settings = json.dumps(config.get("config") or {})
    if any(item.decode() in settings for item in wanted):
        places.append("the image configuration (ENV, LABEL, CMD and the like, shown by `docker inspect`)")
    return places


def find_secret(chunks: Iterable[bytes], wanted: list[bytes]) -> list[str]:
    """Every place in a `docker save` archive where a value appears: layer files, configuration, history."""
    places: list[str] = []
    in_layers: list[tuple[str, str]] = []  # (the layer's file in the archive, the path found in it)
    order: list[str] = []
    with tarfile.open(fileobj=ChunkReader(chunks), mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                continue
            content = archive.extractfile(member)
            if member.name.endswith("/layer.tar"):
                in_layers += [(member.name, path) for path in _find_in_layer(content, wanted)]
            elif member.name == "manifest.json":
                # The layers in the archive are not in the image's order; the manifest says which is which.
                manifest = json.loads(content.read(CONFIG_LIMIT))
                order = list(manifest[0].get("Layers") or []) if manifest else []
            elif member.name.endswith(".json") and "/" not in member.name:
                # The image's own configuration (`<id>.json`); the legacy `<layer>/json` files repeat it.
                places += find_in_config(json.loads(content.read(CONFIG_LIMIT)), wanted)
    files = []
    for layer, path in in_layers:
        where = f" (layer {order.index(layer) + 1} of {len(order)})" if layer in order else ""
        files.append(f"the file {path}{where}")
    return files + places


def _find_in_layer(content, wanted: list[bytes]) -> list[str]:
    found = []
    with tarfile.open(fileobj=content, mode="r|") as files:
        for entry in files:
            if entry.isfile() and stream_contains(files.extractfile(entry), wanted):
                found.append("/" + entry.name.removeprefix("./").lstrip("/"))
    return found


def check_build_secret(check: dict, context: GradingContext) -> Outcome:
    name = check["secret"]
    value = context.build_secrets.get(name)
    if not value:
        raise CheckError(f"the build was not given the secret `{name}`")
    places = find_secret(context.sandbox.image_archive(context.image), needles(value))
    if places:
        shown = "; ".join(places[:3]) + (f"; and {len(places) - 3} more places" if len(places) > 3 else "")
        return fail(
            f"the value of the build secret `{name}` is in the image: {shown}. Anyone who pulls the image can "
            "read it there."
        )
    if "proof_file" in check:
        problem = _proof_problem(check["proof_file"], name, value, context)
        if problem:
            return fail(problem)
        return ok(
            f"a build step received the secret `{name}` (its SHA-256 is in {check['proof_file']}), and its value is "
            "in no layer, no history entry and no configuration of the image."
        )
    return ok(f"the value of the build secret `{name}` is in no layer, no history entry and no configuration.")


def _proof_problem(path: str, name: str, value: str, context: GradingContext) -> str:
    proof = context.sandbox.read_file(context.image, path)
    if proof is None:
        return (
            f"{path} is not in the image, so no build step showed that it received the secret `{name}`: the step "
            "that needs it must run with --mount=type=secret,id=" + name + "."
        )
    if proof.decode("utf-8", "replace").strip() != hashlib.sha256(value.encode()).hexdigest():
        return (
            f"the step that wrote {path} did not get this build's secret `{name}`: it used some other value "
            f"(written in the Dockerfile, or copied from a file). Give it the secret with "
            f"RUN --mount=type=secret,id={name}."
        )
    return ""


SECRET_CHECKS = {"build-secret": check_build_secret}
