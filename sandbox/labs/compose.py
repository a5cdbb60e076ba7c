"""The Compose policy: what a lab's compose.yaml may say, checked before docker-compose ever reads it.

Every service, volume and network is checked against an allowlist of keys. Refused, with the line and the
reason: host bind mounts (and volume driver options, which can make one), `privileged`, host network, pid
or ipc, devices, `cap_add`, `security_opt`, external volumes and networks, images outside the catalog,
builds from anything but the submission's own files (each Dockerfile also passes the build policy), and
variable substitution (`${...}`), because a substituted value would escape these checks.

docker-compose 1.29 reads the file with PyYAML, as this module does, so both see the same document.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

import yaml

from sandbox.catalog import catalog_names
from sandbox.files import SubmissionRejected
from sandbox.policy import check_dockerfile

from .commands_tables import DOCKER_SOCKET
from .names import LabNames, Refused, catalog_hint, check_built_image_name, check_label, check_name

COMPOSE_FILE = "compose.yaml"
MAX_SERVICES = 6
MAX_SCALE = 3

SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "tmpfs",
    "depends_on", "healthcheck", "restart", "networks", "network_mode", "labels", "working_dir", "user",
    "mem_limit", "memswap_limit", "mem_reservation", "cpus", "cpu_shares", "cpuset", "pids_limit", "stop_signal",
    "stop_grace_period", "init", "read_only", "container_name", "hostname", "domainname", "extra_hosts", "tty",
    "stdin_open", "group_add", "cap_drop", "privileged", "profiles", "scale", "volumes_from", "links",
    "pull_policy", "shm_size",
}  # fmt: skip
REFUSED_SERVICE_KEYS = {
    "cap_add": "cap_add gives a container extra kernel capabilities; it is not allowed in the sandbox (cap_drop is)",
    "security_opt": "security_opt can switch off the sandbox's protections; it is not allowed",
    "devices": "devices gives a container the machine's devices; it is not allowed",
    "device_cgroup_rules": "device_cgroup_rules gives a container the machine's devices; it is not allowed",
    "pid": "pid would share a process namespace; it is not allowed in the sandbox",
    "ipc": "ipc would share an IPC namespace; it is not allowed in the sandbox",
    "uts": "uts would share the machine's host name namespace; it is not allowed",
    "userns_mode": "userns_mode would switch off the sandbox's user namespace; it is not allowed",
    "cgroup_parent": "cgroup_parent would move the container out of the sandbox's limits; it is not allowed",
    "cgroup": "cgroup host would show the machine's control groups; it is not allowed",
    "sysctls": "sysctls change kernel settings; they are not allowed in the sandbox",
    "ulimits": "ulimits are not available in a lab; use pids_limit and mem_limit",
    "logging": "the sandbox keeps container logs itself; leave out logging",
    "runtime": "the sandbox has one container runtime; leave out runtime",
    "isolation": "the sandbox has one kind of isolation; leave out isolation",
    "dns": "containers in the sandbox have no way out, so there is no DNS server to choose",
    "dns_search": "containers in the sandbox have no way out, so there is no DNS to configure",
    "dns_opt": "containers in the sandbox have no way out, so there is no DNS to configure",
    "oom_kill_disable": "oom_kill_disable would let a container hold memory past its limit; it is not allowed",
    "oom_score_adj": "oom_score_adj is not allowed in the sandbox",
    "storage_opt": "storage_opt is not available in the sandbox",
    "platform": "the sandbox runs images for its own platform only; leave out platform",
    "extends": "extends reads other files; write the service out in full",
    "secrets": "the sandbox has no secrets to give; set a test value in environment instead",
    "configs": "configs are not available in a lab; put the file in the image with the Dockerfile",
    "external_links": "external_links reach containers outside the lab",
    "volume_driver": "volumes in the sandbox use the local driver only",
    "mac_address": "fixed addresses are not needed: services reach each other by name",
    "deploy": "docker-compose 1.29 ignores deploy: set limits with mem_limit, memswap_limit, cpus and pids_limit, "
    "and the policy with restart",
}
TOP_KEYS = {"version", "services", "volumes", "networks"}
REFUSED_TOP_KEYS = {
    "secrets": "the sandbox has no secrets to give; set a test value in environment instead",
    "configs": "configs are not available in a lab; put the file in the image with the Dockerfile",
    "name": "the sandbox names each lab's project itself; leave out name",
}
VOLUME_KEYS = {"labels", "name", "driver"}
NETWORK_KEYS = {"labels", "name", "driver", "internal", "attachable"}
BUILD_KEYS = {"context", "dockerfile", "args", "target", "labels"}
VARIABLE = re.compile(r"(?<!\$)\$(?!\$)")
HOST_MOUNT = "host folders cannot be mounted in the sandbox (`{source}`): use a named volume or a tmpfs mount"


class ComposeRefused(Exception):
    """compose.yaml says something the sandbox will not run: the line (when known) and the reason."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason

    @property
    def message(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ComposePlan:
    """A checked Compose file: its services (in order), what they build, and the volumes and networks declared."""

    data: dict
    services: list[str] = field(default_factory=list)
    builds: dict[str, tuple[str, str]] = field(default_factory=dict)  # service → (context, Dockerfile path)
    images: dict[str, str] = field(default_factory=dict)  # service → the image it names (built or catalog)
    volumes: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)


class Findings:
    """Problems found, each at a place in the document (a path of keys) that is turned into a line."""

    def __init__(self, lines: dict[tuple, int]) -> None:
        self.lines = lines
        self.items: list[ComposeRefused] = []

    def add(self, path: tuple, reason: str) -> None:
        self.items.append(ComposeRefused(self.line_of(path), reason))

    def line_of(self, path: tuple) -> int:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1


def key_lines(text: str) -> dict[tuple, int]:
    """The line of each key (and list item) in a YAML document, by its path of keys and indexes."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    found: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    found.setdefault((*path, key.value), key.start_mark.line + 1)
                    walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                found.setdefault((*path, index), item.start_mark.line + 1)
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return found


def read_compose(text: str, findings: Findings) -> dict | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("#") and VARIABLE.search(line):
            findings.items.append(
                ComposeRefused(number, "variable substitution (${...}) is not available in a lab: write the value")
            )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "the file is not valid YAML"
        findings.items.append(ComposeRefused(mark.line + 1 if mark else 1, f"YAML: {problem}"))
        return None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict) or not data["services"]:
        findings.add((), "compose.yaml needs a `services:` mapping with at least one service")
        return None
    return data


class ComposePolicy:
    def __init__(self, text: str, files: dict[str, str] | None) -> None:
        # None when only compose.yaml is at hand (the live lint): the files it names are checked on submit.
        self.files = files
        self.findings = Findings(key_lines(text))
        self.data = read_compose(text, self.findings)
        self.plan = ComposePlan(self.data or {})

    def problem(self, path: tuple, reason: str) -> None:
        self.findings.add(path, reason)

    def check(self) -> ComposePlan:
        data = self.data
        if data is None:
            return self.plan
        for key in data:
            if key in REFUSED_TOP_KEYS:
                self.problem((key,), REFUSED_TOP_KEYS[key])
            elif key not in TOP_KEYS and not str(key).startswith("x-"):
                self.problem((key,), f"the top-level key `{key}` is not available in a lab")
        self.check_declared("volumes", VOLUME_KEYS, "local")
        self.check_declared("networks", NETWORK_KEYS, "bridge")
        services = data["services"]
        if len(services) > MAX_SERVICES:
            self.problem(("services",), f"a lab may have at most {MAX_SERVICES} services")
        for name, service in services.items():
            self.plan.services.append(str(name))
            path = ("services", name)
            if not isinstance(service, dict):
                self.problem(path, f"the service `{name}` must be a mapping of keys such as image and build")
                continue
            self.check_service(str(name), service, path)
        return self.plan

    def check_declared(self, kind: str, allowed: set[str], driver: str) -> None:
        declared = self.data.get(kind) or {}
        if not isinstance(declared, dict):
            self.problem((kind,), f"`{kind}:` must map names to their settings")
            return
        what = kind[:-1]
        for name, settings in declared.items():
            path = (kind, name)
            getattr(self.plan, kind).append(str(name))
            self.name(path, str(name), what)
            settings = settings or {}
            if not isinstance(settings, dict):
                self.problem(path, f"the {what} `{name}` must be a mapping (or empty)")
                continue
            for key, value in settings.items():
                if key == "external" and value:
                    self.problem((*path, key), f"external {kind} live outside the lab; let Compose create `{name}`")
                elif key == "driver" and value != driver:
                    self.problem((*path, key), f"{kind} in the sandbox use the {driver} driver only")
                elif key == "name":
                    self.name((*path, key), str(value), what)
                elif key == "labels":
                    self.labels((*path, key), value)
                elif key not in allowed and key != "external":
                    reason = "they can mount the machine's folders" if key == "driver_opts" else "not in a lab"
                    self.problem((*path, key), f"`{key}` is not available for {kind} ({reason})")

    def labels(self, path: tuple, labels: object) -> None:
        entries = labels.keys() if isinstance(labels, dict) else labels if isinstance(labels, list) else []
        for entry in entries:
            try:
                check_label(str(entry))
            except Refused as error:
                self.problem(path, str(error))

    def name(self, path: tuple, name: str, what: str) -> None:
        try:
            check_name(name, what)
        except Refused as error:
            self.problem(path, str(error))

    def check_service(self, name: str, service: dict, path: tuple) -> None:
        for key in service:
            if key in REFUSED_SERVICE_KEYS:
                self.problem((*path, key), REFUSED_SERVICE_KEYS[key])
            elif key not in SERVICE_KEYS and not str(key).startswith("x-"):
                self.problem((*path, key), f"`{key}` is not available for a service in a lab")
        self.labels((*path, "labels"), service.get("labels"))
        if service.get("privileged"):
            self.problem((*path, "privileged"), "privileged gives a container every capability; it is never allowed")
        if "build" in service:
            self.check_build(name, service["build"], (*path, "build"))
        self.check_image(name, service, path)
        self.check_network_mode(service.get("network_mode"), (*path, "network_mode"))
        for index, entry in enumerate(service.get("volumes") or []):
            self.check_volume(entry, (*path, "volumes", index))
        self.check_references(service, path)
        scale = service.get("scale", 1)
        if not isinstance(scale, int) or not 0 <= scale <= MAX_SCALE:
            self.problem((*path, "scale"), f"scale must be a whole number up to {MAX_SCALE}")
        if service.get("pull_policy") == "always":
            self.problem((*path, "pull_policy"), "nothing can be pulled: the sandbox has no registry")
        if "container_name" in service:
            self.name((*path, "container_name"), str(service["container_name"]), "container")

    def check_image(self, name: str, service: dict, path: tuple) -> None:
        image = service.get("image")
        if image is None:
            if "build" not in service:
                self.problem(path, f"the service `{name}` needs an image or a build")
            return
        try:
            if "build" in service:
                check_built_image_name(str(image))
            elif LabNames().image_allowed(str(image)):
                # The same words as for a command, minus "no earlier line built it".
                if any(part.startswith("dockyard") for part in str(image).lower().split("/")):
                    raise Refused(f"`{image}` is the grader's own image; use one of the catalog's images instead")
                raise Refused(
                    f"the image `{image}` is not in the sandbox's catalog, and nothing can be pulled here "
                    f"({catalog_hint()}); to use your own image, give the service a build"
                )
        except Refused as error:
            self.problem((*path, "image"), str(error))
        self.plan.images[name] = str(image)

    def check_build(self, name: str, build: object, path: tuple) -> None:
        settings = {"context": build} if isinstance(build, str) else build
        if not isinstance(settings, dict):
            self.problem(path, "build must be a folder of the lab (such as .) or a mapping with context")
            return
        for key in settings:
            if key not in BUILD_KEYS:
                self.problem((*path, key), f"build.{key} is not available in a lab")
        self.labels((*path, "labels"), settings.get("labels"))
        context = str(settings.get("context", "."))
        folder = posixpath.normpath(context)
        if "://" in context or context.startswith(("/", "git@", "~")) or folder.startswith(".."):
            self.problem(path, "a build's context must be one of the lab's own folders, such as .")
            return
        dockerfile = posixpath.normpath(posixpath.join(folder, str(settings.get("dockerfile", "Dockerfile"))))
        if self.files is None:
            self.plan.builds[name] = (folder, dockerfile)
            return
        text = self.files.get(dockerfile)
        if text is None:
            self.problem(path, f"the lab has no file {dockerfile} for the service `{name}` to build from")
            return
        try:
            check_dockerfile(text, catalog_names())
        except SubmissionRejected as error:
            self.problem(path, f"{dockerfile} {error.message}")
        self.plan.builds[name] = (folder, dockerfile)

    def check_network_mode(self, mode: object, path: tuple) -> None:
        if mode is None or mode == "none":
            return
        text = str(mode)
        if text == "host":
            self.problem(path, "network_mode: host would share the machine's network; it is not allowed")
        elif text.startswith("service:"):
            if text.removeprefix("service:") not in self.data["services"]:
                self.problem(path, f"network_mode {text}: there is no such service")
        else:
            self.problem(path, f"network_mode: {text} is not available; Compose puts services on the lab's network")

    def check_volume(self, entry: object, path: tuple) -> None:
        if isinstance(entry, dict):
            kind = entry.get("type", "volume")
            source = str(entry.get("source", ""))
            if kind == "bind" or "bind" in entry:
                self.problem(path, HOST_MOUNT.format(source=source or "a host folder"))
            elif kind not in ("volume", "tmpfs"):
                self.problem(path, f"type: {kind} is not available; use volume or tmpfs")
            elif kind == "volume" and source:
                self.declared_volume(source, path)
            return
        text = str(entry)
        if "\\" in text:
            self.problem(path, HOST_MOUNT.format(source=text))
            return
        parts = text.split(":")
        if len(parts) == 1:
            return  # an anonymous volume, such as /app/cache
        source = parts[0]
        if not source or source.startswith(("/", ".", "~")):
            reason = DOCKER_SOCKET if "docker.sock" in source else HOST_MOUNT.format(source=source)
            self.problem(path, reason)
            return
        self.declared_volume(source, path)

    def declared_volume(self, source: str, path: tuple) -> None:
        if source not in (self.data.get("volumes") or {}):
            self.problem(path, f"the volume `{source}` is not declared: add it under the top-level volumes:")

    def check_references(self, service: dict, path: tuple) -> None:
        services = self.data["services"]
        for index, entry in enumerate(service.get("volumes_from") or []):
            source = str(entry).split(":")[0]
            if source not in services:
                self.problem((*path, "volumes_from", index), f"volumes_from `{entry}` must name a service")
        env_files = service.get("env_file") or []
        for index, entry in enumerate([env_files] if isinstance(env_files, str) else env_files):
            where = posixpath.normpath(str(entry))
            unknown = self.files is not None and where not in self.files
            if str(entry).startswith("/") or where.startswith("..") or unknown:
                self.problem((*path, "env_file", index), f"env_file `{entry}` must be one of the lab's files")


def check_compose(text: str, files: dict[str, str]) -> ComposePlan:
    """The checked plan of a compose.yaml, or ComposeRefused at the first problem (by line)."""
    policy = ComposePolicy(text, files)
    plan = policy.check()
    if policy.findings.items:
        raise min(policy.findings.items, key=lambda item: item.line)
    return plan


def compose_problems(text: str, files: dict[str, str] | None) -> list[dict]:
    """Every problem in a compose.yaml as [{line, message}], for the live lint."""
    policy = ComposePolicy(text, files)
    policy.check()
    return sorted(({"line": p.line, "message": p.reason} for p in policy.findings.items), key=lambda p: p["line"])
