"""Leasing a sandbox daemon: one build at a time per daemon, because the daemon's cgroup is the limit.

A lease is a Redis lock with a short expiry that a background thread keeps extending while the build
runs. A worker process that dies stops extending it, so its daemon is free again within a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from .daemons import all_docker_hosts

LEASE_SECONDS = 60
RENEW_EVERY_SECONDS = 15


class NoDaemonFree(Exception):
    pass


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _keep_extending(lock, stop: threading.Event) -> None:
    while not stop.wait(RENEW_EVERY_SECONDS):
        try:
            lock.reacquire()
        except redis.exceptions.RedisError:
            return


@contextmanager
def _held(lock) -> Iterator[None]:
    stop = threading.Event()
    renewer = threading.Thread(target=_keep_extending, args=(lock, stop), daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=5)
        try:
            lock.release()
        except redis.exceptions.LockError:
            pass  # The lease expired first; another build may already hold it.


@contextmanager
def lease_daemon(wait_seconds: float = 30.0) -> Iterator[str]:
    """Yield the docker host of a free sandbox daemon, held for this build only."""
    client = _client()
    deadline = time.monotonic() + wait_seconds
    while True:
        for host in all_docker_hosts():
            # Not thread-local: the renewal thread must be able to extend the lease this thread took.
            lock = client.lock(f"dockyard:lease:{host}", timeout=LEASE_SECONDS, blocking=False, thread_local=False)
            if lock.acquire(blocking=False):
                with _held(lock):
                    yield host
                return
        if time.monotonic() > deadline:
            raise NoDaemonFree("Every build sandbox is busy.")
        time.sleep(0.25)
