"""The interface every shaping backend offers to the tick loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from testbed.emulation.shaping.plan import LinkState, Pairs

if TYPE_CHECKING:
    from testbed.emulation.fabric import Fabric


class BackendUnavailable(RuntimeError):
    """This kernel cannot run the backend (e.g. no sch_netem)."""


@dataclass(frozen=True)
class ApplyStats:
    """What one apply() did: pairs restated and the wall time it took."""

    pairs: int
    seconds: float


class ShapingBackend(Protocol):
    """Shapes the traffic of nodes 0..n_nodes-1 attached to a fabric.

    `setup` leaves every pair unreachable until the first `apply`; `apply` takes the pairs
    to restate (see `plan.changed_pairs`); `close` undoes `setup` and is idempotent.
    """

    name: str

    def setup(self, fabric: Fabric, n_nodes: int) -> None: ...

    def apply(self, state: LinkState, pairs: Pairs) -> ApplyStats: ...

    def close(self) -> None: ...
