"""The upkeep finds submissions whose task was lost and sends them again, checks the daemons, and keeps going.

Tickets and locks live in a Redis of the test's own (started on a free port); the daemons and the queue are
replaced by stand-ins, so each rule is seen on its own. The whole thing through the real stack is in
tests/test_fault_recovery.py.
"""

import threading
import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from ops.livestack import RedisServer
from sandbox import health, tickets, upkeep
from sandbox.daemons import Daemon
from sandbox.models import HEARTBEAT_TIMEOUT_SECONDS, Submission

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db]

FILES = {"Dockerfile": "FROM busybox:latest\n"}


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def test_redis(own_redis, settings):
    settings.REDIS_URL = own_redis.url
    client = redis.Redis.from_url(own_redis.url)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def sent():
    """Stands in for sandbox.tasks.enqueue: records what would be sent to the workers."""
    ids: list[int] = []

    def enqueue(submission):
        ids.append(submission.pk)
        tickets.issue(submission.pk)
        return True

    enqueue.ids = ids
    return enqueue


def waiting_since(user, seconds: float, **fields) -> Submission:
    submission = Submission.objects.create(user=user, files=FILES, **fields)
    Submission.objects.filter(pk=submission.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))
    return Submission.objects.get(pk=submission.pk)


def last_message(submission: Submission) -> str:
    return submission.events.order_by("seq").last().data["message"]


def test_queued_submissions_whose_tickets_redis_forgot_are_queued_again(user, sent, test_redis):
    lost = waiting_since(user, 60)
    waiting = waiting_since(user, 60)
    tickets.issue(waiting.pk)
    young = waiting_since(user, 1)  # may not have been sent yet: its request is still committing
    assert upkeep.recover_lost(sent) == [lost.pk]
    assert sent.ids == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == "queued"
    assert "place in the build queue was lost" in last_message(lost) and "nothing is lost" in last_message(lost)
    # Sent again, it has a ticket once more and is left alone next time.
    assert upkeep.recover_lost(sent) == []
    assert young.pk not in sent.ids


def test_tasks_held_by_a_worker_that_died_are_queued_again(user, sent):
    held_by_dead = waiting_since(user, 60)
    held_by_live = waiting_since(user, 60)
    tickets.hold(held_by_dead.pk, "celery@gone")
    tickets.hold(held_by_live.pk, "celery@here")
    tickets.worker_alive("celery@here")
    assert upkeep.recover_lost(sent) == [held_by_dead.pk]


def test_a_task_a_live_worker_held_too_long_without_starting_it_is_queued_again(user, sent, test_redis):
    stuck = waiting_since(user, 600)
    test_redis.set(tickets.ticket_key(stuck.pk), f"celery@here|{time.time() - tickets.HELD_TOO_LONG_SECONDS - 5}")
    tickets.worker_alive("celery@here")
    assert upkeep.recover_lost(sent) == [stuck.pk]


def test_running_attempts_whose_heartbeat_stopped_are_queued_again_with_words(user, sent):
    dead = timezone.now() - timedelta(seconds=HEARTBEAT_TIMEOUT_SECONDS + 5)
    died = waiting_since(user, 120, status="running", runner="vm:1", attempts=1, heartbeat_at=dead)
    alive = waiting_since(user, 120, status="running", runner="vm:2", attempts=1, heartbeat_at=timezone.now())
    assert upkeep.recover_lost(sent) == [died.pk]
    died.refresh_from_db()
    alive.refresh_from_db()
    assert (died.status, alive.status) == ("queued", "running")
    assert "its worker stopped, which is not your fault" in last_message(died)


def test_a_build_that_kills_its_worker_every_time_ends_after_the_last_attempt(user, sent, settings):
    settings.SUBMISSION_MAX_ATTEMPTS = 2
    dead = timezone.now() - timedelta(seconds=HEARTBEAT_TIMEOUT_SECONDS + 5)
    submission = waiting_since(user, 120, status="running", runner="vm:1", attempts=2, heartbeat_at=dead)
    assert upkeep.recover_lost(sent) == []
    submission.refresh_from_db()
    assert submission.status == "error"
    assert "interrupted twice" in submission.message


def test_only_one_worker_at_a_time_does_the_pool_wide_round(user, monkeypatch):
    rounds = []
    monkeypatch.setattr(upkeep, "recover_lost", lambda enqueue: rounds.append(enqueue) or time.sleep(0.3))
    monkeypatch.setattr(upkeep.health, "check_pool", lambda **kwargs: [])
    monkeypatch.setattr(upkeep.waiting, "tell_places", lambda: 0)
    monkeypatch.setattr(upkeep.retention, "prune", lambda: None)
    monkeypatch.setattr(upkeep, "remove_leftovers_of_finished", lambda daemons: None)
    monkeypatch.setattr(upkeep, "remove_stale_workdirs", lambda seconds: 0)
    workers = [threading.Thread(target=upkeep.run_once, args=(f"worker-{n}",)) for n in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(rounds) == 1
    # The lock is released after the round: the next round runs.
    upkeep.run_once("worker-4")
    assert len(rounds) == 2


def test_the_upkeep_thread_outlives_a_failing_round():
    calls = []

    def round_that_fails():
        calls.append(1)
        if len(calls) == 1:
            raise redis.exceptions.ConnectionError("Redis is restarting")
        if len(calls) == 2:
            raise ValueError("a bug in one round")

    thread = upkeep.Repeating("test upkeep", 0.05, round_that_fails)
    thread.start()
    deadline = time.monotonic() + 5
    while len(calls) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    thread.stop()
    thread.join(2)
    assert len(calls) >= 4


# --- Daemon health --------------------------------------------------------------------------------------------


def local_daemon(tmp_path, name="dockyard-rt9") -> Daemon:
    root = tmp_path / name
    return Daemon(0, name, root, root / "docker.sock", root / "docker.pid", f"unix://{root}/docker.sock")


def test_a_local_daemon_that_stopped_is_restarted_and_back_in_the_pool(tmp_path, monkeypatch):
    d = local_daemon(tmp_path)
    answers = iter(["does not answer", ""])
    restarted = []
    monkeypatch.setattr(health, "ping", lambda host: next(answers))
    monkeypatch.setattr(health.daemons, "start", lambda daemon: restarted.append(daemon.name))
    checked = health.check(d)
    assert (checked.up, checked.restarted, restarted) == (True, True, ["dockyard-rt9"])
    assert health.down_hosts([d.docker_host]) == set()
    assert health.last_checks()[health.pool_key(d.docker_host)].up


def test_a_remote_daemon_that_stopped_is_taken_out_of_the_pool_until_it_answers(monkeypatch):
    d = Daemon(1, "sandbox-a:2376", None, None, None, "tcp://sandbox-a:2376", remote=True)
    monkeypatch.setattr(health, "ping", lambda host: "does not answer (ConnectionError)")
    monkeypatch.setattr(health.daemons, "start", lambda daemon: pytest.fail("a remote daemon is not ours to start"))
    checked = health.check(d)
    assert not checked.up and checked.error == "does not answer (ConnectionError)"
    assert health.down_hosts([d.docker_host]) == {d.docker_host}
    monkeypatch.setattr(health, "ping", lambda host: "")
    assert health.check(d).up
    assert health.down_hosts([d.docker_host]) == set()


def test_a_daemon_that_cannot_be_restarted_stays_down_with_the_reason(tmp_path, monkeypatch):
    d = local_daemon(tmp_path)
    monkeypatch.setattr(health, "ping", lambda host: "does not answer")

    def refuse(daemon):
        raise health.SandboxSetupError("dockerd exited with code 1")

    monkeypatch.setattr(health.daemons, "start", refuse)
    checked = health.check(d)
    assert not checked.up
    assert checked.error == "could not be restarted: dockerd exited with code 1"
