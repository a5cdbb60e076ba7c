"""A queue worker. With no arguments it waits for jobs until SIGTERM; `--once JOB` runs one job and exits."""

import os
import signal
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("DATA_DIR", "/app/data"))


def shutdown(signum, frame):
    print("SIGTERM received, finishing up", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, shutdown)
if not (DATA / "ready").exists():
    sys.exit(f"{DATA} is not prepared: the entrypoint script must run before the worker.")
if len(sys.argv) >= 3 and sys.argv[1] == "--once":
    extra = f" (and ignored the extra arguments {sys.argv[3:]})" if len(sys.argv) > 3 else ""
    print(f"processed job {sys.argv[2]!r}{extra}", flush=True)
    sys.exit(0)
print("worker started", flush=True)
while True:
    time.sleep(1)
