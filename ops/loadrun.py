"""A class-sized load run: learners sign in, open an exercise and submit, through the real HTTP API and WebSockets.

`manage.py loadtest` (ops/management/commands/loadtest.py) drives it. Everything runs on 127.0.0.1 and on the
run's own Redis and sandbox daemons (ops/livestack.py), so faults can be injected without touching anything
the machine shares: a whole worker killed and started again, Redis restarted, a daemon killed.

Each learner behaves as in a classroom: signs up, opens the exercise page, then submits a few times, each time
watching the build over the WebSocket until the verdict (reconnecting and catching up, as the page does) and
thinking a little before the next try. A submission is:

- sent: accepted by the API (202);
- finished: it reached passed, failed or error, with a message;
- lost: accepted, but the server no longer knows it, or it ended without a result a learner can read;
- stuck: accepted and still waiting or running when the run's drain time is over.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from .livestack import Learner, LiveStack, OwnDaemons

FINAL = {"passed", "failed", "error"}
EXERCISE = "first-dockerfile"
SILENCE_SECONDS = 30

# Hostile Dockerfiles a class sees: each either refused before it builds or stopped by the sandbox's limits.
HOSTILE = {
    "fork-bomb": "FROM busybox:latest\nRUN echo {token}; f() {{ f | f & }}; f; sleep 5\n",
    "output-flood": "FROM busybox:latest\nRUN echo {token}\n"
    + "".join(f"RUN yes dockyard-flood-{n} | head -c 400000\n" for n in range(4)),
    "memory-hog": 'FROM python:3.11-slim\nRUN echo {token} && python3 -c "x = bytearray(3 * 1024**3)"\n',
    "fetch-from-the-internet": "FROM busybox:latest\nADD https://example.com/payload.sh /payload.sh\n",
}


@dataclass
class Outcome:
    """What one learner saw of one submission (times in seconds from sending it)."""

    learner: str
    kind: str
    http_status: int = 0
    submission_id: int | None = None
    queue_wait: float | None = None
    first_log: float | None = None
    verdict: float | None = None
    status: str = ""
    message: str = ""
    retried: bool = False
    recovered: bool = False
    sent_at: float = 0.0
    finished_at: float | None = None


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 2)


def exercise_files(content_dir: Path, which: str) -> dict[str, str]:
    folder = next(content_dir.glob(f"*/exercises/{EXERCISE}/{which}"))
    return {path.relative_to(folder).as_posix(): path.read_text() for path in folder.rglob("*") if path.is_file()}


class MemoryWatch(threading.Thread):
    """Samples the resident memory of the web server, the workers and the daemons; keeps each group's peak."""

    def __init__(self, stack: LiveStack, daemons: OwnDaemons, every: float = 0.5):
        super().__init__(name="memory watch", daemon=True)
        self.stack = stack
        self.daemons = daemons
        self.every = every
        self.peaks = {"web": 0, "worker": 0, "daemons": 0}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            groups = {
                "web": [self.stack.web.pid] if self.stack.web else [],
                "worker": [pid for worker in list(self.stack.workers) for pid in with_descendants(worker.pid)],
                "daemons": self.daemon_pids(),
            }
            for name, pids in groups.items():
                self.peaks[name] = max(self.peaks[name], sum(rss_bytes(pid) for pid in pids))

    def daemon_pids(self) -> list[int]:
        pids = []
        for index in range(self.daemons.count):
            pids.append(self.daemons.dockerd_pid(index) or 0)
            try:
                pids.append(int((self.daemons.root(index) / "containerd.pid").read_text()))
            except (OSError, ValueError):
                pass
        return [pid for pid in pids if pid]

    def stop(self) -> dict[str, float]:
        self.stopped.set()
        return {name: round(peak / 1024**2, 1) for name, peak in self.peaks.items()}


def with_descendants(pid: int) -> list[int]:
    """A process and its descendants, except a sandbox daemon it started (the upkeep restarts dockerd, which
    then runs as the worker's child): the daemon and its builds are counted with the daemons, not the worker."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                kids = [int(child) for child in children.read_text().split()]
            except OSError:
                continue
            pending += [kid for kid in kids if not is_daemon(kid)]
    return found


def is_daemon(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"dockerd" in command or b"containerd" in command or b"nsenter" in command


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class Plan:
    learners: int = 40
    tries: int = 3
    minutes: float = 3.0
    seed: int = 7
    drain_minutes: float = 10.0
    mix: dict[str, float] = field(default_factory=lambda: {"passing": 0.45, "failing": 0.35, "hostile": 0.2})


class LoadRun:
    def __init__(self, stack: LiveStack, plan: Plan, content_dir: Path, log=print):
        self.stack = stack
        self.plan = plan
        self.log = log
        self.random = random.Random(plan.seed)
        self.passing = exercise_files(content_dir, "solution")
        self.failing = exercise_files(content_dir, "starter")
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.started = 0.0
        self.drain_deadline = 0.0

    # --- One learner ----------------------------------------------------------------------------------------

    def choose(self, learner: str, attempt: int) -> tuple[str, dict[str, str]]:
        with self.lock:
            roll = self.random.random()
            hostile = self.random.choice(sorted(HOSTILE))
        token = uuid.uuid4().hex[:8]
        if roll < self.plan.mix["passing"]:
            # Each learner writes their own app.py, so the COPY step really runs.
            app = self.passing["app.py"] + f"# {learner}, try {attempt} {token}\n"
            return "passing", {**self.passing, "app.py": app}
        if roll < self.plan.mix["passing"] + self.plan.mix["failing"]:
            return "failing", {**self.failing, "app.py": self.failing["app.py"] + f"# {learner} {token}\n"}
        return f"hostile:{hostile}", {"Dockerfile": HOSTILE[hostile].format(token=token)}

    def learner(self, name: str, start_after: float) -> None:
        time.sleep(start_after)
        person = Learner(self.stack, name)
        page = person.http.get(f"{self.stack.base_url}/exercises/{EXERCISE}/", timeout=30)
        page.raise_for_status()
        think_until = self.started + self.plan.minutes * 60
        for attempt in range(1, self.plan.tries + 1):
            kind, files = self.choose(name, attempt)
            outcome = self.submit_and_watch(person, kind, files)
            with self.lock:
                self.outcomes.append(outcome)
            # Think before trying again; the tries spread over the run's minutes.
            remaining = max(0.0, think_until - time.monotonic())
            pause = remaining / max(1, self.plan.tries - attempt) if attempt < self.plan.tries else 0
            time.sleep(self.random.uniform(0.5, 1.0) * min(pause, 60))

    def submit_and_watch(self, person: Learner, kind: str, files: dict) -> Outcome:
        outcome = Outcome(learner=person.username, kind=kind, sent_at=time.monotonic())
        try:
            response = person.submit(files, exercise=EXERCISE)
        except OSError as error:
            outcome.message = f"the request failed: {error}"
            return outcome
        outcome.http_status = response.status_code
        if response.status_code != 202:
            outcome.message = response.json().get("error", "") if response.content else ""
            return outcome
        outcome.submission_id = response.json()["id"]
        self.follow(person, outcome)
        return outcome

    def follow(self, person: Learner, outcome: Outcome) -> None:
        """Read the submission's events over the WebSocket until the result, reconnecting as the page does."""
        last = 0
        url = f"{self.stack.ws_url}/ws/submissions/{outcome.submission_id}/"
        while time.monotonic() < self.drain_deadline:
            try:
                with connect(
                    f"{url}?after={last}", additional_headers=person.websocket_headers(), open_timeout=10
                ) as ws:
                    while True:
                        event = json.loads(ws.recv(timeout=SILENCE_SECONDS))
                        if event["seq"] <= last:
                            continue
                        last = event["seq"]
                        if self.note(outcome, event):
                            return
            except TimeoutError:
                # Silence: ask the API whether the story went on without this socket, as the page's watchdog does.
                if self.caught_up_from_api(person, outcome, last):
                    return
            except (WebSocketException, InvalidStatus, OSError):
                time.sleep(1)

    def note(self, outcome: Outcome, event: dict) -> bool:
        """Record when the learner saw each milestone; True at the result."""
        now = time.monotonic() - outcome.sent_at
        if event["type"] == "status" and event.get("status") == "running" and outcome.queue_wait is None:
            outcome.queue_wait = now
        if event["type"] == "log" and outcome.first_log is None:
            outcome.first_log = now
        if event.get("retry"):
            outcome.retried = True
        if "queued again" in event.get("message", ""):
            outcome.recovered = True
        if event["type"] == "result":
            outcome.verdict = now
            outcome.status = event["status"]
            outcome.message = event.get("message", "")
            outcome.finished_at = time.monotonic()
            return True
        return False

    def caught_up_from_api(self, person: Learner, outcome: Outcome, last: int) -> bool:
        try:
            data = person.submission(outcome.submission_id).json()
        except (OSError, ValueError):
            return False
        for event in data.get("events", []):
            if event["seq"] > last and self.note(outcome, event):
                return True
        return False

    # --- The whole run ----------------------------------------------------------------------------------------

    def run(self, faults: list[tuple[float, str, callable]]) -> dict:
        self.started = time.monotonic()
        self.drain_deadline = self.started + (self.plan.minutes + self.plan.drain_minutes) * 60
        threads = []
        arrival = min(60.0, self.plan.minutes * 60 / 3)
        for n in range(self.plan.learners):
            start_after = arrival * n / max(1, self.plan.learners)
            thread = threading.Thread(target=self.learner, args=(f"learner-{n:02d}", start_after), daemon=True)
            thread.start()
            threads.append(thread)
        injected = []
        for at, name, action in sorted(faults, key=lambda fault: fault[0]):
            time.sleep(max(0.0, self.started + at - time.monotonic()))
            self.log(f"  injecting a fault: {name} (at {at:.0f} s)")
            action()
            injected.append({"fault": name, "at_seconds": round(time.monotonic() - self.started, 1)})
        for thread in threads:
            thread.join(max(1.0, self.drain_deadline - time.monotonic()))
        return self.report(injected)

    def final_states(self) -> dict[int, dict]:
        """What the server says about each accepted submission at the end."""
        states = {}
        for outcome in self.outcomes:
            if outcome.submission_id is None:
                continue
            person_states = self.stack.query(
                "SELECT status, message FROM sandbox_submission WHERE id = ?", outcome.submission_id
            )
            states[outcome.submission_id] = (
                {"status": person_states[0][0], "message": person_states[0][1]} if person_states else None
            )
        return states

    def report(self, injected: list[dict]) -> dict:
        accepted = [o for o in self.outcomes if o.submission_id is not None]
        states = self.final_states()
        lost = [o for o in accepted if states.get(o.submission_id) is None or (
            states[o.submission_id]["status"] in FINAL and not states[o.submission_id]["message"].strip())]  # fmt: skip
        stuck = [o for o in accepted if states.get(o.submission_id) and states[o.submission_id]["status"] not in FINAL]
        finished = [o for o in accepted if o.status in FINAL]
        ends = [o.finished_at for o in finished if o.finished_at]
        span = (max(ends) - min(o.sent_at for o in accepted)) if ends and accepted else 0
        by_status = {status: sum(1 for o in finished if o.status == status) for status in sorted(FINAL)}
        refused = [o for o in self.outcomes if o.submission_id is None]
        return {
            "learners": self.plan.learners,
            "minutes": self.plan.minutes,
            "faults": injected,
            "sent": len(accepted),
            "refused_at_submit": len(refused),
            "refused_reasons": sorted({o.message for o in refused})[:5],
            "finished": len(finished),
            "finished_by_status": by_status,
            "lost": len(lost),
            "lost_ids": [o.submission_id for o in lost],
            "stuck": len(stuck),
            "stuck_ids": [o.submission_id for o in stuck],
            "retried_not_learners_fault": sum(o.retried for o in accepted),
            "recovered_after_a_lost_task": sum(o.recovered for o in accepted),
            "queue_wait_seconds": self.spread([o.queue_wait for o in finished]),
            "first_log_line_seconds": self.spread([o.first_log for o in finished]),
            "verdict_seconds": self.spread([o.verdict for o in finished]),
            "builds_per_minute": round(60 * len(finished) / span, 1) if span else 0.0,
            "outcomes": [asdict(o) for o in self.outcomes],
        }

    @staticmethod
    def spread(values: list[float | None]) -> dict:
        present = [value for value in values if value is not None]
        return {
            "p50": percentile(present, 0.5),
            "p95": percentile(present, 0.95),
            "mean": round(statistics.mean(present), 2) if present else None,
        }
