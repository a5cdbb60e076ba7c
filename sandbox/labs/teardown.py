"""Removing everything a lab made from its sandbox daemon: containers, networks, volumes and images.

What the runner creates carries the label `dockyard.submission=<id>` (it adds `--label` to run, create,
volume create, network create and build, and a Compose override labels every service, volume, network and
build). Some things cannot be labelled: a named volume that `docker run -v data:/data` creates on the fly, and
the anonymous volumes of images that declare a VOLUME. So a lab is also removed by the names it declared, by
the volumes its containers mounted, and by anonymous volumes that appeared while it ran and nothing uses.
Catalog images are never removed, whatever happens. Failures are logged, not raised: cleanup must not hide a
learner's result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import docker
import docker.errors
import requests.exceptions

from sandbox.catalog import images_to_make
from sandbox.cleanup import LABEL, docker_time
from sandbox.policy import normalize_image_ref

from .names import REGISTRY

logger = logging.getLogger(__name__)

ANONYMOUS_VOLUME = re.compile(r"[0-9a-f]{64}")
COMPOSE_PROJECT = "com.docker.compose.project"
DOCKER_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)


@dataclass
class LabObjects:
    """What to remove: the lab's label value, the names it declared, its Compose project, when it began."""

    submission_id: str
    containers: set[str] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)
    networks: set[str] = field(default_factory=set)
    images: set[str] = field(default_factory=set)
    project: str = ""
    started_at: float = 0.0


def _filters(objects: LabObjects) -> list[dict]:
    found = [{"label": f"{LABEL}={objects.submission_id}"}]
    if objects.project:
        found.append({"label": f"{COMPOSE_PROJECT}={objects.project}"})
    return found


def _quietly(action: Callable[[], object], what: str) -> int:
    try:
        action()
        return 1
    except docker.errors.NotFound:
        return 0
    except DOCKER_ERRORS as error:
        logger.warning("Could not remove %s of a lab: %s", what, error)
        return 0


def _listed(list_call: Callable[..., list], filters: list[dict]) -> dict[str, object]:
    found: dict[str, object] = {}
    for one in filters:
        try:
            for item in list_call(filters=one):
                found[item.id] = item
        except DOCKER_ERRORS as error:
            logger.warning("Could not list a lab's leftovers: %s", error)
    return found


def _by_name(get: Callable[[str], object], names: Iterable[str]) -> dict[str, object]:
    found: dict[str, object] = {}
    for name in names:
        try:
            item = get(name)
        except DOCKER_ERRORS:
            continue
        found[item.id] = item
    return found


def remove_containers(client: docker.DockerClient, objects: LabObjects) -> tuple[int, set[str]]:
    """Remove the lab's containers; returns how many went and the names of the volumes they mounted."""
    containers = _listed(lambda **kw: client.containers.list(all=True, **kw), _filters(objects))
    containers |= _by_name(client.containers.get, objects.containers)
    mounted: set[str] = set()
    removed = 0
    for container in containers.values():
        mounted |= {m["Name"] for m in container.attrs.get("Mounts") or [] if m.get("Type") == "volume"}
        removed += _quietly(lambda c=container: c.remove(force=True, v=True), "a container")
    return removed, mounted


def remove_networks(client: docker.DockerClient, objects: LabObjects) -> int:
    networks = _listed(client.networks.list, _filters(objects))
    networks |= _by_name(client.networks.get, objects.networks)
    kept = {"host", "none", "bridge"}
    return sum(_quietly(n.remove, "a network") for n in networks.values() if n.name not in kept)


def remove_volumes(client: docker.DockerClient, objects: LabObjects, mounted: set[str]) -> int:
    volumes = _listed(client.volumes.list, _filters(objects))
    volumes |= _by_name(client.volumes.get, objects.volumes | mounted)
    volumes |= _new_anonymous_volumes(client, objects.started_at)
    return sum(_quietly(lambda v=volume: v.remove(force=True), "a volume") for volume in volumes.values())


def _new_anonymous_volumes(client: docker.DockerClient, since: float) -> dict[str, object]:
    """Unlabelled anonymous volumes made since the lab began that no container uses: the lab's, left by a
    `docker rm` without -v (the lab holds the daemon's lease, so nothing else made volumes meanwhile)."""
    if not since:
        return {}
    found = {}
    try:
        for volume in client.volumes.list(filters={"dangling": True}):
            attrs = volume.attrs or {}
            created = docker_time(attrs.get("CreatedAt"))
            if ANONYMOUS_VOLUME.fullmatch(volume.name) and not attrs.get("Labels") and created >= since - 1:
                found[volume.id] = volume
    except DOCKER_ERRORS as error:
        logger.warning("Could not list dangling volumes: %s", error)
    return found


def remove_images(client: docker.DockerClient, objects: LabObjects) -> int:
    images = _listed(lambda **kw: client.images.list(all=True, **kw), _filters(objects)[:1])
    images |= _by_name(client.images.get, objects.images)
    # A catalog image is never a lab's, even when a lab named it. (Its label cannot tell: an image built
    # FROM it inherits the label, so the catalog's own image ids are what is protected.)
    protected = set(_by_name(client.images.get, images_to_make()))
    removed = 0
    for image in images.values():
        if image.id not in protected:
            removed += _quietly(lambda i=image: client.images.remove(i.id, force=True), "an image")
    return removed + untag_lab_names(client, objects)


def untag_lab_names(client: docker.DockerClient, objects: LabObjects) -> int:
    """Remove the names a lab gave to images it did not build (`docker tag busybox:1.35 tools/box:1`, a push to
    the sandbox's registry, which records `localhost:5000/...@sha256:...`): the image stays, the name goes."""
    removed = 0
    try:
        listed = client.images.list(all=True)
    except DOCKER_ERRORS as error:
        logger.warning("Could not list images for a lab's names: %s", error)
        return 0
    names = {normalize_image_ref(name) for name in objects.images}
    for image in listed:
        for reference in [*(image.attrs.get("RepoTags") or []), *(image.attrs.get("RepoDigests") or [])]:
            if reference.startswith(f"{REGISTRY}/") or normalize_image_ref(reference) in names:
                removed += _quietly(lambda r=reference: client.api.remove_image(r, noprune=True), "an image name")
    return removed


def remove_lab(client: docker.DockerClient, objects: LabObjects) -> dict[str, int]:
    """Remove everything the lab made, containers first (they hold networks and volumes). Counts per kind."""
    containers, mounted = remove_containers(client, objects)
    return {
        "containers": containers,
        "networks": remove_networks(client, objects),
        "volumes": remove_volumes(client, objects, mounted),
        "images": remove_images(client, objects),
    }


def remove_stale_names(client: docker.DockerClient, objects: LabObjects) -> None:
    """Before a lab runs: remove what an earlier, interrupted lab left under the same names.

    Only objects another lab made are touched: ones labelled with another submission, and (for volumes, which
    `docker run -v` may create without a label) unlabelled ones that no container uses.
    """

    def other_lab(labels: dict | None) -> bool:
        return LABEL in (labels or {}) and (labels or {})[LABEL] != objects.submission_id

    for name in objects.containers:
        container = _by_name(client.containers.get, [name])
        for item in container.values():
            if other_lab(item.labels):
                _quietly(lambda c=item: c.remove(force=True, v=True), "a stale container")
    for name in objects.networks:
        for item in _by_name(client.networks.get, [name]).values():
            if other_lab((item.attrs or {}).get("Labels")):
                _quietly(item.remove, "a stale network")
    for name in objects.volumes:
        for item in _by_name(client.volumes.get, [name]).values():
            labels = (item.attrs or {}).get("Labels") or {}
            if other_lab(labels) or not labels:
                # The daemon refuses to remove a volume in use, which is what keeps a live one safe.
                _quietly(item.remove, "a stale volume")
