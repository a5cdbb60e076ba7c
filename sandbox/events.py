"""The one place that publishes submission events: stored first, then sent to the channel layer.

Each event gets the next sequence number of its submission. Storing before sending means a browser that
connects late, or reconnects, can replay everything it missed from the database; the live message is only
a faster copy of what is already stored.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F

from .models import Submission, SubmissionEvent

logger = logging.getLogger(__name__)

EVENT_TYPES = {"status", "log", "check", "result"}


def group_name(submission_id: int) -> str:
    return f"submission.{submission_id}"


def publish(submission_id: int, event_type: str, /, **data) -> dict:
    """Store an event with the next sequence number and send it to the submission's group."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if {"seq", "type"} & data.keys():
        raise ValueError("'seq' and 'type' are set by publish itself")
    with transaction.atomic():
        Submission.objects.filter(pk=submission_id).update(last_seq=F("last_seq") + 1)
        seq = Submission.objects.values_list("last_seq", flat=True).get(pk=submission_id)
        event = SubmissionEvent.objects.create(submission_id=submission_id, seq=seq, type=event_type, data=data)
    message = event.as_message()
    _send(submission_id, message)
    return message


def _send(submission_id: int, message: dict) -> None:
    # The event is already stored, so a failed live send only delays it until the browser reconnects;
    # it must never fail the build.
    try:
        async_to_sync(get_channel_layer().group_send)(
            group_name(submission_id), {"type": "submission.event", "event": message}
        )
    except Exception:  # noqa: BLE001 - any channel-layer failure is logged and survived
        logger.warning("Could not send event %s of submission %s live", message["seq"], submission_id, exc_info=True)
