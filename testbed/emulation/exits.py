"""Which node containers have exited, asked of the kernel once per tick in one poll.

Each container's main process is held by a pidfd, which turns readable when that process
exits (and only then: a paused container's does not); the pidfd names that very process, so
a PID reused later cannot be mistaken for it.
"""

from __future__ import annotations

import os
import select
from collections.abc import Mapping


class ExitWatch:
    """pidfds of the nodes' main processes, by node index; `exited()` polls them at once."""

    def __init__(self, pids: Mapping[int, int]) -> None:
        self._poll = select.poll()
        self._node_of: dict[int, int] = {}
        try:
            for node, pid in pids.items():
                self.watch(node, pid)
        except BaseException:
            self.close()
            raise

    def watch(self, node: int, pid: int) -> None:
        """Watch one more node's main process (a node started on demand)."""
        fd = os.pidfd_open(pid)
        self._node_of[fd] = node
        self._poll.register(fd, select.POLLIN)

    def forget(self, node: int) -> None:
        """Stop watching `node` (its container is removed on purpose)."""
        for fd in [fd for fd, watched in self._node_of.items() if watched == node]:
            self._poll.unregister(fd)
            del self._node_of[fd]
            os.close(fd)

    def exited(self) -> list[int]:
        """Nodes whose main process exited since the last call (each reported once)."""
        nodes = []
        for fd, _ in self._poll.poll(0):
            self._poll.unregister(fd)
            nodes.append(self._node_of.pop(fd))
            os.close(fd)
        return sorted(nodes)

    def close(self) -> None:
        for fd in self._node_of:
            os.close(fd)
        self._node_of.clear()
