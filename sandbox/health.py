"""Whether each sandbox daemon of the pool answers, shared through Redis so every worker knows.

A daemon is pinged just before it is leased (sandbox/leases.py) and by the upkeep at an interval
(sandbox/upkeep.py). One that does not answer is marked down for DOWN_SECONDS, and leases pass it by. The
upkeep restarts a local daemon that is down (it is this machine's own dockerd; its data root and catalog are
kept on its disk) and keeps pinging a remote one, which comes back into the pool when it answers again.
The last check of each daemon is kept for `manage.py sandbox status`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
from dataclasses import asdict, dataclass

import docker.errors
import redis
import requests.exceptions

from . import daemons
from .clients import SandboxError, SandboxSetupError, make_client
from .daemons import Daemon
from .redis_client import redis_client

logger = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 3
DOWN_SECONDS = 60
HEALTH_KEY = "dockyard:health"


@dataclass
class Health:
    """One check of one daemon: up or down (with the error in words), its free disk, and what was done."""

    docker_host: str
    up: bool
    error: str = ""
    free_disk_bytes: int | None = None
    restarted: bool = False
    checked_at: float = 0.0


def pool_key(docker_host: str) -> str:
    """The daemon's name in Redis. A unix socket names a daemon of one machine only, so the machine is added."""
    if docker_host.startswith("unix://"):
        return f"{socket.gethostname()}:{docker_host}"
    return docker_host


def ping(docker_host: str, timeout: float = PING_TIMEOUT_SECONDS) -> str:
    """'' when the daemon answers, else why not, in words."""
    try:
        client = make_client(docker_host, timeout=timeout, ping=False)
    except SandboxError as error:
        return error.message
    try:
        client.api.timeout = timeout
        client.ping()
        return ""
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        return f"does not answer ({type(error).__name__})"
    finally:
        client.close()


# --- Down marks, shared by every worker ---------------------------------------------------------------------


def mark_down(docker_host: str, error: str) -> None:
    try:
        redis_client().set(f"dockyard:down:{pool_key(docker_host)}", error or "down", ex=DOWN_SECONDS)
    except redis.exceptions.RedisError:
        logger.warning("Could not mark %s down in Redis", docker_host)


def mark_up(docker_host: str) -> None:
    try:
        redis_client().delete(f"dockyard:down:{pool_key(docker_host)}")
    except redis.exceptions.RedisError:
        logger.warning("Could not mark %s up in Redis", docker_host)


def down_hosts(docker_hosts: list[str]) -> set[str]:
    """The hosts marked down. Without Redis nothing is known, so nothing is excluded (leases fail anyway)."""
    if not docker_hosts:
        return set()
    try:
        marks = redis_client().mget([f"dockyard:down:{pool_key(host)}" for host in docker_hosts])
    except redis.exceptions.RedisError:
        return set()
    return {host for host, mark in zip(docker_hosts, marks, strict=True) if mark is not None}


# --- Checking, and healing -----------------------------------------------------------------------------------


def free_disk(d: Daemon) -> int | None:
    """Free bytes on a local daemon's capped disk; None for a remote daemon (its disk is not visible here)."""
    if d.remote or not os.path.ismount(d.data_root):
        return None
    return shutil.disk_usage(d.data_root).free


def check(d: Daemon, restart: bool = True) -> Health:
    """Ping one daemon; restart it when it is local and down; mark it up or down for every worker."""
    error = ping(d.docker_host)
    restarted = False
    if error and restart and not d.remote:
        logger.warning("Sandbox %s is down (%s); restarting it.", d.name, error)
        try:
            daemons.start(d)
            restarted = True
            error = ping(d.docker_host)
        except SandboxSetupError as failure:
            error = f"could not be restarted: {failure}"
    if error:
        mark_down(d.docker_host, error)
    else:
        mark_up(d.docker_host)
        # A lab that pushes needs the daemon's registry (sandbox/registry.py), which can die on its own.
        if restart and daemons.revive_registry(d):
            logger.warning("The registry of sandbox %s had stopped; it was started again.", d.name)
    health = Health(d.docker_host, up=not error, error=error, restarted=restarted, checked_at=time.time())
    if not error:
        health.free_disk_bytes = free_disk(d)
    remember(health)
    return health


def check_pool(local: bool = True, remote: bool = True, restart: bool = True) -> list[Health]:
    """Check the local daemons, the remote ones, or both."""
    chosen = [d for d in daemons.all_daemons() if (remote if d.remote else local)]
    return [check(d, restart=restart) for d in chosen]


def remember(health: Health) -> None:
    try:
        redis_client().hset(HEALTH_KEY, pool_key(health.docker_host), json.dumps(asdict(health)))
    except redis.exceptions.RedisError:
        logger.warning("Could not store the health of %s in Redis", health.docker_host)


def last_checks() -> dict[str, Health]:
    """The last stored check of each daemon, by pool_key; empty when Redis cannot be reached."""
    try:
        stored = redis_client().hgetall(HEALTH_KEY)
    except redis.exceptions.RedisError:
        return {}
    checks = {}
    for key, raw in stored.items():
        try:
            health = Health(**json.loads(raw))
        except (TypeError, ValueError):
            continue
        checks[key.decode()] = health
    return checks
