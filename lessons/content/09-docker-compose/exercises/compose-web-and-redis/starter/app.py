"""A tiny web app that counts its visits in Redis (spoken to directly, in Redis's own protocol)."""

import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REDIS_HOST = os.environ.get("REDIS_HOST", "localhost")


def count_visit() -> int:
    with socket.create_connection((REDIS_HOST, 6379), timeout=2) as connection:
        connection.sendall(b"*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n")
        reply = connection.recv(64)
    if not reply.startswith(b":"):
        raise OSError(f"unexpected reply {reply!r}")
    return int(reply[1:].split(b"\r\n")[0])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            status, body = 200, f"hits: {count_visit()}\n"
        except OSError as error:
            status, body = 500, f"cannot reach Redis at {REDIS_HOST}:6379: {error}\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body.encode())


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"listening on 0.0.0.0:8000, Redis at {REDIS_HOST}:6379", flush=True)
ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
