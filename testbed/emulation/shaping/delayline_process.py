"""Start, watch and stop the delay line processes of one fabric: one compiled `delayline`
per NFQUEUE (see delayline.c), each entering the fabric's namespace itself."""

from __future__ import annotations

import os
import selectors
import subprocess
from pathlib import Path

from testbed.emulation.shaping.delayline_build import delay_line_binary

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 3.0


class DelayLineError(RuntimeError):
    """The delay line did not start or died; carries the tail of its log."""


class DelayLineProcess:
    """One `delayline run` child serving NFQUEUE `queue`. It exits by itself when this
    process dies (PR_SET_PDEATHSIG); start it from the thread that lives as long as the
    fabric, as the signal follows the parent thread."""

    def __init__(
        self,
        fabric_netns_path: str,
        links: Path,
        log: Path,
        *,
        queue: int,
        spin_us: float,
        rt_priority: int,
    ) -> None:
        self.log = log
        argv = [
            str(delay_line_binary()), "run",
            "--netns", fabric_netns_path,
            "--links", str(links),
            "--queue", str(queue),
            "--parent-pid", str(os.getpid()),
            "--spin-us", str(spin_us),
            "--rt-priority", str(rt_priority),
        ]  # fmt: skip
        with open(log, "wb") as log_file:
            self._process = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=log_file, stdin=subprocess.DEVNULL
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            ready = selector.select(READY_TIMEOUT_S)
        line = self._process.stdout.readline() if ready else b""
        self._process.stdout.close()
        if line.strip() != b"ready":
            self.stop()
            raise DelayLineError(f"delay line did not start: {self.log_tail()}")

    @property
    def pid(self) -> int:
        return self._process.pid

    def check_alive(self) -> None:
        if self._process.poll() is not None:
            raise DelayLineError(
                f"delay line exited with status {self._process.returncode}: {self.log_tail()}"
            )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; idempotent."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:].strip() or "(empty log)"
        except FileNotFoundError:
            return "(no log)"
