"""Nodes on demand without root: scenario fields, fabric slots in the tick loop (a node
joining is shaped at once, leaving drops its pairs), the HTB tree of a slot, the
scheduler's latencies over every candidate from one search per source, and the agent's
table of node addresses."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path

import numpy as np
import pytest

from testbed.emulation.linkstate import slot_link_state, without_slot
from testbed.emulation.shaping.htb import HtbTree
from testbed.emulation.shaping.plan import LinkState, Pairs
from testbed.emulation.ticks import Tick, TickLoop
from testbed.errors import UserError
from testbed.platform.control.placement import Placer, place_whole
from testbed.platform.node.agent.hosts import HostTable
from testbed.run.preflight import check_scenario
from testbed.scenario.loader import load_scenario
from testbed.topology.engine import TopologyEngine
from testbed.workload.loader import load_workflow

REPO = Path(__file__).resolve().parents[2]
ON_DEMAND = REPO / "tests/system/scenarios/on_demand.yaml"
BBOX = REPO / "tests/system/scenarios/bbox.yaml"
DEMO = REPO / "topologies/demo.yaml"


class SlotBackend:
    """Keeps what the loop hands over, and which slots it was told to attach or detach."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[tuple[LinkState, Pairs]] = []
        self.events: list[tuple[str, int]] = []

    def attach(self, slot: int) -> None:
        self.events.append(("attach", slot))

    def detach(self, slot: int) -> None:
        self.events.append(("detach", slot))

    def apply(self, state: LinkState, pairs: Pairs) -> object:
        self.calls.append((state, pairs.copy()))
        return None


@pytest.fixture(scope="module")
def engine() -> TopologyEngine:
    return TopologyEngine(load_scenario(ON_DEMAND))


def test_a_whole_shell_becomes_candidates_on_demand(engine: TopologyEngine) -> None:
    on_demand = [node for node in engine.nodes if node.on_demand]
    assert len(on_demand) == 60 and all(node.name.startswith("sat-leo-") for node in on_demand)
    assert [node.name for node in engine.nodes if not node.on_demand] == ["cloud", "drone"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("platform.on_demand.idle=5s", "platform.on_demand.idle: must be >= 20"),
        ("platform.on_demand.max_active=0", "platform.on_demand.max_active: must be > 0"),
        (
            "nodes[2].select={shell: leo, bbox: {lat_min: 0, lat_max: 1, lon_min: 0, lon_max: 1}}",
            "nodes[2].on_demand: not with select.bbox",
        ),
        ("workload.ingress=sat-leo-0-0", "workload.ingress: 'sat-leo-0-0' is a node on demand"),
    ],
)
def test_bad_on_demand_settings_name_the_field(override: str, message: str) -> None:
    with pytest.raises(UserError) as error:
        check_scenario(ON_DEMAND, [override], need_workload=True)
    assert message in str(error.value)


def test_slot_state_puts_each_node_in_its_slot_and_leaves_empty_slots_unreachable() -> None:
    compact = LinkState.uniform(2, delay_ms=5.0, rate_mbps=100.0, loss=0.01)
    state = slot_link_state(compact, [0, 3], 4)
    assert state.n_nodes == 4
    assert state.reachable[0, 3] and state.reachable[3, 0] and state.delay_ms[0, 3] == 5.0
    assert not state.reachable[1].any() and not state.reachable[:, 2].any()
    assert state.delay_ms[1, 0] == 0.0 and np.isinf(state.rate_mbps[2, 3])
    cleared = without_slot(state, 3)
    assert not cleared.reachable[0, 3] and not cleared.reachable[3, 0]
    assert cleared.delay_ms[0, 3] == 0.0 and state.reachable[0, 3], "a copy"


def test_a_node_taking_a_slot_is_applied_at_once_and_leaving_drops_its_pairs(
    engine: TopologyEngine,
) -> None:
    backend = SlotBackend()
    seen: list[Tick] = []
    loop = TickLoop(engine, backend, observers=[seen.append], slots=[0, 1, None, None])
    times = engine.tick_times()
    loop.apply(0, times[0])
    assert loop.current is not None and loop.current.names == ("cloud", "drone")
    first_pairs = {tuple(p) for p in backend.calls[0][1]}
    assert first_pairs == {(i, j) for i in range(4) for j in range(4) if i != j}
    satellite = engine.node_index("sat-leo-0-3")
    loop.occupy(3, satellite)
    assert backend.events == [("attach", 3)]
    state, pairs = backend.calls[-1]
    assert {tuple(p) for p in pairs} == {(0, 3), (3, 0), (1, 3), (3, 1)}
    expected = engine.paths(times[0], ["cloud", "sat-leo-0-3"])
    assert state.delay_ms[0, 3] == pytest.approx(expected.delay_ms[0, 1])
    assert seen[-1].slot_names == ("cloud", "drone", None, "sat-leo-0-3")
    assert loop.current.names == ("cloud", "drone", "sat-leo-0-3")
    assert loop.paths_at(times[5]).names == ("cloud", "drone", "sat-leo-0-3")
    with pytest.raises(ValueError, match="slot 3 is taken"):
        loop.occupy(3, satellite + 1)
    loop.vacate(3)
    assert backend.events[-1] == ("detach", 3)
    assert len(backend.calls[-1][1]) == 0, "the backend already drops the slot's pairs"
    loop.apply(1, times[1])
    state, pairs = backend.calls[-1]
    assert not state.reachable[3].any() and not state.reachable[:, 3].any()
    assert not any(3 in p for p in pairs.tolist())
    assert loop.current.names == ("cloud", "drone")


def test_a_slot_tree_is_built_when_a_node_attaches_and_skipped_while_empty() -> None:
    tree = HtbTree([11, -1, 13])
    assert tree.gone.tolist() == [False, True, False]
    assert len(tree.setup_messages()) == 2 * (2 + 2 + 1), "root, default, 2 sources, filter"
    every = np.argwhere(~np.eye(3, dtype=bool))
    assert not any(p[1] == 1 for p in tree.live_pairs(every).tolist())
    messages = tree.attach(1, 12)
    assert len(messages) == 5 and not tree.gone[1] and tree.ifindex[1] == 12
    assert len(tree.live_pairs(every)) == 6
    tree.detach(1)
    assert tree.gone[1] and tree.ifindex[1] == -1


@pytest.mark.parametrize("scenario", [DEMO, BBOX, ON_DEMAND])
def test_latencies_from_one_node_equal_its_row_of_the_path_matrix(scenario: Path) -> None:
    engine = TopologyEngine(load_scenario(scenario))
    for index in (0, 400):
        snapshot = engine.snapshot(engine.tick_times()[index % len(engine.tick_times())])
        matrix = engine.path_matrix(snapshot)
        for k, name in enumerate(engine.node_names):
            expected = np.where(matrix.reachable[k], matrix.delay_ms[k], np.nan)
            got = engine.latencies_from(snapshot, name)
            np.testing.assert_allclose(got, expected, atol=1e-9, equal_nan=True)


def test_the_placer_chooses_among_candidates_without_a_container(engine: TopologyEngine) -> None:
    workflow = load_workflow(REPO / "tests/system/scenarios/on_demand_workflow.yaml")
    now = engine.paths(engine.tick_times()[0], ["cloud", "drone"])  # the tick loop's view
    placer = Placer(engine, now, "hyperdrive", ingress="drone")
    placed = {p.function: p for p in place_whole(placer, workflow, "w000")}
    assert placed["ingest"].node == "drone"
    assert placed["extract-frames"].node.startswith("sat-leo-")
    (link,) = placed["extract-frames"].inbound
    full = engine.paths(engine.tick_times()[0])
    assert link.latency_ms == pytest.approx(full.latency_ms("drone", placed["extract-frames"].node))


def test_the_host_table_resolves_nodes_and_leaves_other_names_to_the_system() -> None:
    async def resolve() -> tuple[list, list]:
        table = HostTable()
        table.adopt({"sat-leo-0-3": "10.200.0.3"})
        try:
            mine = await table.resolve("sat-leo-0-3", 8080)
            system = await table.resolve("localhost", 8080, socket.AF_INET)
        finally:
            await table.close()
        return mine, system

    mine, system = asyncio.run(resolve())
    assert [(r["host"], r["port"]) for r in mine] == [("10.200.0.3", 8080)]
    assert system and system[0]["host"] == "127.0.0.1"


PAPER_1118 = REPO / "topologies/hyperdrive-paper-1118.yaml"


def test_node_areas_draw_the_original_points_each_with_a_site_of_its_own() -> None:
    scenario = load_scenario(PAPER_1118)
    stations = {station.name: (station.lat, station.lon) for station in scenario.ground_stations}
    draw = random.Random(1)  # HyperDrive's generator: 95 edge points, then 8 stations
    edge = [(draw.uniform(32.729169, 41.990495), draw.uniform(-124.218537, -114.613391))
            for _ in range(95)]  # fmt: skip
    ground = [(draw.uniform(-90, 90), draw.uniform(-180, 180)) for _ in range(8)]
    again = random.Random(1)  # the area's own stream: its 95 points, then each one's cores
    for _ in range(2 * 95):
        again.random()
    cores = [again.choice([2.0, 4.0]) for _ in range(95)]
    assert [stations[f"edge-{k:02d}"] for k in range(1, 96)] == edge
    assert [stations[f"gs-{k}"] for k in range(1, 9)] == ground
    nodes = {node.name: node for node in scenario.nodes if node.name}
    assert nodes["edge-07"].site == "edge-07" and nodes["edge-07"].area is None
    assert [nodes[f"edge-{k:02d}"].cpus for k in range(1, 96)] == cores
    assert nodes["edge-07"].memory_bytes == cores[6] * 2**30 and nodes["edge-07"].on_demand
    with TopologyEngine(scenario) as engine:
        assert len(engine.nodes) == 1118 and sum(not n.on_demand for n in engine.nodes) == 5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nodes[5].site=redu", "nodes[5].site: not with area"),
        ("nodes[5].area.lon_max=-130", "nodes[5].area: lon_min must be < lon_max"),
        ("nodes[0].name=edge-07", "nodes: 'edge-07' is also a node of a node area"),
    ],
)
def test_bad_node_areas_name_the_field(override: str, message: str) -> None:
    with pytest.raises(UserError) as error:
        load_scenario(PAPER_1118, [override])
    assert message in str(error.value)


def test_a_source_near_the_ingress_is_bound_per_workflow_and_its_satellite_claimed() -> None:
    scenario = load_scenario(PAPER_1118)
    workflow = load_workflow(REPO / "functions/wildfire/workflow-paper.yaml")
    with TopologyEngine(scenario) as engine:
        now = engine.paths(engine.tick_times()[12], ["drone-1"])
        placer = Placer(engine, now, "hyperdrive", ingress="drone-1")
        bound, claims = placer.bind_sources(workflow, "drone-2")
        (source,) = bound.sources
        assert workflow.sources[0].node is None and source.node == claims[0].node
        k = placer.cluster.index[source.node]
        drone = placer.cluster.index["drone-2"]
        assert placer.cluster.ground_distance_km(drone, np.array([k]))[0] <= 500.0
        near = [
            int(s)
            for s in placer.cluster.members["satellite"]
            if placer.cluster.ground_distance_km(drone, np.array([s]))[0] <= 500.0
        ]
        assert k == near[: min(10, len(near))][-1], "the last of the first 10, as the original"
        free = placer.cluster.capacity_milli_cpu[k] - placer.cluster.reserved_milli_cpu[k]
        assert free == 0, "claimed whole: no task runs on the data's own satellite"
        placed = place_whole(placer, bound, "w001", "drone-2")
        assert placed[0].node == "drone-2" and source.node not in {p.node for p in placed}
        detection = next(p for p in placed if p.function == "object-detection")
        assert {link.source for link in detection.inbound} == {"extract-frames", "eo-satellite"}
        placer.unclaim(claims[0])
        assert placer.cluster.reserved_milli_cpu[k] == 0
