"""Re-placement as an agent sees it: the controller re-points a live instance's outputs and
state, re-targets a workflow's planned requests to its entry's new instance, and cancels the
requests of a workflow whose lifetime ended.

One agent runs in the test's event loop behind its real routes (aiohttp's test client); the
instances it sends to are a sink that records every cast it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import test_utils, web

from testbed.platform import codec
from testbed.platform.contract import InvocationRecord, StateSettings, auth_headers
from testbed.platform.node.agent.app import make_app
from testbed.platform.node.agent.metrics import AgentMetrics
from testbed.platform.node.agent.node import Agent
from testbed.platform.node.agent.redis_server import RedisServer
from testbed.platform.node.agent.state_backend import StateBackend
from testbed.platform.node.runtime.modes import GpuInfo
from testbed.platform.node.state import make_state_policy

WAIT_S = 5.0

# Passes every cast on to its "out" output.
RELAY = """
def handle_cast(ctx, src, msg):
    ctx.cast("out", msg)
"""

SECRET = "rewire-test-secret"


@dataclass
class Sink:
    """Instances elsewhere: every cast sent to `/instances/{id}/cast`, as (id, body)."""

    casts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def cast(self, request: web.Request) -> web.Response:
        self.casts.append((request.match_info["id"], await request.json()))
        return web.json_response({"accepted": True}, status=202)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/instances/{id}/cast", self.cast)
        return app

    def arrived(self, instance: str) -> list[dict[str, Any]]:
        return [body for name, body in self.casts if name == instance]


@dataclass
class Node:
    """The agent under test, a client of its API, and the sink with its instance URLs."""

    agent: Agent
    client: test_utils.TestClient[web.Request, web.Application]
    sink: Sink
    sink_server: test_utils.TestServer

    def url(self, instance: str) -> str:
        return str(self.sink_server.make_url(f"/instances/{instance}"))

    async def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.client.request(method, path, json=body) as reply:
            return reply.status, await reply.json()

    async def deploy_relay(self, instance: str, out: str) -> None:
        spec = {
            "instance": instance, "workflow": "wf", "function": "relay",
            "code": {"file": "relay.py", "source": RELAY}, "outputs": {"out": out},
        }  # fmt: skip
        status, answer = await self.send("POST", "/instances", spec)
        assert status == 201, answer

    async def cast(self, instance: str, msg: Any) -> None:
        body = {"src": "test", "msg": codec.encode(msg)}
        assert (await self.send("POST", f"/instances/{instance}/cast", body))[0] == 202


async def _until(ready: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_S / 0.01)):
        if ready():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {what} within {WAIT_S} s")


@contextlib.asynccontextmanager
async def _node(work_dir: Path) -> AsyncIterator[Node]:
    """Agent n1 (runtime cpu) behind its routes; its Redis is never started (no state used)."""
    redis = RedisServer("127.0.0.1", 0)
    state = StateBackend("n1", (redis.client_host, redis.port), make_state_policy("databelt"))
    gpu = GpuInfo(available=False, name=None, reason="test")
    agent = Agent("n1", work_dir, state, AgentMetrics(redis), gpu, "cpu", secret=SECRET)
    sink = Sink()
    try:
        async with (
            test_utils.TestServer(sink.app()) as sink_server,
            test_utils.TestClient(
                test_utils.TestServer(make_app(agent, redis)), headers=auth_headers(SECRET)
            ) as client,
        ):
            yield Node(agent, client, sink, sink_server)
    finally:
        await agent.close()
        await state.aclose()
        await redis.stop()


def _plan(node: Node, target: str, offsets_s: dict[str, float], workflow: str = "wf") -> Any:
    """A `RequestPlan` body: request id -> seconds from now."""
    now, msg = time.time(), codec.encode("hello")
    return {
        "workflow": workflow, "function": "entry", "target": node.url(target),
        "requests": [{"id": rid, "at_s": now + dt, "msg": msg} for rid, dt in offsets_s.items()],
    }  # fmt: skip


def test_a_rewire_replaces_the_outputs_and_the_next_cast_goes_to_the_new_url(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with _node(tmp_path) as node:
            await node.deploy_relay("relay", node.url("old"))
            await node.cast("relay", 1)
            await _until(lambda: len(node.sink.arrived("old")) == 1, "cast to the old instance")

            rewire = {"outputs": {"out": node.url("new")}}
            assert await node.send("PATCH", "/instances/relay", rewire) == (
                200,
                {"instance": "relay"},
            )
            spec = node.agent.instances["relay"].spec
            assert spec.outputs == {"out": node.url("new")}
            assert spec.state == StateSettings(), "state settings not named are kept"

            await node.cast("relay", 2)
            await _until(lambda: len(node.sink.arrived("new")) == 1, "cast to the new instance")
            assert codec.decode(node.sink.arrived("new")[0]["msg"]) == 2
            assert len(node.sink.arrived("old")) == 1, "nothing more to the old instance"

    asyncio.run(main())


def test_a_rewire_replaces_the_state_settings_and_keeps_the_outputs(tmp_path: Path) -> None:
    async def main() -> None:
        async with _node(tmp_path) as node:
            await node.deploy_relay("relay", node.url("next"))
            settings = {"destination": "n2", "max_latency_ms": 50, "size_in_bits": True}
            status, answer = await node.send("PATCH", "/instances/relay", {"state": settings})
            assert (status, answer) == (200, {"instance": "relay"})
            spec = node.agent.instances["relay"].spec
            assert spec.state == StateSettings.model_validate(settings)
            assert spec.outputs == {"out": node.url("next")}

    asyncio.run(main())


def test_unknown_instances_and_workflows_are_404_and_bad_bodies_400(tmp_path: Path) -> None:
    async def main() -> None:
        async with _node(tmp_path) as node:
            status, answer = await node.send("PATCH", "/instances/ghost", {"outputs": {}})
            assert (status, answer) == (404, {"error": "no instance ghost"})
            target = {"function": "entry", "target": node.url("entry")}
            status, answer = await node.send("PATCH", "/requests/ghost", target)
            assert (status, answer) == (404, {"error": "no request plan of workflow ghost"})

            await node.deploy_relay("relay", node.url("next"))
            status, answer = await node.send("PATCH", "/instances/relay", {"output": {}})
            assert status == 400 and "output" in answer["error"]
            status, answer = await node.send("PATCH", "/requests/wf", {"target": "x"})
            assert status == 400 and "function" in answer["error"]
            assert node.agent.instances["relay"].spec.outputs == {"out": node.url("next")}

    asyncio.run(main())


def test_a_retarget_sends_the_requests_not_sent_yet_to_the_new_entry(tmp_path: Path) -> None:
    async def main() -> None:
        async with _node(tmp_path) as node:
            # r0 is due at once (it leaves before the retarget), r1 and r2 after it.
            plan = _plan(node, "old", {"r0": -1.0, "r1": 0.5, "r2": 0.6})
            assert await node.send("POST", "/requests", plan) == (202, {"planned": 3})
            target = {"function": "entry2", "target": node.url("new")}
            assert await node.send("PATCH", "/requests/wf", target) == (200, {"workflow": "wf"})

            await _until(lambda: len(node.sink.casts) == 3, "three requests")
            assert [body["rid"] for body in node.sink.arrived("old")] == ["r0"]
            assert sorted(body["rid"] for body in node.sink.arrived("new")) == ["r1", "r2"]
            await _until(lambda: len(node.agent.records) == 3, "three request records")
            records = [InvocationRecord.model_validate_json(text) for _, text in node.agent.records]
            sent = {record.request_id: (record.function, record.reason) for record in records}
            assert sent == {
                "r0": ("entry", f"request to {node.url('old')}"),
                "r1": ("entry2", f"request to {node.url('new')}"),
                "r2": ("entry2", f"request to {node.url('new')}"),
            }

    asyncio.run(main())


def test_cancel_drops_a_workflows_pending_requests_and_counts_them(tmp_path: Path) -> None:
    async def main() -> None:
        async with _node(tmp_path) as node:
            plan = _plan(node, "entry", {"r0": -1.0, "r1": 60.0, "r2": 60.0, "r3": 60.0})
            assert await node.send("POST", "/requests", plan) == (202, {"planned": 4})
            other = _plan(node, "entry", {"s0": 60.0}, workflow="wf2")
            assert await node.send("POST", "/requests", other) == (202, {"planned": 1})
            await _until(lambda: len(node.sink.casts) == 1, "the request due at once")

            assert await node.send("DELETE", "/requests/wf") == (200, {"cancelled": 3})
            assert await node.send("DELETE", "/requests/wf") == (200, {"cancelled": 0})
            target = {"function": "entry", "target": node.url("entry")}
            status, _ = await node.send("PATCH", "/requests/wf", target)
            assert status == 404, "a cancelled workflow has no plan to retarget"
            assert await node.send("DELETE", "/requests/wf2") == (200, {"cancelled": 1})

    asyncio.run(main())


# Marks the state it starts from as handed over (or starts a fresh one).
RESTORING = """
def handle_init(ctx, payload, saved):
    ctx.sync({"seen": 0, "restored": False} if saved is None else {**saved, "restored": True})
"""


def test_a_moved_instance_starts_with_the_state_its_predecessor_synced(tmp_path: Path) -> None:
    async def main() -> None:
        async with _node(tmp_path) as node:
            code = {"file": "counter.py", "source": RESTORING}
            spec = {"instance": "counter", "workflow": "wf", "function": "counter", "code": code}
            assert (await node.send("POST", "/instances", spec))[0] == 201
            old = node.agent.instances["counter"]
            assert old.saved_state == {"seen": 0, "restored": False}
            old.saved_state = {"seen": 2, "restored": False}  # as its work would have synced
            status, answer = await node.send("GET", "/instances/counter/state")
            assert status == 200 and codec.decode(answer["state"]) == old.saved_state
            url = str(node.client.make_url("/instances/counter"))
            moved = {**spec, "instance": "counter-m1", "state_from": url}
            assert (await node.send("POST", "/instances", moved))[0] == 201
            assert node.agent.instances["counter-m1"].saved_state == {"seen": 2, "restored": True}

            assert (await node.send("GET", "/instances/ghost/state"))[0] == 404
            lost = {**spec, "instance": "counter-m2", "state_from": url.replace("counter", "ghost")}
            status, answer = await node.send("POST", "/instances", lost)
            assert status == 400 and "state from" in answer["error"] and "404" in answer["error"]
            assert "counter-m2" not in node.agent.instances

    asyncio.run(main())
