"""The TCP model and the plan of `bench transfers` (pure: no containers)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testbed.bench.transfer_model import (
    HEADER_BYTES,
    INITIAL_WINDOW_SEGMENTS,
    MSS_BYTES,
    model_transfer,
    wire_bytes,
)
from testbed.bench.transfer_plan import (
    PATHS,
    Case,
    CaseResult,
    Pair,
    case_model,
    goal_counts,
    message_bytes,
    parse_pairs,
    parse_sizes,
    plan_cases,
    transfers_scenario,
)
from testbed.errors import UserError
from testbed.platform import codec

SEGMENT_WIRE = MSS_BYTES + HEADER_BYTES


def test_a_reused_connection_pays_the_bytes_at_the_rate_and_one_round_trip() -> None:
    model = model_transfer(1_000_000, 10.0, 100.0, fresh=False)
    assert model.handshake_s == model.slow_start_s == 0
    assert model.serialization_s == pytest.approx(wire_bytes(1_000_000) * 8 / 100e6)
    assert model.propagation_s == pytest.approx(0.020)


def test_a_fresh_connection_doubles_its_window_until_it_covers_the_bdp() -> None:
    # 100 Mbit/s x 100 ms = 1.25 MB in flight; from 10 segments: 10, 20, 40, 80, 160, 320,
    # 640 segments (~0.97 MB) stay below it, so 7 rounds pass before the rate decides.
    model = model_transfer(20_000_000, 50.0, 100.0, fresh=True)
    assert model.handshake_s == pytest.approx(0.1)
    assert model.slow_start_s == pytest.approx(7 * 0.1)
    sent_in_rounds = SEGMENT_WIRE * INITIAL_WINDOW_SEGMENTS * (2**7 - 1)
    remaining = wire_bytes(20_000_000) - sent_in_rounds
    assert model.serialization_s == pytest.approx(remaining * 8 / 100e6)


def test_a_connection_idle_for_long_starts_slow_again_without_a_handshake() -> None:
    fresh = model_transfer(20_000_000, 50.0, 100.0, fresh=True)
    idle = model_transfer(20_000_000, 50.0, 100.0, fresh=False, after_idle=True)
    assert idle.handshake_s == 0 and idle.slow_start_s == fresh.slow_start_s
    assert idle.total_s == pytest.approx(fresh.total_s - 0.1)


def test_a_transfer_within_the_initial_window_needs_no_round_of_slow_start() -> None:
    model = model_transfer(10_000, 150.0, 10.0, fresh=True)
    assert model.slow_start_s == 0
    assert model.total_s == pytest.approx(0.3 + wire_bytes(10_000) * 8 / 10e6 + 0.3)


def test_flows_at_once_share_the_rate_and_open_a_wider_window() -> None:
    alone = model_transfer(1_000_000, 10.0, 100.0, fresh=True)
    four = model_transfer(1_000_000, 10.0, 100.0, fresh=True, flows=4)
    assert four.slow_start_s < alone.slow_start_s
    assert four.total_s > alone.total_s
    reused_alone = model_transfer(1_000_000, 10.0, 100.0, fresh=False)
    reused_four = model_transfer(1_000_000, 10.0, 100.0, fresh=False, flows=4)
    assert reused_four.serialization_s == pytest.approx(4 * reused_alone.serialization_s)


def test_an_unanswered_transfer_ends_when_its_last_byte_arrives() -> None:
    answered = model_transfer(100_000, 20.0, 1000.0, fresh=False)
    arrived = model_transfer(100_000, 20.0, 1000.0, fresh=False, answered=False)
    assert answered.total_s - arrived.total_s == pytest.approx(0.020)


@given(
    size=st.integers(1, 100_000_000),
    delay_ms=st.floats(0.0, 300.0),
    rate_mbps=st.floats(1.0, 100_000.0),
    flows=st.integers(1, 8),
)
def test_the_model_is_never_faster_than_the_wire_and_fresh_never_beats_reused(
    size: int, delay_ms: float, rate_mbps: float, flows: int
) -> None:
    fresh = model_transfer(size, delay_ms, rate_mbps, fresh=True, flows=flows)
    reused = model_transfer(size, delay_ms, rate_mbps, fresh=False, flows=flows)
    floor_s = flows * size * 8 / (rate_mbps * 1e6) + 2 * delay_ms / 1e3
    assert reused.total_s >= floor_s * (1 - 1e-9)
    assert fresh.total_s >= reused.total_s * (1 - 1e-9)


def test_bad_model_input_is_refused() -> None:
    with pytest.raises(ValueError):
        model_transfer(10, 1.0, 0.0, fresh=True)


def test_pairs_and_sizes_parse_and_bad_ones_name_the_option() -> None:
    assert parse_pairs("1ms:10000, 0.15s:10") == [Pair(1.0, 10000.0), Pair(150.0, 10.0)]
    assert parse_sizes("10k,1m") == [10 * 1024, 2**20]
    for text in ("10ms", "fast:10", "10ms:-1", ""):
        with pytest.raises(UserError, match="--pairs"):
            parse_pairs(text)
    with pytest.raises(UserError, match="--sizes"):
        parse_sizes("huge")


def test_message_bytes_are_what_the_codec_puts_in_the_body() -> None:
    for size in (0, 100, 300, 70_000):
        encoded = len(codec.encode(bytes(size)))
        assert encoded < message_bytes(size) <= encoded + 200


def test_the_plan_leaves_out_what_takes_too_long_or_carries_too_much() -> None:
    pairs = [Pair(1.0, 10_000.0), Pair(150.0, 10.0)]
    cases, left_out = plan_cases(pairs, [10_000, 50 * 2**20], [1, 8], PATHS, 5.0, 100 * 2**20)
    assert left_out > 0
    assert len(cases) + left_out == 2 * len(PATHS) * 2 * 2
    assert all(case_model(case).total_s <= 5.0 for case in cases)
    assert all(case.flows * case.size_bytes <= 100 * 2**20 for case in cases)
    assert not any(c.pair.rate_mbps == 10 and c.size_bytes > 10_000 for c in cases)


def test_the_scenario_gives_each_source_exactly_its_pair() -> None:
    pairs = [Pair(1.0, 10_000.0), Pair(150.0, 10.0)]
    scenario = transfers_scenario(pairs, max_flows=8)
    links = {node.name: node.link for node in scenario.nodes}
    assert links["sink"] is not None and links["sink"].latency_ms == 0
    assert links["src-1"] is not None
    assert (links["src-1"].latency_ms, links["src-1"].bandwidth_mbps) == (150.0, 10.0)


def test_goals_count_slow_batches_and_long_flows() -> None:
    case = Case("tcp-reused", 0, Pair(10.0, 100.0), 10_000_000, 1)
    model = case_model(case)
    on_model = CaseResult(case, (model.total_s,) * 5, model)
    one_slow = CaseResult(case, (model.total_s,) * 4 + (model.total_s * 2,), model)
    failed = CaseResult(case, (), model, "refused")
    assert on_model.long_flow and on_model.rate_share == pytest.approx(1.0, rel=1e-4)
    flooded = CaseResult(case, (model.total_s,) * 5, model, queue_dropped=3)
    goals = {
        goal.goal: (goal.met, goal.of)
        for goal in goal_counts([on_model, one_slow, failed, flooded])
    }
    assert goals["every transfer <= 1.5x its model"] == (2, 3)
    assert goals["p50 within 10% of the model"] == (3, 3)
    assert goals["long flows within 5% of the rate"] == (3, 3)
    assert goals["cases without an error"] == (3, 4)
    assert goals["cases where the emulator lost nothing"] == (4, 4)
    assert goals["cases whose queue never overflowed"] == (3, 4)
    assert math.isclose(one_slow.max_ratio, 2.0)
