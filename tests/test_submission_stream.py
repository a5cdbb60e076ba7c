"""Submission.publish and the WebSocket consumer: replay after a sequence number, then live, each once."""

import pytest
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings

from sandbox.consumers import CLOSE_TOO_MANY_RESENDS, RESENDS_PER_MINUTE
from sandbox.models import Submission, SubmissionEvent
from sandbox.routing import websocket_urlpatterns

from .conftest import make_user

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
pytestmark = pytest.mark.django_db(transaction=True)


def make_submission(user) -> Submission:
    return Submission.objects.create(user=user, files={"Dockerfile": "FROM busybox:latest\n"})


class UserInScope:
    """Puts a chosen user in the scope, as AuthMiddlewareStack would after a session login."""

    def __init__(self, app, user):
        self.app, self.user = app, user

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, "user": self.user}, receive, send)


def connect(user, path: str, origin: bytes = b"http://127.0.0.1:8000") -> WebsocketCommunicator:
    app = UserInScope(URLRouter(websocket_urlpatterns), user)
    return WebsocketCommunicator(app, path, headers=[(b"origin", origin), (b"host", b"127.0.0.1:8000")])


async def receive_all(communicator, count: int) -> list[dict]:
    return [await communicator.receive_json_from(timeout=3) for _ in range(count)]


def test_publish_numbers_events_per_submission(db):
    user = make_user()
    first, second = make_submission(user), make_submission(user)
    with override_settings(CHANNEL_LAYERS=IN_MEMORY):
        assert first.publish("status", status="queued")["seq"] == 1
        assert first.publish("log", text="#1 building")["seq"] == 2
        assert second.publish("status", status="queued")["seq"] == 1
    stored = list(SubmissionEvent.objects.filter(submission=first).values_list("seq", "type"))
    assert stored == [(1, "status"), (2, "log")]


def test_publish_refuses_unknown_event_types(db):
    submission = make_submission(make_user())
    with pytest.raises(ValueError):
        submission.publish("gossip")


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
async def test_the_owner_gets_stored_events_then_live_ones():
    user = await database_sync_to_async(make_user)()
    submission = await database_sync_to_async(make_submission)(user)
    await database_sync_to_async(submission.publish)("status", status="queued")
    await database_sync_to_async(submission.publish)("log", text="line one")
    communicator = connect(user, f"/ws/submissions/{submission.pk}/")
    connected, _ = await communicator.connect()
    assert connected
    replayed = await receive_all(communicator, 2)
    assert [e["seq"] for e in replayed] == [1, 2]
    await database_sync_to_async(submission.publish)("log", text="line two")
    live = await communicator.receive_json_from(timeout=3)
    assert live == {"seq": 3, "type": "log", "text": "line two"}
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
async def test_a_reconnect_with_its_last_sequence_number_gets_only_the_rest():
    user = await database_sync_to_async(make_user)()
    submission = await database_sync_to_async(make_submission)(user)
    for n in range(5):
        await database_sync_to_async(submission.publish)("log", text=f"line {n}")
    communicator = connect(user, f"/ws/submissions/{submission.pk}/?after=3")
    connected, _ = await communicator.connect()
    assert connected
    rest = await receive_all(communicator, 2)
    assert [e["seq"] for e in rest] == [4, 5]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
async def test_another_learner_is_refused():
    owner = await database_sync_to_async(make_user)("owner")
    other = await database_sync_to_async(make_user)("other")
    submission = await database_sync_to_async(make_submission)(owner)
    await database_sync_to_async(submission.publish)("log", text="secret build output")
    communicator = connect(other, f"/ws/submissions/{submission.pk}/")
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4403


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
async def test_an_anonymous_visitor_is_refused():
    owner = await database_sync_to_async(make_user)("owner")
    submission = await database_sync_to_async(make_submission)(owner)
    communicator = connect(AnonymousUser(), f"/ws/submissions/{submission.pk}/")
    connected, code = await communicator.connect()
    assert not connected


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
async def test_staff_may_watch_any_submission():
    owner = await database_sync_to_async(make_user)("owner")
    staff = await database_sync_to_async(make_user)("staff", is_staff=True)
    submission = await database_sync_to_async(make_submission)(owner)
    communicator = connect(staff, f"/ws/submissions/{submission.pk}/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
async def test_a_missing_submission_is_refused_with_not_found():
    user = await database_sync_to_async(make_user)()
    communicator = connect(user, "/ws/submissions/999999/")
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4404)


@override_settings(CHANNEL_LAYERS=IN_MEMORY, ALLOWED_HOSTS=["127.0.0.1"])
async def test_a_bad_origin_is_refused_before_anything_else():
    user = await database_sync_to_async(make_user)()
    submission = await database_sync_to_async(make_submission)(user)
    app = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
    communicator = WebsocketCommunicator(
        app, f"/ws/submissions/{submission.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
async def test_resend_requests_are_bounded_per_connection():
    user = await database_sync_to_async(make_user)()
    submission = await database_sync_to_async(make_submission)(user)
    for n in range(5):
        await database_sync_to_async(submission.publish)("log", text=f"line {n}")
    communicator = connect(user, f"/ws/submissions/{submission.pk}/")
    connected, _ = await communicator.connect()
    assert connected
    assert [event["seq"] for event in await receive_all(communicator, 5)] == [1, 2, 3, 4, 5]
    for _ in range(20):
        await communicator.send_json_to({"after": 0})
    resent = []
    while True:
        message = await communicator.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            break
        resent.append(message)
    # Three whole resends, not twenty, then the connection is closed with a code of its own.
    assert RESENDS_PER_MINUTE == 3
    assert len(resent) == 3 * 5
    assert message == {"type": "websocket.close", "code": CLOSE_TOO_MANY_RESENDS}
    await communicator.wait()
