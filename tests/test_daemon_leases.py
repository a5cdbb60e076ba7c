"""Leases on sandbox daemons, against a real Redis of the test's own: one build per daemon, never two at once.

The daemons here are names only (a lease never talks to them, except for the ping before it is taken, which is
replaced). The Redis is started by the test on a free port, so it can be broken and restarted at will.
"""

import threading
import time

import pytest
import redis

from ops.livestack import RedisServer
from sandbox import health, leases
from sandbox.redis_client import redis_client

pytestmark = pytest.mark.sandbox

A, B = "unix:///a.sock", "unix:///b.sock"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def test_redis(own_redis, settings, monkeypatch):
    settings.REDIS_URL = own_redis.url
    client = redis.Redis.from_url(own_redis.url)
    client.flushdb()
    # Every daemon answers, unless a test says otherwise.
    monkeypatch.setattr(leases, "ping", lambda host: "")
    yield client
    client.flushdb()


@pytest.fixture
def fast(monkeypatch):
    """Leases of 2 s renewed every 0.2 s, declared lost after 1.5 s without a renewal."""
    monkeypatch.setattr(leases, "LEASE_SECONDS", 2)
    monkeypatch.setattr(leases, "RENEW_EVERY_SECONDS", 0.2)
    monkeypatch.setattr(leases, "RETRY_EVERY_SECONDS", 0.1)
    monkeypatch.setattr(leases, "SAFETY_MARGIN_SECONDS", 0.5)


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_two_builds_get_two_different_daemons(test_redis):
    with leases.lease_daemon(hosts=[A, B]) as first, leases.lease_daemon(hosts=[A, B]) as second:
        assert {first.docker_host, second.docker_host} == {A, B}


def test_a_third_build_waits_and_then_hears_every_sandbox_is_busy(test_redis):
    with leases.lease_daemon(hosts=[A, B]), leases.lease_daemon(hosts=[A, B]):
        with pytest.raises(leases.NoDaemonFree):
            with leases.lease_daemon(hosts=[A, B], wait_seconds=0.3):
                pass


def test_a_lease_is_released_when_the_build_ends(test_redis):
    with leases.lease_daemon(hosts=[A, B]) as lease:
        host = lease.docker_host
    assert not test_redis.exists(leases.lease_key(host))
    with leases.lease_daemon(hosts=[A, B]) as again:
        assert again.docker_host == host


def test_a_lease_is_kept_alive_while_the_build_runs_longer_than_its_expiry(test_redis, fast):
    beats = []
    with leases.lease_daemon(hosts=[A], heartbeat=lambda: beats.append(1) or True) as lease:
        time.sleep(3.0)
        assert test_redis.get(lease.key).decode() == lease.token
        assert lease.is_valid() and not lease.lost.is_set()
    # Every renewal also says, in the database, that the build is alive.
    assert len(beats) >= 5
    assert not test_redis.exists(leases.lease_key(A))


def test_renewal_survives_passing_redis_errors(test_redis, fast, monkeypatch):
    real_eval = redis_client().eval
    failures = {"left": 4}

    def flaky_eval(*args):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise redis.exceptions.ConnectionError("Redis went away for a moment")
        return real_eval(*args)

    with leases.lease_daemon(hosts=[A]) as lease:
        monkeypatch.setattr(redis_client(), "eval", flaky_eval)
        time.sleep(2.5)
        assert failures["left"] == 0, "the renewal thread stopped at the first error"
        assert not lease.lost.is_set()
        assert test_redis.get(lease.key).decode() == lease.token
        monkeypatch.undo()


def test_a_lease_that_cannot_be_renewed_stops_its_build_before_anyone_else_can_take_the_daemon(
    test_redis, fast, monkeypatch
):
    stopped_with_ttl = []

    def stop_build():
        # Redis still holds the key at this moment: nobody else could have leased the daemon yet.
        stopped_with_ttl.append(test_redis.pttl(leases.lease_key(A)))

    with leases.lease_daemon(hosts=[A]) as lease:
        lease.on_lost(stop_build)
        monkeypatch.setattr(
            redis_client(), "eval", lambda *args: (_ for _ in ()).throw(redis.exceptions.TimeoutError())
        )
        assert wait_until(lease.lost.is_set, timeout=4)
        monkeypatch.undo()
        assert stopped_with_ttl and stopped_with_ttl[0] > 0
        assert not lease.is_valid()
        assert "could not be renewed" in lease.lost_reason


def test_a_build_whose_lease_another_holds_stops_at_once(test_redis, fast):
    stopped = threading.Event()
    with leases.lease_daemon(hosts=[A]) as lease:
        lease.on_lost(stopped.set)
        test_redis.set(lease.key, "someone-else", px=5000)
        assert stopped.wait(2)
        assert lease.lost_reason == "another build holds this daemon's lease"
    # Releasing never removes another build's lease.
    assert test_redis.get(leases.lease_key(A)) == b"someone-else"


def test_after_redis_forgets_every_lease_the_holder_takes_its_back_and_a_newcomer_is_kept_off(test_redis, fast):
    running_on = {}

    def in_use(host):
        return running_on.get(host, False)

    with leases.lease_daemon(hosts=[A], is_busy=in_use) as lease:
        running_on[A] = True  # the holder's heartbeat, as the database would show it
        test_redis.flushdb()  # a Redis restart without persistence
        with pytest.raises(leases.NoDaemonFree):
            with leases.lease_daemon(hosts=[A], is_busy=in_use, wait_seconds=0.2):
                pass
        assert wait_until(lambda: test_redis.get(lease.key) == lease.token.encode())
        assert not lease.lost.is_set()


def test_a_daemon_that_does_not_answer_is_passed_by_and_marked_down(test_redis, monkeypatch):
    monkeypatch.setattr(leases, "ping", lambda host: "does not answer" if host == A else "")
    with leases.lease_daemon(hosts=[A, B]) as lease:
        assert lease.docker_host == B
    assert health.down_hosts([A, B]) == {A}
    # While it is marked down, it is not even tried.
    monkeypatch.setattr(leases, "ping", lambda host: "")
    with leases.lease_daemon(hosts=[A, B]) as lease:
        assert lease.docker_host == B
    health.mark_up(A)
    with leases.lease_daemon(hosts=[A, B]) as lease:
        assert lease.docker_host == A


def test_a_build_lost_with_its_daemon_is_retried_on_another_unless_it_is_the_only_one(test_redis):
    with leases.lease_daemon(hosts=[A, B], avoid=A) as lease:
        assert lease.docker_host == B
    with leases.lease_daemon(hosts=[A], avoid=A) as lease:
        assert lease.docker_host == A


def test_two_threads_racing_for_one_daemon_never_hold_it_together(test_redis):
    holders = []
    overlaps = []

    def build(name):
        for _ in range(10):
            with leases.lease_daemon(hosts=[A], wait_seconds=10):
                holders.append(name)
                if len(holders) > 1:
                    overlaps.append(list(holders))
                time.sleep(0.01)
                holders.remove(name)

    threads = [threading.Thread(target=build, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
