"""`manage.py sandbox start|stop|status|catalog [--rebuild]`: run the sandbox daemons and their catalog."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from sandbox import catalog, daemons, health
from sandbox.daemons import SandboxSetupError
from sandbox.models import Submission


def megabytes(size: int | None) -> str:
    return "?" if size is None else f"{size / 1024**2:,.0f} MB"


def free_bytes(state: daemons.DaemonStatus) -> int | None:
    if state.disk_total_bytes is None or state.disk_used_bytes is None:
        return None
    return state.disk_total_bytes - state.disk_used_bytes


def ago(timestamp: float) -> str:
    seconds = max(0, int(time.time() - timestamp))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def last_build(docker_host: str) -> str | None:
    """The last submission that ran on this daemon, in words; None when there is none (or no database)."""
    try:
        last = Submission.objects.filter(docker_host=docker_host).order_by("-started_at").first()
    except DatabaseError:
        return None
    if last is None:
        return None
    started = last.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") if last.started_at else "never started"
    return f"submission {last.pk}, {last.get_status_display().lower()}, started {started}"


class Command(BaseCommand):
    help = "Start, stop or show the sandbox Docker daemons, or build and load the base-image catalog."
    # The daemons are infrastructure: they must start even while the web app has a problem to fix.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status", "catalog"])
        parser.add_argument(
            "--rebuild", action="store_true", help="catalog: remake every image, the Debian tree and the wheels"
        )

    def handle(self, *args, action: str, rebuild: bool = False, **options):
        try:
            getattr(self, action)(rebuild)
        except SandboxSetupError as error:
            raise CommandError(str(error)) from None

    def start(self, rebuild: bool) -> None:
        for d in daemons.start_all():
            self.stdout.write(f"{d.name}: running at {d.docker_host}")
        self.catalog(rebuild)

    def stop(self, rebuild: bool) -> None:
        stopped = {d.name for d in daemons.stop_all()}
        for d in daemons.all_daemons():
            self.stdout.write(f"{d.name}: {'stopped' if d.name in stopped else 'was not running'}")

    def status(self, rebuild: bool) -> None:
        """Each daemon: whether it answers now, its free disk, its last build, and what the upkeep last saw."""
        checks = health.last_checks()
        for d, state in zip(daemons.all_daemons(), daemons.status_all(), strict=True):
            if state.running:
                disk = f"disk {megabytes(state.disk_used_bytes)} used, {megabytes(free_bytes(state))} free"
                where = f"pid {state.pid}, " if state.pid else ""
                self.stdout.write(f"{state.name}: healthy, {where}{disk}, at {state.docker_host}")
                self.stdout.write(f"  images: {', '.join(state.images) or 'none'}")
            else:
                self.stdout.write(f"{state.name}: down {state.error}".rstrip())
            last = last_build(d.docker_host)
            if last is not None:
                self.stdout.write(f"  last build: {last}")
            check = checks.get(health.pool_key(d.docker_host))
            if check is not None:
                seen = "up" if check.up else f"down ({check.error})"
                restarted = ", restarted it" if check.restarted else ""
                self.stdout.write(f"  upkeep: {seen} {ago(check.checked_at)}{restarted}")

    def catalog(self, rebuild: bool) -> None:
        started = time.monotonic()
        for built in catalog.build_catalog(rebuild=rebuild):
            verb = f"built in {built.seconds:.0f} s" if built.rebuilt else "cached"
            self.stdout.write(f"{built.name}: {verb} ({megabytes(built.tarball.stat().st_size)})")
        for loaded in catalog.load_all():
            verb = f"loaded in {loaded.seconds:.1f} s" if loaded.loaded else "already loaded"
            self.stdout.write(f"{loaded.daemon}: {loaded.name} {verb}")
        self.stdout.write(self.style.SUCCESS(f"Catalog ready in {time.monotonic() - started:.0f} s."))
