"""The exit watch with real child processes: an exit is reported once, a stopped (paused)
process is not an exit, and nothing is left open."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from testbed.emulation.exits import ExitWatch


def _wait_for_exits(watch: ExitWatch) -> list[int]:
    deadline = time.monotonic() + 5
    while not (found := watch.exited()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def test_an_exit_is_reported_once_and_a_paused_process_is_not_one() -> None:
    children = [subprocess.Popen(["sleep", "30"]) for _ in range(3)]
    watch = ExitWatch({index: child.pid for index, child in enumerate(children)})
    try:
        assert watch.exited() == []
        children[1].send_signal(signal.SIGSTOP)
        children[2].kill()
        children[2].wait()
        assert _wait_for_exits(watch) == [2]
        assert watch.exited() == [], "reported once"
        children[0].kill()
        children[0].wait()
        assert _wait_for_exits(watch) == [0]
    finally:
        for child in children:
            child.kill()
            child.wait()
        opened = len(os.listdir("/proc/self/fd"))
        watch.close()
        assert len(os.listdir("/proc/self/fd")) == opened - 1, "the paused one's pidfd closed"
