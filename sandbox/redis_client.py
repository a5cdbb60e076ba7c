"""The one Redis client the sandbox's shared state goes through: daemon leases, daemon health and task tickets.

Every call has a short timeout, so a Redis that has gone away is an error within seconds instead of a hang; the
callers treat such errors as passing trouble and try again (see sandbox/leases.py and sandbox/upkeep.py).
"""

from __future__ import annotations

import redis
from django.conf import settings

SOCKET_TIMEOUT_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 3

_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """A client for settings.REDIS_URL, made once per URL (redis-py makes new connections after a fork)."""
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS
        )
    return _clients[url]
