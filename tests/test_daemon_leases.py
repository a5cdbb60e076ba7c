"""Leases on sandbox daemons, against the real Redis: one build per daemon, renewed while it runs."""

import time

import pytest
import redis

from sandbox import leases

pytestmark = pytest.mark.sandbox


@pytest.fixture
def test_redis(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/6"
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def two_hosts(monkeypatch):
    monkeypatch.setattr(leases, "all_docker_hosts", lambda: ["unix:///a.sock", "unix:///b.sock"])


def test_two_builds_get_two_different_daemons(test_redis, two_hosts):
    with leases.lease_daemon() as first, leases.lease_daemon() as second:
        assert {first, second} == {"unix:///a.sock", "unix:///b.sock"}


def test_a_third_build_waits_and_then_hears_every_sandbox_is_busy(test_redis, two_hosts):
    with leases.lease_daemon(), leases.lease_daemon():
        with pytest.raises(leases.NoDaemonFree):
            with leases.lease_daemon(wait_seconds=0.3):
                pass


def test_a_lease_is_released_when_the_build_ends(test_redis, two_hosts):
    with leases.lease_daemon() as host:
        pass
    with leases.lease_daemon() as again:
        assert again == host


def test_a_lease_is_kept_alive_while_the_build_runs_longer_than_its_expiry(test_redis, two_hosts, monkeypatch):
    monkeypatch.setattr(leases, "LEASE_SECONDS", 1)
    monkeypatch.setattr(leases, "RENEW_EVERY_SECONDS", 0.3)
    with leases.lease_daemon() as host:
        time.sleep(2.0)
        assert test_redis.exists(f"dockyard:lease:{host}")
    assert not test_redis.exists(f"dockyard:lease:{host}")
