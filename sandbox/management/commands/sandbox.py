"""`manage.py sandbox start|stop|status|catalog [--rebuild]`: run the sandbox daemons and their catalog."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from sandbox import catalog, daemons
from sandbox.daemons import SandboxSetupError


def megabytes(size: int | None) -> str:
    return "?" if size is None else f"{size / 1024**2:,.0f} MB"


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
        for state in daemons.status_all():
            if not state.running:
                self.stdout.write(f"{state.name}: stopped {state.error}".rstrip())
                continue
            disk = f"disk {megabytes(state.disk_used_bytes)} of {megabytes(state.disk_total_bytes)}"
            pid = f"pid {state.pid}, " if state.pid else ""
            self.stdout.write(f"{state.name}: running, {pid}{disk}, at {state.docker_host}")
            self.stdout.write(f"  images: {', '.join(state.images) or 'none'}")

    def catalog(self, rebuild: bool) -> None:
        started = time.monotonic()
        for built in catalog.build_catalog(rebuild=rebuild):
            verb = f"built in {built.seconds:.0f} s" if built.rebuilt else "cached"
            self.stdout.write(f"{built.name}: {verb} ({megabytes(built.tarball.stat().st_size)})")
        for loaded in catalog.load_all():
            verb = f"loaded in {loaded.seconds:.1f} s" if loaded.loaded else "already loaded"
            self.stdout.write(f"{loaded.daemon}: {loaded.name} {verb}")
        self.stdout.write(self.style.SUCCESS(f"Catalog ready in {time.monotonic() - started:.0f} s."))
