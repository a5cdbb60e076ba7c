"""Benchmark: what a learner waits for in Dockyard, next to the limit, the same work done with the raw docker CLI.

One run measures, side by side, on the same sandbox daemons:

- raw: `docker build` read as a stream (its first output line and its end), and the grader's work for
  `first-dockerfile` as plain CLI calls (ops/raw_docker.py);
- Dockyard through the API and a WebSocket: submit → first log line, → the playground's final event,
  → the graded verdict of `first-dockerfile`;
- Dockyard in Chromium (ops/page_bench.py): click → first log line on the page, click → verdict on the page,
  and how long after a plain WebSocket client the page shows the same verdict;
- the median time of each stage of a submission, from the timestamps the pipeline records on every submission
  (sandbox/timings.py);
- throughput: 20 and 40 submissions at once across the default daemons, against the same builds done raw,
  one at a time on each daemon.

It prints medians and ratios, writes everything to a JSON file, and asserts nothing: these machines are noisy,
so the numbers are for reading, not for tests. It starts its own web server and worker (ops/livestack.py).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from playwright.sync_api import sync_playwright
from websockets.sync.client import connect

from ops.browser import chromium_missing
from ops.livestack import Learner, LiveStack
from ops.page_bench import PageBench
from ops.raw_docker import RawDocker
from sandbox.daemons import all_docker_hosts
from sandbox.timings import spans

EXERCISE = "first-dockerfile"
# Issue 15's targets allow Dockyard this much over the raw work.
LIMIT_FACTOR = 1.15


def playground_dockerfile(token: str) -> str:
    # A unique token defeats the build cache, so both sides do the same work every time.
    return (
        "FROM busybox:latest\n"
        f"RUN echo bench-{token} && for n in $(seq 1 200); do echo line $n; done\n"
        'CMD ["echo", "hello from the benchmark"]\n'
    )


def exercise_files(token: str) -> dict[str, str]:
    """The reference solution of first-dockerfile, with a comment in app.py that defeats the build cache."""
    folder = next(settings.LESSONS_CONTENT_DIR.glob(f"*/exercises/{EXERCISE}/solution"))
    files = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}
    files["app.py"] = f"# bench {token}\n{files['app.py']}"
    return files


def median(values: list[float]) -> float | None:
    values = [value for value in values if value == value]  # without NaN
    return round(statistics.median(values), 4) if values else None


def medians(rows: list[dict[str, float]]) -> dict[str, float | None]:
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: median([row[name] for row in rows if name in row]) for name in names}


class Command(BaseCommand):
    help = (
        "Time Dockyard (API, WebSocket, Chromium, stages, throughput) against raw docker CLI work on the same daemons."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=5, help="sequential runs for each latency (default 5)")
        parser.add_argument("--bursts", default="20,40", help="submissions sent at once, comma-separated (20,40)")
        parser.add_argument("--no-throughput", action="store_true", help="skip the bursts")
        parser.add_argument("--skip-browser", action="store_true", help="skip the Chromium measurements")
        parser.add_argument("--json", dest="json_path", default="artifacts/bench.json", help="the results' file")
        parser.add_argument("--markdown", default="", help="also write the targets and stages as Markdown tables")

    def handle(
        self,
        *args,
        runs: int,
        bursts: str,
        no_throughput: bool,
        skip_browser: bool,
        json_path: str,
        markdown: str,
        **options,
    ):
        sizes = [] if no_throughput else [int(size) for size in bursts.split(",") if size.strip()]
        hosts = all_docker_hosts()
        if not hosts:
            raise CommandError("No sandbox daemon is configured (SANDBOX_COUNT is 0).")
        self.raws = [RawDocker(host) for host in hosts]
        self.results: dict = {
            "machine": {"cpus": os.cpu_count(), "daemons": len(hosts)},
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "runs": runs,
        }
        with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as workdir:
            self.stdout.write(f"Starting a web server and a worker for {len(hosts)} sandbox daemon(s)…")
            stack = LiveStack(Path(workdir)).start(concurrency=len(hosts))
            try:
                self.playground(stack, runs)
                self.graded(stack, runs)
                self.browser(stack, runs, skip_browser)
                self.throughput(stack, sizes)
            finally:
                stack.stop()
        self.results["targets"] = self.targets()
        self.print_targets()
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(to_json(self.results))
        if markdown:
            Path(markdown).write_text(as_markdown(self.results))
        self.stdout.write(f"\nWrote {json_path}")

    # --- Latency through the API and a WebSocket ------------------------------------------------------------

    def playground(self, stack: LiveStack, runs: int) -> None:
        learner = Learner(stack, f"bench-{uuid.uuid4().hex[:8]}")
        raw = self.raws[0]
        rows: dict[str, list[float]] = {"raw_first_line": [], "raw_build": [], "ws_first_line": [], "ws_final": []}
        stages = []
        for _ in range(runs):
            tag = f"dockyard-bench/raw-{uuid.uuid4().hex[:12]}"
            built = raw.build({"Dockerfile": playground_dockerfile(uuid.uuid4().hex)}, tag)
            raw.remove(tag)
            rows["raw_first_line"].append(built.first_line)
            rows["raw_build"].append(built.seconds)
            run = time_submission(learner, {"Dockerfile": playground_dockerfile(uuid.uuid4().hex)})
            rows["ws_first_line"].append(run["first_line"])
            rows["ws_final"].append(run["final"])
            stages.append(run["stages"])
        found = {name: median(values) for name, values in rows.items()}
        self.results["playground"] = {"runs": rows, "medians": found, "stages": medians(stages)}
        self.stdout.write(f"\nPlayground build, median of {runs} (busybox, one uncached RUN step printing 200 lines):")
        self.row("raw docker build: first output line", found["raw_first_line"])
        self.row("raw docker build: whole build", found["raw_build"])
        self.row("Dockyard: submit → first log line at the WebSocket", found["ws_first_line"], found["raw_first_line"])
        self.row("Dockyard: submit → final event", found["ws_final"], found["raw_build"])
        self.stages(medians(stages))

    def graded(self, stack: LiveStack, runs: int) -> None:
        learner = Learner(stack, f"bench-{uuid.uuid4().hex[:8]}")
        raw = self.raws[0]
        rows: dict[str, list[float]] = {
            "raw_build": [],
            "raw_build_and_checks": [],
            "ws_first_line": [],
            "ws_verdict": [],
        }
        raw_checks, stages = [], []
        for _ in range(runs):
            tag = f"dockyard-bench/exercise-{uuid.uuid4().hex[:12]}"
            graded = raw.grade_first_dockerfile(exercise_files(uuid.uuid4().hex), tag)
            raw.remove(tag)
            rows["raw_build"].append(graded.build.seconds)
            rows["raw_build_and_checks"].append(graded.seconds)
            raw_checks.append(graded.checks)
            run = time_submission(learner, exercise_files(uuid.uuid4().hex), exercise=EXERCISE)
            rows["ws_first_line"].append(run["first_line"])
            rows["ws_verdict"].append(run["final"])
            stages.append(run["stages"])
        found = {name: median(values) for name, values in rows.items()}
        self.results["graded"] = {
            "runs": rows,
            "medians": found,
            "raw_checks": medians(raw_checks),
            "stages": medians(stages),
        }
        self.stdout.write(f"\nGraded '{EXERCISE}', median of {runs} (python:3.11-slim, build + 4 checks):")
        self.row("raw: docker build", found["raw_build"])
        for name, seconds in medians(raw_checks).items():
            self.row(f"raw: its check '{name}'", seconds)
        self.row("raw: build + checks", found["raw_build_and_checks"])
        self.row("Dockyard: submit → verdict at the WebSocket", found["ws_verdict"], found["raw_build_and_checks"])
        self.stages(medians(stages))

    # --- Chromium ---------------------------------------------------------------------------------------------

    def browser(self, stack: LiveStack, runs: int, skip: bool) -> None:
        why = "skipped (--skip-browser)" if skip else chromium_missing()
        if why:
            self.results["browser"] = {"skipped": why}
            self.stdout.write(f"\nChromium: {why}")
            return
        rows: dict[str, list[float]] = {"first_line": [], "verdict": [], "lag_after_ws": []}
        from_click: list[dict[str, float]] = []
        with sync_playwright() as playwright:
            page = PageBench(playwright, stack, EXERCISE, f"page-{uuid.uuid4().hex[:8]}")
            try:
                for _ in range(runs):
                    run = page.run(exercise_files(uuid.uuid4().hex))
                    rows["first_line"].append(run.first_line)
                    rows["verdict"].append(run.verdict)
                    rows["lag_after_ws"].append(run.lag_after_ws)
                    from_click.append(run.from_click)
            finally:
                page.close()
        found = {name: median(values) for name, values in rows.items()}
        after_click = medians(from_click)
        self.results["browser"] = {"runs": rows, "medians": found, "after_click": after_click}
        self.stdout.write(f"\nChromium, '{EXERCISE}', median of {runs}:")
        self.row("click → first log line on the page", found["first_line"])
        self.row("click → verdict on the page", found["verdict"])
        self.row("verdict on the page after a plain WebSocket client", found["lag_after_ws"])
        shown = sorted((value, name) for name, value in after_click.items() if value is not None)
        self.stdout.write("  after the click (median): " + ", ".join(f"{name} {value:.3f}" for value, name in shown))

    # --- Throughput -------------------------------------------------------------------------------------------

    def throughput(self, stack: LiveStack, sizes: list[int]) -> None:
        if not sizes:
            self.results["throughput"] = {"skipped": "skipped (--no-throughput)"}
            return
        learners = [Learner(stack, f"burst-{uuid.uuid4().hex[:8]}") for _ in range(max(sizes))]
        self.results["throughput"] = {}
        for size in sizes:
            per_daemon = self.raw_per_daemon([playground_dockerfile(uuid.uuid4().hex) for _ in range(size)])
            one_by_one = self.raw_one_by_one([playground_dockerfile(uuid.uuid4().hex) for _ in range(size)])
            texts = [playground_dockerfile(uuid.uuid4().hex) for _ in range(size)]
            dockyard, timings = burst(learners[:size], texts)
            stages = [spans(found) for found in timings]
            found = {
                "raw_sequential_per_daemon": round(per_daemon, 4),
                "raw_one_by_one": round(one_by_one, 4),
                "dockyard": round(dockyard, 4),
                "busy_share": busy_share(timings, len(self.raws)),
                "stages": medians(stages),
                "timings": timings,
            }
            self.results["throughput"][str(size)] = found
            self.stdout.write(f"\nThroughput, {size} playground builds at once on {len(self.raws)} daemon(s):")
            self.row("raw, one build at a time on each daemon", per_daemon)
            self.row("raw, one build at a time in all", one_by_one)
            self.row(f"Dockyard: {size} submitted at once → all finished", dockyard, per_daemon)
            self.stages(medians(stages), only=("queue", "lease", "prepare", "build", "inspect", "publish", "cleanup"))
            self.stdout.write(
                f"  the workers held a daemon {found['busy_share']:.0%} of the time (claimed → cleaned up, "
                f"over {len(self.raws)} daemons from the first claim to the last cleanup)"
            )

    def raw_per_daemon(self, texts: list[str]) -> float:
        """The builds shared out over the daemons, each daemon building its share one after another."""
        shares = [texts[index :: len(self.raws)] for index in range(len(self.raws))]
        threads = [
            threading.Thread(target=self.raw_builds, args=(raw, share))
            for raw, share in zip(self.raws, shares, strict=True)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    def raw_one_by_one(self, texts: list[str]) -> float:
        started = time.monotonic()
        for index, text in enumerate(texts):
            self.raw_builds(self.raws[index % len(self.raws)], [text])
        return time.monotonic() - started

    def raw_builds(self, raw: RawDocker, texts: list[str]) -> None:
        tags = [f"dockyard-bench/burst-{uuid.uuid4().hex[:12]}" for _ in texts]
        for tag, text in zip(tags, texts, strict=True):
            raw.build({"Dockerfile": text}, tag)
        if tags:
            raw.remove(*tags)

    # --- Printing ---------------------------------------------------------------------------------------------

    def row(self, label: str, value: float | None, base: float | None = None) -> None:
        shown = f"{value:8.3f} s" if value is not None else "       – "
        ratio = f"   {value / base:5.2f}× raw" if value is not None and base else ""
        self.stdout.write(f"  {label:<58} {shown}{ratio}")

    def stages(self, found: dict[str, float | None], only: tuple[str, ...] = ()) -> None:
        shown = [(name, value) for name, value in found.items() if not only or name in only]
        self.stdout.write(
            "  stages (median): " + ", ".join(f"{name} {value:.3f}" for name, value in shown if value is not None)
        )

    def targets(self) -> list[dict]:
        """The targets of issue 15 against this run's medians: met, not met, or not measured (None)."""
        playground = self.results["playground"]["medians"]
        graded = self.results["graded"]["medians"]
        page = self.results["browser"].get("medians", {})
        rows = [
            target("first log line at the WebSocket ≤ raw first line + 100 ms", playground["ws_first_line"],
                   add(playground["raw_first_line"], 0.1)),
            target("playground final event ≤ 1.15× raw build", playground["ws_final"],
                   times(playground["raw_build"], LIMIT_FACTOR)),
            target("graded verdict ≤ 1.15× raw build + checks", graded["ws_verdict"],
                   times(graded["raw_build_and_checks"], LIMIT_FACTOR)),
            target("Chromium: click → first line on the page ≤ 300 ms", page.get("first_line"), 0.3),
            target("Chromium: page verdict ≤ 300 ms after the WebSocket verdict", page.get("lag_after_ws"), 0.3),
        ]  # fmt: skip
        for size, found in self.results["throughput"].items():
            if isinstance(found, dict):
                rows.append(
                    target(f"{size} at once ≤ 1.15× raw sequential on the same daemons", found["dockyard"],
                           times(found["raw_sequential_per_daemon"], LIMIT_FACTOR))
                )  # fmt: skip
        return rows

    def print_targets(self) -> None:
        self.stdout.write("\nTargets (issue 15):")
        for row in self.results["targets"]:
            verdict = {True: "met", False: "NOT met", None: "not measured"}[row["met"]]
            value = f"{row['value']:.3f} s" if row["value"] is not None else "–"
            limit = f"{row['limit']:.3f} s" if row["limit"] is not None else "–"
            self.stdout.write(f"  {row['name']:<62} {value:>9} (limit {limit:>9})  {verdict}")


def add(value: float | None, extra: float) -> float | None:
    return None if value is None else round(value + extra, 4)


def times(value: float | None, factor: float) -> float | None:
    return None if value is None else round(value * factor, 4)


def target(name: str, value: float | None, limit: float | None) -> dict:
    met = None if value is None or limit is None else value <= limit
    return {"name": name, "value": value, "limit": limit, "met": met}


def time_submission(learner: Learner, files: dict, exercise: str | None = None) -> dict:
    """Submit through the API and follow the WebSocket: seconds to the first log line and to the result, from
    the moment the POST was sent (the learner's click), and the submission's own stage spans."""
    started = time.monotonic()
    submission_id = learner.submit(files, exercise=exercise).json()["id"]
    first_line = final = float("nan")
    for event, at in timed_events(learner, submission_id):
        if event["type"] == "log" and first_line != first_line:
            first_line = at - started
        if event["type"] == "result":
            final = at - started
    return {"first_line": first_line, "final": final, "stages": spans(stored_timings(learner, submission_id))}


def stored_timings(learner: Learner, submission_id: int, wait: float = 10.0) -> dict[str, float]:
    """The submission's stage timings, once the daemon's cleanup (stored just after the result) is in."""
    deadline = time.monotonic() + wait
    while True:
        found = learner.submission(submission_id).json().get("timings") or {}
        if "cleaned_up" in found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def timed_events(learner: Learner, submission_id: int, timeout: float = 300.0) -> list[tuple[dict, float]]:
    """Every event of a submission up to its result, each with the time.monotonic() it arrived at."""
    found = []
    url = f"{learner.stack.ws_url}/ws/submissions/{submission_id}/"
    deadline = time.monotonic() + timeout
    with connect(url, additional_headers=learner.websocket_headers(), open_timeout=10) as ws:
        while time.monotonic() < deadline:
            event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            found.append((event, time.monotonic()))
            if event["type"] == "result":
                break
    return found


def burst(learners: list[Learner], texts: list[str]) -> tuple[float, list[dict[str, float]]]:
    """Each learner submits one build, all at once (one thread each): seconds from the first POST until the last
    result arrived at its WebSocket, and each submission's stage timings."""
    timings: list[dict] = []
    finished: list[float] = []
    lock = threading.Lock()

    def one(learner: Learner, text: str) -> None:
        submission_id = learner.submit({"Dockerfile": text}).json()["id"]
        events = timed_events(learner, submission_id, timeout=900)
        found = stored_timings(learner, submission_id)
        with lock:
            finished.append(events[-1][1])
            timings.append(found)

    threads = [threading.Thread(target=one, args=pair) for pair in zip(learners, texts, strict=True)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(finished) != len(learners):
        raise CommandError(f"only {len(finished)} of {len(learners)} submissions of the burst finished")
    return max(finished) - started, timings


def busy_share(timings: list[dict[str, float]], daemons: int) -> float:
    """How much of the burst the daemons were in an attempt's hands (claimed to cleaned up): the rest is spent
    between attempts (the queue's hand-over to a worker)."""
    attempts = [(found["claimed"], found["cleaned_up"]) for found in timings if {"claimed", "cleaned_up"} <= set(found)]
    if not attempts:
        return float("nan")
    wall = max(end for _, end in attempts) - min(start for start, _ in attempts)
    return round(sum(end - start for start, end in attempts) / (daemons * wall), 4) if wall > 0 else float("nan")


def as_markdown(results: dict) -> str:
    """The targets and the stage medians as Markdown tables, for the README."""

    def seconds(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f} s"

    lines = ["| target | measured | limit | met |", "| --- | --- | --- | --- |"]
    for row in results["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[row["met"]]
        lines.append(f"| {row['name']} | {seconds(row['value'])} | {seconds(row['limit'])} | {met} |")
    lines += ["", "| stage (median) | playground | graded `first-dockerfile` |", "| --- | --- | --- |"]
    playground, graded = results["playground"]["stages"], results["graded"]["stages"]
    for name in dict.fromkeys([*playground, *graded]):
        lines.append(f"| {name} | {seconds(playground.get(name))} | {seconds(graded.get(name))} |")
    return "\n".join(lines) + "\n"


def to_json(results: dict) -> str:
    def clean(value):
        if isinstance(value, float):
            return None if value != value else round(value, 4)
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return json.dumps(clean(results), indent=2) + "\n"
