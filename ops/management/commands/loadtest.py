"""`manage.py loadtest`: a class of learners against a whole Dockyard on this machine, with a fault if asked.

It starts its own Redis, its own sandbox daemons (prefix dockyard-lt), a web server and a worker, plays
--learners learners (ops/loadrun.py) over --minutes, injects the faults asked for, then prints the numbers and
writes them as JSON. Nothing the machine shares is touched. It fails (exit status 1) when a submission was
lost or stuck.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.livestack import LiveStack, OwnDaemons, RedisServer
from ops.loadrun import LoadRun, MemoryWatch, Plan


class Command(BaseCommand):
    help = "Play a class of learners submitting through the real API and WebSockets, with faults if asked."

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=int, default=40)
        parser.add_argument("--tries", type=int, default=3, help="submissions per learner (default 3)")
        parser.add_argument("--minutes", type=float, default=3.0, help="how long learners keep submitting")
        parser.add_argument("--drain-minutes", type=float, default=10.0, help="how long to wait for the last")
        parser.add_argument("--daemons", type=int, default=2, help="sandbox daemons of the run's own (default 2)")
        parser.add_argument("--prefix", default="dockyard-lt", help="name prefix of the run's own daemons")
        parser.add_argument("--kill-worker", action="store_true", help="SIGKILL the whole worker, then start one")
        parser.add_argument("--restart-redis", action="store_true", help="restart Redis (it keeps no data)")
        parser.add_argument("--kill-daemon", action="store_true", help="SIGKILL one sandbox daemon's dockerd")
        parser.add_argument("--fault-at", type=float, default=0.4, help="when, as a fraction of --minutes")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--output", default="", help="JSON file (default .state/loadtest-<time>.json)")
        parser.add_argument("--keep-daemons", action="store_true", help="leave the run's daemons running")

    def handle(self, *args, **options):
        plan = Plan(
            learners=options["learners"],
            tries=options["tries"],
            minutes=options["minutes"],
            drain_minutes=options["drain_minutes"],
            seed=options["seed"],
        )
        output = Path(
            options["output"] or settings.BASE_DIR / ".state" / f"loadtest-{time.strftime('%Y%m%d-%H%M%S')}.json"
        )
        options["logs"] = output.with_suffix(".logs")
        daemons = OwnDaemons(options["prefix"], count=options["daemons"])
        self.stdout.write(f"Starting {options['daemons']} sandbox daemons of the run's own ({options['prefix']}N)…")
        daemons.start()
        try:
            with tempfile.TemporaryDirectory(prefix="dockyard-load-") as workdir:
                report = self.run(Path(workdir), plan, daemons, options)
        finally:
            if not options["keep_daemons"]:
                daemons.stop()
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2) + "\n")
        self.print_report(report)
        self.stdout.write(f"\nWritten to {output}")
        if report["lost"] or report["stuck"]:
            raise CommandError(f"{report['lost']} submissions lost and {report['stuck']} stuck.")

    def run(self, workdir: Path, plan: Plan, daemons: OwnDaemons, options: dict) -> dict:
        redis_server = RedisServer(workdir).start()
        stack = LiveStack(workdir)
        watch = None
        try:
            self.stdout.write("Starting the web server and a worker…")
            stack.start(
                concurrency=daemons.count,
                extra_env={
                    "REDIS_URL": redis_server.url,
                    "SANDBOX_NAME_PREFIX": daemons.prefix,
                    "SANDBOX_COUNT": str(daemons.count),
                    "SANDBOX_DOCKER_HOST": "",
                    "SANDBOX_REMOTE_HOSTS": "",
                    "SUBMISSIONS_GLOBAL_QUEUE_CAP": str(max(100, plan.learners * 2)),
                },
            )
            watch = MemoryWatch(stack, daemons)
            watch.start()
            faults = self.faults(options, plan, stack, redis_server, daemons)
            names = ", ".join(name for _, name, _ in faults) or "none"
            self.stdout.write(
                f"{plan.learners} learners, {plan.tries} tries each, over {plan.minutes:g} minutes; faults: {names}"
            )
            load = LoadRun(stack, plan, settings.LESSONS_CONTENT_DIR, log=self.stdout.write)
            report = load.run(faults)
            report["peak_memory_mb"] = watch.stop()
            return report
        finally:
            if watch is not None:
                watch.stopped.set()
            stack.stop()
            redis_server.stop()
            keep_logs(workdir, options["logs"])

    def faults(self, options, plan, stack: LiveStack, redis_server: RedisServer, daemons: OwnDaemons) -> list:
        at = options["fault_at"] * plan.minutes * 60
        chosen = []

        def kill_worker():
            stack.kill_worker()
            # A supervisor (systemd, compose's restart policy) starts it again.
            time.sleep(2)
            stack.start_worker(concurrency=daemons.count)

        if options["kill_worker"]:
            chosen.append((at, "kill-worker", kill_worker))
        if options["restart_redis"]:
            chosen.append((at + 5, "restart-redis", lambda: redis_server.restart(down_seconds=2)))
        if options["kill_daemon"]:
            chosen.append((at + 10, "kill-daemon", lambda: daemons.kill(0)))
        return chosen

    def print_report(self, report: dict) -> None:
        def seconds(spread: dict) -> str:
            return f"p50 {spread['p50']} s, p95 {spread['p95']} s"

        faults = ", ".join(f"{f['fault']} at {f['at_seconds']} s" for f in report["faults"]) or "none"
        memory = report["peak_memory_mb"]
        lines = [
            "",
            f"Learners: {report['learners']} over {report['minutes']:g} minutes; faults: {faults}",
            f"  sent {report['sent']}, finished {report['finished']} {report['finished_by_status']}, "
            f"refused at submit {report['refused_at_submit']}",
            f"  lost {report['lost']}, stuck {report['stuck']}",
            f"  retried (not the learner's fault) {report['retried_not_learners_fault']}, "
            f"recovered after a lost task {report['recovered_after_a_lost_task']}",
            f"  queue wait: {seconds(report['queue_wait_seconds'])}",
            f"  first log line: {seconds(report['first_log_line_seconds'])}",
            f"  verdict: {seconds(report['verdict_seconds'])}",
            f"  builds per minute: {report['builds_per_minute']}",
            f"  peak memory: web {memory['web']} MB, worker {memory['worker']} MB, daemons {memory['daemons']} MB",
        ]
        self.stdout.write("\n".join(lines))


def keep_logs(workdir: Path, folder: Path) -> None:
    """Keep the servers' logs next to the JSON, for reading what happened during a fault."""
    folder.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("*.log"):
        shutil.copy(log, folder / log.name)
