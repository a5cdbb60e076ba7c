"""Celery tasks: thin. They take ids, re-fetch rows, and hand the work to sandbox classes.

The worker's main process also keeps the upkeep running (sandbox/upkeep.py) and notes, for every build task it
receives, that this worker holds it (sandbox/tickets.py), so a task lost with Redis or with a dead worker is
found and sent again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import redis
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_received, worker_ready
from django.db import connections

from . import tickets, upkeep, waiting
from .daemons import pid_alive
from .health import mark_down
from .leases import NoDaemonFree, lease_daemon
from .models import Submission
from .pipeline import SandboxLost, SubmissionPipeline

logger = logging.getLogger(__name__)

TOO_SLOW = "The build took longer than this sandbox allows and was stopped."
OUR_FAULT = "Something went wrong on our side while building. Your files are saved; please try again."
QUEUE_DOWN = "The build queue cannot be reached right now. Your build is saved and starts as soon as the queue is back."


def runner_name() -> str:
    """This worker process, as "host:pid": who runs an attempt."""
    return f"{socket.gethostname()}:{os.getpid()}"


def gone_runner(submission: Submission) -> str:
    """The runner of a running attempt when it was a process of this machine that no longer exists, else ''.

    A worker process killed mid-build (its task comes back from the queue at once) is then taken over at once,
    instead of after its heartbeat times out.
    """
    host, _, pid = submission.runner.rpartition(":")
    if submission.status != Submission.Status.RUNNING or host != socket.gethostname() or not pid.isdigit():
        return ""
    return "" if pid_alive(int(pid), "celery") else submission.runner


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def build_submission(self, submission_id: int, avoid: str = "") -> None:
    submission = Submission.objects.filter(pk=submission_id).select_related("exercise", "user").first()
    if submission is None or submission.is_finished:
        return
    # One running build per learner: wait for the learner's other build instead of taking a sandbox.
    others = Submission.objects.really_waiting().filter(user_id=submission.user_id, status=Submission.Status.RUNNING)
    if others.exclude(pk=submission_id).exists():
        raise self.retry(countdown=2)
    # A duplicate of a task that another live process runs claims nothing and ends here.
    if not submission.claim(runner_name(), take_over_from=gone_runner(submission)):
        return
    try:
        build(submission, avoid)
    except NoDaemonFree:
        # Every sandbox is busy: back to the queue without spending an attempt.
        submission.requeue()
        raise self.retry(countdown=3) from None
    except redis.exceptions.RedisError:
        # The leases live in Redis: without it no sandbox can be held. The upkeep sends the task again.
        logger.warning("Redis cannot be reached; submission %s goes back to the queue", submission_id)
        submission.requeue()
    except SandboxLost as lost:
        if lost.daemon_died:
            mark_down(lost.docker_host, "stopped during a build")
        if submission.retry_elsewhere():
            enqueue(submission, avoid=lost.docker_host)
    except SoftTimeLimitExceeded:
        submission.fail(TOO_SLOW, reason="timeout")
    except Exception:
        logger.exception("Submission %s failed inside the worker", submission_id)
        submission.fail(OUR_FAULT, reason="internal")
    finally:
        tell_places()


def build(submission: Submission, avoid: str) -> None:
    """Lease a sandbox (never one that another live build uses) and run the pipeline on it."""

    def in_use(host: str) -> bool:
        return Submission.objects.running_on(host).exclude(pk=submission.pk).exists()

    with lease_daemon(avoid=avoid, heartbeat=submission.beat, is_busy=in_use) as lease:
        submission.use_daemon(lease.docker_host)
        SubmissionPipeline(submission, lease).run()


# One round of telling places at a time in a worker process, and at most one more waiting (see tell_places).
_TELLING = threading.Lock()
_ROUND_WAITING = threading.Event()
_ASKING = threading.Lock()
PLACES_EVERY_SECONDS = 1.0


def tell_places() -> None:
    """Tell the waiting learners their new places, from a thread of its own.

    It is one event per waiting learner: done before the task returns, it kept this worker from its next build
    for as long (about 0.1 s with 20 waiting, the benchmark's profile showed). Rounds in one process take turns,
    and a round asked for while another waits to start is that round: it reads the queue after this change too,
    so no change is missed, and a busy queue does not pile up rounds (at most one a second; the benchmark's
    profile of 40 learners at once showed these events costing half as much CPU as the builds' own work).
    The upkeep tells them as well.
    """
    with _ASKING:
        if _ROUND_WAITING.is_set():
            return
        _ROUND_WAITING.set()
    threading.Thread(target=_tell_places_now, name="tell places", daemon=True).start()


def _tell_places_now() -> None:
    with _TELLING:
        with _ASKING:
            _ROUND_WAITING.clear()
        started = time.monotonic()
        try:
            waiting.tell_places()
        except Exception:  # noqa: BLE001 - the upkeep tells them in a moment anyway
            logger.warning("Could not tell waiting learners their place", exc_info=True)
        finally:
            # The thread ends here: its database connection must not outlive it (PostgreSQL keeps them open).
            connections.close_all()
        # A full class's queue moves several times a second, and every move is an event for every learner in
        # it: the next round starts at least PLACES_EVERY_SECONDS after this one, taking in every move since.
        time.sleep(max(0.0, PLACES_EVERY_SECONDS - (time.monotonic() - started)))


def enqueue(submission: Submission, avoid: str = "") -> bool:
    """Send the build to the workers. False when the queue cannot be reached: the upkeep sends it later."""
    try:
        tickets.issue(submission.pk)
    except redis.exceptions.RedisError:
        logger.warning("Could not enqueue submission %s: Redis cannot be reached", submission.pk)
        submission.publish("status", status="queued", message=QUEUE_DOWN)
        return False
    try:
        kwargs = {"avoid": avoid} if avoid else {}
        build_submission.apply_async(args=[submission.pk], kwargs=kwargs, queue="builds", retry=False)
    except Exception:  # noqa: BLE001 - any broker failure means the same thing to the learner
        logger.exception("Could not enqueue submission %s", submission.pk)
        try:
            tickets.withdraw(submission.pk)
        except redis.exceptions.RedisError:
            pass
        submission.publish("status", status="queued", message=QUEUE_DOWN)
        return False
    return True


@task_received.connect
def note_received(sender=None, request=None, **kwargs) -> None:
    """In the worker's main process: this worker now holds the build task (until it runs or comes back)."""
    if request is None or request.task_name != build_submission.name or not request.args:
        return
    try:
        tickets.hold(int(request.args[0]), getattr(sender, "hostname", socket.gethostname()))
    except (redis.exceptions.RedisError, TypeError, ValueError):
        logger.warning("Could not note that this worker holds task %s", request.id)


@worker_ready.connect
def start_upkeep(sender=None, **kwargs) -> None:
    """The upkeep runs in every worker's main process (see sandbox/upkeep.py)."""
    upkeep.start(getattr(sender, "hostname", socket.gethostname()), enqueue)
