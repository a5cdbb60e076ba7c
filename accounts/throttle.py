"""Throttling log-ins and sign-ups, per account and per address, with Django's cache.

The policy (docs/security.md; every number is a setting):

- LOGIN_FAILURES_PER_ACCOUNT (5) failed log-ins for one username within LOGIN_LOCK_MINUTES (15) lock that
  username for LOGIN_LOCK_MINUTES, from every address.
- LOGIN_FAILURES_PER_ADDRESS (20) failed log-ins from one address within LOGIN_LOCK_MINUTES lock that
  address for LOGIN_LOCK_MINUTES, for every username.
- While locked, a log-in is refused before the password is even checked, so guessing on gains nothing.
  A successful log-in clears that username's failures.
- SIGNUPS_PER_ADDRESS_PER_HOUR (10) new accounts per address per hour; more wait for the hour to pass.

A refusal is a page with HTTP 429 that says what happened and when to try again. The counters live in the
cache, which is Redis in production, so every web process sees the same counts (tutorial/settings.py).
Usernames are counted case-insensitively and stored hashed, so no key carries what a visitor typed.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

ACCOUNT, ADDRESS, SIGNUP = "account", "address", "signup"


@dataclass(frozen=True)
class Lock:
    """Why a log-in or sign-up is refused, and until when (seconds since the epoch)."""

    kind: str
    until: float

    def minutes_left(self, now: float | None = None) -> int:
        return max(1, math.ceil((self.until - (now or time.time())) / 60))

    def message(self) -> str:
        minutes = self.minutes_left()
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        if self.kind == ACCOUNT:
            return (
                f"There have been too many failed log-ins for this account, so it is locked for now. "
                f"Try again in {wait}."
            )
        if self.kind == ADDRESS:
            return (
                f"There have been too many failed log-ins from your network address, so log-ins from it are "
                f"paused. Try again in {wait}."
            )
        return (
            f"Too many accounts have been created from your network address in the last hour. "
            f"Try again in {wait}, or log in to an account you already have."
        )


def client_address(request: HttpRequest) -> str:
    """The address the request came from. Behind a reverse proxy, run Daphne with --proxy-headers so that
    this is the visitor's address, not the proxy's."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(kind: str, value: str, part: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"dockyard:throttle:{part}:{kind}:{digest}"


def _lock_seconds() -> int:
    return settings.LOGIN_LOCK_MINUTES * 60


def _current_lock(kind: str, value: str) -> Lock | None:
    until = cache.get(_key(kind, value, "lock"))
    return Lock(kind, until) if until and until > time.time() else None


def _count(kind: str, value: str, window_seconds: int) -> int:
    """Add one to a counter that starts on its first count and lasts `window_seconds`."""
    key = _key(kind, value, "count")
    cache.add(key, 0, timeout=window_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # the counter expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        return 1


def _lock(kind: str, value: str, seconds: int) -> Lock:
    until = time.time() + seconds
    cache.set(_key(kind, value, "lock"), until, timeout=seconds)
    cache.delete(_key(kind, value, "count"))
    return Lock(kind, until)


# --- Log-in -------------------------------------------------------------------------------------------------------


def login_lock(username: str, address: str) -> Lock | None:
    """The lock that refuses this log-in, if any: the account's first, then the address's."""
    return _current_lock(ACCOUNT, username) or _current_lock(ADDRESS, address)


def record_login_failure(username: str, address: str) -> Lock | None:
    """Count a failed log-in; returns the lock it set off, if it did."""
    lock = None
    if _count(ADDRESS, address, _lock_seconds()) >= settings.LOGIN_FAILURES_PER_ADDRESS:
        lock = _lock(ADDRESS, address, _lock_seconds())
    if username and _count(ACCOUNT, username, _lock_seconds()) >= settings.LOGIN_FAILURES_PER_ACCOUNT:
        lock = _lock(ACCOUNT, username, _lock_seconds())
    return lock


def record_login_success(username: str) -> None:
    cache.delete(_key(ACCOUNT, username, "count"))


# --- Sign-up ------------------------------------------------------------------------------------------------------


def signup_lock(address: str) -> Lock | None:
    return _current_lock(SIGNUP, address)


def record_signup(address: str) -> None:
    """Count a new account from this address; the one that reaches the hourly limit locks the address."""
    if _count(SIGNUP, address, 3600) >= settings.SIGNUPS_PER_ADDRESS_PER_HOUR:
        _lock(SIGNUP, address, 3600)
