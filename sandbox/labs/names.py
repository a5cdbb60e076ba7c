"""The names a lab may use, for commands labs and Compose labs alike.

A lab names its own containers, volumes, networks and images. Names that start with `dockyard` belong to the
grader (its probe image, its build tags), `host`, `none` and `bridge` are Docker's own networks, and images
come from the sandbox's offline catalog or from a build in the same lab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sandbox.catalog import catalog_names
from sandbox.policy import normalize_image_ref

# Docker's own rule for container, volume and network names.
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
# An image a lab builds: lower-case repository parts (one optional folder, no registry) and an optional tag.
IMAGE_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)?(?::[\w][\w.-]{0,127})?")
RESERVED_PREFIX = "dockyard"
# The sandbox's own registry, on the daemon's loopback (sandbox/registry.py): the only one a lab can push to or
# pull from. Its repositories are emptied before and after every lab, and only one lab runs on a daemon at a time.
REGISTRY = "localhost:5000"
_PATH_PART = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
# An image in that registry: localhost:5000/ and one to three lower-case path parts, then a tag or a digest.
REGISTRY_IMAGE = re.compile(
    rf"{re.escape(REGISTRY)}/(?P<repository>{_PATH_PART}(?:/{_PATH_PART}){{0,2}})"
    r"(?::(?P<tag>[\w][\w.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))?"
)
DOCKER_NETWORKS = {"host", "none", "bridge", "default"}


class Refused(Exception):
    """Something the lab may not do; the message says why, in words."""


def check_name(name: str, what: str) -> str:
    """A container, volume or network name the lab may give; Refused with the reason otherwise."""
    if not NAME.fullmatch(name):
        raise Refused(
            f"`{name}` is not a valid {what} name: use letters, digits, '_', '.' and '-', starting with a letter "
            "or digit"
        )
    if name.lower().startswith(RESERVED_PREFIX):
        raise Refused(f"names starting with `{RESERVED_PREFIX}` belong to the grader; choose another {what} name")
    return name


def check_label(text: str) -> None:
    """A label the lab may set: the grader's own (it finds and removes what a lab made by them) are refused."""
    key = text.split("=", 1)[0].strip().lower()
    if key.startswith(RESERVED_PREFIX) or key.startswith("com.docker.compose."):
        raise Refused(f"the label `{key}` belongs to the grader (it finds what your lab made by it); choose another")


def catalog_hint() -> str:
    shown = [name for name in catalog_names() if not name.startswith("docker.io/") and ":" in name]
    return "the catalog has " + ", ".join(shown) if shown else "the catalog is empty"


def is_catalog_image(reference: str) -> bool:
    return normalize_image_ref(reference) in {normalize_image_ref(name) for name in catalog_names()}


def registry_repository(reference: str) -> str:
    """`localhost:5000/shop/web` of `localhost:5000/shop/web:1.0` (or `@sha256:...`); "" for any other image."""
    found = REGISTRY_IMAGE.fullmatch(reference)
    return f"{REGISTRY}/{found['repository']}" if found else ""


def check_registry_name(reference: str, digest_allowed: bool = False) -> str:
    """A name in the sandbox's registry the lab may use; Refused with the reason otherwise."""
    found = REGISTRY_IMAGE.fullmatch(reference)
    if not found or (found["digest"] and not digest_allowed):
        how = "a tag (such as :1.0) or a digest (@sha256:...)" if digest_allowed else "an optional tag (such as :1.0)"
        raise Refused(
            f"`{reference}` is not a name in the sandbox's registry: write {REGISTRY}/ and a lower-case repository "
            f"(such as {REGISTRY}/shop/web), then {how}"
        )
    if any(part.startswith(RESERVED_PREFIX) for part in found["repository"].split("/")):
        raise Refused(f"repository names starting with `{RESERVED_PREFIX}` belong to the grader; choose another")
    return normalize_image_ref(reference)


def check_built_image_name(reference: str) -> str:
    """The name a lab gives an image it builds (or tags): its own, never a catalog image's or the grader's."""
    if reference.startswith(f"{REGISTRY}/"):
        return check_registry_name(reference)
    first = reference.split("/", 1)[0]
    if "/" in reference and ("." in first or ":" in first or first == "localhost"):
        raise Refused(
            f"`{reference}` names the registry {first}, which the sandbox cannot reach; its only registry is "
            f"{REGISTRY} (such as {REGISTRY}/shop/web:1.0)"
        )
    if not IMAGE_NAME.fullmatch(reference):
        raise Refused(
            f"`{reference}` is not an image name this lab can use: lower-case letters, digits, '.', '_' and '-', "
            "an optional tag after ':' (such as myapp:1.0), and no registry"
        )
    if reference.lower().startswith(RESERVED_PREFIX):
        raise Refused(f"image names starting with `{RESERVED_PREFIX}` belong to the grader; choose another")
    if is_catalog_image(reference):
        raise Refused(
            f"`{reference}` is a catalog image that other labs use too; give your image a name of its own, "
            "such as myapp:1.0"
        )
    return normalize_image_ref(reference)


@dataclass
class LabNames:
    """What a lab has named so far: later commands (and the grader) may only refer to these."""

    containers: set[str] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)
    networks: set[str] = field(default_factory=set)
    images: set[str] = field(default_factory=set)  # normalized references of images the lab built or tagged
    # Repositories of the sandbox's registry the lab pushed to (`localhost:5000/shop/web`): it may pull from
    # these, and run their images by tag or digest.
    pushed: set[str] = field(default_factory=set)

    def image_allowed(self, reference: str) -> str:
        """ "" when the lab may run this image, else why not."""
        if any(part.startswith(RESERVED_PREFIX) for part in reference.lower().split("/")):
            return f"`{reference}` is the grader's own image; run one of the catalog's images instead"
        if is_catalog_image(reference) or normalize_image_ref(reference) in self.images:
            return ""
        if registry_repository(reference) in self.pushed:
            return ""
        return (
            f"the image `{reference}` is not in the sandbox's catalog and no earlier line built it; nothing can "
            f"be pulled here ({catalog_hint()})"
        )

    def all_names(self) -> set[str]:
        return self.containers | self.volumes | self.networks
