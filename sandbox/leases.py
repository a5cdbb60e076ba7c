"""Leasing a sandbox daemon: one build at a time per daemon, because the daemon's cgroup is the limit.

A lease is a Redis lock with an expiry longer than the hard task limit, so a worker that dies without
releasing it frees the daemon on its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from .daemons import all_docker_hosts


class NoDaemonFree(Exception):
    pass


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@contextmanager
def lease_daemon(wait_seconds: float = 30.0) -> Iterator[str]:
    """Yield the docker host of a free sandbox daemon, held for this build only."""
    client = _client()
    deadline = time.monotonic() + wait_seconds
    timeout = settings.BUILD_HARD_TIME_LIMIT + 60
    while True:
        for host in all_docker_hosts():
            lock = client.lock(f"dockyard:lease:{host}", timeout=timeout, blocking=False)
            if lock.acquire(blocking=False):
                try:
                    yield host
                finally:
                    try:
                        lock.release()
                    except redis.exceptions.LockError:
                        pass  # The lease expired first; the next build may already hold it.
                return
        if time.monotonic() > deadline:
            raise NoDaemonFree("Every build sandbox is busy.")
        time.sleep(0.25)
