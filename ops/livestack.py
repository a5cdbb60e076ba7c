"""A real running Dockyard for integration tests and the benchmark: Daphne, a Celery worker, Redis and
the sandbox daemons.

The servers run as subprocesses on a file-based SQLite database of their own and a Redis database
number of their own, so they never mix with a development instance. Tests talk to them as a browser
would: HTTP with a session cookie and CSRF token, and WebSockets.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("DOCKYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
PASSWORD = "a-long-Passw0rd!"


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"Nothing answered on 127.0.0.1:{port} within {timeout:.0f} s")


@dataclass
class LiveStack:
    workdir: Path
    port: int = field(default_factory=free_port)
    env: dict = field(default_factory=dict)
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, concurrency: int = 2, extra_env: dict | None = None) -> LiveStack:
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}",
            "REDIS_URL": TEST_REDIS_URL,
            "DEBUG": "false",
            "SECURE_HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            **(extra_env or {}),
        }
        self.manage("migrate", "--noinput", "-v0")
        self.manage("loadlessons")
        self._flush_test_redis()
        self.start_worker(concurrency)
        self.web = self._spawn(
            [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(self.port), "tutorial.asgi:application"],
            "web.log",
        )
        wait_for_port(self.port)
        return self

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen:
        self.worker = self._spawn(
            [
                str(ROOT / ".venv/bin/celery"), "-A", "tutorial", "worker", "-Q", "builds", "--pool", "prefork",
                "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-heartbeat",
                "--without-gossip", "--without-mingle", "-n", f"test-{self.port}@%h",
            ],
            "worker.log",
        )  # fmt: skip
        self._wait_for_worker_ready()
        return self.worker

    def worker_children(self) -> list[int]:
        """PIDs of the prefork pool's child processes, which run the tasks."""
        path = Path(f"/proc/{self.worker.pid}/task/{self.worker.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        for process in (self.web, self.worker):
            stop_process(process)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def log(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def _wait_for_worker_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        start = len(self.log("worker.log"))
        while time.monotonic() < deadline:
            if " ready." in self.log("worker.log")[start:]:
                return
            if self.worker.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("The Celery worker did not start:\n" + self.log("worker.log")[-3000:])

    def _flush_test_redis(self) -> None:
        redis.Redis.from_url(TEST_REDIS_URL).flushdb()


def stop_process(process: subprocess.Popen | None, timeout: float = 20.0) -> None:
    """Stop one process we started, by its PID: TERM, then KILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class RedisServer:
    """A redis-server of our own on a free loopback port, for fault tests and load runs.

    It can be stopped and started again on the same port (without persistence, so it comes back empty, as a
    real restart would), and it never touches the Redis the rest of the machine uses.
    """

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = open(self.workdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(self.port, timeout=10)
        return self

    def stop(self) -> None:
        """Kill it (SIGKILL, as a crash would), by its own PID."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


class Learner:
    """A browser-like client: signs up, keeps the session cookie and sends the CSRF token."""

    def __init__(self, stack: LiveStack, username: str):
        self.stack = stack
        self.username = username
        self.http = requests.Session()
        self.http.headers["Origin"] = stack.base_url
        page = self.http.get(f"{stack.base_url}/accounts/signup/", timeout=10)
        page.raise_for_status()
        response = self.http.post(
            f"{stack.base_url}/accounts/signup/",
            data={
                "username": username,
                "password1": PASSWORD,
                "password2": PASSWORD,
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
            },
            headers={"Referer": f"{stack.base_url}/accounts/signup/"},
            timeout=10,
        )
        response.raise_for_status()
        assert "sessionid" in self.http.cookies, "sign-up did not log the learner in"

    def submit(self, files: dict, exercise: str | None = None) -> requests.Response:
        return self.http.post(
            f"{self.stack.base_url}/api/submissions/",
            data=json.dumps({"exercise": exercise, "files": files}),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.http.cookies["csrftoken"]},
            timeout=30,
        )

    def submission(self, submission_id: int) -> requests.Response:
        return self.http.get(f"{self.stack.base_url}/api/submissions/{submission_id}/", timeout=10)

    def wait_until_finished(self, submission_id: int, timeout: float = 240.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.submission(submission_id).json()
            if data["status"] in {"passed", "failed", "error"}:
                return data
            time.sleep(0.5)
        raise AssertionError(f"submission {submission_id} did not finish within {timeout:.0f} s")

    def websocket_headers(self) -> dict:
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        return {"Cookie": cookie, "Origin": self.stack.base_url}

    def read_events(
        self,
        submission_id: int,
        after: int = 0,
        until_result: bool = True,
        timeout: float = 240.0,
        limit: int | None = None,
    ) -> list[dict]:
        """Read events over the WebSocket until the result event (or `limit` events) arrive."""
        url = f"{self.stack.ws_url}/ws/submissions/{submission_id}/?after={after}"
        events: list[dict] = []
        deadline = time.monotonic() + timeout
        with connect(url, additional_headers=self.websocket_headers(), open_timeout=10) as ws:
            while time.monotonic() < deadline:
                event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                events.append(event)
                if until_result and event["type"] == "result":
                    break
                if limit and len(events) >= limit:
                    break
        return events
