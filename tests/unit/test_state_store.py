"""The state middleware against two real Redis servers on loopback, one per node."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from testbed.platform.contract import LinkSpec, StateAccess, TopologySpec
from testbed.platform.node.agent.state_backend import StateBackend
from testbed.platform.node.state.clients import NodeClients
from testbed.platform.node.state.graph import LatencyGraph, Link
from testbed.platform.node.state.keys import StateKey
from testbed.platform.node.state.policy import make_state_policy
from testbed.platform.node.state.store import StateStore

T = TypeVar("T")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# n1 - n2: 5 ms, 100 Mbit/s.
GRAPH = LatencyGraph.from_links([Link("n1", "n2", 5, 100)])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[dict[str, tuple[str, int]]]:
    """Two throwaway Redis servers, n1 and n2, stopped after the test."""
    processes: list[subprocess.Popen[bytes]] = []
    addresses: dict[str, tuple[str, int]] = {}
    try:
        for node in ("n1", "n2"):
            port = _free_port()
            (tmp_path / node).mkdir()
            processes.append(
                subprocess.Popen(
                    [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                     "--dir", str(tmp_path / node), "--save", "", "--appendonly", "no"],
                    stdout=subprocess.DEVNULL,
                )
            )  # fmt: skip
            _wait_ready(port)
            addresses[node] = ("127.0.0.1", port)
        yield addresses
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_ready(port: int) -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {port} did not start")
    finally:
        client.close()


def run(
    addresses: dict[str, tuple[str, int]],
    local: str,
    policy: str,
    body: Callable[[StateStore], Awaitable[T]],
) -> T:
    """Run `body` with a store on `local` in a fresh event loop, closing its clients."""

    async def main() -> T:
        clients = NodeClients(addresses)
        try:
            return await body(StateStore(local, clients, make_state_policy(policy), GRAPH))
        finally:
            await clients.aclose()

    return asyncio.run(main())


def sync_client(address: tuple[str, int]) -> redis.Redis:
    return redis.Redis(host=address[0], port=address[1])


def command_calls(stats: dict[str, dict[str, int]]) -> dict[str, int]:
    """Calls per command in INFO commandstats, less the test's own CONFIG RESETSTAT."""
    calls = {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in stats.items()}
    return {name: n for name, n in calls.items() if not name.startswith("config")}


def test_put_goes_to_the_chosen_node_and_get_reads_where_the_key_says(redis_servers) -> None:
    async def put(store: StateStore):
        key = await store.put("r1", "detect", b"x" * 1000, "n2", 100)
        return key, store.records

    key, records = run(redis_servers, "n1", "databelt", put)
    assert key == StateKey("r1", "n2", "detect")
    assert key.text == "r1:n2:detect"
    assert sync_client(redis_servers["n2"]).get("r1:n2:detect") == b"x" * 1000
    assert sync_client(redis_servers["n1"]).exists("r1:n2:detect", "r1:n1:detect") == 0
    assert [
        (r.key, r.node, r.locality, r.operation, r.size_bytes, r.hit, r.hops, r.budget_ms)
        for r in records
    ] == [("r1:n2:detect", "n2", "remote", "put", 1000, None, 1, 100)]

    async def get_from(store: StateStore):
        return await store.get(StateKey.parse("r1:n2:detect")), store.records

    # One read, straight to the holder the key names: no guess at this node first.
    data, records = run(redis_servers, "n1", "databelt", get_from)
    assert data == b"x" * 1000
    assert [
        (r.key, r.node, r.locality, r.size_bytes, r.hit, r.hops, r.budget_ms) for r in records
    ] == [("r1:n2:detect", "n2", "remote", 1000, True, 1, None)]
    data, records = run(redis_servers, "n2", "databelt", get_from)
    assert data == b"x" * 1000
    assert [(r.locality, r.hit, r.hops) for r in records] == [("local", True, 0)]
    assert all(isinstance(r, StateAccess) and r.seconds > 0 for r in records)


def test_a_state_its_holder_does_not_have_is_one_miss(redis_servers) -> None:
    async def get(store: StateStore):
        return await store.get(StateKey("r1", "n2", "missing")), store.records

    data, records = run(redis_servers, "n1", "local", get)
    assert data is None
    assert [(r.node, r.hit) for r in records] == [("n2", False)]


def test_two_requests_of_one_workflow_never_read_each_others_state(redis_servers) -> None:
    """Each request is its own chain: the same state name of two concurrent requests gets
    two keys, and each request reads back its own value."""

    async def both(store: StateStore):
        first, second = await asyncio.gather(
            store.put("wf.1", "frame", b"first", "n2", 100),
            store.put("wf.2", "frame", b"second", "n2", 100),
        )
        return first, second, await store.get(first), await store.get(second)

    first, second, first_read, second_read = run(redis_servers, "n1", "databelt", both)
    assert first.text != second.text
    assert (first_read, second_read) == (b"first", b"second")


def test_fusion_writes_one_hash_and_reads_it_with_one_hgetall(redis_servers) -> None:
    states = {"ingest": b"a" * 10, "detect": b"b" * 20, "alarm": b"c" * 30}
    server = sync_client(redis_servers["n2"])

    async def put_then_get(store: StateStore):
        await store.clients["n2"].ping()  # connection set-up is not part of the count
        server.config_resetstat()
        key = await store.put_fused("r7", states, "n2", 1000)
        written = server.info("commandstats")
        server.config_resetstat()
        fetched = await store.get_fused(key)
        one = await store.get(key, "detect")
        return key, written, server.info("commandstats"), fetched, one, store.records

    key, written, read, fetched, one, records = run(redis_servers, "n2", "local", put_then_get)
    assert key == StateKey("r7", "n2")
    assert server.hgetall("r7:n2") == {k.encode(): v for k, v in states.items()}
    assert command_calls(written) == {"hset": 1}
    assert command_calls(read) == {"hgetall": 1, "hget": 1}
    assert (fetched, one) == (states, b"b" * 20)
    assert [(r.key, r.operation, r.size_bytes, r.hit) for r in records] == [
        ("r7:n2", "put", 60, None),
        ("r7:n2", "get", 60, True),
        ("r7:n2", "get", 20, True),
    ]


def test_fused_states_are_fetched_from_the_holder_in_one_round_trip(redis_servers) -> None:
    async def put(store: StateStore):
        return await store.put_fused("r8", {"a": b"1", "b": b"22"}, "n2", 1000)

    key = run(redis_servers, "n1", "stateless", put)
    assert key.holder == "n2"

    async def get(store: StateStore):
        return await store.get_fused(key), store.records

    fetched, records = run(redis_servers, "n1", "databelt", get)
    assert fetched == {"a": b"1", "b": b"22"}
    assert [(r.locality, r.size_bytes, r.hit) for r in records] == [("remote", 3, True)]


def test_keys_refuse_names_that_would_break_them() -> None:
    assert StateKey.parse("r1:n2") == StateKey("r1", "n2")
    with pytest.raises(ValueError, match="name 'a:b'"):
        StateKey("r1", "n2", "a:b")
    with pytest.raises(ValueError, match="not a state key"):
        StateKey.parse("just-a-name")


def test_a_new_topology_keeps_the_connections_a_transfer_is_using(redis_servers) -> None:
    """A topology push in the middle of a state access must not cut its connection: before
    clients were kept, every push closed them and an access in flight restarted on a new
    connection (a handshake and slow start on an emulated link)."""
    n2 = sync_client(redis_servers["n2"])
    spec = TopologySpec(
        redis=redis_servers, links=[LinkSpec(a="n1", b="n2", latency_ms=5, bandwidth_mbps=100)]
    )

    async def main() -> tuple[float, object]:
        backend = StateBackend("n1", redis_servers["n1"], make_state_policy("local"))
        await backend.update(spec)
        clients = backend.store().clients
        await clients["n2"].ping()
        before = n2.info("stats")["total_connections_received"]
        started = time.perf_counter()
        waiting = asyncio.ensure_future(clients["n2"].blpop(["never-filled"], timeout=0.8))
        await asyncio.sleep(0.2)
        await backend.update(spec)
        answer = await waiting
        elapsed_s = time.perf_counter() - started
        kept = backend.store().clients["n2"] is clients["n2"]
        await backend.aclose()
        return elapsed_s, (answer, n2.info("stats")["total_connections_received"] - before, kept)

    elapsed_s, (answer, new_connections, kept) = asyncio.run(main())
    assert answer is None
    assert new_connections == 0, "the access was cut and redone on a new connection"
    assert elapsed_s < 1.0, f"the access took {elapsed_s:.2f} s"
    assert kept, "the same client is kept"


def test_a_state_that_takes_longer_than_redis_pys_default_timeout_still_arrives() -> None:
    """A Redis that trickles a 6 s reply (a large state over a slow link): redis-py's
    asyncio client times out a whole reply after its 5 s default; the store must wait."""
    chunks, pause_s = 12, 0.5
    value = b"v" * (chunks * 1000)

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while command := await reader.read(4096):
            if b"GET" not in command.upper():  # the client's own set-up (CLIENT SETINFO)
                writer.write(b"+OK\r\n")
                continue
            writer.write(b"$%d\r\n" % len(value))  # the state: slowly
            for start in range(0, len(value), 1000):
                await asyncio.sleep(pause_s)
                writer.write(value[start : start + 1000])
                await writer.drain()
            writer.write(b"\r\n")
            await writer.drain()
        writer.close()

    async def main() -> bytes | None:
        server = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clients = NodeClients({"slow": ("127.0.0.1", port)})
        try:
            return await clients["slow"].get("key")
        finally:
            await clients.aclose()
            server.close()

    assert asyncio.run(main()) == value
