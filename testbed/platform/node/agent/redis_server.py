"""The node's own Redis server: started, watched and restarted (a bounded number of times).

No persistence (a node's state lives as long as the emulation) and bound to the agent's
host, so that the other nodes' agents reach it over the emulated network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

import redis.asyncio as redis

LOG = logging.getLogger(__name__)

READY_TIMEOUT_S = 5.0
READY_POLL_S = 0.05
STOP_TIMEOUT_S = 5.0
MAX_RESTARTS = 5


def _client_host(bind_host: str) -> str:
    """Where this host reaches a server bound to `bind_host` (any address: loopback)."""
    return "127.0.0.1" if bind_host in ("0.0.0.0", "::") else bind_host


class RedisServer:
    """One supervised `redis-server` process in a private temporary directory."""

    def __init__(
        self,
        host: str,
        port: int,
        executable: str = "redis-server",
        max_restarts: int = MAX_RESTARTS,
    ) -> None:
        self.host = host
        self.port = port
        self.client_host = _client_host(host)
        self._executable = executable
        self._max_restarts = max_restarts
        self._workdir = tempfile.TemporaryDirectory(prefix=f"leotrek-redis-{port}-")
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._ready = False
        self.restarts = 0

    @property
    def up(self) -> bool:
        return self._ready and self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        """Start the server, wait until it answers, then watch it."""
        await self._spawn()
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        """Stop watching, terminate the server (kill it if it lingers), remove its directory."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()
        self._ready = False
        self._workdir.cleanup()

    async def _spawn(self) -> None:
        workdir = Path(self._workdir.name)
        self._ready = False
        self._process = await asyncio.create_subprocess_exec(
            self._executable,
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(workdir),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "no",
            "--logfile", str(workdir / "redis.log"),
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        """Poll PING until the server answers; raise if it exits or stays silent."""
        client = redis.Redis(host=self.client_host, port=self.port)
        try:
            for _ in range(int(READY_TIMEOUT_S / READY_POLL_S)):
                assert self._process is not None
                if self._process.returncode is not None:
                    raise RuntimeError(f"redis-server exited with {self._process.returncode}")
                with contextlib.suppress(redis.ConnectionError):
                    if await client.ping():
                        self._ready = True
                        return
                await asyncio.sleep(READY_POLL_S)
        finally:
            await client.aclose()
        raise RuntimeError(f"redis-server on port {self.port} not ready in {READY_TIMEOUT_S} s")

    async def _watch(self) -> None:
        """Restart the server whenever it exits, at most `max_restarts` times."""
        for attempt in range(1, self._max_restarts + 2):
            assert self._process is not None
            code = await self._process.wait()
            self._ready = False
            if attempt > self._max_restarts:
                LOG.error("redis-server exited with %s; no restarts left", code)
                return
            self.restarts = attempt
            LOG.warning("redis-server exited with %s; restart %d", code, attempt)
            try:
                await self._spawn()
            except (OSError, RuntimeError) as error:
                LOG.error("redis-server restart failed: %s", error)
