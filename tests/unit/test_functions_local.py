"""Every shipped example runs end to end on the local runtime and computes real results."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from testbed.workload.loader import load_workflow
from testbed.workload.local import LocalRuntime

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def _runtime(path: str) -> LocalRuntime:
    runtime = LocalRuntime(load_workflow(FUNCTIONS / path))
    runtime.start()
    return runtime


def _module(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("helper", FUNCTIONS / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ping_pong_timer_call_and_sync_survive_a_restart() -> None:
    runtime = _runtime("ping_pong/workflow.json")
    runtime.run(until_ms=3000)
    assert [m for _, who, m in runtime.logs if who == "pinger"] == [
        "got PONG-0",
        "got PONG-1",
        "got PONG-2",
    ]
    runtime.restart("pinger")
    runtime.run(until_ms=4500)
    assert runtime.logs[-1][2] == "got PONG-3"  # resumed from the synced count
    assert runtime.saved["pinger"] == 4


def test_vector_mul_chain_returns_the_product_to_the_client() -> None:
    runtime = _runtime("vector_mul/workflow-chain.json")
    runtime.run(until_ms=1500)
    result = runtime.state.get("client/result")
    vector_mul = _module("vector_mul/vector_mul.py")
    weights = np.random.default_rng(42).random(10_000)
    expected = vector_mul.input_vector(42, 1, 10_000) * weights * weights
    assert result["round"] == 1
    np.testing.assert_allclose(result["x"], expected)


def test_matrix_mul_chain_multiplies_through_three_stages() -> None:
    runtime = _runtime("matrix_mul/workflow-chain.json")
    runtime.run(until_ms=0)
    result = runtime.state.get("f3/result")
    own = np.random.default_rng(42).random((100, 100))
    request = np.random.default_rng(43).random((100, 100))
    assert result.shape == (100, 100)
    np.testing.assert_allclose(result, request @ own @ own @ own)


def test_matrix_mul_rejects_sizes_outside_edgeless_range() -> None:
    matrix_mul = _module("matrix_mul/matrix_mul.py")
    with pytest.raises(ValueError, match="100 to 1000"):
        matrix_mul.handle_init(None, {"matrix_size": "50"}, None)


def test_wildfire_finds_the_fires_it_planted() -> None:
    runtime = _runtime("wildfire/workflow.yaml")
    fires = [[20, 30], [45, 70], [10, 85]]
    request = {"id": "r1", "frames": 16, "height": 64, "width": 96, "seed": 3, "fires": fires}
    assert runtime.request("drone-ingress", request) == {"id": "r1", "shape": [16, 64, 96]}
    runtime.run()
    record = runtime.state.get("dataset/r1")
    found = sorted(spot["centroid"] for spot in record["hotspots"])
    assert len(found) == len(fires)
    for (row, col), (found_row, found_col) in zip(sorted(fires), found, strict=True):
        assert abs(found_row - row) < 2 and abs(found_col - col) < 2
    assert [f["index"] for f in record["frames"]] == [0, 4, 8, 12]
    labels = record["frames"][0]["labels"]
    assert len(labels) == 3 and all(0 < value < 1 for label in labels for value in label[1:])
    assert runtime.received["dataset-log"] == [record]


def test_wildfire_finds_nothing_in_a_quiet_video() -> None:
    runtime = _runtime("wildfire/workflow.yaml")
    request = {"id": "calm", "frames": 8, "height": 48, "width": 48, "seed": 1, "fires": []}
    runtime.request("drone-ingress", request)
    runtime.run()
    assert runtime.state.get("dataset/calm")["hotspots"] == []


def test_gaia_matrix_multiply_on_cpu() -> None:
    runtime = _runtime("gaia/workflow.yaml")
    reply = runtime.request("matmul-ingress", {"size": 200, "seed": 5})
    rng = np.random.default_rng(5)
    a = rng.random((200, 200), dtype=np.float32)
    expected = a @ rng.random((200, 200), dtype=np.float32)
    assert reply["shape"] == [200, 200] and reply["device"] == "cpu"
    assert reply["checksum"] == pytest.approx(float(expected.sum(dtype=np.float64)), rel=1e-6)


def test_gaia_image_classifier_is_deterministic_and_not_constant() -> None:
    runtime = _runtime("gaia/workflow-classifier.yaml")
    request = {"batch": 16, "pixels": 32, "seed": 3}
    first = runtime.request("classifier-ingress", request)
    runtime.restart("image-classifier")
    assert runtime.request("classifier-ingress", request) == first
    assert first["device"] == "cpu" and len(first["classes"]) == 16
    assert len(set(first["classes"])) > 1  # not a constant answer


def test_gaia_idle_wait_waits_and_says_where() -> None:
    runtime = _runtime("gaia/workflow-idle.yaml")
    assert runtime.request("idle-ingress", {"wait_s": 0.01}) == {"waited": True, "device": "cpu"}


def test_databelt_workflow_carries_each_requests_state_to_the_alarm() -> None:
    runtime = _runtime("databelt/workflow.yaml")
    runtime.cast("preprocess", {"id": 3, "size": 1000}, source="edge-ingress")
    runtime.run()
    assert runtime.state.get("s1") == bytes([3]) * 1000
    assert [m for _, who, m in runtime.logs if who == "alarm"] == ["request 3: 1000 bytes arrived"]


@pytest.mark.parametrize("workflow", ["workflow-bundle.yaml", "workflow-fused.yaml"])
def test_databelt_bundles_arrive_whole_one_by_one_or_fused(workflow: str) -> None:
    runtime = _runtime(f"databelt/{workflow}")
    runtime.cast("preprocess", {"id": 4, "size": 10}, source="edge-ingress")
    runtime.run()
    assert [m for _, who, m in runtime.logs if who == "alarm"] == ["request 4: 30 bytes arrived"]
    fused = runtime.state.get_fused()
    assert sorted(fused) == (["s1", "s2", "s3"] if "fused" in workflow else [])


@pytest.mark.parametrize("fused", [False, True])
def test_databelt_requests_size_their_bundle_and_say_if_it_is_fused(fused: bool) -> None:
    """`bundle` and `fused` in the request (Databelt's 1-5 states, one by one or fused) win
    over the workflow's settings, all down the chain."""
    runtime = _runtime("databelt/workflow-pinned.yaml")
    request = {"id": 5, "size": 10, "bundle": 5, "fused": fused}
    runtime.cast("preprocess", request, source="edge-ingress")
    runtime.run()
    assert [m for _, who, m in runtime.logs if who == "alarm"] == ["request 5: 50 bytes arrived"]
    assert sorted(runtime.state.get_fused()) == (["s1", "s2", "s3", "s4", "s5"] if fused else [])
