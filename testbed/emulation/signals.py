"""Ctrl-C and SIGTERM end a run at its next safe point instead of inside a netlink or
Docker call (which would leave sockets unusable), so the run always removes what it made."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def stop_on_signals(stop: threading.Event, say: Callable[[str], None]) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM set `stop` (and `say` which one came)."""
    controller_pid = os.getpid()

    def handler(signum: int, _: Any) -> None:
        if os.getpid() != controller_pid:  # a forked helper inherited the handler
            return
        say(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
