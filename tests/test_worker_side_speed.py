"""What the worker does off a build's critical path, and how: live sends on one event loop, places told in
coalesced background rounds, the first place of a submission with nothing ahead of it known at once, a
daemon's API version asked once."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.test import override_settings

from sandbox import clients, events, tasks, waiting
from sandbox.models import Submission

from .conftest import make_user

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
def test_sends_from_code_without_an_event_loop_share_one_loop_and_arrive():
    layer = events.get_channel_layer()
    loop = events.SEND_LOOP.get()
    asyncio.run_coroutine_threadsafe(layer.group_add(events.group_name(5), "watcher"), loop).result(timeout=5)
    events.send_live(5, {"seq": 1, "type": "log", "text": "one"})
    events.send_live(5, {"seq": 2, "type": "log", "text": "two"})
    assert events.SEND_LOOP.get() is loop
    received = [asyncio.run_coroutine_threadsafe(layer.receive("watcher"), loop).result(timeout=5) for _ in range(2)]
    assert [message["event"]["text"] for message in received] == ["one", "two"]
    assert not events.called_from_event_loop()


def test_a_failing_live_send_is_logged_not_raised(monkeypatch, caplog):
    def broken():
        raise RuntimeError("no channel layer")

    monkeypatch.setattr(events, "get_channel_layer", broken)
    events.send_live(7, {"seq": 3, "type": "log", "text": "x"})
    assert "Could not send event 3 of submission 7 live" in caplog.text


def test_places_are_told_in_background_rounds_that_coalesce(monkeypatch):
    rounds: list[float] = []
    release = threading.Event()

    def slow_round():
        rounds.append(time.monotonic())
        release.wait(5)
        return 0

    monkeypatch.setattr(waiting, "tell_places", slow_round)
    monkeypatch.setattr(tasks, "PLACES_EVERY_SECONDS", 0.0)
    started = time.monotonic()
    tasks.tell_places()
    deadline = time.monotonic() + 5
    while not rounds and time.monotonic() < deadline:
        time.sleep(0.01)
    # While the first round runs, five more asks make one more round, not five.
    for _ in range(5):
        tasks.tell_places()
    asked_last = time.monotonic()
    assert time.monotonic() - started < 1, "tell_places must not wait for the round"
    release.set()
    deadline = time.monotonic() + 5
    while len(rounds) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(rounds) == 2
    # The second round read the queue after the last ask, so it saw every change.
    assert rounds[1] >= asked_last


@pytest.mark.django_db
def test_a_submission_with_nothing_ahead_is_first_with_no_wait_without_asking_redis(monkeypatch):
    def no_redis():
        raise AssertionError("Redis was asked")

    monkeypatch.setattr(waiting, "answering_sandboxes", no_redis)
    assert waiting.place_of_new_submission() == (1, 0)
    Submission.queue(make_user(), None, {"Dockerfile": "FROM busybox\n"})
    monkeypatch.setattr(waiting, "answering_sandboxes", lambda: 1)
    position, _ = waiting.place_of_new_submission()
    assert position == 2


class FakeApi:
    def __init__(self, calls: list[str]):
        self.calls = calls
        self.timeout = None
        self._version = None

    def _retrieve_server_version(self):
        self.calls.append("version")
        return "1.41"


class FakeDockerClient:
    calls: list[str] = []

    def __init__(self, **options):
        self.api = FakeApi(FakeDockerClient.calls)

    def ping(self):
        self.calls.append("ping")
        return True


def test_a_daemons_api_version_is_asked_once_and_then_a_ping_proves_it_answers(monkeypatch):
    monkeypatch.setattr(clients.docker, "DockerClient", FakeDockerClient)
    monkeypatch.setattr(clients, "API_VERSIONS", {})
    FakeDockerClient.calls = []
    first = clients.make_client("unix:///one.sock", ping=False)
    second = clients.make_client("unix:///one.sock", ping=False)
    third = clients.make_client("unix:///one.sock")
    other = clients.make_client("unix:///two.sock")
    assert FakeDockerClient.calls == ["version", "ping", "ping", "version", "ping"]
    assert [client.api._version for client in (first, second, third, other)] == ["1.41"] * 4
