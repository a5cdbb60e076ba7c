"""A background worker that shuts down cleanly when it receives SIGTERM."""

import signal
import sys
import time


def shutdown(signum, frame):
    print("SIGTERM received, finishing up", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, shutdown)
print("worker started", flush=True)
while True:
    time.sleep(1)
