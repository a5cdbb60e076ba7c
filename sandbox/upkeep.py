"""The upkeep: what keeps submissions moving and the sandboxes answering when something fails.

Every Celery worker runs it in two threads of its main process, started when the worker is ready (so `make run`
and compose need no extra process, and more workers simply share the work):

- the heartbeat thread says, every UPKEEP_INTERVAL_SECONDS, that this worker is alive (sandbox/tickets.py);
- the upkeep thread, every UPKEEP_INTERVAL_SECONDS, does one round (`run_once`). What concerns the whole
  pool is done by one worker at a time (a Redis lock); what concerns this machine's own daemons, by one worker
  per machine.

A round:

1. recovers submissions whose task was lost: queued ones whose ticket is gone (Redis restarted) or held by a
   worker that is no longer alive, and running ones whose heartbeat stopped (their worker died). Each goes back
   to the queue with a word to the learner (Submission.recover) and is enqueued again. Submissions running past
   the hard time limit, or waiting past SUBMISSION_GIVE_UP_SECONDS, end with a message;
2. checks the sandbox daemons, restarting a local one that stopped (sandbox/health.py);
3. tells waiting learners their place in the queue (sandbox/waiting.py);
4. every LEFTOVERS_EVERY_SECONDS, removes what finished submissions left on the daemons;
5. every PRUNE_EVERY_SECONDS, prunes old submissions (sandbox/retention.py).

So a submission whose task was lost is queued again within LOST_GRACE_SECONDS (Redis restarted) or
WORKER_ALIVE_SECONDS / HEARTBEAT_TIMEOUT_SECONDS (its worker died), plus one interval. Every step is safe to
run twice: the changes are conditional updates, and a duplicate task cannot claim a submission twice.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from . import health, retention, tickets, waiting
from .cleanup import remove_stale_workdirs
from .daemons import all_daemons
from .models import HEARTBEAT_TIMEOUT_SECONDS, Submission
from .pipeline import remove_finished_leftovers
from .redis_client import redis_client

logger = logging.getLogger(__name__)

# A queued submission younger than this may not have been sent to the queue yet (the web sends it on commit).
LOST_GRACE_SECONDS = 10
LEFTOVERS_EVERY_SECONDS = 300
PRUNE_EVERY_SECONDS = 3600
LOCK_SECONDS = 120
QUEUE_LOST = "Your place in the build queue was lost (the queue restarted). It is queued again; nothing is lost."
WORKER_LOST = (
    "The build was interrupted: its worker stopped, which is not your fault. It is queued again and will start over."
)
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

Enqueue = Callable[[Submission], bool]


# --- One round ----------------------------------------------------------------------------------------------


def recover_lost(enqueue: Enqueue, now=None) -> list[int]:
    """Queue again, and enqueue, every submission whose task was lost. Returns their ids."""
    now = now or timezone.now()
    Submission.fail_stale(now)
    recovered = []
    dead = now - timedelta(seconds=HEARTBEAT_TIMEOUT_SECONDS)
    running = Submission.objects.filter(status=Submission.Status.RUNNING, heartbeat_at__lt=dead) | (
        Submission.objects.filter(status=Submission.Status.RUNNING, heartbeat_at__isnull=True, started_at__lt=dead)
    )
    for submission in running:
        if submission.recover(WORKER_LOST):
            recovered.append(submission.pk)
            enqueue(submission)
    settled = now - timedelta(seconds=LOST_GRACE_SECONDS)
    queued = list(
        Submission.objects.filter(status=Submission.Status.QUEUED, created_at__lt=settled).values_list("pk", flat=True)
    )
    for submission in Submission.objects.filter(pk__in=tickets.lost_tasks(queued)):
        if submission.recover(QUEUE_LOST):
            recovered.append(submission.pk)
            enqueue(submission)
    if recovered:
        logger.warning("Upkeep: submissions %s had lost their task and were queued again.", recovered)
    return recovered


def remove_leftovers_of_finished(daemons) -> None:
    unfinished = {
        str(pk) for pk in Submission.objects.filter(status__in=Submission.ACTIVE).values_list("pk", flat=True)
    }
    for d in daemons:
        remove_finished_leftovers(d.docker_host, unfinished)


def run_once(enqueue: Enqueue) -> None:
    """One round of the upkeep (see the module's docstring)."""
    with held(f"dockyard:upkeep-local:{socket.gethostname()}") as mine:
        if mine:
            health.check_pool(local=True, remote=False)
            if every("leftovers-local:" + socket.gethostname(), LEFTOVERS_EVERY_SECONDS):
                remove_leftovers_of_finished([d for d in all_daemons() if not d.remote])
                remove_stale_workdirs(settings.BUILD_HARD_TIME_LIMIT + 60)
    with held("dockyard:upkeep") as mine:
        if not mine:
            return
        recover_lost(enqueue)
        health.check_pool(local=False, remote=True)
        waiting.tell_places()
        if every("leftovers-remote", LEFTOVERS_EVERY_SECONDS):
            remove_leftovers_of_finished([d for d in all_daemons() if d.remote])
        if every("prune", PRUNE_EVERY_SECONDS):
            pruned = retention.prune()
            logger.info("Upkeep: pruned %s", pruned)


# --- Locks and timers in Redis -------------------------------------------------------------------------------


class held:
    """`with held(key) as mine:` - mine is True when this worker got the lock (released on the way out)."""

    def __init__(self, key: str):
        self.key = key
        self.token = secrets.token_hex(8)
        self.mine = False

    def __enter__(self) -> bool:
        self.mine = bool(redis_client().set(self.key, self.token, nx=True, ex=LOCK_SECONDS))
        return self.mine

    def __exit__(self, *exc_info) -> None:
        if self.mine:
            try:
                redis_client().eval(RELEASE_SCRIPT, 1, self.key, self.token)
            except redis.exceptions.RedisError:
                pass  # It expires by itself.


def every(name: str, seconds: int) -> bool:
    """True at most once per `seconds` across all workers."""
    return bool(redis_client().set(f"dockyard:upkeep-timer:{name}", "1", nx=True, ex=seconds))


# --- The threads ------------------------------------------------------------------------------------------------


class Repeating(threading.Thread):
    """Calls `action` every `seconds` until stopped; an error in one round is logged and the next round runs."""

    def __init__(self, name: str, seconds: float, action: Callable[[], None]):
        super().__init__(name=name, daemon=True)
        self.seconds = seconds
        self.action = action
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self.action()
            except redis.exceptions.RedisError as error:
                logger.warning(
                    "%s: Redis cannot be reached (%s); trying again in %s s.", self.name, error, self.seconds
                )
            except Exception:  # noqa: BLE001 - the upkeep must outlive any one failure
                logger.exception("%s: a round failed", self.name)
            finally:
                close_old_connections()
            if self.stopped.wait(self.seconds):
                return

    def stop(self) -> None:
        self.stopped.set()


def start(worker_name: str, enqueue: Enqueue) -> list[Repeating]:
    """Start the heartbeat and upkeep threads of one worker process."""
    interval = settings.UPKEEP_INTERVAL_SECONDS
    threads = [
        Repeating("worker heartbeat", interval, lambda: tickets.worker_alive(worker_name)),
        Repeating("upkeep", interval, lambda: run_once(enqueue)),
    ]
    for thread in threads:
        thread.start()
    return threads
