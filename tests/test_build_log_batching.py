"""Build output is batched into few events, yet a line is never held back once the build goes quiet."""

import threading

import pytest
from django.test import override_settings

from sandbox import pipeline
from sandbox.models import Submission, SubmissionEvent

from .conftest import make_user

pytestmark = pytest.mark.django_db
IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


class QuietBuild:
    """Stands in for BuildEnvironment: prints one line, then goes quiet, while the test looks at events."""

    seen_during_build: list[str] = []

    def __init__(self, docker_host, submission_id, on_log, on_quiet=None, still_ours=None, on_stage=None):
        self.submission_id, self.on_log, self.on_quiet = submission_id, on_log, on_quiet

    def stop(self):
        pass

    def __enter__(self):
        self.on_log("#5 [2/2] RUN echo slow-step-started && sleep 600")
        self.on_quiet()
        QuietBuild.seen_during_build = list(
            SubmissionEvent.objects.filter(submission_id=self.submission_id, type="log").values_list(
                "data__text", flat=True
            )
        )
        return self

    def __exit__(self, *exc_info):
        return False


class FakeLease:
    """A lease that is never lost."""

    def __init__(self, docker_host):
        self.docker_host = docker_host
        self.lost = threading.Event()

    def is_valid(self):
        return True

    def on_lost(self, callback):
        pass


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
def test_a_line_is_published_when_the_build_goes_quiet_not_when_it_ends(monkeypatch):
    submission = Submission.objects.create(user=make_user(), files={"Dockerfile": "FROM busybox\n"})
    monkeypatch.setattr(pipeline, "BuildEnvironment", QuietBuild)
    monkeypatch.setattr(pipeline.SubmissionPipeline, "_grade", lambda self, env: {"passed": True, "message": "ok"})
    pipeline.SubmissionPipeline(submission, FakeLease("unix:///nowhere.sock")).run()
    assert QuietBuild.seen_during_build == ["#5 [2/2] RUN echo slow-step-started && sleep 600"]


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
def test_a_flood_of_lines_becomes_a_few_events():
    submission = Submission.objects.create(user=make_user(), files={"Dockerfile": "FROM busybox\n"})
    batcher = pipeline.LogBatcher(submission, max_bytes=32 * 1024, max_delay=60)
    for n in range(20_000):
        batcher.add(f"line {n:05d} of a very chatty build step")
    batcher.flush()
    events = SubmissionEvent.objects.filter(submission=submission, type="log")
    assert 20 <= events.count() <= 40
    assert sum(event.data["text"].count("\n") + 1 for event in events) == 20_000


@override_settings(CHANNEL_LAYERS=IN_MEMORY)
def test_the_first_line_is_sent_at_once_and_later_ones_are_batched():
    submission = Submission.objects.create(user=make_user(), files={"Dockerfile": "FROM busybox\n"})
    batcher = pipeline.LogBatcher(submission, max_bytes=32 * 1024, max_delay=60)
    batcher.add("#1 [internal] load build definition from Dockerfile")
    batcher.add("#1 transferring dockerfile: 32B done")
    batcher.add("#1 DONE 0.0s")
    texts = list(SubmissionEvent.objects.filter(submission=submission, type="log").values_list("data__text", flat=True))
    assert texts == ["#1 [internal] load build definition from Dockerfile"]
    batcher.flush()
    texts = list(SubmissionEvent.objects.filter(submission=submission, type="log").values_list("data__text", flat=True))
    assert texts[1:] == ["#1 transferring dockerfile: 32B done\n#1 DONE 0.0s"]
