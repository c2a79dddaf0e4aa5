"""An instance's gate: how many of its message handlers run at once, and init/stop alone."""

from __future__ import annotations

import asyncio

import pytest

from testbed.platform.node.agent.instance import HandlerGate


async def _most_at_once(gate: HandlerGate, handlers: int) -> int:
    running, most = 0, 0

    async def handler() -> None:
        nonlocal running, most
        async with gate.handler():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(handler() for _ in range(handlers)))
    return most


@pytest.mark.parametrize(("concurrency", "most"), [(1, 1), (3, 3), (50, 10)])
def test_no_more_handlers_run_at_once_than_the_function_allows(concurrency: int, most: int) -> None:
    assert asyncio.run(_most_at_once(HandlerGate(concurrency), 10)) == most


def test_alone_waits_for_the_running_handlers_and_holds_back_new_ones() -> None:
    async def main() -> list[str]:
        gate, events = HandlerGate(2), []

        async def handler(name: str, delay_s: float) -> None:
            await asyncio.sleep(delay_s)
            async with gate.handler():
                events.append(f"{name} starts")
                await asyncio.sleep(0.02)
                events.append(f"{name} ends")

        async def stop() -> None:
            await asyncio.sleep(0.005)
            async with gate.alone():
                events.append("stop")

        await asyncio.gather(handler("a", 0), handler("b", 0), stop(), handler("c", 0.01))
        return events

    events = asyncio.run(main())
    assert events.index("stop") > max(events.index("a ends"), events.index("b ends"))
    assert events.index("c starts") > events.index("stop")
