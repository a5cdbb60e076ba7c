"""The sandbox's own registry: Debian's docker-registry, one per local sandbox daemon, on that daemon's loopback.

Each local daemon runs in a network namespace that has only loopback (sandbox/daemons.py). `manage.py sandbox
start` also starts `docker-registry serve` inside that namespace, listening on 127.0.0.1:5000, with its
storage on the daemon's capped disk. Docker treats a registry on
localhost as one it may use without TLS, so a lab's `docker push localhost:5000/shop/web:1.0` works while no
byte leaves the namespace: nothing but that one daemon can reach this registry (the daemon's containers have
namespaces of their own, and the registry listens on the daemon's loopback only).

A daemon runs one lab at a time (the lease, sandbox/leases.py), and the registry is emptied before and after
each lab (sandbox/labs/runner.py), so a lab sees only its own repositories. The grader reads what a lab pushed
from the storage folder, which the registry's filesystem driver keeps as plain files:
`docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link` holds the tag's digest.

A daemon run by someone else (a remote daemon) has no registry of ours; labs that push say so in words.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings

BINARY = "/usr/bin/docker-registry"
ADDRESS = "127.0.0.1:5000"
V2 = Path("docker") / "registry" / "v2"


def storage(daemon_root: Path) -> Path:
    # On the daemon's loop-mounted disk (next to dockerd's own folders), so pushes count against its size cap.
    return daemon_root / "data" / "dockyard-registry"


def config_file(daemon_root: Path) -> Path:
    return daemon_root / "registry.yml"


def pidfile(daemon_root: Path) -> Path:
    return daemon_root / "registry.pid"


def log_file(daemon_root: Path) -> Path:
    return daemon_root / "registry.log"


def config_text(daemon_root: Path) -> str:
    # No blob descriptor cache: the repositories are removed as files between labs, and a cache would outlive
    # them. Deleting is on so that the files are all there is to the registry's state.
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage(daemon_root)}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {ADDRESS}\n"
    )


def installed() -> bool:
    """True when Debian's docker-registry (scripts/setup.sh installs it) is on this machine."""
    return os.path.exists(BINARY)


def prepare(daemon_root: Path) -> list[str] | None:
    """Write the registry's config and empty its storage; the command that serves it, or None if not installed.

    The command must be started inside the daemon's network namespace. It runs as root, like the daemon it
    serves: its storage is on the daemon's capped disk, whose mount point dockerd keeps closed to other users
    (mode 0710, group of the remapped root), and only that daemon can reach it.
    """
    if not installed():
        return None
    config_file(daemon_root).write_text(config_text(daemon_root))
    folder = storage(daemon_root)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return [BINARY, "serve", str(config_file(daemon_root))]


def daemon_root_of(docker_host: str) -> Path | None:
    """The folder of a local sandbox daemon (whose registry this module runs) from its address; None otherwise."""
    if not docker_host.startswith("unix://"):
        return None
    root = Path(docker_host.removeprefix("unix://")).parent
    return root if root.parent == Path(settings.SANDBOX_ROOT) else None


def has_registry(docker_host: str) -> bool:
    root = daemon_root_of(docker_host)
    return root is not None and pidfile(root).exists() and storage(root).is_dir()


def empty(docker_host: str) -> None:
    """Remove every repository and blob from the daemon's registry: nothing of one lab is there for the next."""
    root = daemon_root_of(docker_host)
    if root is not None:
        shutil.rmtree(storage(root) / V2, ignore_errors=True)


def tags(docker_host: str, repository: str) -> dict[str, str] | None:
    """{tag: digest} of a repository (`shop/web`) in the daemon's registry; None when it has no such repository."""
    root = daemon_root_of(docker_host)
    if root is None:
        return None
    folder = storage(root) / V2 / "repositories" / repository
    if not (folder / "_manifests").is_dir():
        return None
    found = {}
    for tag in sorted((folder / "_manifests" / "tags").glob("*/current/link")):
        found[tag.parent.parent.name] = tag.read_text().strip()
    return found


def repositories(docker_host: str) -> list[str]:
    """Every repository in the daemon's registry (`shop/web`), for evidence."""
    root = daemon_root_of(docker_host)
    if root is None:
        return []
    base = storage(root) / V2 / "repositories"
    return sorted(str(path.parent.relative_to(base)) for path in base.glob("**/_manifests"))
