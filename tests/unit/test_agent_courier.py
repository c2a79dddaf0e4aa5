"""How an agent's casts leave: sent again after a failure on the way, given up after a
bounded number of attempts, never retried after a final answer; repeats recognised."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from testbed.platform.node.agent import courier
from testbed.platform.node.agent.courier import Courier, RecentIds
from testbed.platform.node.peers import DEAD_PEER_TIMEOUT_S, peer_socket
from testbed.platform.node.state import NodeClients


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(courier, "CAST_BACKOFF_S", (0.01, 0.02))


async def _serve(handler: web.RequestHandler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/cast", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/cast"


def test_a_cast_cut_on_the_way_is_sent_again_with_the_same_id() -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((await request.json())["mid"])
        if len(seen) == 1:
            assert request.transport is not None
            request.transport.close()  # the connection dies before any answer
        return web.json_response({"accepted": True}, status=202)

    async def main() -> tuple[str | None, Courier]:
        runner, url = await _serve(handler)
        sender = Courier("n1", "courier-test-secret")
        try:
            return await sender.cast(url, sender.stamp("f", "msg", "r1")), sender
        finally:
            await sender.close()
            await runner.cleanup()

    error, sender = asyncio.run(main())
    assert error is None
    assert len(seen) == 2 and seen[0] == seen[1], "the repeat carries the same message id"
    assert (sender.counters.sent, sender.counters.retries, sender.counters.given_up) == (1, 1, 0)
    assert sender.counters.in_flight == 0


def test_a_cast_that_never_gets_through_is_given_up_after_three_attempts() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    async def main() -> tuple[str | None, Courier]:
        sender = Courier("n1", "courier-test-secret")
        try:
            url = f"http://127.0.0.1:{closed_port}/cast"
            return await sender.cast(url, sender.stamp("f", "msg", "r1")), sender
        finally:
            await sender.close()

    error, sender = asyncio.run(main())
    assert error is not None and "given up after 3 attempts" in error
    assert (sender.counters.retries, sender.counters.given_up) == (2, 1)


def test_a_final_answer_is_not_sent_again() -> None:
    calls: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(1)
        return web.json_response({"error": "no instance x"}, status=404)

    async def main() -> str | None:
        runner, url = await _serve(handler)
        sender = Courier("n1", "courier-test-secret")
        try:
            return await sender.cast(url, sender.stamp("f", "msg", "r1"))
        finally:
            await sender.close()
            await runner.cleanup()

    error = asyncio.run(main())
    assert error is not None and error.startswith("HTTP 404") and len(calls) == 1


def test_ids_are_unique_and_repeats_are_recognised_within_capacity() -> None:
    async def stamps() -> set[str]:
        first, restarted = (
            Courier("n1", "courier-test-secret"),
            Courier("n1", "courier-test-secret"),
        )
        try:
            return {sender.stamp("f", "m", "r")["mid"] for sender in (first, restarted) * 3}
        finally:
            await first.close()
            await restarted.close()

    assert len(asyncio.run(stamps())) == 6, "unique, also across a restarted agent"
    recent = RecentIds(capacity=2)
    assert recent.first_time("a") and recent.first_time("b")
    assert not recent.first_time("a") and recent.repeats == 1
    assert recent.first_time("c"), "c pushes a out"
    assert recent.first_time("a"), "a is forgotten beyond the capacity"
    assert recent.first_time(None) and recent.first_time(None), "no id: never a repeat"


def test_connections_to_peers_give_up_on_a_silent_peer_after_the_dead_peer_timeout() -> None:
    sock = peer_socket((socket.AF_INET, socket.SOCK_STREAM, 0, "", ("127.0.0.1", 0)))
    with sock:
        timeout_ms = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
    assert timeout_ms == DEAD_PEER_TIMEOUT_S * 1000

    async def options() -> dict[int, int]:
        clients = NodeClients({"a": ("127.0.0.1", 6379)})
        try:
            return clients["a"].connection_pool.connection_kwargs["socket_keepalive_options"]
        finally:
            await clients.aclose()

    assert asyncio.run(options()) == {socket.TCP_USER_TIMEOUT: timeout_ms}, "state transfers too"
