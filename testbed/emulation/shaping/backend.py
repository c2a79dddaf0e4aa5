"""The interface every shaping backend offers to the tick loop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from testbed.emulation.shaping.plan import LinkState, Pairs
from testbed.errors import SetupError

if TYPE_CHECKING:
    from testbed.emulation.fabric import Fabric


class BackendUnavailable(SetupError):
    """This kernel cannot run the backend (e.g. no sch_netem): an environment error, so the
    CLI prints one line and exits with status 1."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"{backend} backend", reason)


@dataclass(frozen=True)
class ApplyStats:
    """What one apply() did: pairs restated and the wall time it took."""

    pairs: int
    seconds: float


class ShapingBackend(Protocol):
    """Shapes the traffic of node slots 0..n_nodes-1 of a fabric.

    `setup` leaves every pair unreachable until the first `apply`; slots not attached to
    the fabric then get their shaping from `attach` when a node takes them (its pairs
    unreachable until applied) and lose it with `detach`; `apply` takes the pairs to
    restate (see `plan.changed_pairs`); `counters` reads what held or dropped packets so
    far (see `counters.py`; called from another thread than `apply`); `close` undoes
    `setup` and is idempotent.
    """

    name: str

    def setup(self, fabric: Fabric, n_nodes: int) -> None: ...

    def attach(self, slot: int) -> None: ...

    def detach(self, slot: int) -> None: ...

    def apply(self, state: LinkState, pairs: Pairs) -> ApplyStats: ...

    def counters(self) -> Mapping[str, int]: ...

    def close(self) -> None: ...
