"""The project's own sandbox Docker daemons (docs/architecture.md, "Sandbox facts").

Each daemon gets its own directory under settings.SANDBOX_ROOT:

    dockyard-sbN/
      disk.img            sparse ext4 image of SANDBOX_DISK_GB, loop-mounted on data/
      data/               dockerd --data-root, and containerd's root (on the capped disk)
      exec/               dockerd --exec-root, and containerd's state and socket
      docker.sock         the API socket; docker_host is unix://.../docker.sock
      docker.pid          written by dockerd
      containerd.pid      written by us when we start containerd
      daemon.json         an empty config, so the host's /etc/docker/daemon.json never applies
      containerd.toml     containerd's config
      dockerd.log, containerd.log

Every daemon runs its own containerd. dockerd 20.10 only starts a private containerd when no system
containerd socket exists at /run/containerd/containerd.sock; if one did exist, all daemons would share it.
Starting containerd ourselves keeps each sandbox separate on every machine.

Limits are written on the cgroup /dockyard-sbN in the memory, pids and cpu hierarchies (cgroup v1, see
sandbox/cgroups.py), and dockerd runs with --cgroup-parent=/dockyard-sbN, so every build step and container of
that daemon is bound by them. The daemons themselves stay outside that cgroup, so an out-of-memory build kills
the build, not the daemon; their own memory is capped in the cgroup /dockyard-sbN-daemon.

Daemons run by someone else (a docker:dind service, another machine) join the pool by their address in
settings.SANDBOX_REMOTE_HOSTS (or the older single SANDBOX_DOCKER_HOST, which then replaces the local ones) and
are reached over TLS (sandbox/clients.py); start and stop then only check that they answer. Every worker leases
from the same pool through Redis (sandbox/leases.py), so capacity grows by adding workers and daemons apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from . import registry
from .cgroups import place_in_daemon_cgroup, require_cgroup_controllers, write_cgroup_limits
from .clients import SandboxError, SandboxSetupError, make_client

# Binaries are looked up on the system directories only, so a newer docker or runc that happens to come
# first on PATH (for example in /usr/local/bin) is never mixed with Debian's dockerd.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# A unix socket path longer than this cannot be bound (sun_path is 108 bytes, including the final NUL).
MAX_SOCKET_PATH = 107
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 40


@dataclass(frozen=True)
class Daemon:
    index: int
    name: str
    root: Path
    socket: Path
    pidfile: Path
    docker_host: str
    remote: bool = False

    @property
    def image_file(self) -> Path:
        return self.root / "disk.img"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    @property
    def config_file(self) -> Path:
        return self.root / "daemon.json"

    @property
    def log_file(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def containerd_pidfile(self) -> Path:
        return self.root / "containerd.pid"

    @property
    def containerd_log(self) -> Path:
        return self.root / "containerd.log"

    @property
    def containerd_socket(self) -> Path:
        return self.exec_root / "containerd" / "containerd.sock"

    @property
    def cgroup(self) -> str:
        return "/" + self.name


@dataclass
class DaemonStatus:
    name: str
    docker_host: str
    running: bool
    pid: int | None = None
    disk_used_bytes: int | None = None
    disk_total_bytes: int | None = None
    images: list[str] = field(default_factory=list)
    error: str = ""


# --- Which daemons exist -------------------------------------------------------------------------------


def local_count() -> int:
    """How many daemons this machine starts itself: none when SANDBOX_DOCKER_HOST names the one remote daemon."""
    return 0 if settings.SANDBOX_DOCKER_HOST else settings.SANDBOX_COUNT


def remote_hosts() -> list[str]:
    """The DOCKER_HOST values of daemons run by someone else, reached over TLS (SANDBOX_REMOTE_HOSTS)."""
    hosts = list(settings.SANDBOX_REMOTE_HOSTS)
    if settings.SANDBOX_DOCKER_HOST and settings.SANDBOX_DOCKER_HOST not in hosts:
        hosts.insert(0, settings.SANDBOX_DOCKER_HOST)
    return hosts


def daemon(index: int) -> Daemon:
    """The daemon with this index in the pool: this machine's own daemons first, then the remote ones."""
    count, remotes = local_count(), remote_hosts()
    if not 0 <= index < count + len(remotes):
        raise SandboxSetupError(
            f"There is no sandbox number {index}; the pool has {count} local and {len(remotes)} remote "
            f"(SANDBOX_COUNT is {settings.SANDBOX_COUNT})."
        )
    if index >= count:
        return remote_daemon(index, remotes[index - count])
    name = f"{settings.SANDBOX_NAME_PREFIX}{index}"
    root = Path(settings.SANDBOX_ROOT) / name
    socket = root / "docker.sock"
    return Daemon(
        index=index,
        name=name,
        root=root,
        socket=socket,
        pidfile=root / "docker.pid",
        docker_host=f"unix://{socket}",
    )


def remote_daemon(index: int, docker_host: str) -> Daemon:
    """A daemon run by someone else (for example a docker:dind service): only its address is known."""
    root = Path(settings.SANDBOX_ROOT) / "remote"
    return Daemon(
        index=index,
        name=docker_host.split("://", 1)[-1],
        root=root,
        socket=root / "docker.sock",
        pidfile=root / "docker.pid",
        docker_host=docker_host,
        remote=True,
    )


def all_daemons() -> list[Daemon]:
    """The whole pool: SANDBOX_COUNT local daemons, then every remote one. Every worker leases from it."""
    return [daemon(index) for index in range(local_count() + len(remote_hosts()))]


def docker_host_for(index: int) -> str:
    """The DOCKER_HOST value that reaches sandbox number `index`."""
    return daemon(index).docker_host


def all_docker_hosts() -> list[str]:
    """The DOCKER_HOST values of every sandbox daemon, in index order."""
    return [d.docker_host for d in all_daemons()]


# --- Arguments and files (pure functions, unit tested) --------------------------------------------------


def dockerd_args(d: Daemon, dockerd: str = "dockerd") -> list[str]:
    """The dockerd command line for one sandbox."""
    return [
        dockerd,
        f"--config-file={d.config_file}",
        f"--data-root={d.data_root}",
        f"--exec-root={d.exec_root}",
        f"--pidfile={d.pidfile}",
        f"--host=unix://{d.socket}",
        f"--containerd={d.containerd_socket}",
        "--storage-driver=overlay2",
        "--bridge=none",
        "--iptables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--userland-proxy=false",
        "--userns-remap=default",
        f"--cgroup-parent={d.cgroup}",
        *tls_listener_args(d),
    ]


def tls_listener_args(d: Daemon) -> list[str]:
    """An extra API listener over verified TLS on loopback inside the daemon's network namespace, when set.

    Nothing outside the namespace reaches it directly; the pool's test reaches it through a relay as a worker
    reaches a remote daemon (docs/architecture.md, "Scale-out").
    """
    if not settings.SANDBOX_TLS_LISTEN_PORT or d.remote:
        return []
    certs = Path(settings.SANDBOX_TLS_SERVER_CERT_PATH)
    return [
        f"--host=tcp://127.0.0.1:{tls_listen_port(d)}",
        "--tlsverify",
        f"--tlscacert={certs / 'ca.pem'}",
        f"--tlscert={certs / 'server-cert.pem'}",
        f"--tlskey={certs / 'server-key.pem'}",
    ]


def tls_listen_port(d: Daemon) -> int:
    return settings.SANDBOX_TLS_LISTEN_PORT + d.index


def containerd_args(d: Daemon, containerd: str = "containerd") -> list[str]:
    """The containerd command line for one sandbox."""
    return [containerd, "--config", str(d.containerd_config)]


def containerd_config_text(d: Daemon) -> str:
    """containerd's config: root on the capped disk, state and sockets under the exec root.

    This is the layout dockerd itself uses for a containerd it starts. The CRI plugin (Kubernetes) and
    snapshotters dockerd never uses are switched off, so they neither start nor log errors.
    """
    state = d.exec_root / "containerd"
    disabled = [
        "io.containerd.grpc.v1.cri",
        "io.containerd.snapshotter.v1.aufs",
        "io.containerd.snapshotter.v1.btrfs",
        "io.containerd.snapshotter.v1.devmapper",
        "io.containerd.snapshotter.v1.zfs",
    ]
    return (
        "version = 2\n"
        f'root = "{d.data_root / "containerd"}"\n'
        f'state = "{state}"\n'
        f"disabled_plugins = {json.dumps(disabled)}\n"
        "\n[grpc]\n"
        f'  address = "{d.containerd_socket}"\n'
        "\n[ttrpc]\n"
        f'  address = "{d.containerd_socket}.ttrpc"\n'
        "\n[debug]\n"
        '  address = ""\n'
        "\n[metrics]\n"
        '  address = ""\n'
        '\n[plugins."io.containerd.internal.v1.opt"]\n'
        f'  path = "{d.data_root / "containerd" / "opt"}"\n'
    )


def daemon_config_text(disk_gb: int) -> str:
    """dockerd's config file: BuildKit's cache is garbage-collected so it can never fill the sandbox disk.

    A learner's successful build of a huge layer would otherwise stay in the cache for good.
    """
    keep_gb = max(1, disk_gb // 4)
    config = {"builder": {"gc": {"enabled": True, "defaultKeepStorage": f"{keep_gb}GB"}}}
    return json.dumps(config, indent=2) + "\n"


def netns_name(d: Daemon) -> str:
    return d.name


def in_netns(d: Daemon, args: list[str], nsenter: str = "nsenter") -> list[str]:
    """Run a command inside the daemon's network namespace, which has nothing but loopback.

    Builds and containers already get network "none", but the daemon itself would still resolve and
    pull an image it does not have. In a namespace with only loopback, nothing it does can leave the
    machine. nsenter joins the network namespace only; `ip netns exec` would also remount /sys and hide
    the cgroup hierarchies the daemon needs.
    """
    return [nsenter, f"--net=/run/netns/{netns_name(d)}", "--", *args]


def check_socket_paths(d: Daemon) -> None:
    """Refuse a SANDBOX_ROOT so long that the daemon's sockets could not be created."""
    for path in (d.socket, Path(f"{d.containerd_socket}.ttrpc")):
        if len(str(path)) > MAX_SOCKET_PATH:
            raise SandboxSetupError(
                f"The socket path {path} is {len(str(path))} characters; unix sockets allow {MAX_SOCKET_PATH}. "
                "Choose a shorter SANDBOX_ROOT."
            )


# --- Host checks ------------------------------------------------------------------------------------------


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxSetupError(
            "Sandbox daemons must be started as root (they mount a disk image, write cgroup limits and run "
            "dockerd). Run this command with sudo or as root."
        )


def find_tool(name: str, install_hint: str) -> str:
    path = shutil.which(name, path=SYSTEM_PATH)
    if path is None:
        raise SandboxSetupError(f"{name} was not found in {SYSTEM_PATH}. {install_hint}")
    return path


def require_tools() -> dict[str, str]:
    """The programs the daemons need, by name, or an error that says how to install them."""
    docker_hint = "Install Debian's docker.io: apt-get install docker.io"
    return {
        "dockerd": find_tool("dockerd", docker_hint),
        "containerd": find_tool("containerd", docker_hint),
        "runc": find_tool("runc", docker_hint),
        "mkfs.ext4": find_tool("mkfs.ext4", "Install e2fsprogs: apt-get install e2fsprogs"),
        "mount": find_tool("mount", "Install mount: apt-get install mount"),
        "umount": find_tool("umount", "Install mount: apt-get install mount"),
        "ip": find_tool("ip", "Install iproute2: apt-get install iproute2"),
        "nsenter": find_tool("nsenter", "Install util-linux: apt-get install util-linux"),
    }


# --- Processes --------------------------------------------------------------------------------------------


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None, marker: str, proc: Path = Path("/proc")) -> bool:
    """True when `pid` is a live process whose command line mentions `marker`.

    The marker (the daemon's own socket or config path) guards against a stale pidfile whose number now
    belongs to an unrelated process: that process is never treated as ours, let alone signalled. A zombie
    has an empty command line, so it counts as gone.
    """
    if pid is None or pid <= 0:
        return False
    try:
        cmdline = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    return marker in cmdline.decode(errors="replace")


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def launch(args: list[str], log_file: Path) -> subprocess.Popen:
    """Start a long-running daemon in its own session, so it outlives the command that started it."""
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={"PATH": SYSTEM_PATH, "HOME": "/root", "LANG": "C.UTF-8"},
        )


def terminate(pid: int | None, marker: str, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """SIGTERM the process, wait, then SIGKILL it. Returns True when a live process was stopped."""
    if not pid_alive(pid, marker):
        return False
    os.kill(pid, signal.SIGTERM)
    if wait_gone(pid, marker, timeout):
        return True
    os.kill(pid, signal.SIGKILL)
    if not wait_gone(pid, marker, 10):
        raise SandboxSetupError(f"Process {pid} did not exit even after SIGKILL.")
    return True


def wait_gone(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        collect_child(pid)
        if not pid_alive(pid, marker):
            return True
        time.sleep(0.2)
    return False


def collect_child(pid: int) -> None:
    """Collect the exit status if the process is our own child, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


# --- Disk -------------------------------------------------------------------------------------------------


def ensure_disk(d: Daemon, tools: dict[str, str]) -> None:
    """Create the sparse ext4 image once and loop-mount it on the data root (reused if already mounted)."""
    d.data_root.mkdir(parents=True, exist_ok=True)
    if os.path.ismount(d.data_root):
        return
    if not d.image_file.exists():
        create_disk_image(d.image_file, settings.SANDBOX_DISK_GB, tools["mkfs.ext4"])
    run([tools["mount"], "-o", "loop,noatime", str(d.image_file), str(d.data_root)], f"mount {d.image_file}")


def create_disk_image(path: Path, size_gb: int, mkfs: str) -> None:
    """Make the image under a temporary name, so a half-made image is never mistaken for a finished one."""
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as image:
        image.truncate(size_gb * 1024**3)
    # No reserved blocks: nobody but the daemon writes here, and the cap should be the whole size.
    run([mkfs, "-q", "-F", "-m", "0", "-L", path.parent.name[:16], str(partial)], f"mkfs.ext4 {partial}")
    partial.rename(path)


def unmount(d: Daemon, tools: dict[str, str]) -> None:
    if not os.path.ismount(d.data_root):
        return
    try:
        # Recursive: a dockerd that was killed (and restarted) leaves its own mounts below the data root, such as
        # a build step's root filesystem and its user-namespace folder; they go first.
        run([tools["umount"], "--recursive", str(d.data_root)], f"unmount {d.data_root}")
    except SandboxSetupError as error:
        raise SandboxSetupError(
            f"{error} Something still uses the sandbox disk; `fuser -vm {d.data_root}` shows what."
        ) from None


def run(args: list[str], what: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise SandboxSetupError(f"Could not {what}: {detail or f'exit code {result.returncode}'}.")
    return result.stdout


# --- Start, stop, status ----------------------------------------------------------------------------------


def is_running(d: Daemon) -> bool:
    return pid_alive(read_pid(d.pidfile), str(d.socket))


def start(d: Daemon) -> None:
    """Start one sandbox daemon. A running one is left alone: its limits are refreshed and it must answer."""
    if d.remote:
        wait_until_answers(d, process=None, timeout=10)
        return
    require_root()
    tools = require_tools()
    require_cgroup_controllers()
    check_socket_paths(d)
    d.root.mkdir(parents=True, exist_ok=True)
    # Others may traverse but not list: the remapped root (uid 100000) must reach data/100000.100000.
    d.root.chmod(0o711)
    with daemon_lock(d):
        write_cgroup_limits(d.name)
        # Each step below does nothing when its part is already up, so a second start changes nothing.
        ensure_disk(d, tools)
        ensure_netns(d, tools)
        d.exec_root.mkdir(exist_ok=True)
        ensure_containerd(d, tools)
        ensure_registry(d, tools)
        if is_running(d):
            wait_until_answers(d, process=None, timeout=START_TIMEOUT_SECONDS)
            limit_daemon_memory(d)
            return
        d.config_file.write_text(daemon_config_text(settings.SANDBOX_DISK_GB))
        process = launch(in_netns(d, dockerd_args(d, tools["dockerd"]), tools["nsenter"]), d.log_file)
        wait_until_answers(d, process=process, timeout=START_TIMEOUT_SECONDS)
        require_userns(d)
        limit_daemon_memory(d)


def limit_daemon_memory(d: Daemon) -> None:
    """Put the sandbox's running containerd and dockerd in their memory-capped cgroup (sandbox/cgroups.py)."""
    found = [
        (read_pid(d.containerd_pidfile), str(d.containerd_config)),
        (read_pid(d.pidfile), str(d.socket)),
        (read_pid(registry.pidfile(d.root)), str(registry.config_file(d.root))),
    ]
    place_in_daemon_cgroup(d.name, [pid for pid, marker in found if pid is not None and pid_alive(pid, marker)])


@contextlib.contextmanager
def daemon_lock(d: Daemon) -> Iterator[None]:
    """One start or stop of a daemon at a time, so two workers starting at once launch one dockerd."""
    with open(d.root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_netns(d: Daemon, tools: dict[str, str]) -> None:
    """Create the daemon's network namespace (loopback only) unless it exists already."""
    if not Path(f"/run/netns/{netns_name(d)}").exists():
        run([tools["ip"], "netns", "add", netns_name(d)], f"create the network namespace of {d.name}")
    run([tools["ip"], "-n", netns_name(d), "link", "set", "lo", "up"], f"bring up loopback for {d.name}")


def ensure_containerd(d: Daemon, tools: dict[str, str]) -> None:
    marker = str(d.containerd_config)
    if pid_alive(read_pid(d.containerd_pidfile), marker):
        return
    d.containerd_config.write_text(containerd_config_text(d))
    process = launch(in_netns(d, containerd_args(d, tools["containerd"]), tools["nsenter"]), d.containerd_log)
    d.containerd_pidfile.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not d.containerd_socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SandboxSetupError(
                f"containerd for {d.name} did not start (see {d.containerd_log}):\n{log_tail(d.containerd_log)}"
            )
        time.sleep(0.1)


def ensure_registry(d: Daemon, tools: dict[str, str]) -> None:
    """Start the daemon's own registry in its network namespace (sandbox/registry.py), if it is installed."""
    if pid_alive(read_pid(registry.pidfile(d.root)), str(registry.config_file(d.root))):
        return
    command = registry.prepare(d.root)
    if command is None:
        registry.pidfile(d.root).unlink(missing_ok=True)
        return
    process = launch(in_netns(d, command, tools["nsenter"]), registry.log_file(d.root))
    registry.pidfile(d.root).write_text(f"{process.pid}\n")


def revive_registry(d: Daemon) -> bool:
    """Start a local daemon's registry again if it has died while the daemon runs on; True when it had to."""
    if d.remote or not registry.installed() or not registry.pidfile(d.root).exists():
        return False
    if pid_alive(read_pid(registry.pidfile(d.root)), str(registry.config_file(d.root))):
        return False
    ensure_registry(d, require_tools())
    limit_daemon_memory(d)
    return True


def wait_until_answers(d: Daemon, process: subprocess.Popen | None, timeout: float) -> None:
    """Wait until the daemon's API answers a ping; on failure say why, with the end of its log."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        if process is not None and process.poll() is not None:
            raise SandboxSetupError(
                f"dockerd for {d.name} exited with code {process.returncode} while starting "
                f"(see {d.log_file}):\n{log_tail(d.log_file)}"
            )
        try:
            make_client(d.docker_host, timeout=5).close()
            return
        except SandboxError as error:
            last_error = error.message
        if time.monotonic() > deadline:
            break
        time.sleep(0.3)
    if process is None:
        raise SandboxSetupError(f"The sandbox daemon at {d.docker_host} does not answer: {last_error}")
    raise SandboxSetupError(
        f"dockerd for {d.name} did not answer within {timeout:.0f} s (see {d.log_file}):\n{log_tail(d.log_file)}"
    )


def require_userns(d: Daemon) -> None:
    """Refuse a daemon whose containers would run as the host's real root."""
    client = make_client(d.docker_host, ping=False)
    try:
        options = client.info().get("SecurityOptions") or []
    finally:
        client.close()
    if not any("name=userns" in option for option in options):
        raise SandboxSetupError(f"dockerd for {d.name} runs without user namespace remapping; refusing to use it.")


def stop(d: Daemon) -> bool:
    """Stop one sandbox daemon by the PIDs in its pidfiles, then unmount its disk. True if it was running."""
    if d.remote:
        wait_until_answers(d, process=None, timeout=10)
        return False
    require_root()
    tools = require_tools()
    if not d.root.is_dir():
        return False
    with daemon_lock(d):
        stopped = terminate(read_pid(d.pidfile), str(d.socket))
        # containerd goes after dockerd, which stops its containers (and their shims) on the way out.
        terminate(read_pid(d.containerd_pidfile), str(d.containerd_config))
        d.containerd_pidfile.unlink(missing_ok=True)
        # The registry keeps its files on the daemon's disk, so it goes before the disk is unmounted.
        terminate(read_pid(registry.pidfile(d.root)), str(registry.config_file(d.root)))
        registry.pidfile(d.root).unlink(missing_ok=True)
        unmount(d, tools)
    return stopped


def status(d: Daemon) -> DaemonStatus:
    """Running or not, the PID, disk use and the images the daemon holds."""
    result = DaemonStatus(name=d.name, docker_host=d.docker_host, running=False)
    if not d.remote:
        pid = read_pid(d.pidfile)
        if not pid_alive(pid, str(d.socket)):
            return result
        result.pid = pid
        if os.path.ismount(d.data_root):
            usage = shutil.disk_usage(d.data_root)
            result.disk_used_bytes, result.disk_total_bytes = usage.used, usage.total
    try:
        client = make_client(d.docker_host, timeout=10)
        try:
            result.running = True
            result.images = sorted(tag for image in client.images.list() for tag in image.tags)
        finally:
            client.close()
    except SandboxError as error:
        result.error = f"does not answer: {error.message}"
    return result


def start_all() -> list[Daemon]:
    """Start every sandbox daemon (idempotent) and return them."""
    daemons = all_daemons()
    for d in daemons:
        start(d)
    return daemons


def stop_all() -> list[Daemon]:
    """Stop every sandbox daemon that is running; returns the ones that were stopped."""
    return [d for d in all_daemons() if stop(d)]


def status_all() -> list[DaemonStatus]:
    return [status(d) for d in all_daemons()]
