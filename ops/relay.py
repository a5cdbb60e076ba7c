"""A TCP relay from this machine's loopback into a sandbox daemon's network namespace.

A local sandbox daemon lives in a network namespace that has nothing but its own loopback, so a TLS listener it
opens (SANDBOX_TLS_LISTEN_PORT) cannot be reached from outside. The pool's test reaches it through this relay
the way a worker reaches a daemon on another machine: over TCP, with TLS end to end (the relay only copies
bytes; it never sees the certificates' keys).

    python -m ops.relay --netns dockyard-tl1 --listen 40001 --to 2377

The listening socket is made on this machine's loopback first; then the process enters the daemon's namespace,
so every connection it opens to --to lands on the daemon's own loopback.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000


def enter_network_namespace(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    descriptor = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(descriptor, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"cannot enter the network namespace {name}: {os.strerror(error)}")
    finally:
        os.close(descriptor)


def copy(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes one way until the source ends, then end that direction on the target."""
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client: socket.socket, port: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=copy, args=(upstream, client), daemon=True)
    back.start()
    copy(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netns", required=True, help="the daemon's network namespace (its name)")
    parser.add_argument("--listen", type=int, required=True, help="port on this machine's 127.0.0.1")
    parser.add_argument("--to", type=int, required=True, help="port on the namespace's 127.0.0.1")
    args = parser.parse_args()
    listener = socket.create_server(("127.0.0.1", args.listen))
    enter_network_namespace(args.netns)
    print("ready", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, args.to), daemon=True).start()


if __name__ == "__main__":
    main()
