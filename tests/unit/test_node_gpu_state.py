"""What a node's `gpu` setting gets on a host with or without an NVIDIA runtime, as
`status`, the info service and a run's nodes.json show it."""

from __future__ import annotations

import pytest

from testbed.emulation.session import GPU_ATTACHED, GPU_FALLBACK, NO_GPU_ASKED, gpu_state
from testbed.scenario.model import GpuNeed


@pytest.mark.parametrize(
    ("need", "host_has_gpu", "state"),
    [
        (GpuNeed.none, True, NO_GPU_ASKED),
        (GpuNeed.none, False, NO_GPU_ASKED),
        (GpuNeed.required, True, GPU_ATTACHED),
        (GpuNeed.optional, True, GPU_ATTACHED),
        (GpuNeed.optional, False, GPU_FALLBACK),
    ],
)
def test_a_node_gets_the_gpu_it_asked_for_or_says_why_not(
    need: GpuNeed, host_has_gpu: bool, state: str
) -> None:
    assert gpu_state(need, host_has_gpu) == state
