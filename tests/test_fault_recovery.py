"""Faults through the real stack: Redis restarted, a sandbox daemon killed, a worker killed, a disk filled.

Each test breaks something while learners' builds wait and run, then checks that every submission reaches a final
state with a message a learner can read, and that nothing is built twice. The stack is Daphne, a Celery worker
and the upkeep, on a Redis and two sandbox daemons of this test's own (prefix dockyard-rt), so the machine's
shared Redis and daemons are never touched.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ops.livestack import Learner, LiveStack, OwnDaemons, RedisServer

pytestmark = pytest.mark.sandbox

FINAL = {"passed", "failed", "error"}
PREFIX = "dockyard-rt"


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_daemons():
    daemons = OwnDaemons(PREFIX, count=2).start()
    yield daemons
    daemons.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, own_redis, own_daemons):
    live = LiveStack(tmp_path_factory.mktemp("fault-stack")).start(
        concurrency=2,
        extra_env={
            "REDIS_URL": own_redis.url,
            "SANDBOX_NAME_PREFIX": PREFIX,
            "SANDBOX_COUNT": "2",
            "SANDBOX_DOCKER_HOST": "",
            "SANDBOX_REMOTE_HOSTS": "",
            "UPKEEP_INTERVAL_SECONDS": "1",
        },
    )
    yield live
    live.stop()


def slow_build(seconds: int = 4) -> dict:
    """A playground build whose RUN step takes `seconds`; a fresh token keeps it out of the build cache."""
    return {"Dockerfile": f"FROM busybox:latest\nRUN echo start {time.time_ns()} && sleep {seconds} && echo done\n"}


def submit_all(learners: list[Learner], per_learner: int, seconds: int = 4) -> list[tuple[Learner, int]]:
    sent = []
    for _ in range(per_learner):
        for learner in learners:
            response = learner.submit(slow_build(seconds))
            assert response.status_code == 202, response.text
            sent.append((learner, response.json()["id"]))
    return sent


def wait_all_final(sent: list[tuple[Learner, int]], timeout: float = 300) -> list[dict]:
    deadline = time.monotonic() + timeout
    results = []
    for learner, submission_id in sent:
        results.append(learner.wait_until_finished(submission_id, timeout=max(1.0, deadline - time.monotonic())))
    return results


def wait_for(condition, timeout: float = 60, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def statuses(stack: LiveStack, ids: list[int]) -> list[str]:
    marks = ",".join("?" * len(ids))
    return [row[0] for row in stack.query(f"SELECT status FROM sandbox_submission WHERE id IN ({marks})", *ids)]


def assert_final_with_words(learner: Learner, submission_id: int, result: dict) -> list[dict]:
    """The submission ended, told the learner so in words, and its story is whole (numbered once, ends in a result)."""
    assert result["status"] in FINAL
    assert result["message"].strip(), f"submission {submission_id} ended without a message"
    events = learner.submission(submission_id).json()["events"]
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "result" and events[-1]["message"] == result["message"]
    return events


def test_waiting_learners_see_their_place_move_up_until_their_build_starts(stack):
    learners = [Learner(stack, f"place-{n}") for n in range(5)]
    sent = submit_all(learners, per_learner=1, seconds=3)
    last_learner, last_id = sent[-1]
    results = wait_all_final(sent)
    assert [result["status"] for result in results] == ["passed"] * 5
    events = assert_final_with_words(last_learner, last_id, results[-1])
    told = [event for event in events if event["type"] == "status" and "position" in event]
    places = [event["position"] for event in told]
    # Two sandboxes, five builds: the last one waits behind others and is told each new place, once, in words.
    assert len(places) >= 2 and places[0] >= 2, places
    assert places == sorted(set(places), reverse=True) and places[-1] == 1
    assert all(isinstance(event["wait_seconds"], int) and " in line" in event["message"] for event in told)


def test_a_redis_restart_loses_no_submission(stack, own_redis):
    learners = [Learner(stack, f"redis-{n}") for n in range(3)]
    sent = submit_all(learners, per_learner=2, seconds=4)
    ids = [submission_id for _, submission_id in sent]
    wait_for(lambda: "running" in statuses(stack, ids), what="a build to start")
    assert "queued" in statuses(stack, ids)
    # Redis runs without persistence: the queue, the leases and the tickets are gone at once.
    own_redis.restart(down_seconds=1)
    results = wait_all_final(sent, timeout=240)
    assert [result["status"] for result in results] == ["passed"] * 6
    recovered = 0
    for (learner, submission_id), result in zip(sent, results, strict=True):
        events = assert_final_with_words(learner, submission_id, result)
        recovered += any("queued again" in event.get("message", "") for event in events)
    assert recovered >= 1, "no queued submission had to be recovered: the restart came too late to test anything"
    # Nothing was built twice: each passed in one attempt.
    attempts = stack.query(f"SELECT attempts FROM sandbox_submission WHERE id IN ({','.join(map(str, ids))})")
    assert sorted(row[0] for row in attempts) == [1] * 6


def test_a_daemon_killed_mid_build_is_retried_elsewhere_not_counted_and_restarted(stack, own_daemons):
    learner = Learner(stack, "daemon-killed")
    submission_id = learner.submit(slow_build(10)).json()["id"]
    wait_for(lambda: statuses(stack, [submission_id]) == ["running"], what="the build to start")
    time.sleep(2)
    [(host,)] = stack.query("SELECT docker_host FROM sandbox_submission WHERE id = ?", submission_id)
    index = 0 if host == own_daemons.docker_host(0) else 1
    assert host == own_daemons.docker_host(index)
    killed = own_daemons.kill(index)
    result = learner.wait_until_finished(submission_id, timeout=180)
    events = assert_final_with_words(learner, submission_id, result)
    assert result["status"] == "passed"
    retry = [event for event in events if event.get("retry")]
    assert len(retry) == 1
    assert "not your fault" in retry[0]["message"] and "retried" in retry[0]["message"]
    [(again_on, attempts, sandbox_retries)] = stack.query(
        "SELECT docker_host, attempts, sandbox_retries FROM sandbox_submission WHERE id = ?", submission_id
    )
    assert again_on == own_daemons.docker_host(1 - index)
    assert (attempts, sandbox_retries) == (1, 1)
    # The upkeep restarts the daemon that died, with its catalog still on its disk.
    wait_for(lambda: own_daemons.answers(index), timeout=90, what="the killed daemon to be restarted")
    assert own_daemons.dockerd_pid(index) not in (None, killed)
    # `sandbox status` shows each daemon's health, free disk and last build.
    status = stack.manage("sandbox", "status")
    assert f"{PREFIX}{index}: healthy" in status and "MB free" in status
    assert "images: " in status and "busybox:latest" in status
    retried_on = status.split(f"{PREFIX}{1 - index}: ")[1].split(f"{PREFIX}{index}: ")[0]
    assert f"last build: submission {submission_id}, passed" in retried_on
    assert "upkeep: up" in status


def test_a_whole_worker_killed_loses_nothing(stack):
    learners = [Learner(stack, f"worker-{n}") for n in range(3)]
    sent = submit_all(learners, per_learner=2, seconds=6)
    ids = [submission_id for _, submission_id in sent]
    wait_for(lambda: statuses(stack, ids).count("running") == 2, what="two builds to start")
    time.sleep(1)
    # The whole worker dies (main process and pool), as an OOM kill would; a supervisor starts a new one.
    stack.kill_worker()
    stack.start_worker(concurrency=2)
    results = wait_all_final(sent, timeout=300)
    assert [result["status"] for result in results] == ["passed"] * 6
    interrupted = 0
    for (learner, submission_id), result in zip(sent, results, strict=True):
        events = assert_final_with_words(learner, submission_id, result)
        interrupted += any("its worker stopped, which is not your fault" in e.get("message", "") for e in events)
    assert interrupted == 2


def test_a_full_sandbox_disk_fails_builds_in_words_and_they_pass_once_space_is_back(stack, own_daemons):
    fillers = []
    try:
        for index in range(2):
            data = own_daemons.root(index) / "data"
            free = os.statvfs(data).f_bavail * os.statvfs(data).f_frsize
            filler = data / "dockyard-test-filler"
            subprocess.run(["fallocate", "-l", str(free - 64 * 1024**2), str(filler)], check=True)
            fillers.append(filler)
        learner = Learner(stack, "disk-filler")
        big = f"FROM busybox:latest\nRUN echo {time.time_ns()} && dd if=/dev/zero of=/big bs=1M count=300\n"
        submission_id = learner.submit({"Dockerfile": big}).json()["id"]
        result = learner.wait_until_finished(submission_id, timeout=180)
        assert_final_with_words(learner, submission_id, result)
        assert result["status"] in {"failed", "error"}
        assert "space" in result["message"].lower() or "disk" in result["message"].lower(), result["message"]
        # The operator sees the full disks in `sandbox status`.
        status = stack.manage("sandbox", "status")
        free = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) MB free", status)]
        assert len(free) == 2 and all(megabytes < 100 for megabytes in free), status
    finally:
        for filler in fillers:
            Path(filler).unlink(missing_ok=True)
    again = learner.submit({"Dockerfile": big.replace("RUN echo", "RUN echo again")}).json()["id"]
    assert learner.wait_until_finished(again, timeout=180)["status"] == "passed"


def test_a_worker_process_killed_mid_build_is_retried_and_passes(stack):
    learner = Learner(stack, "child-killed")
    submission_id = learner.submit(slow_build(6)).json()["id"]
    wait_for(lambda: statuses(stack, [submission_id]) == ["running"], what="the build to start")
    time.sleep(1.5)
    for pid in stack.worker_children():
        os.kill(pid, signal.SIGKILL)
    result = learner.wait_until_finished(submission_id, timeout=180)
    events = assert_final_with_words(learner, submission_id, result)
    assert result["status"] == "passed"
    assert any(event.get("message") == "Retrying after an interrupted build…" for event in events)
