"""The Compose policy of labs: what a compose.yaml may say, and each refusal with its line and reason."""

from __future__ import annotations

import textwrap

import pytest

from sandbox.files import SubmissionRejected
from sandbox.labs.compose import ComposeRefused, check_compose, compose_problems
from sandbox.labs.plan import lab_plan

FILES = {
    "Dockerfile": "FROM python:3.11-slim\nCOPY app.py .\n",
    "app.py": "print('hi')\n",
    "worker/Dockerfile.dev": "FROM busybox:latest\n",
    "bad/Dockerfile": "FROM mongo:7\n",
    "app.env": "A=1\n",
}
GOOD = """\
version: "3.8"
x-common: &common
  restart: unless-stopped
services:
  web:
    <<: *common
    build: .
    image: shop-web:1
    ports: ["8000:8000"]
    environment:
      REDIS_HOST: cache
    env_file: app.env
    depends_on:
      cache:
        condition: service_healthy
    networks: [front, back]
    volumes:
      - uploads:/app/uploads
      - /app/cache
      - type: tmpfs
        target: /tmp
    mem_limit: 256m
    cpus: 0.5
    pids_limit: 100
    cap_drop: [ALL]
    privileged: false
  worker:
    build:
      context: worker
      dockerfile: Dockerfile.dev
      args: {MODE: dev}
    network_mode: service:web
    volumes_from: [web:ro]
  cache:
    image: redis:7
    networks: {back: {aliases: [redis]}}
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
    volumes:
      - type: volume
        source: data
        target: /data
volumes:
  uploads:
  data:
    labels: {purpose: cache}
networks:
  front:
  back:
    internal: true
"""


def refusals(text: str, files: dict | None = None) -> list[tuple[int, str]]:
    return [
        (p["line"], p["message"]) for p in compose_problems(textwrap.dedent(text), FILES if files is None else files)
    ]


def test_a_full_compose_file_within_the_rules_passes_with_its_plan():
    plan = check_compose(GOOD, FILES)
    assert plan.services == ["web", "worker", "cache"]
    assert plan.builds == {"web": (".", "Dockerfile"), "worker": ("worker", "worker/Dockerfile.dev")}
    assert plan.images == {"web": "shop-web:1", "cache": "redis:7"}
    assert plan.volumes == ["uploads", "data"]
    assert plan.networks == ["front", "back"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            """\
            services:
              web:
                image: busybox:latest
                privileged: true
                network_mode: host
                cap_add: [SYS_ADMIN]
                security_opt: [seccomp:unconfined]
                devices: [/dev/sda]
                pid: host
                ipc: host
                userns_mode: host
                cgroup_parent: /
            """,
            [
                (4, "privileged gives a container every capability; it is never allowed"),
                (5, "network_mode: host would share the machine's network; it is not allowed"),
                (
                    6,
                    "cap_add gives a container extra kernel capabilities; it is not allowed in the sandbox (cap_drop is)",
                ),
                (7, "security_opt can switch off the sandbox's protections; it is not allowed"),
                (8, "devices gives a container the machine's devices; it is not allowed"),
                (9, "pid would share a process namespace; it is not allowed in the sandbox"),
                (10, "ipc would share an IPC namespace; it is not allowed in the sandbox"),
                (11, "userns_mode would switch off the sandbox's user namespace; it is not allowed"),
                (12, "cgroup_parent would move the container out of the sandbox's limits; it is not allowed"),
            ],
        ),
        (
            """\
            services:
              web:
                image: busybox:latest
                volumes:
                  - ./src:/app
                  - /etc:/host-etc:ro
                  - /var/run/docker.sock:/var/run/docker.sock
                  - ~/data:/data
                  - type: bind
                    source: /
                    target: /host
                  - missing:/missing
            """,
            [
                (5, "host folders cannot be mounted in the sandbox (`./src`): use a named volume or a tmpfs mount"),
                (6, "host folders cannot be mounted in the sandbox (`/etc`): use a named volume or a tmpfs mount"),
                (
                    7,
                    "the docker socket gives whoever holds it control of the daemon; it is never mounted into a lab "
                    "container",
                ),
                (8, "host folders cannot be mounted in the sandbox (`~/data`): use a named volume or a tmpfs mount"),
                (9, "host folders cannot be mounted in the sandbox (`/`): use a named volume or a tmpfs mount"),
                (12, "the volume `missing` is not declared: add it under the top-level volumes:"),
            ],
        ),
        (
            """\
            services:
              db:
                image: mongo:7
              probe:
                image: dockyard-probe:1
              app:
                build: .
                image: redis:7
              nothing:
                environment: {A: "1"}
            """,
            [
                (
                    3,
                    "the image `mongo:7` is not in the sandbox's catalog, and nothing can be pulled here (the catalog "
                    "has busybox:latest, debian:bookworm-slim, python:3.11-slim, redis:7, postgres:15, "
                    "python:3.11-slim-bookworm, python:3.11.2-slim-bookworm, busybox:1.35, busybox:1.35.0); to use your own "
                    "image, give the service a build",
                ),
                (5, "`dockyard-probe:1` is the grader's own image; use one of the catalog's images instead"),
                (
                    8,
                    "`redis:7` is a catalog image that other labs use too; give your image a name of its own, such as "
                    "myapp:1.0",
                ),
                (9, "the service `nothing` needs an image or a build"),
            ],
        ),
        (
            """\
            services:
              a:
                build: https://github.com/docker/example.git
              b:
                build:
                  context: ..
              c:
                build:
                  context: .
                  network: host
              d:
                build: missing
              e:
                build: bad
            """,
            [
                (3, "a build's context must be one of the lab's own folders, such as ."),
                (5, "a build's context must be one of the lab's own folders, such as ."),
                (10, "build.network is not available in a lab"),
                (12, "the lab has no file missing/Dockerfile for the service `d` to build from"),
                (
                    14,
                    "bad/Dockerfile line 1: the base image 'mongo:7' is not available in the sandbox. Available base "
                    "images: busybox:latest, debian:bookworm-slim, python:3.11-slim, redis:7, postgres:15, "
                    "python:3.11-slim-bookworm, python:3.11.2-slim-bookworm, busybox:1.35, busybox:1.35.0 (and scratch).",
                ),
            ],
        ),
        (
            """\
            name: mine
            services:
              web:
                image: busybox:latest
                environment:
                  HOME_DIR: ${HOME}
                  PRICE: "$$5"
                container_name: dockyard-web
                deploy:
                  resources: {limits: {memory: 64m}}
                logging: {driver: syslog}
                extends: {file: other.yaml, service: base}
                env_file: /etc/environment
                pull_policy: always
                scale: 10
            volumes:
              hostroot:
                driver_opts: {type: none, device: /, o: bind}
              shared:
                external: true
            networks:
              lan:
                driver: macvlan
              outside:
                external: true
            secrets:
              key: {file: ./key}
            """,
            [
                (1, "the sandbox names each lab's project itself; leave out name"),
                (6, "variable substitution (${...}) is not available in a lab: write the value"),
                (8, "names starting with `dockyard` belong to the grader; choose another container name"),
                (
                    9,
                    "docker-compose 1.29 ignores deploy: set limits with mem_limit, memswap_limit, cpus and pids_limit, "
                    "and the policy with restart",
                ),
                (11, "the sandbox keeps container logs itself; leave out logging"),
                (12, "extends reads other files; write the service out in full"),
                (13, "env_file `/etc/environment` must be one of the lab's files"),
                (14, "nothing can be pulled: the sandbox has no registry"),
                (15, "scale must be a whole number up to 3"),
                (18, "`driver_opts` is not available for volumes (they can mount the machine's folders)"),
                (20, "external volumes live outside the lab; let Compose create `shared`"),
                (23, "networks in the sandbox use the bridge driver only"),
                (25, "external networks live outside the lab; let Compose create `outside`"),
                (26, "the sandbox has no secrets to give; set a test value in environment instead"),
            ],
        ),
        (
            """\
            services:
              web:
                image: busybox:latest
                network_mode: bridge
              other:
                image: busybox:latest
                network_mode: "container:web"
            """,
            [
                (4, "network_mode: bridge is not available; Compose puts services on the lab's network"),
                (7, "network_mode: container:web is not available; Compose puts services on the lab's network"),
            ],
        ),
        (
            """\
            services:
              web:
                image: myweb:1
                labels: {dockyard.submission: other}
                build:
                  context: .
                  labels: [com.docker.compose.project=other]
            volumes:
              data:
                labels: {dockyard.submission: other}
            """,
            [
                (
                    4,
                    "the label `dockyard.submission` belongs to the grader (it finds what your lab made by it); "
                    "choose another",
                ),
                (
                    7,
                    "the label `com.docker.compose.project` belongs to the grader (it finds what your lab made by "
                    "it); choose another",
                ),
                (
                    10,
                    "the label `dockyard.submission` belongs to the grader (it finds what your lab made by it); "
                    "choose another",
                ),
            ],
        ),
        ("services: {}\n", [(1, "compose.yaml needs a `services:` mapping with at least one service")]),
        ("services:\n  web: [unclosed\n", [(3, "YAML: expected ',' or ']', but got '<stream end>'")]),
    ],
)
def test_each_refusal_names_its_line_and_reason(text, expected):
    assert refusals(text) == expected


def test_check_compose_raises_the_first_problem_and_a_submission_names_the_file():
    text = "services:\n  web:\n    image: busybox:latest\n    privileged: true\n    cap_add: [ALL]\n"
    with pytest.raises(ComposeRefused) as refused:
        check_compose(text, FILES)
    assert refused.value.message == "line 4: privileged gives a container every capability; it is never allowed"
    with pytest.raises(SubmissionRejected) as rejected:
        lab_plan("compose", {"compose.yaml": text})
    assert rejected.value.message == (
        "compose.yaml, line 4: privileged gives a container every capability; it is never allowed"
    )
    with pytest.raises(SubmissionRejected) as rejected:
        lab_plan("compose", {"Dockerfile": "FROM busybox:latest\n"})
    assert rejected.value.message == "The submission has no compose.yaml (a file named exactly 'compose.yaml')."


def test_the_live_lint_checks_the_text_alone_and_leaves_the_named_files_to_the_submission():
    text = "services:\n  web:\n    build: .\n    env_file: app.env\n    cap_add: [ALL]\n"
    assert compose_problems(text, None) == [
        {"line": 5, "message": "cap_add gives a container extra kernel capabilities; it is not allowed in the sandbox "
         "(cap_drop is)"}
    ]  # fmt: skip
