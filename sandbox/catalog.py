"""The offline base-image catalog (docs/architecture.md, "Sandbox facts").

No registry can be reached, so the images learners may name in FROM are made here from Debian packages:

- busybox:latest          Debian's static busybox, its applet links and a minimal /etc.
- debian:bookworm-slim    debootstrap --variant=minbase, slimmed like the official image.
- python:3.11-slim        the Debian tree plus python3, pip and venv, with an offline wheelhouse in
                          /opt/wheels and /etc/pip.conf pointing at it, so `pip install` works with no network.
- redis:7                 Debian bookworm's redis-server package (Redis 7.0.x), not the upstream redis image:
                          redis-server in the foreground on 0.0.0.0:6379 with protected mode off, run as the
                          redis user, data in the volume /data, redis-cli inside.
- postgres:15             Debian bookworm's postgresql-15 package, not the upstream postgres image: an
                          entrypoint that initialises PGDATA (the volume /var/lib/postgresql/data) on the first
                          start from POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB and POSTGRES_HOST_AUTH_METHOD,
                          then runs postgres as the postgres user on every address; psql and pg_isready inside.

Some catalog images carry more tags, listed in ALIASES: the same image under the more precise tags an
upstream image has too (`python:3.11.2-slim-bookworm`), so exercises can ask learners to choose how tightly to
pin. Each alias names exactly what its image holds (Python 3.11.2 on Debian 12, busybox 1.35), and
tests/test_catalog_images.py checks that it does.

One more image is built and loaded with the catalog but is not part of it, so learners can never name it in
FROM: PROBE_IMAGE, Debian with curl, netcat, redis-cli, psql, python3, ip and ps. The grader runs it in a
learner container's network namespace to probe services with its own tools.

Each image is made once into a tarball in settings.CATALOG_CACHE (a root filesystem is imported on one
sandbox daemon, then saved) and loaded into every daemon. A tarball is remade only when it is missing or
its recipe version changed; a daemon that already holds the same image id is skipped. Every image carries the
labels dockyard.catalog=1 and dockyard.catalog.recipe=VERSION.

When settings.CATALOG_REGISTRY_MIRROR is set, each daemon pulls the real images from that mirror instead, and
the probe as MIRROR/dockyard-probe:1 (push the tarball this module makes there).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
from django.conf import settings

from sandbox import daemons
from sandbox.clients import SandboxSetupError, make_client
from sandbox.daemons import Daemon
from sandbox.rootfs import (
    DEBIAN_TREE_VERSION,
    DEFAULT_PATH,
    POSTGRES_BIN,
    POSTGRES_DATA,
    POSTGRES_MAJOR,
    WHEELHOUSE_VERSION,
    CatalogError,
    build_busybox_rootfs,
    build_postgres_rootfs,
    build_probe_rootfs,
    build_python_rootfs,
    build_redis_rootfs,
    cache_dir,
    debian_tree,
    debian_tree_path,
    download_wheelhouse,
    file_version,
    remove_tree,
    wheelhouse_path,
)

# The grader's own tools (see the module docstring); never a base image learners may name.
PROBE_IMAGE = "dockyard-probe:1"

# Bump a version when its recipe changes; a cached tarball with another version is then remade.
RECIPE_VERSIONS = {
    "busybox:latest": "2-wget-timeout",
    "debian:bookworm-slim": f"1-tree{DEBIAN_TREE_VERSION}",
    "python:3.11-slim": f"1-tree{DEBIAN_TREE_VERSION}-wheels{WHEELHOUSE_VERSION}",
    "redis:7": f"1-tree{DEBIAN_TREE_VERSION}-entry{file_version('redis-entrypoint.sh')}",
    "postgres:15": f"1-tree{DEBIAN_TREE_VERSION}-entry{file_version('postgres-entrypoint.sh')}",
    PROBE_IMAGE: f"1-tree{DEBIAN_TREE_VERSION}",
}
# The image label org.opencontainers.image.description; {version} is the Debian package's version.
DESCRIPTIONS = {
    "redis:7": "Redis from Debian bookworm's redis-server package {version}, not the upstream redis image",
    "postgres:15": (
        f"PostgreSQL from Debian bookworm's postgresql-{POSTGRES_MAJOR} package {{version}}, "
        "not the upstream postgres image"
    ),
    PROBE_IMAGE: (
        "Dockyard's internal probe: Debian bookworm with curl, netcat, redis-cli, psql, python3, ip and ps; "
        "not a base image"
    ),
}
# More tags for catalog images: alias -> the catalog image it names. An alias is tagged on every daemon that
# holds its image, and FROM may name it whenever its image is in the catalog.
ALIASES = {
    "python:3.11-slim-bookworm": "python:3.11-slim",
    "python:3.11.2-slim-bookworm": "python:3.11-slim",
    "busybox:1.35": "busybox:latest",
    "busybox:1.35.0": "busybox:latest",
}
LABEL_CATALOG = "dockyard.catalog"
LABEL_RECIPE = "dockyard.catalog.recipe"
LABEL_PROBE = "dockyard.probe"
LABEL_DESCRIPTION = "org.opencontainers.image.description"


@dataclass
class Built:
    name: str
    tarball: Path
    image_id: str
    seconds: float
    rebuilt: bool


@dataclass
class Loaded:
    daemon: str
    name: str
    seconds: float
    loaded: bool


# --- Names ------------------------------------------------------------------------------------------------


def catalog_names() -> list[str]:
    """Every FROM reference a build accepts: the catalog's names and their docker.io forms.

    `busybox` and `busybox:latest` are the same reference to Docker, so a `:latest` entry also allows the
    bare name. The probe image is never one of them, even when CATALOG_IMAGES names it.
    """
    names = []
    for name in [*settings.CATALOG_IMAGES, *aliases_in_catalog()]:
        if name == PROBE_IMAGE:
            continue
        forms = [name]
        if name.endswith(":latest"):
            forms.append(name.removesuffix(":latest"))
        for form in forms:
            names += [form, f"docker.io/library/{form}"]
    return names


def aliases_in_catalog() -> list[str]:
    """The aliases whose image is in this deployment's catalog."""
    return [alias for alias, target in ALIASES.items() if target in settings.CATALOG_IMAGES]


def tag_aliases(client: docker.DockerClient) -> list[str]:
    """Tag each alias on the daemon's copy of its image (a tag costs nothing); returns the aliases tagged now."""
    tagged = []
    for alias in aliases_in_catalog():
        try:
            target = client.images.get(ALIASES[alias])
        except docker.errors.ImageNotFound:
            continue
        if image_id_or_none(client, alias) != target.id:
            target.tag(alias)
            tagged.append(alias)
    return tagged


def images_to_make() -> list[str]:
    """The catalog images, then the probe, which is built and loaded with them."""
    return [name for name in settings.CATALOG_IMAGES if name != PROBE_IMAGE] + [PROBE_IMAGE]


def slug(name: str) -> str:
    return name.replace("/", "_").replace(":", "_")


def tarball_path(name: str) -> Path:
    return Path(settings.CATALOG_CACHE) / f"{slug(name)}.tar"


def manifest_path(name: str) -> Path:
    return Path(settings.CATALOG_CACHE) / f"{slug(name)}.json"


def read_manifest(name: str) -> dict | None:
    try:
        return json.loads(manifest_path(name).read_text())
    except (OSError, ValueError):
        return None


def needs_build(name: str) -> bool:
    manifest = read_manifest(name)
    return (
        manifest is None
        or manifest.get("recipe") != RECIPE_VERSIONS[name]
        or not manifest.get("id")
        or not tarball_path(name).exists()
    )


def image_changes(name: str, version: str = "", package_version: str = "") -> list[str]:
    """The Dockerfile instructions applied on import: ENV, CMD and the rest like the official image, plus labels.

    `version` is the upstream version the official image puts in an ENV (PYTHON_VERSION, REDIS_VERSION,
    PG_VERSION); `package_version` is the Debian package's version, named in the description label.
    """
    path = f"{DEFAULT_PATH}:{POSTGRES_BIN}" if name.startswith("postgres:") else DEFAULT_PATH
    changes = [f"ENV PATH={path}"]
    if name.startswith("python:"):
        changes += ["ENV LANG=C.UTF-8", f"ENV PYTHON_VERSION={version}", 'CMD ["python3"]']
    elif name.startswith("debian:"):
        changes.append('CMD ["bash"]')
    elif name.startswith("redis:"):
        changes += [
            f"ENV REDIS_VERSION={version}",
            "WORKDIR /data",
            "VOLUME /data",
            "EXPOSE 6379",
            'ENTRYPOINT ["docker-entrypoint.sh"]',
            'CMD ["redis-server"]',
        ]
    elif name.startswith("postgres:"):
        changes += [
            "ENV LANG=en_US.utf8",
            f"ENV PG_MAJOR={POSTGRES_MAJOR}",
            f"ENV PG_VERSION={version}",
            f"ENV PGDATA={POSTGRES_DATA}",
            f"VOLUME {POSTGRES_DATA}",
            "EXPOSE 5432",
            'ENTRYPOINT ["docker-entrypoint.sh"]',
            'CMD ["postgres"]',
        ]
    elif name == PROBE_IMAGE:
        changes += ["ENV LANG=C.UTF-8", 'CMD ["bash"]']
    else:
        changes.append('CMD ["sh"]')
    changes += [f"LABEL {LABEL_CATALOG}=1", f"LABEL {LABEL_RECIPE}={RECIPE_VERSIONS[name]}"]
    if name == PROBE_IMAGE:
        changes.append(f"LABEL {LABEL_PROBE}=1")
    if name in DESCRIPTIONS:
        description = DESCRIPTIONS[name].format(version=package_version)
        changes.append(f'LABEL {LABEL_DESCRIPTION}="{description}"')
    return changes


# --- Images -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One catalog build at a time on this machine, even when several workers start at once."""
    with open(cache_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def import_rootfs(d: Daemon, root: Path, name: str, changes: list[str]) -> str:
    """`tar -C root -c . | docker import --change ... - name` on one daemon; returns the image id."""
    tar = [
        "tar",
        "--numeric-owner",
        "--exclude=./dev/*",
        "--exclude=./proc/*",
        "--exclude=./sys/*",
        "--exclude=./.dockyard-tree-version",
        "-C",
        str(root),
        "-c",
        ".",
    ]
    importer = [settings.DOCKER_CLI, "import"]
    for change in changes:
        importer += ["--change", change]
    importer += ["-", name]
    env = dict(os.environ, DOCKER_HOST=d.docker_host)
    packer = subprocess.Popen(tar, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    result = subprocess.run(importer, stdin=packer.stdout, capture_output=True, text=True, env=env)
    packer.stdout.close()
    tar_error = packer.stderr.read().decode(errors="replace")
    packer.wait()
    if packer.returncode != 0 or result.returncode != 0:
        raise CatalogError(f"Importing {name} failed: {tar_error.strip()} {result.stderr.strip()}".strip())
    return result.stdout.strip()


def save_image(d: Daemon, name: str, path: Path) -> str:
    """`docker save` to a file (written under a temporary name first); returns the image id."""
    client = make_client(d.docker_host, timeout=600, ping=False)
    try:
        image = client.images.get(name)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as out:
            for chunk in image.save(named=True):
                out.write(chunk)
        partial.rename(path)
        return image.id
    finally:
        client.close()


def build_image(d: Daemon, name: str, rebuild: bool) -> Built:
    """Make one catalog tarball unless a current one is cached."""
    started = time.monotonic()
    if not rebuild and not needs_build(name):
        return Built(name, tarball_path(name), read_manifest(name)["id"], 0.0, rebuilt=False)
    work = cache_dir() / "work" / slug(name)
    remove_tree(work)
    work.mkdir(parents=True)
    try:
        version = package = ""
        root = work
        if name == "busybox:latest":
            build_busybox_rootfs(work)
        elif name == "debian:bookworm-slim":
            root = debian_tree()
        elif name == "python:3.11-slim":
            version = build_python_rootfs(work, debian_tree(), download_wheelhouse())
        elif name == "redis:7":
            version, package = build_redis_rootfs(work, debian_tree())
        elif name == "postgres:15":
            version, package = build_postgres_rootfs(work, debian_tree())
        elif name == PROBE_IMAGE:
            build_probe_rootfs(work, debian_tree())
        else:
            raise CatalogError(f"There is no recipe for {name!r}; the catalog can make {', '.join(RECIPE_VERSIONS)}.")
        client = make_client(d.docker_host, ping=False)
        try:
            previous = image_id_or_none(client, name)
            import_rootfs(d, root, name, image_changes(name, version, package))
            image_id = save_image(d, name, tarball_path(name))
            if previous not in (None, image_id):
                remove_old_image(client, previous)
        finally:
            client.close()
    finally:
        remove_tree(work)
    manifest = {"name": name, "recipe": RECIPE_VERSIONS[name], "id": image_id}
    manifest_path(name).write_text(json.dumps(manifest, indent=2) + "\n")
    return Built(name, tarball_path(name), image_id, time.monotonic() - started, rebuilt=True)


def build_catalog(rebuild: bool = False) -> list[Built]:
    """Make every missing or outdated catalog tarball (and the probe's), importing on the first sandbox daemon."""
    if settings.CATALOG_REGISTRY_MIRROR:
        return []
    names = images_to_make()
    unknown = [name for name in names if name not in RECIPE_VERSIONS]
    if unknown:
        raise CatalogError(
            f"CATALOG_IMAGES names {', '.join(unknown)}, which the catalog cannot make; it can make "
            f"{', '.join(name for name in RECIPE_VERSIONS if name != PROBE_IMAGE)}."
        )
    if not rebuild and not any(needs_build(name) for name in names):
        return [build_image(daemons.daemon(0), name, rebuild=False) for name in names]
    daemons.require_root()
    builder = daemons.daemon(0)
    try:
        daemons.wait_until_answers(builder, process=None, timeout=5)
    except SandboxSetupError as error:
        raise CatalogError(f"{error} Start the sandboxes first: python manage.py sandbox start") from None
    with build_lock():
        if rebuild:
            # The shared Debian tree and the wheelhouse are made afresh once, then used by every image.
            remove_tree(debian_tree_path())
            remove_tree(wheelhouse_path())
        return [build_image(builder, name, rebuild) for name in names]


# --- Loading into daemons ---------------------------------------------------------------------------------


def load_into(d: Daemon) -> list[Loaded]:
    """Make sure the daemon holds every catalog image; skip those it already has with the same id."""
    if settings.CATALOG_REGISTRY_MIRROR:
        return pull_into(d)
    results = []
    client = make_client(d.docker_host, timeout=600, ping=False)
    try:
        for name in images_to_make():
            started = time.monotonic()
            manifest = read_manifest(name)
            if manifest is None or not tarball_path(name).exists():
                raise CatalogError(f"The catalog tarball for {name} is missing; run `manage.py sandbox catalog`.")
            current = image_id_or_none(client, name)
            if current == manifest["id"]:
                results.append(Loaded(d.name, name, time.monotonic() - started, loaded=False))
                continue
            with open(tarball_path(name), "rb") as tarball:
                client.images.load(tarball)
            if image_id_or_none(client, name) != manifest["id"]:
                raise CatalogError(f"Loading {tarball_path(name)} into {d.name} did not give image {manifest['id']}.")
            if current is not None:
                # The aliases move to the new image first, so the old one has no tag left and can go.
                tag_aliases(client)
                remove_old_image(client, current)
            results.append(Loaded(d.name, name, time.monotonic() - started, loaded=True))
        tag_aliases(client)
    finally:
        client.close()
    return results


def image_id_or_none(client: docker.DockerClient, name: str) -> str | None:
    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        return None


def remove_old_image(client: docker.DockerClient, image_id: str) -> None:
    """Free the space of a replaced catalog image; one still used by a container simply stays."""
    try:
        client.images.remove(image_id)
    except docker.errors.APIError:
        pass


def pull_into(d: Daemon) -> list[Loaded]:
    """Online deployments: pull each catalog image from the registry mirror and tag it with its plain name."""
    mirror = settings.CATALOG_REGISTRY_MIRROR.split("://", 1)[-1].rstrip("/")
    results = []
    client = make_client(d.docker_host, timeout=600, ping=False)
    try:
        for name in images_to_make():
            started = time.monotonic()
            if image_id_or_none(client, name) is not None:
                results.append(Loaded(d.name, name, 0.0, loaded=False))
                continue
            repository, tag = name.rsplit(":", 1)
            # Official images live under library/ in a registry; the probe is Dockyard's own.
            if "/" not in repository and name != PROBE_IMAGE:
                repository = f"library/{repository}"
            try:
                image = client.images.pull(f"{mirror}/{repository}", tag=tag)
            except docker.errors.APIError as error:
                raise CatalogError(f"Pulling {name} from {mirror} into {d.name} failed: {error}") from None
            image.tag(name)
            results.append(Loaded(d.name, name, time.monotonic() - started, loaded=True))
        tag_aliases(client)
    finally:
        client.close()
    return results


def load_all() -> list[Loaded]:
    """Load the catalog into every sandbox daemon."""
    results = []
    for d in daemons.all_daemons():
        results += load_into(d)
    return results
