"""The whole build pipeline for real: HTTP → Celery on Redis → a sandbox daemon → events over a WebSocket."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ops.livestack import Learner, LiveStack

pytestmark = pytest.mark.sandbox

ECHO_LINES = [f"dockyard-line-{n:03d}" for n in range(40)]


def good_dockerfile() -> str:
    """A Dockerfile that prints 40 known lines; a fresh token keeps its RUN step out of the build cache."""
    return (
        "FROM busybox:latest\n"
        f"RUN for n in $(seq 0 39); do printf 'dockyard-line-%03d\\n' $n; done; echo {time.time_ns()}\n"
        'CMD ["echo", "hi"]\n'
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    live = LiveStack(tmp_path_factory.mktemp("stack")).start(concurrency=2)
    yield live
    live.stop()


def log_text(events: list[dict]) -> str:
    return "\n".join(event["text"] for event in events if event["type"] == "log")


def assert_numbered_once(events: list[dict]) -> None:
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))


def test_a_good_build_streams_every_line_and_succeeds(stack):
    learner = Learner(stack, "streamer")
    response = learner.submit({"Dockerfile": good_dockerfile()})
    assert response.status_code == 202, response.text
    submission_id = response.json()["id"]
    events = learner.read_events(submission_id)
    assert_numbered_once(events)
    text = log_text(events)
    positions = [text.index(line) for line in ECHO_LINES]
    assert positions == sorted(positions)
    first = events[0]
    assert first == {
        "seq": 1,
        "type": "status",
        "status": "queued",
        "message": first["message"],
        "position": 1,
        "wait_seconds": first["wait_seconds"],
    }
    assert first["message"].startswith("Waiting for a build sandbox: next in line")
    assert any(event["type"] == "status" and event["status"] == "running" for event in events)
    result = events[-1]
    assert result["type"] == "result"
    assert result["status"] == "passed", result
    assert learner.submission(submission_id).json()["status"] == "passed"


def test_a_failing_run_step_reports_its_exit_code(stack):
    learner = Learner(stack, "failer")
    dockerfile = f"FROM busybox:latest\nRUN echo about to fail {time.time_ns()} && exit 3\n"
    submission_id = learner.submit({"Dockerfile": dockerfile}).json()["id"]
    result = learner.wait_until_finished(submission_id)
    assert result["status"] == "failed"
    assert "exit code 3" in result["message"] or "exit code 3" in str(result["result"])


def test_the_last_line_of_a_slow_step_arrives_while_the_step_still_runs(stack):
    learner = Learner(stack, "patient")
    dockerfile = f"FROM busybox:latest\nRUN echo slow-step-started-{time.time_ns()} && sleep 6\n"
    started = time.monotonic()
    submission_id = learner.submit({"Dockerfile": dockerfile}).json()["id"]
    url = f"{stack.ws_url}/ws/submissions/{submission_id}/"
    with connect(url, additional_headers=learner.websocket_headers(), open_timeout=10) as ws:
        while True:
            event = json.loads(ws.recv(timeout=60))
            assert event["type"] != "result", "the step's output only arrived with the result"
            if event["type"] == "log" and "slow-step-started" in event["text"]:
                break
    # The step sleeps 6 s after printing; its line must not wait for the step to end.
    assert time.monotonic() - started < 5
    learner.wait_until_finished(submission_id)


def test_a_reconnect_with_its_last_sequence_number_gets_only_the_rest(stack):
    learner = Learner(stack, "reconnecter")
    submission_id = learner.submit({"Dockerfile": good_dockerfile()}).json()["id"]
    first = learner.read_events(submission_id, until_result=False, limit=2)
    rest = learner.read_events(submission_id, after=first[-1]["seq"])
    events = first + rest
    assert_numbered_once(events)
    assert events[-1]["type"] == "result"
    for line in ECHO_LINES:
        assert log_text(events).count(line) == 1


def test_a_graded_submission_shows_its_whole_story_to_a_late_browser(stack):
    learner = Learner(stack, "latecomer")
    submission_id = learner.submit({"Dockerfile": good_dockerfile()}).json()["id"]
    learner.wait_until_finished(submission_id)
    events = learner.read_events(submission_id)
    assert_numbered_once(events)
    assert events[0]["status"] == "queued"
    assert events[-1]["type"] == "result"


def test_two_learners_at_once_both_complete(stack):
    learners = [Learner(stack, "twin-a"), Learner(stack, "twin-b")]
    ids = [
        learner.submit({"Dockerfile": f"FROM busybox:latest\nRUN sleep 2 && echo {name} {time.time_ns()}\n"}).json()[
            "id"
        ]
        for learner, name in zip(learners, ["a", "b"], strict=True)
    ]
    results = [learner.wait_until_finished(sid) for learner, sid in zip(learners, ids, strict=True)]
    assert [result["status"] for result in results] == ["passed", "passed"]


def test_a_websocket_from_another_learner_is_refused(stack):
    owner, other = Learner(stack, "ws-owner"), Learner(stack, "ws-other")
    submission_id = owner.submit({"Dockerfile": good_dockerfile()}).json()["id"]
    url = f"{stack.ws_url}/ws/submissions/{submission_id}/"
    with pytest.raises(InvalidStatus) as refused:
        with connect(url, additional_headers=other.websocket_headers(), open_timeout=10) as ws:
            ws.recv(timeout=5)
    assert refused.value.response.status_code == 403
    assert other.submission(submission_id).status_code == 404


def test_a_websocket_with_a_bad_origin_is_refused(stack):
    owner = Learner(stack, "origin-owner")
    submission_id = owner.submit({"Dockerfile": good_dockerfile()}).json()["id"]
    headers = {**owner.websocket_headers(), "Origin": "http://evil.example"}
    with pytest.raises(InvalidStatus) as refused:
        with connect(f"{stack.ws_url}/ws/submissions/{submission_id}/", additional_headers=headers, open_timeout=10):
            pass
    assert refused.value.response.status_code == 403


def test_refused_files_never_reach_a_build(stack):
    learner = Learner(stack, "refused")
    response = learner.submit({"Dockerfile": "FROM ubuntu:20.04\nRUN true\n"})
    assert response.status_code == 400
    assert "ubuntu:20.04" in response.json()["error"]


def test_killing_the_worker_process_mid_build_still_ends_the_submission(stack):
    learner = Learner(stack, "interrupted")
    dockerfile = f"FROM busybox:latest\nRUN echo started {time.time_ns()} && sleep 8 && echo finished\n"
    submission_id = learner.submit({"Dockerfile": dockerfile}).json()["id"]
    deadline = time.monotonic() + 120
    while learner.submission(submission_id).json()["status"] != "running":
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.2)
    time.sleep(1.5)
    # Kill every pool child: one of them runs this build. The main worker process survives, sees the
    # children die, and rejects the message back to the queue (task_reject_on_worker_lost).
    for pid in stack.worker_children():
        os.kill(pid, signal.SIGKILL)
    result = learner.wait_until_finished(submission_id, timeout=300)
    assert result["status"] in {"passed", "error"}
    if result["status"] == "error":
        assert result["message"]
    events = learner.read_events(submission_id)
    assert_numbered_once(events)
    assert any("Retrying" in event.get("message", "") for event in events) or result["status"] == "error"


def test_the_daemon_keeps_serving_after_a_hostile_build(stack):
    learner = Learner(stack, "hostile")
    fork_bomb = "FROM busybox:latest\nRUN f() { f | f & }; f; sleep 5\n"
    submission_id = learner.submit({"Dockerfile": fork_bomb}).json()["id"]
    learner.wait_until_finished(submission_id, timeout=400)
    after = Learner(stack, "after-hostile")
    next_id = after.submit({"Dockerfile": good_dockerfile()}).json()["id"]
    assert after.wait_until_finished(next_id)["status"] == "passed"


def exercise_files(slug: str, which: str) -> dict[str, str]:
    from django.conf import settings

    folder = next(settings.LESSONS_CONTENT_DIR.glob(f"*/exercises/{slug}/{which}"))
    return {path.relative_to(folder).as_posix(): path.read_text() for path in folder.rglob("*") if path.is_file()}


def test_grading_a_solution_streams_each_verdict_as_its_check_finishes(stack):
    learner = Learner(stack, "grader")
    response = learner.submit(exercise_files("first-dockerfile", "solution"), exercise="first-dockerfile")
    assert response.status_code == 202, response.text
    events = learner.read_events(response.json()["id"])
    assert_numbered_once(events)
    checks = [event for event in events if event["type"] == "check"]
    assert [check["id"] for check in checks] == ["exec-form", "builds", "workdir", "app-copied", "prints-greeting"]
    assert all(check["passed"] and check["message"] and check["section_url"] for check in checks)
    # The static check is sent before the build starts and the runtime check after it ends: each verdict
    # goes out the moment its check finishes, not all together at the end.
    first_log = next(event["seq"] for event in events if event["type"] == "log")
    assert checks[0]["seq"] < first_log < checks[-1]["seq"]
    result = events[-1]
    assert (result["type"], result["status"], result["score"]) == ("result", "passed", 100)
    assert result["image"]["size"] > 0


def test_grading_a_starter_fails_with_specific_messages(stack):
    learner = Learner(stack, "starter")
    response = learner.submit(exercise_files("first-dockerfile", "starter"), exercise="first-dockerfile")
    result = learner.wait_until_finished(response.json()["id"])
    assert result["status"] == "failed"
    failed = {check["id"]: check["message"] for check in result["result"]["checks"] if not check["passed"]}
    assert "workdir" in failed and "exec-form" in failed
    assert all(message for message in failed.values())


def test_a_flood_of_output_is_truncated_and_the_build_still_ends(stack):
    learner = Learner(stack, "flooder")
    # BuildKit clips each step's output at about 200 KiB a second, so several steps flood past 1 MiB.
    steps = "".join(f"RUN yes dockyard-flood-{n} | head -c 400000\n" for n in range(8))
    dockerfile = f"FROM busybox:latest\nRUN echo {time.time_ns()}\n{steps}"
    events = learner.read_events(learner.submit({"Dockerfile": dockerfile}).json()["id"], timeout=300)
    assert_numbered_once(events)
    logs = [event["text"] for event in events if event["type"] == "log"]
    assert "[output truncated]" in logs[-1]
    assert sum(len(text.encode()) for text in logs) <= 1024 * 1024 + 64 * 1024
    # Batched: a megabyte of lines travels in a few dozen events, not tens of thousands.
    assert len(logs) < 200
    assert events[-1]["type"] == "result"
