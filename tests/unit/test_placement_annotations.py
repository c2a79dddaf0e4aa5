"""EDGELESS's placement annotations (`edgeless_orc/src/deployment_requirements.rs`), this
project's `max_instances` rule and the `at_ingress` pin, through the scheduler and Placer.

Each annotation gets a node that satisfies it and one that does not. The scheduler-level
tests run every registered scheduler; the Placer-level ones use a small scenario (one
equatorial satellite, one station with every terrestrial node at it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from testbed.orbit.frames import geodetic_point_km
from testbed.platform.control.placement import (
    Placer,
    Rejected,
    place_whole,
    scheduler_nodes,
    task_of,
)
from testbed.platform.control.scheduler import (
    THERMAL_PROFILES,
    Annotations,
    Cluster,
    Inbound,
    MatrixLatencyView,
    Node,
    NoPlacement,
    Placement,
    Request,
    make_scheduler,
)
from testbed.plugins import SCHEDULERS
from testbed.scenario.loader import scenario_from_data
from testbed.topology.engine import TopologyEngine
from testbed.workload.model import Edge, FunctionInstance, TaskResources, Workflow
from testbed.workload.model import Placement as Annotated

EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


def function(name: str, milli_cpu: int = 1000, max_instances: int | None = None,
             **placement: Any) -> FunctionInstance:  # fmt: skip
    return FunctionInstance(
        name=name,
        class_id=f"{name}-class",
        version="0.1",
        code=Path(f"{name}.py"),
        max_instances=max_instances,
        placement=Annotated(**placement),
        resources=TaskResources(milli_cpu=milli_cpu, memory_mb=128),
    )


# (annotations of the function, labels and providers of the node that satisfies them;
#  the node that does not has `camera=no`, `http-ingress` and no tee/tpm)
CASES = {
    "node_id_match_any": {"node_id_match_any": ("yes", "elsewhere")},
    "label_match_all": {"label_match_all": ("camera", "camera=yes")},
    "resource_match_all": {"resource_match_all": ("file-log",)},
    "tee": {"tee": True},
    "tpm": {"tpm": True},
}
YES_LABELS = frozenset({"camera", "camera=yes", "tee", "tee=on", "tpm", "tpm=on"})
NO_LABELS = frozenset({"camera", "camera=no"})


def test_task_of_maps_annotations_and_tee_tpm_to_labels() -> None:
    task = task_of(
        function("f", node_id_match_any=("a", "b"), label_match_all=("camera",),
                 resource_match_all=("file-log",), tee=True, tpm=True)
    )  # fmt: skip
    assert task.annotations == Annotations(("a", "b"), ("camera", "tee", "tpm"), ("file-log",))
    assert task_of(function("g")).annotations == Annotations()


# ------------------------------------------------------------------ scheduler level


def equator_node(name: str, km: float, labels: frozenset[str] = frozenset(),
                 providers: frozenset[str] = frozenset()) -> Node:  # fmt: skip
    position = geodetic_point_km(0.0, km / 111.2, 0.0)
    return Node(name, "edge", "x86_64", 1000, 1024, position, labels=labels, providers=providers)


def cluster(with_yes: bool = True) -> Cluster:
    """`anchor` (nothing), `no` (the wrong things), then `yes`: every scheduler here would
    pick `anchor` or `no` before `yes` were it not for the annotations."""
    nodes = [
        equator_node("anchor", 0),
        equator_node("no", 10, NO_LABELS, frozenset({"http-ingress"})),
    ]
    if with_yes:
        nodes.append(equator_node("yes", 20, YES_LABELS, frozenset({"file-log"})))
    return Cluster(nodes)


def decide(scheduler: str, cluster: Cluster, annotations: dict[str, Any]) -> Any:
    matrix = np.zeros((len(cluster), len(cluster)))
    latency = MatrixLatencyView(cluster.names, [(0.0, matrix)])
    task = task_of(function("f", **annotations))
    request = Request(task, (Inbound("anchor", math.inf),))
    return make_scheduler(scheduler, cluster, latency, seed=3).place(request)


@pytest.mark.parametrize("scheduler", SCHEDULERS.names())
@pytest.mark.parametrize("case", CASES)
def test_the_node_that_satisfies_the_annotation_is_chosen(scheduler: str, case: str) -> None:
    placed = decide(scheduler, cluster(), CASES[case])
    assert isinstance(placed, Placement) and placed.node == "yes"


@pytest.mark.parametrize("scheduler", SCHEDULERS.names())
@pytest.mark.parametrize("case", CASES)
def test_no_node_when_none_satisfies_the_annotation(scheduler: str, case: str) -> None:
    result = decide(scheduler, cluster(with_yes=False), CASES[case])
    assert isinstance(result, NoPlacement)
    assert result.eliminated_by == "annotations"
    assert result.remaining["resources"] == 2 and result.remaining["annotations"] == 0


@pytest.mark.parametrize("scheduler", SCHEDULERS.names())
def test_every_listed_label_is_needed_and_any_listed_name_will_do(scheduler: str) -> None:
    half = {"label_match_all": ("camera", "camera=yes", "gpu")}
    assert isinstance(decide(scheduler, cluster(), half), NoPlacement)
    names = {"node_id_match_any": ("no", "yes")}
    assert decide(scheduler, cluster(), names).node in {"no", "yes"}
    assert decide(scheduler, cluster(), {}).node in {"anchor", "no", "yes"}


# ------------------------------------------------------------------ Placer level


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TopologyEngine]:
    satellite = {"name": "w", "altitude_km": 550, "inclination_deg": 0, "planes": 1,
                 "sats_per_plane": 1}  # fmt: skip
    data = {
        "version": 1,
        "name": "annotations-test",
        "time": {"epoch": "2025-01-01T00:00:00Z", "duration": "10m", "tick": "1s"},
        "constellation": {"shells": [satellite]},
        "links": {"terrestrial": {"latency_ms": 0.0}},
        "ground_stations": [{"name": "base", "lat": 0.0, "lon": 0.0}],
        "nodes": [
            {"name": "drone", "kind": "edge", "site": "base"},
            {"name": "yes", "kind": "edge", "site": "base", "cpus": 1,
             "labels": {"camera": "yes", "tee": "on", "tpm": "on"}, "providers": ["file-log"]},
            {"name": "no", "kind": "edge", "site": "base", "cpus": 4,
             "labels": {"camera": "no"}, "providers": ["http-ingress"]},
            {"name": "gs", "kind": "ground", "site": "base", "cpus": 4},
            {"kind": "satellite", "select": {"ids": ["w-0-0"]}, "thermal": "p3"},
        ],
    }  # fmt: skip
    scenario = scenario_from_data(data, tmp_path_factory.mktemp("scenario"), "test")
    with TopologyEngine(scenario) as built:
        yield built


def placer(engine: TopologyEngine, scheduler: str = "hyperdrive", ingress: str | None = "drone"):
    return Placer(engine, engine.paths(EPOCH), scheduler, ingress)


def chain(work: FunctionInstance, ingest: FunctionInstance | None = None) -> Workflow:
    """ingest (pinned to the ingress) -> work: the ingress anchors work's candidates."""
    ingest = ingest or function("ingest", milli_cpu=100, at_ingress=True)
    edge = Edge(source="ingest", output="out", target="work")
    return Workflow(name="wf", functions=(ingest, work), edges=(edge,))


def test_scheduler_nodes_carry_labels_providers_and_profiles(engine: TopologyEngine) -> None:
    nodes = {node.name: node for node in scheduler_nodes(engine, engine.snapshot(EPOCH))}
    assert nodes["yes"].labels == YES_LABELS
    assert nodes["yes"].providers == frozenset({"file-log"})
    assert (nodes["no"].milli_cpu, nodes["no"].memory_mb) == (4000, 512)
    assert nodes["sat-w-0-0"].thermal == THERMAL_PROFILES[2]
    assert nodes["gs"].thermal is None and nodes["gs"].kind == "ground"


@pytest.mark.parametrize("case", CASES)
def test_placer_honours_each_annotation(engine: TopologyEngine, case: str) -> None:
    """`yes` holds one `work`; the second finds only `no` (room, wrong things) and `gs`."""
    run = placer(engine)
    workflow = chain(function("work", **CASES[case]))
    placed = {p.function: p.node for p in place_whole(run, workflow, "first")}
    assert placed == {"ingest": "drone", "work": "yes"}
    with pytest.raises(Rejected, match="eliminated by annotations"):
        place_whole(run, workflow, "second")


def test_without_annotations_hyperdrive_ties_go_to_the_station_first(
    engine: TopologyEngine,
) -> None:
    placed = place_whole(placer(engine), chain(function("work")), "wf")
    assert [p.node for p in placed] == ["drone", "gs"]


@pytest.mark.parametrize("scheduler", SCHEDULERS.names())
def test_at_ingress_pins_and_reserves(engine: TopologyEngine, scheduler: str) -> None:
    run = placer(engine, scheduler)
    drone = run.cluster.index["drone"]
    pinned = run.place(chain(function("work")), "ingest", {}, "i-ingest")
    assert pinned.node == "drone" and pinned.reason == "pinned to the ingress"
    assert run.cluster.reserved_milli_cpu[drone] == 100
    assert run.live["ingest"] == 1


def test_without_at_ingress_the_scheduler_chooses(engine: TopologyEngine) -> None:
    run = placer(engine, "first-fit")
    free = chain(function("work"), function("ingest", milli_cpu=100))
    assert run.place(free, "ingest", {}, "j-ingest").node == "gs"  # stations first


def test_at_ingress_without_an_ingress_or_room_is_rejected(engine: TopologyEngine) -> None:
    workflow = chain(function("work"), function("ingest", milli_cpu=600, at_ingress=True))
    with pytest.raises(Rejected, match="at_ingress"):
        placer(engine, ingress=None).place(workflow, "ingest", {}, "x")
    run = placer(engine)
    run.place(workflow, "ingest", {}, "first")
    with pytest.raises(Rejected, match="resources"):
        run.place(workflow, "ingest", {}, "second")  # 400 of 1000 mCPU left on the drone


def test_max_instances_counts_live_instances_of_the_function(engine: TopologyEngine) -> None:
    """This project's rule (EDGELESS parses but never enforces it): at most that many live
    instances of the function; releasing one frees a slot; the rejected workflow's other
    functions are given back."""
    run = placer(engine)
    workflow = chain(function("work", max_instances=2))
    first = place_whole(run, workflow, "w1")
    place_whole(run, workflow, "w2")
    reserved = run.cluster.reserved_milli_cpu.copy()
    with pytest.raises(Rejected, match="max_instances 2 already live"):
        place_whole(run, workflow, "w3")
    assert np.array_equal(run.cluster.reserved_milli_cpu, reserved), "ingest rolled back"
    assert (run.live["work"], run.live["ingest"]) == (2, 2)
    for done in first:
        run.release(workflow, done)
    assert run.live["work"] == 1
    assert next(p.node for p in place_whole(run, workflow, "w3")) == "drone"
    unlimited = chain(function("work"))  # same name, no limit: never refused for it
    for k in range(2):
        place_whole(run, unlimited, f"u{k}")
    assert run.live["work"] == 4


def test_release_brings_reservations_back_to_their_start(engine: TopologyEngine) -> None:
    run = placer(engine)
    start_cpu = run.cluster.reserved_milli_cpu.copy()
    start_memory = run.cluster.reserved_memory_mb.copy()
    workflows = [chain(function("work", milli_cpu=cpu)) for cpu in (1000, 500, 1500, 250)]
    placed = [place_whole(run, wf, f"wf{k}") for k, wf in enumerate(workflows)]
    assert run.cluster.reserved_milli_cpu.sum() == 4 * 100 + 3250
    assert run.cluster.reserved_memory_mb.sum() == 8 * 128
    for k in (2, 0, 3, 1):
        for done in reversed(placed[k]):
            run.release(workflows[k], done)
    assert np.array_equal(run.cluster.reserved_milli_cpu, start_cpu)
    assert np.array_equal(run.cluster.reserved_memory_mb, start_memory)
    assert sum(run.live.values()) == 0
