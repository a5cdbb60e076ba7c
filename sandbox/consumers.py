"""The WebSocket that streams one submission's events: stored ones first, then live ones, each once."""

from __future__ import annotations

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .events import group_name
from .models import Submission, SubmissionEvent

# Close codes in the 4000 range are the application's own; the browser shows a message for each.
CLOSE_NOT_ALLOWED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_RESENDS = 4429
REPLAY_BATCH = 500
# A browser asks for a resend only when it sees a gap in the sequence numbers, which should not happen; a few
# a minute is plenty. Beyond that the connection is closed with CLOSE_TOO_MANY_RESENDS, and a browser that
# reconnects gets only what it has not seen (?after=SEQ), so no client can make the server send a whole log
# again and again.
RESENDS_PER_MINUTE = 3


class SubmissionConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.submission_id = int(self.scope["url_route"]["kwargs"]["submission_id"])
        self.last_sent = self._after_from_query()
        self.resends: list[float] = []
        user = self.scope.get("user")
        allowed = await self._may_see(user)
        if allowed is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not allowed:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        # Join the group before reading stored events, so nothing published in between is missed;
        # a live event that the replay already sent is dropped by its sequence number.
        self.group = group_name(self.submission_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._replay()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def submission_event(self, message: dict) -> None:
        event = message["event"]
        if event["seq"] <= self.last_sent:
            return
        if event["seq"] > self.last_sent + 1:
            # A live event overtook stored ones (sent before this socket joined); fetch the gap first.
            await self._replay()
            if event["seq"] <= self.last_sent:
                return
        self.last_sent = event["seq"]
        await self.send_json(event)

    async def receive_json(self, content, **kwargs) -> None:
        # The stream is one-way; a client may only ask for a resend after a sequence number, a few times a minute.
        if not (isinstance(content, dict) and isinstance(content.get("after"), int)):
            return
        if not self._may_resend():
            await self.close(code=CLOSE_TOO_MANY_RESENDS)
            return
        self.last_sent = max(0, content["after"])
        await self._replay()

    def _may_resend(self) -> bool:
        now = time.monotonic()
        self.resends = [asked for asked in self.resends if now - asked < 60]
        if len(self.resends) >= RESENDS_PER_MINUTE:
            return False
        self.resends.append(now)
        return True

    def _after_from_query(self) -> int:
        query = self.scope.get("query_string", b"").decode("latin-1")
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "after" and value.isdigit():
                return int(value)
        return 0

    async def _replay(self) -> None:
        while True:
            events = await self._stored_after(self.last_sent)
            for event in events:
                self.last_sent = event["seq"]
                await self.send_json(event)
            if len(events) < REPLAY_BATCH:
                return

    @database_sync_to_async
    def _may_see(self, user) -> bool | None:
        submission = Submission.objects.filter(pk=self.submission_id).first()
        if submission is None:
            return None
        return bool(user) and submission.can_be_seen_by(user)

    @database_sync_to_async
    def _stored_after(self, seq: int) -> list[dict]:
        rows = SubmissionEvent.objects.filter(submission_id=self.submission_id, seq__gt=seq).order_by("seq")
        return [event.as_message() for event in rows[:REPLAY_BATCH]]
