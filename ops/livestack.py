"""A real running Dockyard for integration tests and the benchmark: Daphne, a Celery worker, Redis and
the sandbox daemons.

The servers run as subprocesses on a file-based SQLite database of their own and a Redis database
number of their own, so they never mix with a development instance. Tests talk to them as a browser
would: HTTP with a session cookie and CSRF token, and WebSockets.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from django.conf import settings
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
    workers: list[subprocess.Popen] = field(default_factory=list)
    _log_offsets: dict[str, int] = field(default_factory=dict)

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
            "SECRET_KEY": os.environ.get("SECRET_KEY") or f"live-stack-{secrets.token_urlsafe(40)}",
            "SECURE_HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Every test learner signs up from 127.0.0.1.
            "SIGNUPS_PER_ADDRESS_PER_HOUR": "1000",
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

    def start_worker(self, concurrency: int = 2, name: str = "") -> subprocess.Popen:
        """Start a Celery worker (another one each call, each with its own name and log) and wait until ready."""
        name = name or f"test-{self.port}-{len(self.workers)}"
        log_name = "worker.log" if not self.workers else f"worker-{name}.log"
        worker = self._spawn(
            [
                str(ROOT / ".venv/bin/celery"), "-A", "tutorial", "worker", "-Q", "builds", "--pool", "prefork",
                "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-heartbeat",
                "--without-gossip", "--without-mingle", "-n", f"{name}@%h",
            ],
            log_name,
        )  # fmt: skip
        self._wait_for_worker_ready(worker, log_name)
        self.workers.append(worker)
        self.worker = self.workers[0]
        return worker

    def worker_children(self, worker: subprocess.Popen | None = None) -> list[int]:
        """PIDs of a worker's prefork pool processes, which run the tasks (the first worker's by default)."""
        worker = worker or self.worker
        path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_worker(self, worker: subprocess.Popen | None = None) -> None:
        """SIGKILL a whole worker, its main process and its pool, as a crash or an OOM kill would."""
        worker = worker or self.worker
        children = self.worker_children(worker)
        worker.kill()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        worker.wait(timeout=10)
        self.workers.remove(worker)
        self.worker = self.workers[0] if self.workers else None

    def stop(self) -> None:
        for process in (self.web, *self.workers):
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

    def _wait_for_worker_ready(self, worker: subprocess.Popen, log_name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        # The log is appended to, so only what a restarted worker wrote after this point counts.
        start = self._log_offsets.get(log_name, 0)
        while time.monotonic() < deadline:
            text = self.log(log_name)
            if " ready." in text[start:]:
                self._log_offsets[log_name] = len(text)
                return
            if worker.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("The Celery worker did not start:\n" + self.log(log_name)[-3000:])

    def _flush_test_redis(self) -> None:
        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()

    def query(self, sql: str, *params) -> list[tuple]:
        """Read the stack's own database (SQLite), for what the API does not show, such as a build's daemon."""
        with closing(sqlite3.connect(self.workdir / "db.sqlite3", timeout=20)) as db:
            return db.execute(sql, params).fetchall()


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


class OwnDaemons:
    """Sandbox daemons of our own, next to the machine's usual ones, under another name prefix.

    Fault tests and load runs kill daemons; they must never touch the ones everybody else uses. These get their
    own folders under SANDBOX_ROOT, cgroups and network namespaces (see SANDBOX_NAME_PREFIX), the catalog is
    loaded into them from the shared cache, and they are stopped by their own pidfiles afterwards.
    """

    def __init__(self, prefix: str, count: int = 2, extra_env: dict | None = None):
        self.prefix = prefix
        self.count = count
        self.extra_env = extra_env or {}

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "SANDBOX_NAME_PREFIX": self.prefix,
            "SANDBOX_COUNT": str(self.count),
            "SANDBOX_DOCKER_HOST": "",
            "SANDBOX_REMOTE_HOSTS": "",
            **self.extra_env,
        }

    def manage(self, *args: str, timeout: float = 900) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self) -> OwnDaemons:
        """Start them (or find them running) and load the catalog: a few seconds per image the first time."""
        self.manage("sandbox", "start")
        return self

    def stop(self) -> None:
        self.manage("sandbox", "stop")

    def root(self, index: int) -> Path:
        return Path(settings.SANDBOX_ROOT) / f"{self.prefix}{index}"

    def docker_host(self, index: int) -> str:
        return f"unix://{self.root(index) / 'docker.sock'}"

    def dockerd_pid(self, index: int) -> int | None:
        """dockerd's PID from its own pidfile, when that process is really this daemon's dockerd."""
        try:
            pid = int((self.root(index) / "docker.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return None
        return pid if str(self.root(index) / "docker.sock") in cmdline else None

    def kill(self, index: int) -> int:
        """SIGKILL one daemon's dockerd, as a crash would; returns the PID that was killed."""
        pid = self.dockerd_pid(index)
        if pid is None:
            raise RuntimeError(f"{self.prefix}{index} is not running")
        os.kill(pid, signal.SIGKILL)
        return pid

    def answers(self, index: int) -> bool:
        with closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as sock:
            sock.settimeout(2)
            try:
                sock.connect(str(self.root(index) / "docker.sock"))
                sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                return b" 200 " in sock.recv(1024)
            except OSError:
                return False


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
