"""An app that needs its database when it starts, and gives up after a second without it (as many do)."""

import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DB_HOST = os.environ.get("DB_HOST", "db")


def connect(seconds: float = 1.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((DB_HOST, 5432), timeout=1).close()
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(f"connected to the database at {DB_HOST}:5432\n".encode())


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    connect()
except OSError as error:
    print(f"could not connect to the database at {DB_HOST}:5432: {error}", flush=True)
    sys.exit(1)
print(f"connected to the database at {DB_HOST}:5432", flush=True)
ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
