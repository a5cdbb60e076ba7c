"""Leasing a sandbox daemon: one build at a time per daemon, because the daemon's cgroup is the limit.

A lease is a Redis key `dockyard:lease:<daemon>` holding the build's own random token, with a short expiry that
a background thread renews while the build runs. Every worker leases from the same pool (all of
`daemons.all_daemons()`), so no daemon ever runs two builds at once, whichever worker or machine they come from.

Two leases can never overlap, even when Redis misbehaves:

- Renewal survives passing Redis errors: the thread retries every second. Only when no renewal has worked
  for LEASE_SECONDS - SAFETY_MARGIN_SECONDS does it declare the lease lost, and the build stops itself
  (its `on_lost` callbacks run) SAFETY_MARGIN_SECONDS before Redis could let anyone else take the daemon.
- Each renewal also writes the build's heartbeat in the database (the `heartbeat` callback). A Redis that
  restarts forgets every lease at once; the holder then takes its key back at its next renewal, and until it
  does, a newcomer is kept off by `is_busy`, which asks the database whether another build's heartbeat on
  that daemon is fresh. A heartbeat is fresh for LEASE_SECONDS, so a dead build frees its daemon as its lease
  would have.
- A renewal that finds the key held by another token means the lease is lost: the build stops at once.

A worker process that dies stops renewing, so its daemon is free again within LEASE_SECONDS.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from django.db import close_old_connections

from .daemons import all_docker_hosts
from .health import down_hosts, mark_down, ping, pool_key
from .models import HEARTBEAT_TIMEOUT_SECONDS
from .redis_client import redis_client

logger = logging.getLogger(__name__)

LEASE_SECONDS = HEARTBEAT_TIMEOUT_SECONDS
RENEW_EVERY_SECONDS = 5
RETRY_EVERY_SECONDS = 1
SAFETY_MARGIN_SECONDS = 10
POLL_SECONDS = 0.25

# Extend the lease if it is ours; take it back if Redis has forgotten it (a restart); else it is someone else's.
RENEW_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class NoDaemonFree(Exception):
    pass


def lease_key(docker_host: str) -> str:
    return f"dockyard:lease:{pool_key(docker_host)}"


class Lease:
    """One build's hold on one daemon. `lost` is set, and the on_lost callbacks run, when the hold may be gone."""

    def __init__(self, docker_host: str, token: str, heartbeat: Callable[[], bool]):
        self.docker_host = docker_host
        self.key = lease_key(docker_host)
        self.token = token
        self.heartbeat = heartbeat
        self.lost = threading.Event()
        self.lost_reason = ""
        self.last_renewed = time.monotonic()
        self._callbacks: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_renewing, name=f"lease {docker_host}", daemon=True)

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Run `callback` (from the renewal thread) when the lease is lost; at once if it already is."""
        self._callbacks.append(callback)
        if self.lost.is_set():
            callback()

    def is_valid(self) -> bool:
        """True while nobody else can hold this daemon: not lost, and renewed recently enough."""
        fresh = time.monotonic() - self.last_renewed < LEASE_SECONDS - SAFETY_MARGIN_SECONDS
        return fresh and not self.lost.is_set()

    def start(self) -> Lease:
        self._thread.start()
        return self

    def release(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        try:
            redis_client().eval(RELEASE_SCRIPT, 1, self.key, self.token)
        except redis.exceptions.RedisError:
            # It expires by itself; until then the daemon stays unused, which is safe.
            logger.warning("Could not release the lease on %s", self.docker_host)

    def renew(self) -> bool:
        """One renewal: Redis and the database heartbeat. False when it could not be done (try again soon)."""
        try:
            answer = redis_client().eval(RENEW_SCRIPT, 1, self.key, self.token, int(LEASE_SECONDS * 1000))
        except redis.exceptions.RedisError as error:
            logger.warning("Lease renewal on %s failed for now: %s", self.docker_host, error)
            return False
        if answer == 0:
            self._lose("another build holds this daemon's lease")
            return False
        if answer == 2:
            logger.warning("Redis had forgotten the lease on %s (a restart?); it is taken back.", self.docker_host)
        try:
            if not self.heartbeat():
                self._lose("the submission is no longer this build's")
                return False
        except Exception:  # noqa: BLE001 - a database hiccup is retried like a Redis one
            logger.warning("Heartbeat of the build on %s failed for now", self.docker_host, exc_info=True)
            return False
        self.last_renewed = time.monotonic()
        return True

    def _keep_renewing(self) -> None:
        try:
            wait = RENEW_EVERY_SECONDS
            while not self._stop.wait(wait) and not self.lost.is_set():
                if self.renew():
                    wait = RENEW_EVERY_SECONDS
                    continue
                wait = RETRY_EVERY_SECONDS
                if not self.is_valid():
                    self._lose(f"it could not be renewed for {LEASE_SECONDS - SAFETY_MARGIN_SECONDS} s")
        finally:
            close_old_connections()

    def _lose(self, reason: str) -> None:
        if self.lost_reason:
            return
        logger.error("Lease on %s lost: %s. The build on it stops.", self.docker_host, reason)
        self.lost_reason = reason
        # The build is stopped first, and only then is the lease seen as lost: whoever waits for `lost` finds
        # the build already stopped.
        for callback in self._callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - every callback must get its chance to stop the build
                logger.exception("Stopping the build on %s after its lease was lost failed", self.docker_host)
        self.lost.set()


def candidates(hosts: list[str], avoid: str = "") -> list[str]:
    """The hosts worth trying, in order: not marked down, and the one to avoid only when it is the last one."""
    down = down_hosts(hosts)
    usable = [host for host in hosts if host not in down]
    if avoid and any(host != avoid for host in usable):
        usable = [host for host in usable if host != avoid]
    return usable


def try_lease(host: str, heartbeat: Callable[[], bool], is_busy: Callable[[str], bool]) -> Lease | None:
    """Take one daemon if it is free, answers, and no other build's heartbeat says it is in use."""
    if is_busy(host):
        return None
    token = secrets.token_hex(16)
    key = lease_key(host)
    if not redis_client().set(key, token, nx=True, px=int(LEASE_SECONDS * 1000)):
        return None
    error = ping(host)
    if error:
        logger.warning("Sandbox %s does not answer (%s); leasing another one.", host, error)
        mark_down(host, error)
        redis_client().eval(RELEASE_SCRIPT, 1, key, token)
        return None
    return Lease(host, token, heartbeat).start()


@contextmanager
def lease_daemon(
    wait_seconds: float = 20.0,
    hosts: list[str] | None = None,
    avoid: str = "",
    heartbeat: Callable[[], bool] = lambda: True,
    is_busy: Callable[[str], bool] = lambda host: False,
) -> Iterator[Lease]:
    """Hold a free, answering sandbox daemon of the pool for this build only.

    Raises NoDaemonFree after `wait_seconds` (every daemon busy or down), and redis.RedisError when Redis cannot
    be reached. `avoid` names a daemon to pass by unless it is the only one left (a build it lost is retried
    elsewhere). `heartbeat` is called at every renewal and returns False when the build is no longer ours.
    """
    pool = hosts if hosts is not None else all_docker_hosts()
    deadline = time.monotonic() + wait_seconds
    last_beat = time.monotonic()
    while True:
        for host in candidates(pool, avoid):
            lease = try_lease(host, heartbeat, is_busy)
            if lease is None:
                continue
            try:
                yield lease
            finally:
                lease.release()
            return
        if time.monotonic() > deadline:
            raise NoDaemonFree("Every build sandbox is busy.")
        # Waiting is part of the attempt: keep its heartbeat fresh so the upkeep does not think it dead.
        if time.monotonic() - last_beat > RENEW_EVERY_SECONDS:
            heartbeat()
            last_beat = time.monotonic()
        time.sleep(POLL_SECONDS)
