"""Per-pair delay, rate, loss and reachability between emulated nodes.

Use: `fabric = Fabric().create()` (testbed.emulation.fabric), `fabric.attach(i, netns)` for
every node, `backend = select_backend()` (netem where the kernel has it, else userspace),
`backend.setup(fabric, n_nodes)`, then per tick `backend.apply(state, changed_pairs(applied,
state))`; at the end `backend.close()` and `fabric.teardown()`.
"""

from testbed.emulation.shaping.backend import ApplyStats, BackendUnavailable, ShapingBackend
from testbed.emulation.shaping.plan import LinkState, Pairs, applied_state, changed_pairs
from testbed.emulation.shaping.selection import netem_supported, select_backend

__all__ = [
    "ApplyStats",
    "BackendUnavailable",
    "LinkState",
    "Pairs",
    "ShapingBackend",
    "applied_state",
    "changed_pairs",
    "netem_supported",
    "select_backend",
]
