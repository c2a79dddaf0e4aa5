"""Path matrix (what the topology says) -> link state (what the shaper applies). Pure."""

from __future__ import annotations

import numpy as np

from testbed.emulation.shaping.plan import QUEUE_MIN_S, LinkState
from testbed.topology.paths import PathMatrix


def link_state(matrix: PathMatrix, queue_min_s: float = QUEUE_MIN_S) -> LinkState:
    """Per-direction delay, rate and loss of every node pair; unreachable pairs drop all;
    queues sized with `queue_min_s` (see `plan.queue_limit_bytes`).

    Parameters of unreachable pairs are neutral (0 ms, unlimited, no loss) so that a pair
    coming back into reach is a change of reachability, not of stale numbers.
    """
    reachable = np.asarray(matrix.reachable, dtype=bool)
    return LinkState(
        delay_ms=np.where(reachable, matrix.delay_ms, 0.0),
        rate_mbps=np.where(reachable, matrix.bandwidth_mbps, np.inf),
        loss=np.where(reachable, matrix.loss, 0.0),
        reachable=reachable,
        queue_min_s=queue_min_s,
    )
