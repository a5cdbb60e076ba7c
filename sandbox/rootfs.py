"""Root filesystems for the offline catalog, made from Debian packages (no registry can be reached).

debootstrap makes one minimal Debian tree, cached in settings.CATALOG_CACHE; each image's root filesystem is
that tree (or busybox alone) plus packages installed with apt in a chroot, from the Debian mirror the machine's
own apt already uses. sandbox/catalog.py turns these folders into images and loads them into the daemons.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

from . import daemons
from .clients import SandboxSetupError

SUITE = "bookworm"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What the lessons install with pip. Changing this list changes the python image's recipe version, so the
# image is remade on the next `manage.py sandbox catalog`.
WHEELHOUSE_REQUIREMENTS = [
    # What the lessons and exercises name (their solutions pin these versions, as the course teaches) ...
    "flask==3.1.3",
    "gunicorn==27.0.1",
    "requests==2.34.2",
    "pytest==9.2.0",
    "setuptools==84.2.1",
    "wheel==0.48.0",
    # ... and everything those need, pinned too, so every machine builds the same wheelhouse.
    "blinker==1.9.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "click==8.5.1",
    "idna==3.20",
    "iniconfig==2.3.1",
    "itsdangerous==2.2.0",
    "jinja2==3.1.6",
    "markupsafe==3.0.4",
    "packaging==26.4",
    "pluggy==1.7.0",
    "pygments==2.21.0",
    "urllib3==2.8.0",
    "werkzeug==3.1.9",
]
PYTHON_PACKAGES = ["python3", "python3-pip", "python3-venv", "ca-certificates"]
PYTHON_MINOR = "3.11"
# Debian bookworm has glibc 2.36, so wheels for any of these run in the image. pip does not widen one
# --platform to the older manylinux tags by itself, so each is named (pure-Python wheels always match).
GLIBC_MINORS = (36, 35, 34, 31, 28, 27, 26, 24, 17, 12, 5)
LEGACY_PLATFORMS = ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
WHEEL_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in GLIBC_MINORS] + LEGACY_PLATFORMS

REDIS_MAJOR = "7"
REDIS_PACKAGES = ["redis-server"]
POSTGRES_MAJOR = "15"
POSTGRES_BIN = f"/usr/lib/postgresql/{POSTGRES_MAJOR}/bin"
POSTGRES_DATA = "/var/lib/postgresql/data"
# `locales` for initdb's en_US.UTF-8, like the official image.
POSTGRES_PACKAGES = [f"postgresql-{POSTGRES_MAJOR}", "locales"]
# The grader's own tools; no pip, no DNS tools.
PROBE_PACKAGES = ["curl", "netcat-openbsd", "redis-tools", "postgresql-client", "python3", "iproute2", "procps"]
# Entrypoint scripts copied into images, kept as files beside this module.
CATALOG_FILES = Path(__file__).resolve().parent / "catalog_files"
ENTRYPOINT = "/usr/local/bin/docker-entrypoint.sh"


def file_version(name: str) -> str:
    """A short hash of one file in CATALOG_FILES, so editing it changes the recipe of the image it goes in."""
    return hashlib.sha256((CATALOG_FILES / name).read_bytes()).hexdigest()[:8]


# Bump the tree's version when its recipe changes; every image made from it is then remade.
DEBIAN_TREE_VERSION = "1"
WHEELHOUSE_VERSION = hashlib.sha256("\n".join(WHEELHOUSE_REQUIREMENTS).encode()).hexdigest()[:8]

# Paths removed from Debian trees to make them slim, as the official -slim images do.
SLIM_REMOVE = [
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf/templates.dat-old",
    "var/lib/dpkg/status-old",
    "var/lib/dpkg/diversions-old",
    "usr/share/man",
    "usr/share/info",
    "usr/share/groff",
    "usr/share/lintian",
    "usr/share/linda",
    "usr/share/locale",
]
# Kept out of later package installs in the image too (the official images ship the same file).
DPKG_SLIM_CONFIG = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
"""
APT_SLIM_CONFIG = """\
// Keep images small: no package cache and no translated descriptions.
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
"""
PIP_CONFIG = "[global]\nno-index = true\nfind-links = /opt/wheels\n"
PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """\
root:x:0:
daemon:x:1:
nogroup:x:65534:
"""
SHADOW = "root:*:10933:0:99999:7:::\ndaemon:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n"


class CatalogError(SandboxSetupError):
    """The catalog could not be built or loaded. The message says why."""


# --- The Debian mirror apt already uses --------------------------------------------------------------------


def parse_apt_sources(text: str, deb822: bool) -> list[tuple[str, list[str], list[str]]]:
    """(uri, suites, components) of each enabled binary `deb` entry in one sources file."""
    if not deb822:
        entries = []
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if words and words[0] == "deb":
                words = words[1:]
                if words and words[0].startswith("["):
                    while words and not words[0].endswith("]"):
                        words = words[1:]
                    words = words[1:]
                if len(words) >= 3:
                    entries.append((words[0], [words[1]], words[2:]))
        return entries
    entries = []
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
            for uri in fields.get("uris", []):
                entries.append((uri, fields.get("suites", []), fields.get("components", [])))
    return entries


def apt_entries() -> list[tuple[str, list[str], list[str]]]:
    entries = []
    if APT_SOURCES.exists():
        entries += parse_apt_sources(APT_SOURCES.read_text(), deb822=False)
    if APT_SOURCES_DIR.is_dir():
        for path in sorted(APT_SOURCES_DIR.iterdir()):
            if path.suffix == ".list":
                entries += parse_apt_sources(path.read_text(), deb822=False)
            elif path.suffix == ".sources":
                entries += parse_apt_sources(path.read_text(), deb822=True)
    return entries


def debian_mirrors(entries: list[tuple[str, list[str], list[str]]]) -> tuple[str, str | None]:
    """The mirror apt uses for bookworm main, and its security mirror if apt has one."""
    main = next((uri for uri, suites, parts in entries if SUITE in suites and "main" in parts), None)
    if main is None:
        raise CatalogError(
            f"apt on this machine has no '{SUITE} main' source (checked {APT_SOURCES} and {APT_SOURCES_DIR}), "
            "so there is no Debian mirror to build the catalog from."
        )
    security = next((uri for uri, suites, _ in entries if f"{SUITE}-security" in suites), None)
    return main, security


def sources_list(main: str, security: str | None) -> str:
    lines = [f"deb {main} {SUITE} main", f"deb {main} {SUITE}-updates main"]
    if security:
        lines.append(f"deb {security} {SUITE}-security main")
    return "\n".join(lines) + "\n"


# --- Root filesystems -------------------------------------------------------------------------------------


def cache_dir() -> Path:
    path = Path(settings.CATALOG_CACHE)
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_logged(args: list[str], what: str, log: Path, env: dict[str, str] | None = None) -> None:
    """Run a long step with its output in a log file; on failure raise with the end of that log."""
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(args)}\n".encode())
        out.flush()
        result = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    if result.returncode != 0:
        raise CatalogError(f"{what} failed (exit code {result.returncode}; see {log}):\n{daemons.log_tail(log)}")


# Debian's busybox 1.35 is built without wget's timeout, yet its option string still declares -T as a number
# ("T:+") to be stored through a pointer that build leaves empty, so `wget -T 3 URL`, as health checks in many
# tutorials are written, crashes with a segmentation fault. The catalog's copy declares -T as a text option
# ("T:"), which the option parser skips when there is nowhere to store it: -T is accepted and has no effect,
# as in any busybox built without the timeout. Docker's own HEALTHCHECK --timeout still bounds a health check.
WGET_OPTIONS = b"cqSO:o:P:Y:U:T:+t:n::\0"
WGET_OPTIONS_FIXED = b"cqSO:o:P:Y:U:T:t:n::\0\0"


def fix_wget_timeout(binary: Path) -> bool:
    """Patch a copy of Debian's busybox so wget's -T no longer crashes it; False when it needs no patch."""
    data = binary.read_bytes()
    if data.count(WGET_OPTIONS) != 1:
        return False
    binary.write_bytes(data.replace(WGET_OPTIONS, WGET_OPTIONS_FIXED))
    return True


def build_busybox_rootfs(root: Path) -> None:
    """/bin/busybox from Debian's busybox-static, a link per applet, and a minimal /etc."""
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        raise CatalogError("/bin/busybox is missing. Install Debian's busybox-static: apt-get install busybox-static")
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for directory in ("bin", "etc", "root", "home", "tmp", "var/tmp", "usr/bin", "usr/sbin", "sbin"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    fix_wget_timeout(root / "bin" / "busybox")
    for applet in applets:
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    (root / "etc" / "shadow").write_text(SHADOW)
    (root / "etc" / "shadow").chmod(0o640)
    (root / "tmp").chmod(0o1777)
    (root / "var" / "tmp").chmod(0o1777)
    (root / "root").chmod(0o700)


def debian_tree_path() -> Path:
    return cache_dir() / "rootfs" / f"debian-{SUITE}"


def wheelhouse_path() -> Path:
    return cache_dir() / f"wheels-{WHEELHOUSE_VERSION}"


def debian_tree() -> Path:
    """The cached debootstrap minbase tree, made once (about a minute) and shared by debian and python."""
    tree = debian_tree_path()
    marker = tree / ".dockyard-tree-version"
    if marker.exists() and marker.read_text().strip() == DEBIAN_TREE_VERSION:
        return tree
    debootstrap = shutil.which("debootstrap", path=daemons.SYSTEM_PATH)
    if debootstrap is None:
        raise CatalogError("debootstrap is missing. Install it: apt-get install debootstrap")
    main, security = debian_mirrors(apt_entries())
    partial = tree.with_name(tree.name + ".partial")
    remove_tree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    args = [debootstrap, "--variant=minbase"]
    if KEYRING.exists():
        args.append(f"--keyring={KEYRING}")
    log = cache_dir() / "debootstrap.log"
    log.write_text("")
    run_logged(args + [SUITE, str(partial), main], "debootstrap", log)
    write_in_tree(partial / "etc" / "apt" / "sources.list", sources_list(main, security))
    write_in_tree(partial / "etc" / "dpkg" / "dpkg.cfg.d" / "dockyard-slim", DPKG_SLIM_CONFIG)
    write_in_tree(partial / "etc" / "apt" / "apt.conf.d" / "dockyard-slim", APT_SLIM_CONFIG)
    slim(partial)
    remove_tree(tree)
    partial.rename(tree)
    marker.write_text(DEBIAN_TREE_VERSION + "\n")
    return tree


def slim(root: Path) -> None:
    """Remove what the official -slim images leave out: package lists, caches, docs, man pages, locales."""
    for relative in SLIM_REMOVE:
        path = root / relative
        if path.is_dir() and not path.is_symlink():
            for child in path.iterdir():
                remove_tree(child)
        elif path.exists() or path.is_symlink():
            path.unlink()
    (root / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (root / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    for package in real_directories(root / "usr" / "share" / "doc"):
        for child in package.iterdir():
            if child.name != "copyright":
                remove_tree(child)
    for directory, _, files in os.walk(root / "var" / "log"):
        for name in files:
            write_in_tree(Path(directory) / name, "")
    # Docker provides these files in every container; the builder's own must not leak into the image.
    write_in_tree(root / "etc" / "resolv.conf", "")
    write_in_tree(root / "etc" / "hostname", "")


def real_directories(path: Path) -> list[Path]:
    """Subdirectories that are not symlinks: a link inside a tree may point anywhere on the host."""
    if not path.is_dir():
        return []
    return [child for child in path.iterdir() if child.is_dir() and not child.is_symlink()]


def write_in_tree(path: Path, text: str) -> None:
    """Write a file inside a root filesystem without following a symlink out of it onto the host."""
    if path.is_symlink():
        path.unlink()
    path.write_text(text)


def remove_tree(path: Path) -> None:
    """Delete a file or a whole tree. A tree with something still mounted inside it is refused."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        mounted = mounts_under(path)
        if mounted:
            raise CatalogError(f"{path} still has mounts inside it ({', '.join(mounted)}); unmount them first.")
        shutil.rmtree(path)


def mounts_under(path: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> list[str]:
    top = str(path.resolve())
    found = []
    for line in mountinfo.read_text().splitlines():
        # The fifth field is the mount point, with spaces and the like written as octal escapes.
        point = line.split()[4].encode().decode("unicode_escape")
        if point == top or point.startswith(top + "/"):
            found.append(point)
    return found


def download_wheelhouse() -> Path:
    """Wheels for CPython 3.11 on x86_64 Linux, downloaded on the host with the project's own pip."""
    wheels = wheelhouse_path()
    if wheels.is_dir() and any(wheels.glob("*.whl")):
        return wheels
    partial = wheels.with_name(wheels.name + ".partial")
    remove_tree(partial)
    log = cache_dir() / "wheels.log"
    log.write_text("")
    args = [
        *pip_command(),
        "download",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--implementation=cp",
        f"--python-version={PYTHON_MINOR}",
        f"--abi=cp{PYTHON_MINOR.replace('.', '')}",
        *(f"--platform={platform}" for platform in WHEEL_PLATFORMS),
        f"--dest={partial}",
        *WHEELHOUSE_REQUIREMENTS,
    ]
    run_logged(args, "pip download of the wheelhouse", log)
    remove_tree(wheels)
    partial.rename(wheels)
    return wheels


def pip_command() -> list[str]:
    """The project's own Python runs pip, so the wheels come from the same index the project uses."""
    return [sys.executable, "-m", "pip"]


def copy_debian_tree(root: Path, debian: Path, log: Path) -> None:
    """Start an image's root filesystem as a copy of the cached Debian tree."""
    run_logged(["cp", "-a", f"{debian}/.", str(root)], "copying the Debian tree", log)
    (root / ".dockyard-tree-version").unlink(missing_ok=True)


def build_python_rootfs(root: Path, debian: Path, wheels: Path) -> str:
    """Copy the Debian tree, install Python into it in a chroot, and return the Python version."""
    copy_debian_tree(root, debian, cache_dir() / "python.log")
    install_packages(root, PYTHON_PACKAGES, cache_dir() / "python.log")
    slim(root)
    version = chroot_output(root, ["python3", "-c", "import platform; print(platform.python_version())"])
    if not version.startswith(PYTHON_MINOR + "."):
        raise CatalogError(f"Debian {SUITE}'s python3 is {version}, not {PYTHON_MINOR}: the image would lie.")
    # Like the official image: `python` and `pip` on PATH, and pip may install system-wide.
    local_bin = root / "usr" / "local" / "bin"
    local_bin.mkdir(parents=True, exist_ok=True)
    for link, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
        (local_bin / link).unlink(missing_ok=True)
        (local_bin / link).symlink_to(target)
    for marker in (root / "usr" / "lib").glob("python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    shutil.copytree(wheels, root / "opt" / "wheels")
    write_in_tree(root / "etc" / "pip.conf", PIP_CONFIG)
    return version


def redis_version(output: str) -> str:
    """The version in `redis-server --version` output ("Redis server v=7.0.15 sha=...")."""
    match = re.search(r"\bv=(\d+\.\d+\.\d+)", output)
    if match is None:
        raise CatalogError(f"Could not read a version from `redis-server --version`: {output!r}")
    return match.group(1)


def postgres_version(output: str) -> str:
    """The version in `postgres --version` output ("postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)")."""
    match = re.search(r"\(PostgreSQL\) (\d+\.\d+)", output)
    if match is None:
        raise CatalogError(f"Could not read a version from `postgres --version`: {output!r}")
    return match.group(1)


def listen_on_all_addresses(sample_config: str) -> str:
    """postgresql.conf.sample with listen_addresses = '*', so every cluster initdb makes listens on all addresses.

    The official image edits the same file; postgres inside a container must accept other containers.
    """
    text, count = re.subn(r"(?m)^#?listen_addresses\s*=\s*\S+.*$", "listen_addresses = '*'", sample_config)
    if count != 1:
        raise CatalogError(f"postgresql.conf.sample has {count} listen_addresses lines, expected one.")
    return text


def install_entrypoint(root: Path, script: str) -> None:
    """Copy an entrypoint script from CATALOG_FILES to /usr/local/bin/docker-entrypoint.sh in the tree."""
    target = root / ENTRYPOINT.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    shutil.copyfile(CATALOG_FILES / script, target)
    target.chmod(0o755)


def package_version(root: Path, package: str) -> str:
    return chroot_output(root, ["dpkg-query", "--show", "--showformat=${Version}", package])


def build_redis_rootfs(root: Path, debian: Path) -> tuple[str, str]:
    """Debian's redis-server in a copy of the Debian tree; returns (Redis version, Debian package version)."""
    log = cache_dir() / "redis.log"
    copy_debian_tree(root, debian, log)
    install_packages(root, REDIS_PACKAGES, log)
    slim(root)
    version = redis_version(chroot_output(root, ["redis-server", "--version"]))
    if version.split(".")[0] != REDIS_MAJOR:
        raise CatalogError(f"Debian {SUITE}'s redis-server is {version}, not {REDIS_MAJOR}: the image would lie.")
    # The package made the redis user; like the official image, /data is its working directory and volume.
    (root / "data").mkdir(exist_ok=True)
    chroot_output(root, ["chown", "redis:redis", "/data"])
    install_entrypoint(root, "redis-entrypoint.sh")
    return version, package_version(root, "redis-server")


def build_postgres_rootfs(root: Path, debian: Path) -> tuple[str, str]:
    """Debian's postgresql-15 in a copy of the Debian tree; returns (PostgreSQL version, package version)."""
    log = cache_dir() / "postgres.log"
    copy_debian_tree(root, debian, log)
    with apt_in_chroot(root, log) as install:
        # Debian makes a cluster in /var/lib/postgresql/15/main when the server is installed; the entrypoint
        # makes one in PGDATA instead, so that is switched off first, as the official image does.
        install(["postgresql-common"])
        config = root / "etc" / "postgresql-common" / "createcluster.conf"
        text = re.sub(r"(?m)^#?\s*create_main_cluster\s*=.*$", "create_main_cluster = false", config.read_text())
        write_in_tree(config, text)
        install(POSTGRES_PACKAGES)
        run_logged(
            ["chroot", str(root), "localedef", "-i", "en_US", "-c", "-f", "UTF-8", "en_US.UTF-8"],
            "making the en_US.UTF-8 locale",
            log,
        )
    slim(root)
    if (root / "var" / "lib" / "postgresql" / POSTGRES_MAJOR).exists():
        raise CatalogError("Installing PostgreSQL made a cluster in the image although that was switched off.")
    version = postgres_version(chroot_output(root, [f"{POSTGRES_BIN}/postgres", "--version"]))
    if version.split(".")[0] != POSTGRES_MAJOR:
        raise CatalogError(f"Debian {SUITE}'s postgres is {version}, not {POSTGRES_MAJOR}: the image would lie.")
    sample = root / "usr" / "share" / "postgresql" / POSTGRES_MAJOR / "postgresql.conf.sample"
    write_in_tree(sample, listen_on_all_addresses(sample.read_text()))
    # Like the official image: PGDATA open to any user (the entrypoint narrows it once it owns it), the socket
    # folder writable by postgres, and a folder for initialisation scripts.
    data = root / POSTGRES_DATA.lstrip("/")
    sockets = root / "run" / "postgresql"
    for directory in (data, sockets, root / "docker-entrypoint-initdb.d"):
        directory.mkdir(parents=True, exist_ok=True)
    chroot_output(root, ["chown", "postgres:postgres", POSTGRES_DATA, "/run/postgresql"])
    data.chmod(0o1777)
    sockets.chmod(0o3777)
    install_entrypoint(root, "postgres-entrypoint.sh")
    return version, package_version(root, f"postgresql-{POSTGRES_MAJOR}")


def build_probe_rootfs(root: Path, debian: Path) -> None:
    """The grader's probe: the Debian tree plus PROBE_PACKAGES."""
    log = cache_dir() / "probe.log"
    copy_debian_tree(root, debian, log)
    install_packages(root, PROBE_PACKAGES, log)
    slim(root)
    tools = ["curl", "nc", "redis-cli", "psql", "pg_isready", "python3", "ip", "ps"]
    chroot_output(root, ["sh", "-c", " && ".join(f"command -v {tool}" for tool in tools)])


def install_packages(root: Path, packages: list[str], log: Path) -> None:
    """apt-get install in a chroot of the tree, with /proc mounted only for as long as it runs."""
    with apt_in_chroot(root, log) as install:
        install(packages)


@contextlib.contextmanager
def apt_in_chroot(root: Path, log: Path) -> Iterator[Callable[[list[str]], None]]:
    """apt-get update in a chroot of the tree, then give a function that installs packages there.

    /proc is mounted, and services are kept from starting, only for as long as the block runs.
    """
    # apt in the chroot needs the host's name servers to reach the mirror; slim() empties the file again.
    write_in_tree(root / "etc" / "resolv.conf", Path("/etc/resolv.conf").read_text())
    # No service may start inside the chroot while packages are configured.
    policy = root / "usr" / "sbin" / "policy-rc.d"
    write_in_tree(policy, "#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    env = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}

    def install(packages: list[str]) -> None:
        command = ["chroot", str(root), "apt-get", "install", "-y", "--no-install-recommends", *packages]
        run_logged(command, "apt-get install in the chroot", log, env)

    proc = root / "proc"
    daemons.run(["mount", "-t", "proc", "proc", str(proc)], f"mount /proc in {root}")
    try:
        run_logged(["chroot", str(root), "apt-get", "update"], "apt-get update in the chroot", log, env)
        yield install
        run_logged(["chroot", str(root), "apt-get", "clean"], "apt-get clean in the chroot", log, env)
    finally:
        daemons.run(["umount", str(proc)], f"unmount {proc}")
        policy.unlink()


def chroot_output(root: Path, args: list[str]) -> str:
    result = subprocess.run(["chroot", str(root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise CatalogError(f"{' '.join(args)} failed in {root}: {result.stderr.strip()}")
    return result.stdout.strip()
