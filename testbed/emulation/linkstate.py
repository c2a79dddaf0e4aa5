"""Path matrix (what the topology says) -> link state (what the shaper applies). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

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


def slot_link_state(compact: LinkState, slots: Sequence[int], n_slots: int) -> LinkState:
    """The state of `n_slots` fabric slots from that of the nodes in them (row k of
    `compact` is the node in slot `slots[k]`); an empty slot's pairs are unreachable with
    neutral parameters, as a backend holds them before any apply."""
    rows = np.asarray(slots, dtype=np.intp)
    where = np.ix_(rows, rows)
    arrays = {
        "delay_ms": np.zeros((n_slots, n_slots)),
        "rate_mbps": np.full((n_slots, n_slots), np.inf),
        "loss": np.zeros((n_slots, n_slots)),
        "reachable": np.zeros((n_slots, n_slots), dtype=bool),
    }
    for name, array in arrays.items():
        array[where] = getattr(compact, name)
    return LinkState(**arrays, queue_min_s=compact.queue_min_s)


def without_slot(state: LinkState, slot: int) -> LinkState:
    """`state` with every pair from and to `slot` as a backend holds it after `attach` or
    `detach`: unreachable, neutral."""
    arrays = {
        name: getattr(state, name).copy() for name in ("delay_ms", "rate_mbps", "loss", "reachable")
    }
    for name, value in (
        ("delay_ms", 0.0),
        ("rate_mbps", np.inf),
        ("loss", 0.0),
        ("reachable", False),
    ):
        arrays[name][slot, :] = value
        arrays[name][:, slot] = value
    return LinkState(**arrays, queue_min_s=state.queue_min_s)


def less_physical(state: LinkState, one_way_ms: np.ndarray) -> tuple[LinkState, int]:
    """`state` with each reachable pair's delay less the physical one-way delay of both its
    ends (a board's own link to this host), never below zero; and how many reachable pairs
    have an emulated delay shorter than their physical one (those run slower than asked)."""
    physical = one_way_ms[:, None] + one_way_ms[None, :]
    np.fill_diagonal(physical, 0.0)
    short = int(np.count_nonzero(state.reachable & (physical > 0) & (state.delay_ms < physical)))
    delay_ms = np.where(state.reachable, np.maximum(state.delay_ms - physical, 0.0), 0.0)
    return replace(state, delay_ms=delay_ms), short
