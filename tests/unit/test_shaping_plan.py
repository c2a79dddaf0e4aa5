"""changed_pairs / applied_state: what a tick hands to the shaping backend."""

from __future__ import annotations

import numpy as np
import pytest

from testbed.emulation.shaping.plan import LinkState, applied_state, changed_pairs


def as_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in pairs}


def test_first_apply_covers_every_off_diagonal_pair() -> None:
    pairs = changed_pairs(None, LinkState.uniform(100, delay_ms=5.0))
    assert pairs.shape == (9900, 2)
    assert not np.any(pairs[:, 0] == pairs[:, 1])


def test_unchanged_state_yields_no_pairs() -> None:
    state = LinkState.uniform(4, delay_ms=5.0, rate_mbps=100.0)
    assert changed_pairs(state, state).shape == (0, 2)


def test_delay_moves_count_only_beyond_the_threshold() -> None:
    before = LinkState.uniform(3, delay_ms=5.0)
    after = before.with_pair(0, 1, delay_ms=5.05).with_pair(1, 2, delay_ms=5.2)
    assert as_set(changed_pairs(before, after)) == {(1, 2)}
    assert as_set(changed_pairs(before, after, delay_threshold_ms=0.01)) == {(0, 1), (1, 2)}


def test_rate_loss_and_reachability_changes_always_count() -> None:
    before = LinkState.uniform(4, delay_ms=5.0, rate_mbps=100.0)
    after = (
        before.with_pair(0, 1, rate_mbps=99.0)
        .with_pair(1, 0, loss=0.01)
        .with_pair(2, 3, reachable=False)
    )
    assert as_set(changed_pairs(before, after)) == {(0, 1), (1, 0), (2, 3)}


def test_direction_matters() -> None:
    before = LinkState.uniform(2, delay_ms=1.0)
    assert as_set(changed_pairs(before, before.with_pair(1, 0, delay_ms=9.0))) == {(1, 0)}


def test_diagonal_is_ignored() -> None:
    before = LinkState.uniform(3)
    delay = before.delay_ms.copy()
    delay[1, 1] = 50.0
    after = LinkState(delay, before.rate_mbps, before.loss, before.reachable)
    assert changed_pairs(before, after).shape == (0, 2)


def test_node_count_change_is_refused() -> None:
    with pytest.raises(ValueError, match="node count"):
        changed_pairs(LinkState.uniform(3), LinkState.uniform(4))


def test_slow_drift_is_applied_once_it_adds_up() -> None:
    """Comparing with the applied state (not the previous tick) catches slow drift."""
    applied = LinkState.uniform(2, delay_ms=10.0)
    for tick in range(1, 6):
        current = LinkState.uniform(2, delay_ms=10.0 + 0.04 * tick)
        pairs = changed_pairs(applied, current)
        applied = applied_state(applied, current, pairs)
    assert applied.delay_ms[0, 1] == pytest.approx(10.12)


def test_applied_state_takes_only_the_given_pairs() -> None:
    before = LinkState.uniform(3, delay_ms=1.0)
    after = LinkState.uniform(3, delay_ms=2.0, loss=0.5)
    merged = applied_state(before, after, np.array([[0, 2]]))
    assert merged.delay_ms[0, 2] == 2.0 and merged.loss[0, 2] == 0.5
    assert merged.delay_ms[2, 0] == 1.0 and merged.loss[2, 0] == 0.0
    assert applied_state(None, after, changed_pairs(None, after)) is after


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("delay_ms", -1.0, "delay_ms"),
        ("delay_ms", np.nan, "delay_ms"),
        ("rate_mbps", 0.0, "rate_mbps"),
        ("loss", 1.5, "loss"),
    ],
)
def test_invalid_values_are_refused(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkState.uniform(2).with_pair(0, 1, **{field: value})


def test_non_square_matrices_are_refused() -> None:
    with pytest.raises(ValueError, match="square"):
        LinkState(np.zeros((2, 3)), np.ones((2, 3)), np.zeros((2, 3)), np.ones((2, 3), bool))
