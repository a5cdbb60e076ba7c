"""The command policy of labs: each line of commands.sh is allowed, or refused with its line and the exact reason."""

from __future__ import annotations

import pytest

from sandbox.labs.commands import check_commands, command_problems
from sandbox.labs.shellwords import CommandRefused, logical_lines, read_commands, split_words

FILES = {
    "commands.sh": "",
    "Dockerfile": "FROM busybox:latest\nCOPY app.conf /etc/app.conf\n",
    "app.conf": "x=1\n",
    "app.env": "A=1\n",
    "api/Dockerfile": "FROM python:3.11-slim\n",
    "bad/Dockerfile": "FROM mongo:7\n",
}
# Lines that set up the names the table's lines refer to.
SETUP = """\
docker network create appnet
docker volume create data
docker run -d --name web --network appnet -v data:/data busybox:latest sleep 300
docker build -t myapp:1.0 .
"""

ALLOWED = [
    "docker run --rm busybox:latest echo hello",
    "docker run -d --name api --network appnet redis:7",
    "docker run -d --name api --net=appnet redis:7",
    "docker run -d --name api --network container:web busybox:latest sleep 1",
    "docker run --network none busybox:latest true",
    "docker run -v notes:/notes:ro busybox:latest ls /notes",
    "docker run -v /cache busybox:latest true",
    "docker run --mount type=volume,source=data,target=/data,readonly busybox:latest true",
    "docker run --mount type=tmpfs,target=/tmp,tmpfs-size=1m busybox:latest true",
    "docker run --tmpfs /tmp:size=64m --read-only busybox:latest true",
    "docker run -p 127.0.0.1:8080:80 -P --expose 81 busybox:latest true",
    "docker run -di --name x busybox:latest true",
    "docker run -e A=1 -eB=2 --env-file app.env -l team=web -u 1000:1000 -w /tmp busybox:latest env",
    "docker run --restart on-failure:3 --memory 64m --memory-swap 64m --cpus 0.5 --pids-limit 50 busybox:latest true",
    "docker run --health-cmd 'wget -q -O- http://127.0.0.1/' --health-interval 1s busybox:latest true",
    "docker run --cap-drop ALL --init --stop-timeout 2 busybox:latest true",
    "docker run --volumes-from web:ro busybox:latest ls /data",
    "docker run --ipc private --pid container:web busybox:latest true",
    "docker run myapp:1.0",
    "docker run docker.io/library/busybox:latest true",
    "docker run busybox true",
    "docker container run --name c2 busybox:latest true",
    "docker create --name later busybox:latest true",
    "docker start web",
    "docker stop -t 1 web",
    "docker restart web",
    "docker kill -s HUP web",
    "docker rm -f web",
    "docker rm web -f",
    "docker wait web",
    "docker exec -e A=1 -u root web sh -c 'echo \"$HOME\" > /tmp/x; cat /tmp/x | wc -c'",
    "docker exec web -- ls",
    "docker logs --tail 5 -t web",
    "docker inspect --format '{{json .State}}' web",
    "docker inspect -f '{{.Name}}' web data appnet myapp:1.0 busybox:latest",
    "docker ps -a --filter status=exited --format '{{.Names}}'",
    "docker container ls -a",
    "docker port web 80",
    "docker top web",
    "docker stats --no-stream web",
    "docker cp app.conf web:/etc/app.conf",
    "docker rename web web2",
    "docker update --restart unless-stopped --memory 128m web",
    "docker pause web",
    "docker volume create --label purpose=test notes",
    "docker volume ls -q",
    "docker volume inspect data",
    "docker volume rm data",
    "docker network create --driver bridge --internal backend",
    "docker network ls",
    "docker network inspect appnet",
    "docker network connect --alias www appnet web",
    "docker network disconnect -f appnet web",
    "docker network rm appnet",
    "docker images",
    "docker image ls -a",
    "docker build -t api:1 -f api/Dockerfile --build-arg X=1 --network none api",
    "docker image build --no-cache -q .",
    "docker tag myapp:1.0 myapp:latest",
    "docker rmi myapp:1.0",
    "docker history myapp:1.0",
    "docker version",
    "docker run busybox:latest echo a#b  # a comment at the end",
]

REFUSED = [
    ("docker run --privileged busybox:latest true",
     "docker run: --privileged gives a container every capability and the machine's devices; it is never allowed "
     "in the sandbox"),
    ("docker run --cap-add SYS_ADMIN busybox:latest true",
     "docker run: --cap-add gives a container extra kernel capabilities; it is not allowed in the sandbox "
     "(--cap-drop is)"),
    ("docker run --security-opt seccomp=unconfined busybox:latest true",
     "docker run: --security-opt can switch off the sandbox's protections; it is not allowed"),
    ("docker run --device /dev/sda busybox:latest true",
     "docker run: --device gives a container one of the machine's devices; it is not allowed"),
    ("docker run --userns host busybox:latest true",
     "docker run: --userns would switch off the sandbox's user namespace; it is not allowed"),
    ("docker run --cgroup-parent / busybox:latest true",
     "docker run: --cgroup-parent would move the container out of the sandbox's limits; it is not allowed"),
    ("docker run --pid host busybox:latest true", "--pid host would share the machine's own namespace; it is never allowed"),
    ("docker run --ipc=host busybox:latest true", "--ipc host would share the machine's own namespace; it is never allowed"),
    ("docker run --uts host busybox:latest true", "--uts host would share the machine's own namespace; it is never allowed"),
    ("docker run --network host busybox:latest true",
     "--network host would share the machine's network; put the container on a network you create"),
    ("docker run --network bridge busybox:latest true",
     "the sandbox has no default bridge network: create a network (docker network create NAME) and use --network NAME"),
    ("docker run --network container:stranger busybox:latest true",
     "the lab has no container named `stranger`: only containers an earlier line created (with --name) can be used"),
    ("docker run --network other busybox:latest true",
     "the lab has no network named `other`: create it first (docker network create other)"),
    ("docker run -v /etc:/host-etc busybox:latest true",
     "host paths cannot be mounted in the sandbox (`/etc`): use a named volume (-v NAME:/host-etc) or a tmpfs mount "
     "(--tmpfs /host-etc)"),
    ("docker run -v .:/app busybox:latest true",
     "host paths cannot be mounted in the sandbox (`.`): use a named volume (-v NAME:/app) or a tmpfs mount (--tmpfs /app)"),
    ("docker run -v /var/run/docker.sock:/var/run/docker.sock busybox:latest true",
     "the docker socket gives whoever holds it control of the daemon; it is never mounted into a lab container"),
    ("docker run --mount type=bind,source=/,target=/host busybox:latest true",
     "host paths cannot be mounted in the sandbox (`/`): use a named volume (-v NAME:/host) or a tmpfs mount "
     "(--tmpfs /host)"),
    ("docker run --mount type=volume,src=x,dst=/x,volume-opt=device=/ busybox:latest true",
     "volume driver options are not available: they can mount the machine's folders"),
    ("docker run -v data:relative busybox:latest true",
     "the mount's target must be an absolute path inside the container, such as /data (not `relative`)"),
    ("docker run -t busybox:latest sh",
     "docker run: there is no terminal here: leave out -t (and -it); each command's output is shown in the log"),
    ("docker run -it busybox:latest sh",
     "docker run: there is no terminal here: leave out -t (and -it); each command's output is shown in the log"),
    ("docker run mongo:7", "the image `mongo:7` is not in the sandbox's catalog and no earlier line built it; nothing "
     "can be pulled here (the catalog has busybox:latest, debian:bookworm-slim, python:3.11-slim, redis:7, postgres:15, "
     "python:3.11-slim-bookworm, python:3.11.2-slim-bookworm, busybox:1.35, busybox:1.35.0)"),
    ("docker run dockyard-probe:1 curl x",
     "`dockyard-probe:1` is the grader's own image; run one of the catalog's images instead"),
    ("docker run --name dockyard-web busybox:latest true",
     "names starting with `dockyard` belong to the grader; choose another container name"),
    ("docker run --name 'bad name' busybox:latest true",
     "`bad name` is not a valid container name: use letters, digits, '_', '.' and '-', starting with a letter or digit"),
    ("docker run --rm --restart always busybox:latest true",
     "--rm and --restart cannot be combined: a removed container cannot be restarted"),
    ("docker run", "docker run needs an image, such as docker run busybox:latest echo hello"),
    ("docker run --log-driver syslog busybox:latest true",
     "docker run: the sandbox keeps container logs itself; leave out --log-driver"),
    ("docker run --link web:web busybox:latest true",
     "docker run: --link is deprecated and needs the default bridge, which the sandbox does not have: put both "
     "containers on a network you create, where they find each other by name"),
    ("docker run --frobnicate busybox:latest true", "docker run: --frobnicate is not a flag this lab allows here"),
    ("docker run -d --label dockyard.submission=other busybox:latest sleep 300",
     "the label `dockyard.submission` belongs to the grader (it finds what your lab made by it); choose another"),
    ("docker volume create --label dockyard.probe=1 hidden",
     "the label `dockyard.probe` belongs to the grader (it finds what your lab made by it); choose another"),
    ("docker run --env-file /etc/passwd busybox:latest env",
     "--env-file must name one of the lab's own files (a relative path such as app.env)"),
    ("docker exec --privileged web sh",
     "docker exec: --privileged gives a container every capability and the machine's devices; it is never allowed in "
     "the sandbox"),
    ("docker exec -it web sh",
     "docker exec: there is no terminal here: leave out -t (and -it); each command's output is shown in the log"),
    ("docker exec web", "docker exec needs a container and a command, such as docker exec web ls /"),
    ("docker stop stranger",
     "the lab has no container named `stranger`: only containers an earlier line created (with --name) can be used"),
    ("docker logs -f web", "docker logs: --follow never ends here: leave out -f; the log shows what the container "
     "printed so far"),
    ("docker stats web", "docker stats without --no-stream never ends: add --no-stream"),
    ("docker top web aux", "docker top takes only the container's name here"),
    ("docker cp web:/etc/passwd .",
     "copying out of a container is not available in a lab; see a file with docker exec CONTAINER cat PATH"),
    ("docker cp /etc/passwd web:/tmp/", "`/etc/passwd` is not one of the lab's files; docker cp copies the lab's own files in"),
    ("docker cp missing.txt web:/tmp/", "`missing.txt` is not one of the lab's files; docker cp copies the lab's own files in"),
    ("docker inspect stranger",
     "the lab has no container, volume, network or image named `stranger`; only what the lab created (and the "
     "catalog's images) can be inspected"),
    ("docker volume create --driver nfs shared", "volumes in the sandbox use the local driver only"),
    ("docker volume create -o type=none -o device=/ -o o=bind hostroot",
     "docker volume create: volume and network driver options are not available: they can mount the machine's folders"),
    ("docker volume rm stranger", "the lab has no volume named `stranger`: create it first (docker volume create stranger)"),
    ("docker network create --driver macvlan lan", "networks in the sandbox use the bridge driver only"),
    ("docker network create host", "`host` is one of Docker's own networks; choose another name"),
    ("docker network connect appnet stranger",
     "the lab has no container named `stranger`: only containers an earlier line created (with --name) can be used"),
    ("docker build -t redis:7 .",
     "`redis:7` is a catalog image that other labs use too; give your image a name of its own, such as myapp:1.0"),
    ("docker build -t dockyard/sub-1 .", "image names starting with `dockyard` belong to the grader; choose another"),
    ("docker build --network host .", "builds in the sandbox run with --network none; there is no network to give them"),
    ("docker build -o out .", "docker build: a build's output stays in the sandbox: leave out --output"),
    ("docker build https://github.com/docker/example.git",
     "the build context must be the lab's own files: . or one of its folders"),
    ("docker build ..", "the build context must be the lab's own files: . or one of its folders"),
    ("docker build missing", "the lab has no file missing/Dockerfile to build from"),
    ("docker build -f api/Dockerfile.prod api", "the lab has no file api/Dockerfile.prod to build from"),
    ("docker build -f ../Dockerfile .", "-f must name one of the lab's own files, such as api/Dockerfile"),
    ("docker build bad",
     "bad/Dockerfile line 1: the base image 'mongo:7' is not available in the sandbox. Available base images: "
     "busybox:latest, debian:bookworm-slim, python:3.11-slim, redis:7, postgres:15, "
     "python:3.11-slim-bookworm, python:3.11.2-slim-bookworm, busybox:1.35, busybox:1.35.0 (and scratch)."),
    ("docker rmi busybox:latest",
     "`busybox:latest` is a catalog image other labs need; only images the lab built can be removed"),
    ("docker tag busybox:latest redis:7",
     "`redis:7` is a catalog image that other labs use too; give your image a name of its own, such as myapp:1.0"),
    ("docker pull busybox:latest", "`busybox:latest` would come from Docker Hub, which the sandbox cannot reach; its "
     "images are already there (and a lab can pull from its own registry, localhost:5000)"),
    ("docker push busybox:latest", "`busybox:latest` would go to Docker Hub, which the sandbox cannot reach: tag it for "
     "the sandbox's registry first (docker tag busybox:latest localhost:5000/busybox:latest) and push that"),
    ("docker push localhost:5000/shop/web:1.0",
     "the lab has no image named `localhost:5000/shop/web:1.0`: tag one first (docker tag IMAGE "
     "localhost:5000/shop/web:1.0)"),
    ("docker pull localhost:5000/shop/web:1.0",
     "the lab pushed nothing to localhost:5000/shop/web: push to it first (docker push localhost:5000/shop/web:TAG)"),
    ("docker tag busybox:latest registry.example.com/shop/web:1.0",
     "`registry.example.com/shop/web:1.0` names the registry registry.example.com, which the sandbox cannot reach; "
     "its only registry is localhost:5000 (such as localhost:5000/shop/web:1.0)"),
    ("docker tag busybox:latest localhost:5000/dockyard/probe:1",
     "repository names starting with `dockyard` belong to the grader; choose another"),
    ("docker tag busybox:latest localhost:5000/Shop:1",
     "`localhost:5000/Shop:1` is not a name in the sandbox's registry: write localhost:5000/ and a lower-case "
     "repository (such as localhost:5000/shop/web), then an optional tag (such as :1.0)"),
    ("docker login localhost:5000", "`docker login` is not available in a lab: the sandbox has no way to a registry "
     "outside it: its images are already there, and its own registry (localhost:5000) needs only docker push and "
     "docker pull"),
    ("docker system prune -af", "`docker system prune` is not available in a lab: it works on the whole daemon, not on "
     "your lab (docker system df is available)"),
    ("docker system df -v", "docker system df: -v lists the build cache of every exercise on this daemon; leave it out"),
    ("docker builder prune -af", "`docker builder prune` is not available in a lab: the build cache is shared by every "
     "exercise on this daemon; use docker build"),
    ("docker volume prune", "prune asks for a confirmation and there is no terminal to answer it: add --force (-f)"),
    ("docker container prune", "prune asks for a confirmation and there is no terminal to answer it: add --force (-f)"),
    ("docker volume prune -af", "docker volume prune: the sandbox runs Docker 20.10, whose volume prune has no --all: "
     "it already removes every unused volume, named ones too (since Docker 23 it removes only anonymous ones unless "
     "you add --all)"),
    ("docker image prune -f web", "prune takes no names; it removes what is unused (narrow it with --filter)"),
    ("docker container prune -f --filter name=web", "prune --filter takes KEY=VALUE with KEY one of label, label!, "
     "until"),
    ("docker container prune -f --filter label=dockyard.submission=42",
     "the label `dockyard.submission` belongs to the grader (it finds what your lab made by it); choose another"),
    ("docker events", "docker events without --until waits for new events forever: give the time span, such as "
     "--since 1m --until 0s"),
    ("docker events --since 1m --until 0s --filter container=other",
     "the lab has no container named `other`: only containers an earlier line created (with --name) can be used"),
    ("docker events --until 0s --filter daemon=x", "docker events --filter takes KEY=VALUE with KEY one of container, "
     "event, image, label, network, type, volume"),
    ("docker compose up", "`docker compose up` is not available in a lab: Compose is not part of this lab: it runs "
     "docker commands only"),
    ("docker attach web", "`docker attach` is not available in a lab: it waits for input that never comes here; use "
     "docker logs to see a container's output"),
    ("docker -H tcp://127.0.0.1:2375 ps",
     "options before the subcommand (such as -H) are not available: the lab always talks to its own sandbox"),
    ("docker frobnicate", "`docker frobnicate` is not one of the docker commands a lab can run"),
    ("docker", "`docker` alone does nothing: give a subcommand such as docker run"),
    ("docker volume", "`docker volume` needs a subcommand, such as docker volume create"),
    ("sudo docker ps", "only docker commands run in a lab, and `sudo` is not one: start the line with docker"),
    ("docker-compose up", "Compose is not part of this lab: it runs docker commands only"),
    # Shell features, refused before the words are even read.
    ("docker ps | grep web", "pipes (|) are not available: write one docker command per line, and read its output in "
     "the log"),
    ("docker ps && docker images", "`&&` and `&` are not available: write each command on its own line; they run one "
     "after another"),
    ("docker ps; docker images", "`;` is not available: write each command on its own line"),
    ("docker ps > out.txt", "redirections (< and >) are not available: each command's output is shown in the log"),
    ("docker run busybox:latest echo $HOME", "variables and substitutions ($...) are not available: write the value itself"),
    ('docker run busybox:latest echo "$HOME"', "variables and substitutions ($...) are not available, even in double "
     "quotes: write the value itself, or use single quotes"),
    ("docker rm `docker ps -q`", "command substitution (`...`) is not available: write the value itself"),
    ("docker rm $(docker ps -aq)", "variables and substitutions ($...) are not available: write the value itself"),
    ("docker rm web*", "wildcards (*, ? and [...]) are not available: put the text in quotes"),
    ("docker inspect --format {{.Name}} web", "braces are expanded by a shell: put templates in single quotes, such as "
     "'{{.State.Status}}'"),
    ("docker run -v ~/data:/data busybox:latest true", "`~` (your home folder) does not exist here: write the path "
     "itself"),
    ("docker run busybox:latest echo 'unclosed", "a single quote (') is not closed"),
    ('docker run busybox:latest echo "unclosed', 'a double quote (") is not closed'),
]  # fmt: skip


def refusal(line: str, files: dict | None = None) -> str:
    """The reason the policy gives for `line`, after SETUP has created the lab's names."""
    with pytest.raises(CommandRefused) as refused:
        check_commands(SETUP + line + "\n", files if files is not None else FILES)
    assert refused.value.line == SETUP.count("\n") + 1
    return refused.value.reason


@pytest.mark.parametrize("line", ALLOWED)
def test_an_allowed_line_passes_the_policy(line):
    plan = check_commands(SETUP + line + "\n", FILES)
    assert plan.commands[-1].line == SETUP.count("\n") + 1


@pytest.mark.parametrize(("line", "reason"), REFUSED)
def test_a_refused_line_gives_its_line_and_the_exact_reason(line, reason):
    assert refusal(line) == reason


def test_names_come_into_the_lab_only_from_the_lines_that_create_them():
    plan = check_commands(
        "docker run -v notes:/n --name w busybox:latest true\n"
        "docker run --mount source=cache,target=/c busybox:latest true\n"
        "docker network create appnet\n"
        "docker build -t app .\n"
        "docker rename w writer\n",
        FILES,
    )
    assert plan.names.containers == {"w", "writer"}
    assert plan.names.volumes == {"notes", "cache"}
    assert plan.names.networks == {"appnet"}
    assert plan.names.images == {"docker.io/library/app:latest"}
    # A name used before the line that creates it is not the lab's yet.
    with pytest.raises(CommandRefused) as refused:
        check_commands("docker start web\ndocker run --name web busybox:latest true\n", FILES)
    assert (refused.value.line, refused.value.reason) == (
        1,
        "the lab has no container named `web`: only containers an earlier line created (with --name) can be used",
    )


def test_comments_blank_lines_and_continuations_are_read_as_in_a_terminal():
    text = (
        "# A comment\n"
        "\n"
        "docker run -d --name web \\\n"
        "    --network none \\  \n"
        "    busybox:latest sleep 60   # trailing comment\n"
        "docker logs web\n"
    )
    assert logical_lines(text) == [
        (3, "docker run -d --name web --network none busybox:latest sleep 60   # trailing comment"),
        (6, "docker logs web"),
    ]
    commands = read_commands(text)
    assert [command.words for command in commands] == [
        ["docker", "run", "-d", "--name", "web", "--network", "none", "busybox:latest", "sleep", "60"],
        ["docker", "logs", "web"],
    ]


def test_quotes_and_escapes_keep_their_shell_meaning():
    words = split_words(1, """docker run busybox:latest sh -c 'echo "a > b" | cat; exit 3' "x \\"y\\" \\z" a\\ b""")
    assert words[-3:] == ['echo "a > b" | cat; exit 3', 'x "y" \\z', "a b"]


def test_a_line_beyond_the_limit_and_an_empty_file_are_refused():
    with pytest.raises(CommandRefused) as refused:
        check_commands("# nothing here\n\n", FILES)
    assert refused.value.reason == "commands.sh has no commands yet: write one docker command per line"
    with pytest.raises(CommandRefused) as refused:
        check_commands("docker version\n" * 41, FILES)
    assert (refused.value.line, refused.value.reason) == (41, "a lab may have at most 40 commands")


def test_the_live_lint_lists_every_refused_line_and_leaves_file_checks_to_the_submission():
    text = "docker run --privileged busybox:latest true\ndocker ps | wc -l\ndocker build -t app .\ndocker ps\n"
    assert command_problems(text) == [
        {
            "line": 1,
            "message": "docker run: --privileged gives a container every capability and the machine's devices; it is "
            "never allowed in the sandbox",
        },
        {
            "line": 2,
            "message": "pipes (|) are not available: write one docker command per line, and read its output in the log",
        },
    ]
