"""The cgroups that bind each local sandbox daemon: writing their limits, and reading them back.

Every local daemon runs with --cgroup-parent=/NAME (NAME is the folder that holds its socket, such as
`dockyard-sb0`), so its BuildKit RUN steps land under /NAME/buildkit and its containers under /NAME. The limits
written on /NAME (cgroup v1: memory.limit_in_bytes, memory.memsw.limit_in_bytes, pids.max, cpu.cfs_*) therefore
bind every build and container of that daemon. `docker build --memory` is ignored by BuildKit, so this
per-daemon cgroup is the per-build limit, and one build runs on a daemon at a time (see sandbox/leases.py).
The daemons themselves stay outside that cgroup, so an out-of-memory build kills the build, not the daemon.
They get a memory cgroup of their own instead, /NAME-daemon, capped at SANDBOX_DAEMON_MEMORY_MB: work that
BuildKit does inside dockerd (reading the Dockerfile, expanding variables, writing the image config) is not a
RUN step, so only this cap bounds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .clients import SandboxSetupError

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000
CONTROLLERS = ("memory", "pids", "cpu")


@dataclass(frozen=True)
class DaemonLimits:
    """The limits that bind a daemon's builds: read from its cgroup when local, else from the settings."""

    memory_mb: int
    pids: int
    cgroup: str | None


# --- Writing the limits (when a daemon starts) -------------------------------------------------------------


def cgroup_limits(memory_mb: int, pids: int, cpus: int) -> dict[str, dict[str, str]]:
    """The cgroup v1 files to write, by controller. Memory plus swap equals memory: no swap."""
    memory = str(memory_mb * 1024 * 1024)
    return {
        "memory": {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory},
        "pids": {"pids.max": str(pids)},
        "cpu": {"cpu.cfs_period_us": str(CPU_PERIOD_US), "cpu.cfs_quota_us": str(cpus * CPU_PERIOD_US)},
    }


def require_cgroup_controllers(cgroup_root: Path = CGROUP_ROOT) -> None:
    for controller in CONTROLLERS:
        if not (cgroup_root / controller / "cgroup.procs").exists():
            raise SandboxSetupError(
                f"The cgroup v1 '{controller}' hierarchy is missing ({cgroup_root / controller}). The sandbox "
                "limits need cgroup v1 with the memory, pids and cpu controllers mounted under "
                f"{cgroup_root}."
            )


def write_cgroup_limits(name: str, cgroup_root: Path = CGROUP_ROOT) -> None:
    """Create the cgroup /NAME in each controller and write the limits from the settings."""
    limits = cgroup_limits(settings.SANDBOX_MEMORY_MB, settings.SANDBOX_PIDS, settings.SANDBOX_CPUS)
    for controller, files in limits.items():
        directory = cgroup_root / controller / name
        directory.mkdir(exist_ok=True)
        if controller == "memory":
            write_memory_limits(directory, files)
            continue
        for filename, value in files.items():
            write_cgroup_file(directory / filename, value)


def write_memory_limits(directory: Path, files: dict[str, str]) -> None:
    """Write memory and memory+swap limits in an order the kernel accepts.

    The kernel insists that memsw >= memory at every moment, so when raising the limit memsw goes first
    and when lowering it memory goes first. Writing memsw both before and after covers both cases. The memsw
    file only exists when swap accounting is on; without it there is no swap to limit.
    """
    memory_file = directory / "memory.limit_in_bytes"
    memsw_file = directory / "memory.memsw.limit_in_bytes"
    value = files["memory.limit_in_bytes"]
    if memsw_file.exists():
        try:
            write_cgroup_file(memsw_file, files["memory.memsw.limit_in_bytes"])
        except SandboxSetupError:
            pass  # Lowering: memsw cannot go below the current memory limit yet; it is written below.
    write_cgroup_file(memory_file, value)
    if memsw_file.exists():
        write_cgroup_file(memsw_file, files["memory.memsw.limit_in_bytes"])


def write_cgroup_file(path: Path, value: str) -> None:
    if not path.exists():
        raise SandboxSetupError(
            f"The cgroup file {path} does not exist, so this limit cannot be set. The sandboxes need cgroup v1 "
            "with the memory, pids and cpu controllers."
        )
    try:
        path.write_text(value)
    except OSError as error:
        raise SandboxSetupError(f"Could not write {value} to {path}: {error.strerror}.") from None


def daemon_memory_cgroup(name: str) -> str:
    """The memory cgroup of a sandbox's own dockerd and containerd: a sibling of its build cgroup, not a child."""
    return f"{name}-daemon"


def place_in_daemon_cgroup(name: str, pids: list[int], cgroup_root: Path = CGROUP_ROOT) -> Path:
    """Put a sandbox's dockerd and containerd in the memory cgroup /NAME-daemon, capped at SANDBOX_DAEMON_MEMORY_MB.

    Processes they start later (containerd's shims) are born there too; containers and RUN steps are moved by
    runc into the build cgroup /NAME as before. Returns the cgroup's directory.
    """
    directory = cgroup_root / "memory" / daemon_memory_cgroup(name)
    directory.mkdir(exist_ok=True)
    memory = str(settings.SANDBOX_DAEMON_MEMORY_MB * 1024 * 1024)
    write_memory_limits(directory, {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory})
    for pid in pids:
        write_cgroup_file(directory / "cgroup.procs", str(pid))
    return directory


def read_cgroup_limits(name: str, cgroup_root: Path = CGROUP_ROOT) -> dict[str, str]:
    """The limit files of cgroup /NAME as they are now, for status and tests; missing files are left out."""
    found = {}
    for controller, files in cgroup_limits(1, 1, 1).items():
        for filename in files:
            path = cgroup_root / controller / name / filename
            if path.exists():
                found[filename] = path.read_text().strip()
    return found


# --- Reading them back (during builds) ---------------------------------------------------------------------


def daemon_cgroup(docker_host: str) -> str | None:
    """The cgroup name (`dockyard-sb0`) of a daemon running on this machine, or None (a remote daemon).

    A local daemon's socket is SANDBOX_ROOT/NAME/docker.sock and its cgroup parent is /NAME.
    """
    if not docker_host.startswith("unix://"):
        return None
    name = Path(docker_host.removeprefix("unix://")).parent.name
    if any((root / name).is_dir() for root in cgroup_roots("pids")):
        return name
    return None


def daemon_limits(docker_host: str) -> DaemonLimits:
    """The memory and process limits of a daemon's builds, for messages."""
    cgroup = daemon_cgroup(docker_host)
    memory_mb, pids = settings.SANDBOX_MEMORY_MB, settings.SANDBOX_PIDS
    if cgroup is not None:
        memory = read_cgroup_number(cgroup, "memory", ("memory.limit_in_bytes", "memory.max"))
        if memory and memory < 1 << 50:
            memory_mb = memory // (1024 * 1024)
        pids = read_cgroup_number(cgroup, "pids", ("pids.max",)) or pids
    return DaemonLimits(memory_mb, pids, cgroup)


def cgroup_roots(controller: str) -> list[Path]:
    # cgroup v1 has one tree per controller; cgroup v2 has one tree for all.
    return [CGROUP_ROOT / controller, CGROUP_ROOT]


def read_cgroup_number(cgroup: str, controller: str, filenames: tuple[str, ...]) -> int | None:
    for root in cgroup_roots(controller):
        for filename in filenames:
            value = read_text(root / cgroup / filename)
            if value and value.isdigit():
                return int(value)
    return None


def buildkit_cgroups(docker_host: str) -> set[str]:
    """The names of the per-step cgroups under the daemon's /NAME/buildkit right now (empty when remote).

    A build notes them before it starts; the ones that appear while it holds the daemon's lease are its own.
    """
    cgroup = daemon_cgroup(docker_host)
    if cgroup is None:
        return set()
    for root in cgroup_roots("pids"):
        buildkit = root / cgroup / "buildkit"
        if buildkit.is_dir():
            return {path.name for path in buildkit.iterdir() if path.is_dir()}
    return set()


def leftover_build_pids(docker_host: str, ignore: set[str] | frozenset[str] = frozenset()) -> list[int]:
    """PIDs still in the daemon's BuildKit cgroups (RUN steps), when the daemon runs on this machine.

    The per-step cgroups named in `ignore` (those that were there before a build began) are left out.
    """
    cgroup = daemon_cgroup(docker_host)
    if cgroup is None:
        return []
    pids: list[int] = []
    for root in cgroup_roots("pids"):
        buildkit = root / cgroup / "buildkit"
        if buildkit.is_dir():
            for procs in buildkit.rglob("cgroup.procs"):
                step = procs.relative_to(buildkit).parts[0] if procs.parent != buildkit else ""
                if step not in ignore:
                    pids += [int(pid) for pid in (read_text(procs) or "").split()]
        if pids:
            break
    return pids


def read_text(path: Path) -> str | None:
    """A small kernel or pid file's stripped text, or None when it cannot be read."""
    try:
        return path.read_text().strip()
    except OSError:
        return None
