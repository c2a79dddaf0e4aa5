"""State propagation policies on small graphs whose answers can be checked by hand."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from testbed.platform.node.state.graph import LatencyGraph, Link
from testbed.platform.node.state.policy import (
    Placement,
    Reason,
    StateRequest,
    make_state_policy,
)
from testbed.plugins import STATE_POLICIES
from testbed.scenario.model import PlatformSpec
from testbed.topology.paths import PathMatrix

# a - b - c - d, 10 ms and 100 Mbit/s per link: a 1,000-byte state counts 0.08 ms on the
# wire in bits, so moving it to b, c, d takes 20.08, 40.08 and 60.08 ms.
LINE_LINKS = [Link("a", "b", 10, 100), Link("b", "c", 10, 100), Link("c", "d", 10, 100)]
LINE = LatencyGraph.from_links(LINE_LINKS)


def databelt(
    graph: LatencyGraph, size_bytes: int, max_latency_ms: float, dest: str = "d"
) -> Placement:
    request = StateRequest("a", dest, size_bytes, max_latency_ms, size_in_bits=True)
    return make_state_policy("databelt").place(graph, request)


def test_picks_the_only_node_that_fits() -> None:
    placement = databelt(LINE, 1000, 25)
    assert placement.node == "b"
    assert placement.reason is Reason.FITS_SLO
    assert placement.migration_ms == pytest.approx(20.08)
    assert placement.path == ("a", "b", "c", "d")


def test_keeps_the_state_local_when_none_fits() -> None:
    placement = databelt(LINE, 1000, 15)
    assert (placement.node, placement.reason, placement.migration_ms) == ("a", Reason.NONE_FITS, 0)


def test_picks_the_destination_when_all_fit() -> None:
    placement = databelt(LINE, 1000, 100)
    assert placement.node == "d"
    assert placement.migration_ms == pytest.approx(60.08)


def test_a_bigger_state_moves_less_far() -> None:
    assert databelt(LINE, 1000, 45).node == "c"
    # 200 kB take 16 ms at 100 Mbit/s: b costs 36 ms, c 56 ms.
    assert databelt(LINE, 200_000, 45).node == "b"


def test_bandwidth_is_the_mean_over_the_links_in_megabits() -> None:
    graph = LatencyGraph.from_links([Link("a", "b", 10, 100), Link("b", "c", 10, 300)])
    # 1 MB = 8,000,000 bit over a mean 200 Mbit/s = 40 ms, plus 2 x 20 ms.
    placement = databelt(graph, 1_000_000, 80, dest="c")
    assert (placement.node, placement.migration_ms) == ("c", pytest.approx(80.0))
    # b alone needs 20 + 80 ms over its 100 Mbit/s link, so nothing fits below 80 ms.
    assert databelt(graph, 1_000_000, 79.9, dest="c").node == "a"


def test_the_papers_term_divides_bytes_by_the_bandwidth() -> None:
    # As published and as the original computes it: D in bytes over 1000 B, so 1 MB over
    # 100 Mbit/s counts 10 ms (in bits it takes 80 ms).
    request = StateRequest("a", "b", 1_000_000, 30)
    placement = make_state_policy("databelt").place(LINE, request)
    assert (placement.node, placement.migration_ms) == ("b", pytest.approx(30.0))
    assert request.size_term == 1_000_000
    assert StateRequest("a", "b", 1_000_000, 30, size_in_bits=True).size_term == 8_000_000


def test_one_constant_bandwidth_replaces_the_paths_mean_as_the_original_deploys_it() -> None:
    # The original's AVG_SAT_BANDWIDTH: 80 Mbit/s whatever the links, so 1 MB (bytes) over
    # the 100 Mbit/s line counts 12.5 ms, not 10: b then costs 32.5 ms.
    request = StateRequest("a", "d", 1_000_000, 32.5, bandwidth_mbps=80.0)
    placement = make_state_policy("databelt").place(LINE, request)
    assert (placement.node, placement.migration_ms) == ("b", pytest.approx(32.5))
    mean = make_state_policy("databelt").place(LINE, StateRequest("a", "d", 1_000_000, 32.5))
    assert mean.node == "b" and mean.migration_ms == pytest.approx(30.0)


def test_follows_the_lowest_latency_path() -> None:
    graph = LatencyGraph.from_links(
        [Link("a", "b", 10, 100), Link("b", "d", 10, 100), Link("a", "c", 5, 100),
         Link("c", "d", 5, 100)]
    )  # fmt: skip
    assert databelt(graph, 0, 100).path == ("a", "c", "d")
    assert databelt(graph, 0, 15).node == "c"


def test_unreachable_destination_keeps_the_state_local() -> None:
    graph = LatencyGraph.from_links([Link("a", "b", 1, 100), Link("d", "e", 1, 100)])
    placement = databelt(graph, 10, 1000)
    assert (placement.node, placement.reason) == ("a", Reason.UNREACHABLE)


def test_a_state_already_at_the_destination_stays() -> None:
    placement = databelt(LINE, 10, 1000, dest="a")
    assert (placement.node, placement.reason) == ("a", Reason.AT_DESTINATION)


@pytest.mark.parametrize("name", ["databelt", "stateless", "local"])
def test_every_policy_but_random_keeps_a_state_that_is_already_at_its_destination(
    name: str,
) -> None:
    placement = make_state_policy(name).place(LINE, StateRequest("b", "b", 1000, 10))
    assert (placement.node, placement.migration_ms, placement.path) == ("b", 0, ("b",))


def test_zero_latency_links_are_links() -> None:
    graph = LatencyGraph.from_links([Link("a", "b", 0, 100), Link("b", "c", 0, 100)])
    assert databelt(graph, 0, 1, dest="c").node == "c"


def test_stateless_always_picks_the_destination() -> None:
    policy = make_state_policy("stateless")
    placement = policy.place(LINE, StateRequest("a", "d", 1000, 1))
    assert (placement.node, placement.reason) == ("d", Reason.STATELESS)
    assert placement.migration_ms == pytest.approx(60.01)
    cut = LatencyGraph.from_links([Link("a", "b", 1, 100), Link("d", "e", 1, 100)])
    assert policy.place(cut, StateRequest("a", "d", 1, 1)).migration_ms == math.inf


def test_local_never_moves() -> None:
    placement = make_state_policy("local").place(LINE, StateRequest("a", "d", 1000, 1000))
    assert (placement.node, placement.reason, placement.migration_ms) == ("a", Reason.LOCAL, 0)


def test_random_draws_any_node_and_repeats_with_its_seed() -> None:
    # e hangs off the a-d path: the original's random draws from all nodes, not the path.
    graph = LatencyGraph.from_links([*LINE_LINKS, Link("b", "e", 10, 100)])
    request = StateRequest("a", "d", 1000, 1)

    def draws(seed: int) -> list[str]:
        policy = make_state_policy("random", seed=seed)
        return [policy.place(graph, request).node for _ in range(80)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert set(draws(7)) == {"a", "b", "c", "d", "e"}
    placement = make_state_policy("random", seed=7).place(graph, request)
    assert placement.reason is Reason.RANDOM


def test_the_scenario_schema_takes_the_registered_policies_and_rejects_others() -> None:
    for name in STATE_POLICIES.names():
        assert PlatformSpec(state=name).state == name
    with pytest.raises(ValueError, match="'databelt', 'stateless', 'random' or 'local'"):
        make_state_policy("nearest")
    with pytest.raises(ValueError, match="must be 'databelt'"):
        PlatformSpec(state="nearest")


def test_duplicate_links_are_rejected() -> None:
    with pytest.raises(ValueError, match="more than one link"):
        LatencyGraph.from_links([Link("a", "b", 1, 10), Link("b", "a", 2, 10)])


def test_a_path_matrix_keeps_relaying_nodes_on_the_path() -> None:
    # x - y - z in a line (x-z goes through y); w unreachable.
    nan = np.nan
    delay = np.array([[0, 10, 20, nan], [10, 0, 10, nan], [20, 10, 0, nan], [nan] * 3 + [0]])
    reachable = np.isfinite(delay)
    paths = PathMatrix(
        time=datetime(2025, 1, 1, tzinfo=timezone.utc),
        names=("x", "y", "z", "w"),
        delay_ms=delay,
        hops=np.where(reachable, 1, -1),
        bandwidth_mbps=np.where(reachable, 50.0, nan),
        loss=np.where(reachable, 0.0, nan),
        reachable=reachable,
    )
    graph = LatencyGraph.from_path_matrix(paths)
    assert graph.latency_ms.nnz == 4  # x-y and y-z, both ways
    policy = make_state_policy("databelt")
    placement = policy.place(graph, StateRequest("x", "z", 0, 25))
    assert (placement.path, placement.node) == (("x", "y", "z"), "y")
    assert policy.place(graph, StateRequest("x", "w", 0, 1000)).reason is Reason.UNREACHABLE
