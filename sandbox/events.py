"""The live half of submission events: sending a stored event to the browsers that watch the submission.

Events are stored and numbered by `Submission.publish` (sandbox/models.py), which then calls `send_live`;
nothing else in the project touches the channel layer. The WebSocket consumer (sandbox/consumers.py) joins
the group named by `group_name` and replays stored events, so a failed live send only delays an event until
the browser reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 10


def group_name(submission_id: int) -> str:
    return f"submission.{submission_id}"


class SendLoop:
    """One event loop per process, in a thread of its own, for the live sends of code that has no loop (a worker).

    `async_to_sync` would start a new event loop for every event there, and channels_redis keeps its Redis
    connections per loop, so every event paid for a new connection: about half of the time `publish` took in
    the benchmark's profile. On this loop the connection is made once and kept.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pid = 0

    def get(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            # A forked process (a Celery pool process) has the object but not the thread that ran it.
            if self.loop is None or self.pid != os.getpid():
                self.loop = asyncio.new_event_loop()
                threading.Thread(target=self.loop.run_forever, name="live events", daemon=True).start()
                self.pid = os.getpid()
            return self.loop


SEND_LOOP = SendLoop()


def called_from_event_loop() -> bool:
    """True in sync code run for an event loop of this process (Django's sync views under Daphne, a test's
    database_sync_to_async): there async_to_sync hands the send to that loop, which already has its connection."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    return loop is not None and pid == os.getpid() and loop.is_running()


def send_live(submission_id: int, message: dict) -> None:
    """Send one stored event to the submission's group; a channel-layer failure is logged, never raised."""
    payload = {"type": "submission.event", "event": message}
    try:
        layer = get_channel_layer()
        if called_from_event_loop():
            async_to_sync(layer.group_send)(group_name(submission_id), payload)
            return
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group_name(submission_id), payload), SEND_LOOP.get())
        try:
            future.result(timeout=SEND_TIMEOUT_SECONDS)
        except FutureTimeout:
            future.cancel()
            raise
    except Exception:  # noqa: BLE001 - the event is stored; the browser gets it when it reconnects
        logger.warning("Could not send event %s of submission %s live", message["seq"], submission_id, exc_info=True)
