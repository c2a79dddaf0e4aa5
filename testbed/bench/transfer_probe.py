"""Raw TCP transfers between two nodes, timed by the sender: the probe of `bench transfers`.

Runs inside the nodes (`python3 -m testbed.bench.transfer_probe serve|send ...`) and needs
nothing but the standard library. A transfer is an 8-byte length, that many bytes, and a
one-byte answer once the receiver holds them all; the sender's clock runs from connect
(fresh connections) or the first byte (reused ones) until the answer is back. `send`
prints one JSON line per batch: `flows` transfers started together, their makespan.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Sequence

_LENGTH = struct.Struct("!Q")
_CHUNK_BYTES = 1 << 20
_ANSWER = b"k"
PROBE_PORT = 5300
CONNECT_TIMEOUT_S = 10.0
TRANSFER_TIMEOUT_S = 300.0


def _receive_exactly(conn: socket.socket, count: int) -> bool:
    """Read and drop `count` bytes; False if the peer closed first."""
    view = memoryview(bytearray(min(count, _CHUNK_BYTES) or 1))
    while count:
        got = conn.recv_into(view, min(count, len(view)))
        if not got:
            return False
        count -= got
    return True


def _serve_connection(conn: socket.socket) -> None:
    with conn:
        while True:
            header = bytearray()
            while len(header) < _LENGTH.size:
                piece = conn.recv(_LENGTH.size - len(header))
                if not piece:
                    return
                header += piece
            (size,) = _LENGTH.unpack(header)
            if not _receive_exactly(conn, size):
                return
            conn.sendall(_ANSWER)


def serve(port: int) -> None:
    """Answer transfers on `port` until killed, each connection in its own thread."""
    listener = socket.create_server(("", port), reuse_port=True, backlog=64)
    print(f"listening on {port}", flush=True)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_serve_connection, args=(conn,), daemon=True).start()


def _connect(host: str, port: int) -> socket.socket:
    conn = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    conn.settimeout(TRANSFER_TIMEOUT_S)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _transfer(conn: socket.socket, payload: memoryview) -> None:
    conn.sendall(_LENGTH.pack(len(payload)))
    conn.sendall(payload)
    if conn.recv(1) != _ANSWER:
        raise ConnectionError("the receiver closed before answering")


class _Flow:
    """One sender thread's connection (kept when reused) and its last transfer's times."""

    def __init__(self, host: str, port: int, fresh: bool) -> None:
        self.host, self.port, self.fresh = host, port, fresh
        self.conn: socket.socket | None = None if fresh else _connect(host, port)
        self.started = self.ended = 0.0
        self.error: str | None = None

    def run(self, payload: memoryview, go: threading.Barrier) -> None:
        try:
            go.wait()
            self.started = time.perf_counter()
            if self.fresh:
                with _connect(self.host, self.port) as conn:
                    _transfer(conn, payload)
            else:
                assert self.conn is not None
                _transfer(self.conn, payload)
            self.ended = time.perf_counter()
        except (OSError, threading.BrokenBarrierError) as error:
            self.error = f"{type(error).__name__}: {error}"

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def send(host: str, port: int, size: int, repeats: int, flows: int, fresh: bool) -> int:
    """`repeats` batches of `flows` transfers of `size` bytes; reused connections carry one
    warm-up batch first (not printed) so their windows are open, as a busy connection's are."""
    payload = memoryview(bytes(size))
    senders = [_Flow(host, port, fresh) for _ in range(flows)]
    try:
        for batch in range(-1 if not fresh else 0, repeats):
            go = threading.Barrier(flows)
            threads = [threading.Thread(target=f.run, args=(payload, go)) for f in senders]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            errors = [f.error for f in senders if f.error]
            if errors:
                print(json.dumps({"error": errors[0]}), flush=True)
                return 1
            if batch >= 0:
                makespan = max(f.ended for f in senders) - min(f.started for f in senders)
                flow_s = [f.ended - f.started for f in senders]
                print(json.dumps({"seconds": makespan, "flow_seconds": flow_s}), flush=True)
    finally:
        for flow in senders:
            flow.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="transfer_probe")
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve")
    serving.add_argument("--port", type=int, default=PROBE_PORT)
    sending = commands.add_parser("send")
    sending.add_argument("--to", required=True)
    sending.add_argument("--port", type=int, default=PROBE_PORT)
    sending.add_argument("--size", type=int, required=True)
    sending.add_argument("--repeats", type=int, default=5)
    sending.add_argument("--flows", type=int, default=1)
    sending.add_argument("--fresh", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port)
        return 0
    return send(args.to, args.port, args.size, args.repeats, args.flows, args.fresh)


if __name__ == "__main__":
    sys.exit(main())
