"""The info service nodes query over the management network (Celestial's `info.celestial`).

It answers who a node is, which nodes exist, and the path between two nodes now or at a
future instant, straight from the topology engine the controller ticks. It runs in its own
thread with its own event loop so the tick loop never waits for a client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from testbed.emulation.runstate import NodeRecord
from testbed.orbit.timebase import format_instant, parse_instant
from testbed.topology.paths import PathMatrix

INFO_PORT = 7070


class TopologySource(Protocol):
    """What the service needs from the controller."""

    def current_paths(self) -> PathMatrix: ...

    def paths_at(self, moment: datetime) -> PathMatrix: ...

    def node_records(self) -> list[NodeRecord]: ...


def path_record(matrix: PathMatrix, source: str, destination: str) -> dict[str, Any]:
    """One pair of a path matrix as a JSON document (`null` numbers when unreachable)."""
    i, j = matrix.index(source), matrix.index(destination)
    reachable = bool(matrix.reachable[i, j])

    def number(values: Any) -> float | None:
        return float(values[i, j]) if reachable else None

    return {
        "time": format_instant(matrix.time),
        "source": source,
        "destination": destination,
        "reachable": reachable,
        "delay_ms": number(matrix.delay_ms),
        "bandwidth_mbps": number(matrix.bandwidth_mbps),
        "loss": number(matrix.loss),
        "hops": int(matrix.hops[i, j]) if reachable else None,
        "route": matrix.route(source, destination),
    }


def _matrix_for(source: TopologySource, request: web.Request) -> PathMatrix:
    at = request.query.get("at")
    if at is None:
        return source.current_paths()
    try:
        return source.paths_at(parse_instant(at))
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"at: {error}") from None


def make_app(source: TopologySource) -> web.Application:
    """Routes: /health, /self, /nodes, /path/{a}/{b}[?at=ISO], /matrix[?at=ISO]."""
    routes = web.RouteTableDef()

    @routes.get("/health")
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    @routes.get("/nodes")
    async def nodes(_: web.Request) -> web.Response:
        return web.json_response([record.model_dump() for record in source.node_records()])

    @routes.get("/self")
    async def self_record(request: web.Request) -> web.Response:
        for record in source.node_records():
            if record.management_address == request.remote:
                return web.json_response(record.model_dump())
        raise web.HTTPNotFound(text=f"no node has management address {request.remote}")

    @routes.get("/path/{source}/{destination}")
    async def path(request: web.Request) -> web.Response:
        matrix = await asyncio.to_thread(_matrix_for, source, request)
        try:
            record = path_record(
                matrix, request.match_info["source"], request.match_info["destination"]
            )
        except KeyError as error:
            raise web.HTTPNotFound(text=str(error.args[0])) from None
        return web.json_response(record)

    @routes.get("/matrix")
    async def matrix(request: web.Request) -> web.Response:
        found = await asyncio.to_thread(_matrix_for, source, request)
        return web.json_response(found.to_json())

    app = web.Application()
    app.add_routes(routes)
    return app


class InfoServer:
    """Serve `make_app(source)` on host:port from a background thread until `stop()`."""

    def __init__(self, source: TopologySource, host: str, port: int = INFO_PORT) -> None:
        self._app_factory: Callable[[], web.Application] = lambda: make_app(source)
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> InfoServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._app_factory(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
