"""The live half of submission events: sending a stored event to the browsers that watch the submission.

Events are stored and numbered by `Submission.publish` (sandbox/models.py), which then calls `send_live`;
nothing else in the project touches the channel layer. The WebSocket consumer (sandbox/consumers.py) joins
the group named by `group_name` and replays stored events, so a failed live send only delays an event until
the browser reconnects.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(submission_id: int) -> str:
    return f"submission.{submission_id}"


def send_live(submission_id: int, message: dict) -> None:
    """Send one stored event to the submission's group; a channel-layer failure is logged, never raised."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            group_name(submission_id), {"type": "submission.event", "event": message}
        )
    except Exception:  # noqa: BLE001 - the event is stored; the browser gets it when it reconnects
        logger.warning("Could not send event %s of submission %s live", message["seq"], submission_id, exc_info=True)
