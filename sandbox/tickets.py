"""Where each queued submission's Celery task is, so the upkeep can tell a task that waits from one that was lost.

Redis holds the queue, and Redis may restart without its data; a worker may die with tasks it had already taken
(Celery keeps those unacknowledged for the broker's whole visibility timeout). So each enqueued submission gets
a ticket, `dockyard:ticket:<id>`:

- "queue" when the task was sent to the queue (sandbox.tasks.enqueue);
- the worker's name once a worker has received it (the task_received signal, in the worker's main process).

Each worker says it is alive every few seconds (`dockyard:worker:<name>`, expiring after WORKER_ALIVE_SECONDS).
A queued submission's task is lost when its ticket is missing (Redis forgot it, or it was never sent) or names
a worker that is no longer alive. The upkeep then enqueues it again (sandbox/upkeep.py); a duplicate is
harmless, because only one task can claim a submission (Submission.claim).
"""

from __future__ import annotations

import time

from .redis_client import redis_client

IN_QUEUE = "queue"
TICKET_SECONDS = 2 * 24 * 3600
WORKER_ALIVE_SECONDS = 30
# A worker runs a task it has received within seconds (or after a short countdown): one it has held this long
# without starting it is lost too.
HELD_TOO_LONG_SECONDS = 120


def ticket_key(submission_id: int) -> str:
    return f"dockyard:ticket:{submission_id}"


def worker_key(worker: str) -> str:
    return f"dockyard:worker:{worker}"


def issue(submission_id: int) -> None:
    """The task is being sent to the queue. Raises redis.RedisError when Redis cannot be reached."""
    redis_client().set(ticket_key(submission_id), f"{IN_QUEUE}|{time.time():.0f}", ex=TICKET_SECONDS)


def withdraw(submission_id: int) -> None:
    """The task could not be sent after all."""
    redis_client().delete(ticket_key(submission_id))


def hold(submission_id: int, worker: str) -> None:
    """A worker has received the task (it may wait in that worker for a countdown before it runs)."""
    redis_client().set(ticket_key(submission_id), f"{worker}|{time.time():.0f}", ex=TICKET_SECONDS)


def worker_alive(worker: str) -> None:
    redis_client().set(worker_key(worker), "1", ex=WORKER_ALIVE_SECONDS)


def lost_tasks(submission_ids: list[int], now: float | None = None) -> list[int]:
    """The ids, among queued submissions, whose task is lost. Raises redis.RedisError without Redis."""
    if not submission_ids:
        return []
    now = now or time.time()
    client = redis_client()
    tickets = [parse(value) for value in client.mget([ticket_key(i) for i in submission_ids])]
    workers = sorted({holder for holder, _ in tickets if holder not in (None, IN_QUEUE)})
    alive = dict(zip(workers, client.mget([worker_key(w) for w in workers]) if workers else [], strict=True))
    lost = []
    for submission_id, (holder, since) in zip(submission_ids, tickets, strict=True):
        if holder is None:
            lost.append(submission_id)
        elif holder != IN_QUEUE and (alive.get(holder) is None or now - since > HELD_TOO_LONG_SECONDS):
            lost.append(submission_id)
    return lost


def parse(value: bytes | None) -> tuple[str | None, float]:
    """(holder, since) from a stored ticket; (None, 0) when there is none."""
    if not value:
        return None, 0.0
    holder, _, since = value.decode().rpartition("|")
    try:
        return holder, float(since)
    except ValueError:
        return None, 0.0
