"""Scale-out: two workers lease from one pool that holds a local daemon and a daemon reached over TLS.

The pool is a local daemon (its unix socket) and a second daemon reached only over TCP with verified TLS, as a
worker reaches a daemon on another machine: the daemon listens with --tlsverify inside its own network
namespace, and a relay (ops/relay.py) carries the bytes from this machine's loopback. The certificates are
made here with openssl. Two workers, two processes each, build a dozen submissions; every build reports, from
inside the daemon, when its RUN step began and ended (the kernel's uptime, one clock for every container on
this machine), and no two of them ever overlap on one daemon.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ops.livestack import ROOT, Learner, LiveStack, OwnDaemons, RedisServer, free_port, stop_process, wait_for_port

pytestmark = pytest.mark.sandbox

PREFIX = "dockyard-tl"
TLS_PORT = 2376


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> tuple[Path, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate; returns (server dir, client dir)."""
    folder.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dockyard test CA",
            "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=folder)  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage = clientAuth\n")
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=dockyard worker")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}-key.pem",
                "-out", f"{name}.csr", cwd=folder)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}-cert.pem", cwd=folder)  # fmt: skip
    server, client = folder / "server", folder / "client"
    server.mkdir(exist_ok=True)
    client.mkdir(exist_ok=True)
    for target, names in ((server, {"ca.pem": "ca.pem", "server-cert.pem": "server-cert.pem",
                                    "server-key.pem": "server-key.pem"}),
                          (client, {"ca.pem": "ca.pem", "client-cert.pem": "cert.pem", "client-key.pem": "key.pem"})):  # fmt: skip
        for source, name in names.items():
            (target / name).write_bytes((folder / source).read_bytes())
    return server, client


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_daemons(certificates):
    server, _ = certificates
    extra = {"SANDBOX_TLS_LISTEN_PORT": str(TLS_PORT), "SANDBOX_TLS_SERVER_CERT_PATH": str(server)}
    daemons = OwnDaemons(PREFIX, count=2, extra_env=extra)
    # Started afresh, so the TLS listener is surely there.
    daemons.stop()
    daemons.start()
    yield daemons
    daemons.stop()


@pytest.fixture(scope="module")
def relay(tls_daemons, tmp_path_factory):
    """This machine's 127.0.0.1:PORT carried into the second daemon's namespace, to its TLS listener."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.relay", "--netns", f"{PREFIX}1", "--listen", str(port), "--to", str(TLS_PORT + 1)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    wait_for_port(port)
    yield f"tcp://127.0.0.1:{port}"
    stop_process(process)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, certificates, tls_daemons, relay):
    server, client = certificates
    own_redis = RedisServer(tmp_path_factory.mktemp("redis")).start()
    live = LiveStack(tmp_path_factory.mktemp("pool-stack"))
    live.start(
        concurrency=2,
        extra_env={
            "REDIS_URL": own_redis.url,
            "SANDBOX_NAME_PREFIX": PREFIX,
            # The first daemon through its unix socket; the second only over TLS, as if on another machine.
            "SANDBOX_COUNT": "1",
            "SANDBOX_REMOTE_HOSTS": relay,
            "SANDBOX_TLS_CERT_PATH": str(client),
            "SANDBOX_TLS_LISTEN_PORT": str(TLS_PORT),
            "SANDBOX_TLS_SERVER_CERT_PATH": str(server),
            "SANDBOX_DOCKER_HOST": "",
            "UPKEEP_INTERVAL_SECONDS": "1",
        },
    )
    live.start_worker(concurrency=2)
    yield live
    live.stop()
    own_redis.stop()


def test_the_tls_daemon_answers_only_a_client_with_a_certificate(certificates, relay):
    _, client = certificates
    url = relay.replace("tcp://", "https://") + "/_ping"
    answer = requests.get(url, verify=str(client / "ca.pem"), cert=(str(client / "cert.pem"), str(client / "key.pem")))
    assert (answer.status_code, answer.text) == (200, "OK")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, verify=str(client / "ca.pem"), timeout=10)
    plain = requests.get(url.replace("https://", "http://"), timeout=10)
    assert plain.status_code == 400 and "HTTPS" in plain.text


def timed_build() -> dict:
    uptime = "$(cut -d' ' -f1 /proc/uptime)"
    return {
        "Dockerfile": (
            f'FROM busybox:latest\nRUN echo "begin {uptime} {time.time_ns()}" && sleep 1.5 && echo "end {uptime}"\n'
        )
    }


def test_two_workers_share_one_pool_and_no_daemon_is_ever_leased_twice_at_once(stack, tls_daemons, relay):
    learners = [Learner(stack, f"pool-{n}") for n in range(6)]
    sent = []
    for _ in range(2):
        for learner in learners:
            response = learner.submit(timed_build())
            assert response.status_code == 202, response.text
            sent.append((learner, response.json()["id"]))
    spans: dict[str, list[tuple[float, float, int]]] = {}
    for learner, submission_id in sent:
        result = learner.wait_until_finished(submission_id, timeout=300)
        assert result["status"] == "passed", result
        text = "\n".join(
            event["text"] for event in learner.submission(submission_id).json()["events"] if "text" in event
        )
        begin = float(re.search(r"begin (\d+\.\d+)", text).group(1))
        end = float(re.search(r"end (\d+\.\d+)", text).group(1))
        [(host,)] = stack.query("SELECT docker_host FROM sandbox_submission WHERE id = ?", submission_id)
        spans.setdefault(host, []).append((begin, end, submission_id))
    # Both members of the pool built: the local one and the one reached over TLS.
    assert set(spans) == {tls_daemons.docker_host(0), relay}
    for host, host_spans in spans.items():
        ordered = sorted(host_spans)
        for (_, first_end, first), (second_begin, _, second) in zip(ordered, ordered[1:], strict=False):
            assert first_end <= second_begin, f"submissions {first} and {second} ran at once on {host}"
    # And both workers took part.
    logs = [stack.log("worker.log"), *(path.read_text() for path in stack.workdir.glob("worker-*.log"))]
    assert len(logs) == 2
    assert all(re.search(r"build_submission\[[^\]]+\] succeeded", log) for log in logs)
