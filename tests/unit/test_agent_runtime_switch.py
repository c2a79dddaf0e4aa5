"""A runtime switch as the agent carries it out: a new revision in the other mode started
beside the serving one, the traffic moved once its init is done, the old one stopped, and
every evaluation recorded with its inputs.

The agent runs in the test's event loop and is told it has a GPU (so the test runs on any
machine); the function only reports the device it was given, which is all a
device-agnostic function takes from the runtime.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from testbed.platform import codec
from testbed.platform.contract import DeploySpec, FunctionCode, RuntimeDecision
from testbed.platform.node.agent.metrics import AgentMetrics
from testbed.platform.node.agent.node import Agent
from testbed.platform.node.agent.records import Delivery, RecordLog
from testbed.platform.node.agent.redis_server import RedisServer
from testbed.platform.node.agent.state_backend import StateBackend
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import GpuInfo
from testbed.platform.node.state import make_state_policy

# Takes the device it is given; counts its revisions' inits and stops in its saved state's
# place: a module-level list shared by the copies would hide which copy ran.
DEVICE_REPORTER = """
import time
try:
    import torch
except ImportError:
    torch = None

events = []

def handle_init(ctx, payload, saved_state):
    events.append(("init", ctx.device))

def handle_stop(ctx, payload=None, saved_state=None):
    events.append(("stop", ctx.device))

def handle_call(ctx, src, msg):
    time.sleep(msg)
    return ctx.device
"""

FAST = GaiaConfig.model_validate(
    {
        "evaluation_interval": "1h",  # the test evaluates by hand
        "rate_window": "10s",
        "min_rate_per_s": 0.1,
        "latency_threshold_ms": 20,
        "hysteresis_ms": 5,
    }
)


def _agent(work_dir: Path, gpu: bool, decisions: Path) -> tuple[Agent, RedisServer]:
    redis = RedisServer("127.0.0.1", 0)
    state = StateBackend("n1", (redis.client_host, redis.port), make_state_policy("databelt"))
    info = GpuInfo(gpu, "test GPU" if gpu else None, "declared by the test")
    agent = Agent(
        "n1", work_dir, state, AgentMetrics(redis), info, "auto",
        gaia=FAST, decision_log=RecordLog(decisions), secret="runtime-switch-test-secret",
    )  # fmt: skip
    return agent, redis


def _spec() -> DeploySpec:
    return DeploySpec(
        instance="f1", workflow="wf", function="reporter",
        code=FunctionCode(file="reporter.py", source=DEVICE_REPORTER),
    )  # fmt: skip


async def _calls(agent: Agent, count: int, sleep_s: float) -> list[str]:
    devices = []
    for _ in range(count):
        now = time.time()
        delivery = Delivery("r", "test", None, now, now)
        reply, record = await agent.call("f1", delivery, sleep_s)
        assert codec.decode(reply) == record.device, "the device the record names is the one used"
        devices.append(record.device)
    return devices


def test_a_slow_cpu_revision_is_replaced_by_a_gpu_revision_with_its_cold_start(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        agent, redis = _agent(tmp_path / "work", True, tmp_path / "decisions.jsonl")
        try:
            instance, _ = await agent.deploy(_spec())
            old = instance.revision
            assert (old.number, old.device) == (1, "cpu")  # cpu_preferred starts on the CPU
            assert await _calls(agent, 3, 0.03) == ["cpu"] * 3  # 30 ms > the 20 ms threshold

            [decision] = await agent.evaluate_runtimes(time.time())
            assert (decision.current, decision.mode, decision.rule) == (
                "cpu",
                "gpu",
                "cpu-too-slow",
            )
            assert decision.p95_ms is not None and decision.p95_ms >= 30
            assert decision.rate_per_s == 0.3 and decision.error is None
            assert decision.cold_start_ms is not None and decision.cold_start_ms > 0
            assert (decision.revision, instance.revision.number) == (2, 2)

            assert await _calls(agent, 2, 0.0) == ["cuda:0"] * 2  # the traffic moved
            await asyncio.sleep(0.1)  # the old revision stops once its handlers are done
            assert old.module is not None and old.module.events == [
                ("init", "cpu"),
                ("stop", "cpu"),
            ]
            assert instance.revision.module.events == [("init", "cuda:0")]
        finally:
            await agent.close()
            await redis.stop()
        lines = (tmp_path / "decisions.jsonl").read_text().splitlines()
        assert [RuntimeDecision.model_validate_json(line).rule for line in lines] == [
            "cpu-too-slow"
        ]

    asyncio.run(main())


def test_without_a_gpu_the_evaluation_is_recorded_and_the_revision_kept(tmp_path: Path) -> None:
    async def main() -> None:
        agent, redis = _agent(tmp_path / "work", False, tmp_path / "decisions.jsonl")
        try:
            instance, _ = await agent.deploy(_spec())
            await _calls(agent, 3, 0.03)
            [decision] = await agent.evaluate_runtimes(time.time())
            assert (decision.mode, decision.rule, decision.cold_start_ms) == ("cpu", "no-gpu", None)
            assert decision.reason.startswith("stays on cpu, no GPU detected: cpu-too-slow")
            assert instance.revision.number == 1
            assert await _calls(agent, 1, 0.0) == ["cpu"]
        finally:
            await agent.close()
            await redis.stop()

    asyncio.run(main())


def test_a_new_revision_that_fails_its_init_leaves_the_old_one_serving(tmp_path: Path) -> None:
    async def main() -> None:
        agent, redis = _agent(tmp_path / "work", True, tmp_path / "decisions.jsonl")
        try:
            instance, _ = await agent.deploy(_spec())
            await _calls(agent, 3, 0.03)
            instance.code.write_text(DEVICE_REPORTER + "\nraise ImportError('no CUDA here')\n")
            [decision] = await agent.evaluate_runtimes(time.time())
            assert decision.error is not None and "does not load" in decision.error
            assert (decision.revision, instance.revision.number) == (1, 1)
            assert await _calls(agent, 1, 0.0) == ["cpu"]
        finally:
            await agent.close()
            await redis.stop()

    asyncio.run(main())
