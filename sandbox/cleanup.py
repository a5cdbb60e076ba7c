"""Removing what a submission left on a sandbox daemon: its build processes, containers, images, networks,
volumes and folders.

Every build, container, network and volume is labelled `dockyard.submission=<id>`. A BuildEnvironment removes
its own on exit; the functions here also clean up after a worker that died mid-build: `remove_leftovers`
removes labelled containers, images, networks and volumes older than a threshold, `stop_leftover_build` kills RUN-step processes that outlived
their build, and `remove_stale_workdirs` deletes build folders nobody removed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import docker
import docker.errors
import requests.exceptions

from .cgroups import leftover_build_pids, read_text
from .clients import make_client

logger = logging.getLogger(__name__)

LABEL = "dockyard.submission"
# How long the daemon may take to end a cancelled build's processes before they are killed here.
BUILD_STOP_GRACE_SECONDS = 10


def stop_leftover_build(
    docker_host: str,
    grace: float = BUILD_STOP_GRACE_SECONDS,
    ignore: set[str] | frozenset[str] = frozenset(),
    still_ours: Callable[[], bool] = lambda: True,
) -> int:
    """After the build CLI was killed, make sure none of this build's RUN step processes survives on the daemon.

    BuildKit kills them itself when the CLI's session ends; this waits `grace` seconds for that, then kills
    what is left in the per-step cgroups that appeared during this build (`ignore` names those that were there
    before it began). It only ever does so while `still_ours()` says the build still holds the daemon's lease:
    then no other build can run there, so those processes are this build's and nobody else's. Returns how
    many processes had to be killed.
    """
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not leftover_build_pids(docker_host, ignore):
            return 0
        time.sleep(0.2)
    killed = 0
    # A process may fork while its siblings are killed, so go round a few times.
    for _ in range(5):
        pids = leftover_build_pids(docker_host, ignore)
        if not pids:
            break
        if not still_ours():
            logger.warning("Not killing build processes on %s: the lease is no longer this build's.", docker_host)
            break
        for pid in pids:
            killed += kill_pid(pid)
        time.sleep(0.2)
    logger.warning("Killed %d build processes left on %s after a timeout.", killed, docker_host)
    return killed


def kill_container_process_tree(pid: int, container_id: str) -> bool:
    """Kill a process of a container and its descendants, if it runs on this machine. True when done.

    The process's cgroup must name the container, so a reused PID never hits another process.
    """
    cgroups = read_text(Path(f"/proc/{pid}/cgroup"))
    if not cgroups or container_id not in cgroups:
        return False
    for victim in [pid, *descendants(pid)]:
        kill_pid(victim)
    return True


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            for child in (read_text(children) or "").split():
                found.append(int(child))
                pending.append(int(child))
    return found


def kill_pid(pid: int) -> int:
    try:
        os.kill(pid, signal.SIGKILL)
        return 1
    except (ProcessLookupError, PermissionError):
        return 0


def remove_labelled(
    client: docker.DockerClient,
    label_filter: str,
    older_than_seconds: float = 0,
    keep: set[str] | frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Remove the containers, then the images, networks and volumes matching a label filter and older than the
    threshold. Containers go first: a network or volume in use cannot be removed.

    Anything labelled with a submission id in `keep` is left alone. Never touches the build cache. Failures are
    logged, not raised: cleanup must not hide the result.
    """
    removed = {"containers": 0, "images": 0, "networks": 0, "volumes": 0}
    cutoff = time.time() - older_than_seconds
    filters = {"label": label_filter}

    def removable(created: str | int | None, labels: dict | None) -> bool:
        if (labels or {}).get(LABEL) in keep:
            return False
        return older_than_seconds <= 0 or docker_time(created) <= cutoff

    try:
        for container in client.containers.list(all=True, filters=filters):
            if removable(container.attrs.get("Created"), container.labels):
                removed["containers"] += _remove_one(lambda c=container: c.remove(force=True, v=True))
        for image in client.images.list(all=True, filters=filters):
            if removable(image.attrs.get("Created"), image.labels):
                removed["images"] += _remove_one(lambda i=image: client.images.remove(i.id, force=True))
        for network in client.networks.list(filters=filters):
            if removable(network.attrs.get("Created"), network.attrs.get("Labels")):
                removed["networks"] += _remove_one(network.remove)
        for volume in client.volumes.list(filters=filters):
            if removable(volume.attrs.get("CreatedAt"), volume.attrs.get("Labels")):
                removed["volumes"] += _remove_one(lambda v=volume: v.remove(force=True))
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        logger.warning("Cleanup of %s was incomplete: %s", label_filter, error)
    return removed


def _remove_one(action: Callable[[], object]) -> int:
    try:
        action()
        return 1
    except docker.errors.NotFound:
        return 0
    except docker.errors.APIError as error:
        logger.warning("Could not remove a sandbox leftover: %s", error)
        return 0


def remove_leftovers(
    docker_host: str, older_than_seconds: float, keep: set[str] | frozenset[str] = frozenset()
) -> dict[str, int]:
    """Remove submissions' containers, images, networks and volumes older than the threshold from one daemon,
    except `keep`'s.

    The upkeep calls it with the ids of every submission still queued or running in `keep`, so only what
    finished submissions left behind goes. A fully cached rebuild gets the image's original creation time,
    which is why age alone never decides. Returns how many of each went.
    """
    client = make_client(docker_host)
    try:
        return remove_labelled(client, LABEL, older_than_seconds, keep)
    finally:
        client.close()


def remove_stale_workdirs(older_than_seconds: float) -> int:
    """Remove build folders that a killed worker never cleaned up; returns how many went."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in Path(tempfile.gettempdir()).glob("dockyard-sub-*"):
        if path.is_dir() and not path.is_symlink() and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def docker_time(value: str | int | None) -> float:
    """Seconds since the epoch from Docker's Created field (RFC 3339 with nanoseconds, or a number)."""
    if isinstance(value, int | float):
        return float(value)
    if not value:
        return 0.0
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", value)
    if not match:
        return 0.0
    zone = match.group(3) or "Z"
    stamp = datetime.fromisoformat(match.group(1) + ("+00:00" if zone == "Z" else zone))
    fraction = float("0." + match.group(2)) if match.group(2) else 0.0
    return stamp.timestamp() + fraction
