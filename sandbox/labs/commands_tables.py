"""The allowlist behind the command policy (sandbox/labs/commands.py): subcommands, their flags, and the checks
on their values.

Each subcommand has a flag table (only these flags are known) and a check that reads the parsed words through
a `LineContext`: the lab's names so far, the submitted files, and what this line creates.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import catalog_names
from sandbox.files import SubmissionRejected
from sandbox.policy import check_dockerfile, normalize_image_ref, parse_mount

from .commands_wide import check_events, check_prune, check_pull, check_push, check_system_df
from .flags import FlagTable, ParsedArgs
from .names import DOCKER_NETWORKS, Refused, check_built_image_name, check_name, is_catalog_image

HOST_PATH = (
    "host paths cannot be mounted in the sandbox (`{source}`): use a named volume (-v NAME:{target}) or a tmpfs "
    "mount (--tmpfs {target})"
)
DOCKER_SOCKET = (
    "the docker socket gives whoever holds it control of the daemon; it is never mounted into a lab container"
)
NO_BRIDGE = (
    "the sandbox has no default bridge network: create a network (docker network create NAME) and use --network NAME"
)
HOST_NETWORK = "--network host would share the machine's network; put the container on a network you create"
DRIVER_OPTIONS = "volume and network driver options are not available: they can mount the machine's folders"
VOLUME_PRUNE_ALL = (
    "the sandbox runs Docker 20.10, whose volume prune has no --all: it already removes every unused volume, "
    "named ones too (since Docker 23 it removes only anonymous ones unless you add --all)"
)
SYSTEM_DF_VERBOSE = "-v lists the build cache of every exercise on this daemon; leave it out"
FOLLOW = "--follow never ends here: leave out -f; the log shows what the container printed so far"
NO_TERMINAL = "there is no terminal here: leave out -t (and -it); each command's output is shown in the log"

REFUSED_FLAGS = {
    "--privileged": "--privileged gives a container every capability and the machine's devices; it is never "
    "allowed in the sandbox",
    "--cap-add": "--cap-add gives a container extra kernel capabilities; it is not allowed in the sandbox "
    "(--cap-drop is)",
    "--security-opt": "--security-opt can switch off the sandbox's protections; it is not allowed",
    "--device": "--device gives a container one of the machine's devices; it is not allowed",
    "--device-cgroup-rule": "--device-cgroup-rule gives a container the machine's devices; it is not allowed",
    "--gpus": "the sandbox has no GPUs to give",
    "--userns": "--userns would switch off the sandbox's user namespace; it is not allowed",
    "--cgroup-parent": "--cgroup-parent would move the container out of the sandbox's limits; it is not allowed",
    "--cgroupns": "--cgroupns host would show the machine's control groups; it is not allowed",
    "--runtime": "the sandbox has one container runtime; leave out --runtime",
    "--isolation": "the sandbox has one kind of isolation; leave out --isolation",
    "--sysctl": "--sysctl changes kernel settings; it is not allowed in the sandbox",
    "--log-driver": "the sandbox keeps container logs itself; leave out --log-driver",
    "--log-opt": "the sandbox keeps container logs itself; leave out --log-opt",
    "--oom-kill-disable": "--oom-kill-disable would let a container hold memory past its limit; it is not allowed",
    "--oom-score-adj": "--oom-score-adj is not allowed in the sandbox",
    "--ulimit": "--ulimit is not available in a lab; use --pids-limit and --memory for limits",
    "--kernel-memory": "--kernel-memory is not available; use --memory",
    "--volume-driver": "volumes in the sandbox use the local driver only; leave out --volume-driver",
    "--link": "--link is deprecated and needs the default bridge, which the sandbox does not have: put both "
    "containers on a network you create, where they find each other by name",
    "--dns": "containers in the sandbox have no way out, so there is no DNS server to choose",
    "--dns-search": "containers in the sandbox have no way out, so there is no DNS to configure",
    "--dns-option": "containers in the sandbox have no way out, so there is no DNS to configure",
    "--ip": "fixed addresses are not needed: containers on a network reach each other by name",
    "--ip6": "fixed addresses are not needed: containers on a network reach each other by name",
    "--mac-address": "fixed addresses are not needed: containers on a network reach each other by name",
    "--cidfile": "--cidfile writes a file outside the container; leave it out",
    "--label-file": "--label-file reads a file outside the lab; write each --label instead",
    "--pull": "nothing can be pulled: the sandbox has no registry, and its images are already there",
    "--platform": "the sandbox runs images for its own platform only; leave out --platform",
    "--disable-content-trust": "leave out --disable-content-trust",
    "--tty": NO_TERMINAL,
    "-t": NO_TERMINAL,
    "--follow": FOLLOW,
    "--output": "a build's output stays in the sandbox: leave out --output",
    "--iidfile": "--iidfile writes a file outside the sandbox; leave it out",
    "--secret": "the sandbox has no secrets to give a build",
    "--ssh": "the sandbox has no SSH agent to give a build",
    "--cache-from": "the sandbox keeps its own build cache; leave out --cache-from",
    "--cache-to": "the sandbox keeps its own build cache; leave out --cache-to",
    "--opt": DRIVER_OPTIONS,
}

# Subcommands a lab cannot run, with the reason.
NO_REGISTRY = (
    "the sandbox has no way to a registry outside it: its images are already there, and its own registry "
    "(localhost:5000) needs only docker push and docker pull"
)
REFUSED_COMMANDS = {
    "login": NO_REGISTRY,
    "logout": NO_REGISTRY,
    "search": NO_REGISTRY,
    "save": "files do not leave the sandbox",
    "load": "images come from the catalog or from docker build",
    "import": "images come from the catalog or from docker build",
    "export": "files do not leave the sandbox",
    "attach": "it waits for input that never comes here; use docker logs to see a container's output",
    "commit": "build images with docker build instead",
    "info": "the lab's own commands are enough",
    "system": "it works on the whole daemon, not on your lab (docker system df is available)",
    "compose": "Compose is not part of this lab: it runs docker commands only",
    "stack": "Swarm is not available in the sandbox",
    "swarm": "Swarm is not available in the sandbox",
    "service": "Swarm is not available in the sandbox",
    "node": "Swarm is not available in the sandbox",
    "secret": "Swarm is not available in the sandbox",
    "config": "Swarm is not available in the sandbox",
    "plugin": "plugins are not available in the sandbox",
    "context": "the lab always talks to its own sandbox",
    "buildx": "use docker build",
    "builder": "the build cache is shared by every exercise on this daemon; use docker build",
    "trust": NO_REGISTRY,
    "manifest": NO_REGISTRY,
}
# docker GROUP SUBCOMMAND: the management commands, with an example subcommand for messages.
GROUPS = {
    "container": ("ls",),
    "image": ("ls",),
    "volume": ("create",),
    "network": ("create",),
    "system": ("df",),
    "builder": ("prune",),
    "buildx": ("build",),
    "compose": ("up",),
    "context": ("ls",),
    "plugin": ("ls",),
    "trust": ("inspect",),
    "manifest": ("inspect",),
    "swarm": ("init",),
    "service": ("ls",),
    "stack": ("ls",),
    "node": ("ls",),
    "secret": ("ls",),
    "config": ("ls",),
}
_CONTAINER_VERBS = (
    "run create start stop restart kill rm exec logs inspect port top stats wait cp rename pause unpause "
    "update diff prune attach commit export"
).split()
ALIASES: dict[tuple[str, ...], str] = {("container", verb): verb for verb in _CONTAINER_VERBS}
ALIASES |= {("container", "prune"): "container prune", ("image", "prune"): "image prune"}
ALIASES |= {("container", verb): "ps" for verb in ("ls", "list", "ps")}
ALIASES |= {("image", verb): "images" for verb in ("ls", "list")}
ALIASES |= {("image", "build"): "build", ("image", "rm"): "rmi", ("image", "remove"): "rmi"}
ALIASES |= {("image", verb): verb for verb in ("inspect", "history", "tag", "pull", "push", "save", "load")}
ALIASES |= {("image", "import"): "import", ("volume", "list"): "volume ls", ("network", "list"): "network ls"}
ALIASES |= {("volume", "remove"): "volume rm", ("network", "remove"): "network rm"}
ALIASES |= {("system", "df"): "system df"}
ALIASES |= {(group,): group for group in ("system", "compose", "stack", "swarm", "service", "node", "secret")}
ALIASES |= {(group,): group for group in ("config", "plugin", "context", "buildx", "builder", "trust", "manifest")}
for _group in ("system", "compose", "stack", "swarm", "service", "node", "secret", "config", "plugin", "context"):
    for _verb in ("ls", "up", "prune", "df", "init", "create", "rm", "inspect", "use", "install", "build"):
        ALIASES.setdefault((_group, _verb), _group)
for _group in ("buildx", "builder", "trust", "manifest"):
    for _verb in ("build", "prune", "ls", "inspect", "create", "sign", "push"):
        ALIASES.setdefault((_group, _verb), _group)


# --- Checks on flag values ----------------------------------------------------------------------------------

Context = Any  # commands.LineContext (not imported: that module imports this one)


def _absolute(path: str, what: str) -> None:
    if not path.startswith("/"):
        raise Refused(f"{what} must be an absolute path inside the container, such as /data (not `{path}`)")


def _host_path(source: str, target: str) -> Refused:
    if "docker.sock" in source:
        return Refused(DOCKER_SOCKET)
    return Refused(HOST_PATH.format(source=source, target=target or "/data"))


def volume_flag(context: Context, value: str) -> None:
    """-v NAME:/path[:ro], or -v /path (an anonymous volume); never a host path."""
    if "\\" in value:
        raise _host_path(value, "")
    parts = value.split(":")
    if len(parts) == 1:
        if not value.startswith("/"):
            raise (
                _host_path(value, "")
                if value.startswith((".", "~"))
                else Refused(f"-v {value} needs a target path: -v {value}:/data mounts the volume {value} at /data")
            )
        return
    if len(parts) > 3:
        raise Refused(f"-v {value} has too many parts: write -v NAME:/path or -v NAME:/path:ro")
    source, target = parts[0], parts[1]
    if not source or source.startswith(("/", ".", "~")):
        raise _host_path(source or value, target)
    _absolute(target, "the mount's target")
    for option in parts[2].split(",") if len(parts) == 3 else []:
        if option not in ("ro", "rw", "z", "Z", "nocopy"):
            raise Refused(f"-v option `{option}` is not available; use ro or rw")
    context.new.volumes.add(check_name(source, "volume"))


MOUNT_KEYS = {
    "volume": {"type", "source", "src", "target", "destination", "dst", "readonly", "ro", "volume-nocopy"},
    "tmpfs": {"type", "target", "destination", "dst", "tmpfs-size", "tmpfs-mode"},
}


def mount_flag(context: Context, value: str) -> None:
    """--mount type=volume,source=NAME,target=/path or type=tmpfs,target=/path; never a bind mount."""
    options = parse_mount(value)
    kind = options.get("type", "volume").lower()
    target = options.get("target") or options.get("destination") or options.get("dst") or ""
    if kind == "bind":
        raise _host_path(options.get("source") or options.get("src") or "a host folder", target)
    if kind not in MOUNT_KEYS:
        raise Refused(f"--mount type={kind} is not available; use type=volume or type=tmpfs")
    unknown = sorted(set(options) - MOUNT_KEYS[kind])
    if any(key.startswith("volume-opt") or key == "volume-driver" for key in unknown):
        raise Refused("volume driver options are not available: they can mount the machine's folders")
    if unknown:
        raise Refused(f"--mount option `{unknown[0]}` is not available with type={kind}")
    _absolute(target, "--mount's target")
    source = options.get("source") or options.get("src")
    if source:
        if source.startswith(("/", ".", "~")):
            raise _host_path(source, target)
        context.new.volumes.add(check_name(source, "volume"))


def tmpfs_flag(context: Context, value: str) -> None:
    _absolute(value.split(":", 1)[0], "--tmpfs")


def network_flag(context: Context, value: str) -> None:
    if value == "host":
        raise Refused(HOST_NETWORK)
    if value in DOCKER_NETWORKS - {"none"}:
        raise Refused(NO_BRIDGE)
    if value == "none":
        return
    if value.startswith("container:"):
        context.container(value.removeprefix("container:"))
        return
    context.network(value)


def namespace_flag(flag: str, allowed: tuple[str, ...]) -> Callable[[Context, str], None]:
    def check(context: Context, value: str) -> None:
        if value == "host":
            raise Refused(f"{flag} host would share the machine's own namespace; it is never allowed")
        if value.startswith("container:"):
            context.container(value.removeprefix("container:"))
        elif value not in allowed:
            raise Refused(f"{flag} {value} is not available here")

    return check


def volumes_from_flag(context: Context, value: str) -> None:
    name, _, mode = value.partition(":")
    if mode not in ("", "ro", "rw"):
        raise Refused(f"--volumes-from {value}: the mode must be ro or rw")
    context.container(name)


def submitted_file(context: Context, value: str, what: str) -> str:
    path = posixpath.normpath(value)
    if value.startswith("/") or path.startswith(".."):
        raise Refused(f"{what} must name one of the lab's own files (a relative path such as app.env)")
    if context.files is not None and path not in context.files:
        raise Refused(f"{what} `{value}` is not one of the lab's files")
    return path


def env_file_flag(context: Context, value: str) -> None:
    submitted_file(context, value, "--env-file")


def name_flag(context: Context, value: str) -> None:
    context.new.containers.add(check_name(value, "container"))


def build_network_flag(context: Context, value: str) -> None:
    if value != "none":
        raise Refused("builds in the sandbox run with --network none; there is no network to give them")


# --- Subcommands -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subcommand:
    flags: FlagTable
    check: Callable[[Context, ParsedArgs], None]
    # Short flags refused with a reason of this subcommand's own (-f means --follow only for docker logs).
    refused: dict[str, str] = field(default_factory=dict)


def check_flag_values(context: Context, parsed: ParsedArgs, checks: dict[str, Callable]) -> None:
    for flag, value in parsed.flags:
        if flag in checks:
            checks[flag](context, value)


RUN_VALUES = {
    "--name": "", "--env": "-e", "--env-file": "", "--label": "-l", "--volume": "-v", "--mount": "",
    "--tmpfs": "", "--network": "", "--net": "", "--network-alias": "", "--net-alias": "", "--publish": "-p",
    "--expose": "", "--restart": "", "--memory": "-m", "--memory-swap": "", "--memory-reservation": "",
    "--cpus": "", "--cpu-shares": "-c", "--cpuset-cpus": "", "--pids-limit": "", "--user": "-u",
    "--workdir": "-w", "--entrypoint": "", "--stop-signal": "", "--stop-timeout": "", "--health-cmd": "",
    "--health-interval": "", "--health-retries": "", "--health-timeout": "", "--health-start-period": "",
    "--hostname": "-h", "--domainname": "", "--add-host": "", "--cap-drop": "", "--volumes-from": "",
    "--pid": "", "--ipc": "", "--uts": "", "--group-add": "", "--attach": "-a", "--shm-size": "",
}  # fmt: skip
RUN_SWITCHES = {"--rm": "", "--interactive": "-i", "--init": "", "--read-only": "", "--no-healthcheck": ""}
RUN_SWITCHES |= {"--publish-all": "-P", "--sig-proxy": ""}
RUN_CHECKS = {
    "--name": name_flag,
    "--volume": volume_flag,
    "--mount": mount_flag,
    "--tmpfs": tmpfs_flag,
    "--network": network_flag,
    "--net": network_flag,
    "--volumes-from": volumes_from_flag,
    "--pid": namespace_flag("--pid", ()),
    "--ipc": namespace_flag("--ipc", ("none", "private", "shareable")),
    "--uts": namespace_flag("--uts", ()),
    "--env-file": env_file_flag,
}


def check_run(context: Context, parsed: ParsedArgs) -> None:
    if not parsed.arguments:
        raise Refused("docker run needs an image, such as docker run busybox:latest echo hello")
    if parsed.has("--rm") and any(value.split(":")[0] not in ("no", "") for value in parsed.values("--restart")):
        raise Refused("--rm and --restart cannot be combined: a removed container cannot be restarted")
    check_flag_values(context, parsed, RUN_CHECKS)
    context.image(parsed.arguments[0])


def containers_only(least: int = 1) -> Callable[[Context, ParsedArgs], None]:
    def check(context: Context, parsed: ParsedArgs) -> None:
        if len(parsed.arguments) < least:
            raise Refused("name the container(s) this command is for")
        for name in parsed.arguments:
            context.container(name)

    return check


def check_exec(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) < 2:
        raise Refused("docker exec needs a container and a command, such as docker exec web ls /")
    check_flag_values(context, parsed, {"--env-file": env_file_flag})
    context.container(parsed.arguments[0])


def check_inspect(context: Context, parsed: ParsedArgs) -> None:
    if not parsed.arguments:
        raise Refused("name what to inspect, such as docker inspect web")
    for name in parsed.arguments:
        context.any_object(name)


def check_no_arguments(context: Context, parsed: ParsedArgs) -> None:
    if parsed.arguments:
        raise Refused(f"this command takes no names (`{parsed.arguments[0]}`); use --filter to narrow it")


def check_images(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) > 1:
        raise Refused("docker images takes at most one repository name")


def check_port(context: Context, parsed: ParsedArgs) -> None:
    if not 1 <= len(parsed.arguments) <= 2:
        raise Refused("docker port takes a container and, optionally, one of its ports")
    context.container(parsed.arguments[0])


def check_top(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) != 1:
        raise Refused("docker top takes only the container's name here")
    context.container(parsed.arguments[0])


def check_stats(context: Context, parsed: ParsedArgs) -> None:
    if not parsed.has("--no-stream"):
        raise Refused("docker stats without --no-stream never ends: add --no-stream")
    containers_only()(context, parsed)


def check_rename(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) != 2:
        raise Refused("docker rename takes the container's name and its new name")
    context.container(parsed.arguments[0])
    context.new.containers.add(check_name(parsed.arguments[1], "container"))


def check_cp(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) != 2:
        raise Refused("docker cp takes a source and a destination, such as docker cp app.conf web:/etc/app.conf")
    source, destination = parsed.arguments
    if ":" in source and not source.startswith(("/", ".")):
        raise Refused(
            "copying out of a container is not available in a lab; see a file with docker exec CONTAINER cat PATH"
        )
    container, colon, path = destination.partition(":")
    if not colon or not path:
        raise Refused("the destination must be CONTAINER:/path, such as web:/etc/app.conf")
    if source == "-":
        raise Refused("copying from standard input is not available; copy one of the lab's files")
    context.container(container)
    normalized = posixpath.normpath(source)
    if (
        source.startswith("/")
        or normalized.startswith("..")
        or not any(
            name == normalized or name.startswith(normalized.rstrip("/") + "/") or normalized == "."
            for name in context.files
        )
    ):
        raise Refused(f"`{source}` is not one of the lab's files; docker cp copies the lab's own files in")


def check_volume_create(context: Context, parsed: ParsedArgs) -> None:
    driver = parsed.values("--driver")
    if any(value != "local" for value in driver):
        raise Refused("volumes in the sandbox use the local driver only")
    names = parsed.arguments + parsed.values("--name")
    if len(names) > 1:
        raise Refused("docker volume create makes one volume at a time")
    for name in names:
        context.new.volumes.add(check_name(name, "volume"))


def volumes_only(context: Context, parsed: ParsedArgs) -> None:
    if not parsed.arguments:
        raise Refused("name the volume(s) this command is for")
    for name in parsed.arguments:
        context.volume(name)


def check_network_create(context: Context, parsed: ParsedArgs) -> None:
    if any(value != "bridge" for value in parsed.values("--driver")):
        raise Refused("networks in the sandbox use the bridge driver only")
    if len(parsed.arguments) != 1:
        raise Refused("docker network create takes one network name, such as docker network create appnet")
    name = parsed.arguments[0]
    if name in DOCKER_NETWORKS:
        raise Refused(f"`{name}` is one of Docker's own networks; choose another name")
    context.new.networks.add(check_name(name, "network"))


def networks_only(context: Context, parsed: ParsedArgs) -> None:
    if not parsed.arguments:
        raise Refused("name the network(s) this command is for")
    for name in parsed.arguments:
        context.network(name)


def check_network_attach(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) != 2:
        raise Refused("this command takes a network and a container, such as docker network connect appnet web")
    context.network(parsed.arguments[0])
    context.container(parsed.arguments[1])


def check_build(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) != 1:
        raise Refused("docker build takes one build context: . for the lab's files, or one of its folders")
    where = parsed.arguments[0]
    folder = posixpath.normpath(where)
    if where == "-" or "://" in where or where.startswith(("/", "git@")) or folder.startswith(".."):
        raise Refused("the build context must be the lab's own files: . or one of its folders")
    for value in parsed.values("--network"):
        build_network_flag(context, value)
    # Like the CLI: -f is relative to the folder the command runs in, the default is the context's Dockerfile.
    given = parsed.values("--file")
    path = posixpath.normpath(given[-1] if given else posixpath.join(folder, "Dockerfile"))
    if path.startswith(("..", "/")):
        raise Refused("-f must name one of the lab's own files, such as api/Dockerfile")
    text = context.files.get(path) if context.files is not None else ""
    if text is None:
        raise Refused(f"the lab has no file {path} to build from")
    if context.files is not None:
        try:
            check_dockerfile(text, catalog_names())
        except SubmissionRejected as error:
            raise Refused(f"{path} {error.message}") from None
    for tag in parsed.values("--tag"):
        context.new.images.add(check_built_image_name(tag))


def check_rmi(context: Context, parsed: ParsedArgs) -> None:
    if not parsed.arguments:
        raise Refused("name the image(s) to remove")
    for name in parsed.arguments:
        if normalize_image_ref(name) in context.names.images:
            continue
        if is_catalog_image(name):
            raise Refused(f"`{name}` is a catalog image other labs need; only images the lab built can be removed")
        raise Refused(f"the lab built no image named `{name}`")


def check_tag(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) != 2:
        raise Refused("docker tag takes an image and its new name, such as docker tag myapp myapp:1.0")
    context.image(parsed.arguments[0])
    context.new.images.add(check_built_image_name(parsed.arguments[1]))


def check_history(context: Context, parsed: ParsedArgs) -> None:
    if len(parsed.arguments) != 1:
        raise Refused("docker history takes one image")
    context.image(parsed.arguments[0])


def _table(values: dict[str, str] | None = None, switches: dict[str, str] | None = None, interspersed=True):
    return FlagTable(values or {}, switches or {}, interspersed)


FORMAT = {"--format": ""}
FORMAT_F = {"--format": "-f"}
SUBCOMMANDS: dict[str, Subcommand] = {
    "run": Subcommand(_table(RUN_VALUES, RUN_SWITCHES | {"--detach": "-d"}, interspersed=False), check_run),
    "create": Subcommand(_table(RUN_VALUES, RUN_SWITCHES, interspersed=False), check_run),
    "start": Subcommand(_table(switches={"--attach": "-a", "--interactive": "-i"}), containers_only()),
    "stop": Subcommand(_table({"--time": "-t"}), containers_only()),
    "restart": Subcommand(_table({"--time": "-t"}), containers_only()),
    "kill": Subcommand(_table({"--signal": "-s"}), containers_only()),
    "rm": Subcommand(_table(switches={"--force": "-f", "--volumes": "-v"}), containers_only()),
    "wait": Subcommand(_table(), containers_only()),
    "pause": Subcommand(_table(), containers_only()),
    "unpause": Subcommand(_table(), containers_only()),
    "diff": Subcommand(_table(), containers_only()),
    "exec": Subcommand(
        _table(
            {"--env": "-e", "--user": "-u", "--workdir": "-w", "--env-file": ""},
            {"--detach": "-d", "--interactive": "-i"},
            interspersed=False,
        ),
        check_exec,
    ),
    "logs": Subcommand(
        _table({"--tail": "-n", "--since": "", "--until": ""}, {"--timestamps": "-t", "--details": ""}),
        containers_only(),
        refused={"-f": FOLLOW},
    ),
    "inspect": Subcommand(_table(FORMAT_F | {"--type": ""}, {"--size": "-s"}), check_inspect),
    "ps": Subcommand(
        _table(
            FORMAT | {"--filter": "-f", "--last": "-n"},
            {"--all": "-a", "--quiet": "-q", "--latest": "-l", "--no-trunc": "", "--size": "-s"},
        ),
        check_no_arguments,
    ),
    "port": Subcommand(_table(), check_port),
    "top": Subcommand(_table(), check_top),
    "stats": Subcommand(_table(FORMAT, {"--no-stream": "", "--no-trunc": "", "--all": "-a"}), check_stats),
    "cp": Subcommand(_table(switches={"--archive": "-a"}), check_cp),
    "rename": Subcommand(_table(), check_rename),
    "update": Subcommand(
        _table(
            {
                "--restart": "",
                "--memory": "-m",
                "--memory-swap": "",
                "--memory-reservation": "",
                "--cpus": "",
                "--cpu-shares": "-c",
                "--cpuset-cpus": "",
                "--pids-limit": "",
            }  # fmt: skip
        ),
        containers_only(),
    ),
    "volume create": Subcommand(
        _table({"--driver": "-d", "--label": "", "--name": ""}), check_volume_create, refused={"-o": DRIVER_OPTIONS}
    ),
    "volume ls": Subcommand(_table(FORMAT | {"--filter": "-f"}, {"--quiet": "-q"}), check_no_arguments),
    "volume inspect": Subcommand(_table(FORMAT_F), volumes_only),
    "volume rm": Subcommand(_table(switches={"--force": "-f"}), volumes_only),
    "network create": Subcommand(
        _table({"--driver": "-d", "--label": ""}, {"--internal": "", "--attachable": ""}),
        check_network_create,
        refused={"-o": DRIVER_OPTIONS},
    ),
    "network ls": Subcommand(
        _table(FORMAT | {"--filter": "-f"}, {"--quiet": "-q", "--no-trunc": ""}), check_no_arguments
    ),
    "network inspect": Subcommand(_table(FORMAT_F, {"--verbose": "-v"}), networks_only),
    "network rm": Subcommand(_table(), networks_only),
    "network connect": Subcommand(_table({"--alias": ""}), check_network_attach),
    "network disconnect": Subcommand(_table(switches={"--force": "-f"}), check_network_attach),
    "images": Subcommand(
        _table(FORMAT | {"--filter": "-f"}, {"--all": "-a", "--quiet": "-q", "--no-trunc": "", "--digests": ""}),
        check_images,
    ),
    "build": Subcommand(
        _table(
            {
                "--tag": "-t",
                "--file": "-f",
                "--build-arg": "",
                "--target": "",
                "--label": "",
                "--network": "",
                "--progress": "",
            },
            {"--no-cache": "", "--quiet": "-q"},
        ),  # fmt: skip
        check_build,
        refused={"-o": "a build's output stays in the sandbox: leave out --output"},
    ),
    "rmi": Subcommand(_table(switches={"--force": "-f"}), check_rmi),
    "tag": Subcommand(_table(), check_tag),
    "history": Subcommand(_table(FORMAT, {"--no-trunc": "", "--quiet": "-q", "--human": "-H"}), check_history),
    "version": Subcommand(_table(FORMAT_F), check_no_arguments),
    "events": Subcommand(_table(FORMAT | {"--filter": "-f", "--since": "", "--until": ""}), check_events),
    "system df": Subcommand(_table(FORMAT), check_system_df, refused={"-v": SYSTEM_DF_VERBOSE}),
    "push": Subcommand(_table(switches={"--quiet": "-q"}), check_push),
    "pull": Subcommand(_table(switches={"--quiet": "-q"}), check_pull),
}
PRUNE = _table({"--filter": ""}, {"--force": "-f"})
SUBCOMMANDS |= {name: Subcommand(PRUNE, check_prune) for name in ("container prune", "network prune")}
SUBCOMMANDS["volume prune"] = Subcommand(
    PRUNE, check_prune, refused={"-a": VOLUME_PRUNE_ALL, "--all": VOLUME_PRUNE_ALL}
)
SUBCOMMANDS["image prune"] = Subcommand(_table({"--filter": ""}, {"--force": "-f", "--all": "-a"}), check_prune)
