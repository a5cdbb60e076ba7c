"""`manage.py author`: watch lessons/content, reload the course on every save, and serve the live preview.

The preview is at /teach/author/ (staff only): each lesson, its questions and its exercises as learners see
them, the loader's and the checks spec's errors with their file and line, and a button that grades an
exercise's solution and starter in the sandbox. The watcher runs in a thread of this process, next to the
web server, so the preview knows when the course was last reloaded and refreshes itself.
"""

from __future__ import annotations

import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from lessons import authoring


class Command(BaseCommand):
    help = "Watch lessons/content, reload the course when a file changes, and serve the preview at /teach/author/."

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport",
            nargs="?",
            default="127.0.0.1:8001",
            help="where to serve the preview (default 127.0.0.1:8001, next to make run)",
        )
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the files")
        parser.add_argument("--no-server", action="store_true", help="only watch and reload; serve nothing")

    def handle(self, *args, addrport: str, interval: float, no_server: bool, **options):
        watcher = authoring.Watcher(interval=interval)
        authoring.active_watcher = watcher
        self.report(watcher.poll())
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop, self.report), name="course-watcher", daemon=True)
        thread.start()
        self.stdout.write(f"Watching {watcher.root} every {interval:g} s.")
        try:
            if no_server:
                stop.wait()
            else:
                self.stdout.write(f"The preview is at http://{addrport}/teach/author/ (log in as a staff user).")
                call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            thread.join(timeout=5)
            authoring.active_watcher = None

    def report(self, reloaded: authoring.Reload) -> None:
        changed = f" ({', '.join(reloaded.changed[:5])}{' …' if len(reloaded.changed) > 5 else ''})"
        when = reloaded.at.strftime("%H:%M:%S")
        if reloaded.ok:
            summary = reloaded.summary
            self.stdout.write(
                self.style.SUCCESS(
                    f"{when} Loaded {summary.lessons} lessons, {summary.exercises} exercises and {summary.questions} "
                    f"questions in {reloaded.seconds:.1f} s" + (changed if reloaded.changed else "")
                )
            )
            return
        self.stdout.write(
            self.style.ERROR(
                f"{when} Not loaded; the last good course stays. {len(reloaded.problems)} problem(s)"
                + (changed if reloaded.changed else "")
                + ":"
            )
        )
        for problem in reloaded.problems:
            self.stdout.write(f"  {problem}")
