"""`bench transfers` and the capacity figures of `bench network`, small: every way across
works at sizes over aiohttp's 1 MiB default, the reference VM answers, and no transfer
beats physics (a round trip, or a one-way trip for a cast). How close the figures come to
the model is the benchmark's to print, not a test's to time."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from host_state import assert_clean
from testbed_cli import run_cli

from testbed.bench.capacity import bench_capacity, capacity_loads
from testbed.bench.transfer_plan import PATHS

pytestmark = pytest.mark.system

DELAY_MS = 20.0


def test_bench_transfers_measures_every_path_next_to_the_model_and_netem(
    clean_host: dict[str, object], tmp_path: Path
) -> None:
    output = tmp_path / "transfers.csv"
    result = run_cli(
        "bench", "transfers", "--pairs", f"{DELAY_MS:g}ms:50", "--sizes", "10k,2m",
        "--flows", "1,2", "--repeats", "2", "--output", str(output), timeout_s=900,
    )  # fmt: skip
    rows = list(csv.DictReader(output.open()))
    assert {row["path"] for row in rows} == set(PATHS)
    assert len(rows) == len(PATHS) * 2 * 2
    for row in rows:
        assert row["error"] == "", row
        seconds = [float(s) for s in row["seconds"].split()]
        assert len(seconds) == 2, row
        trip_s = DELAY_MS / 1e3 * (1 if row["path"] == "cast" else 2)
        assert min(seconds) >= trip_s, row
    netem = [row for row in rows if row["netem_seconds"]]
    assert {(r["path"], r["size_bytes"]) for r in netem} == {
        ("tcp-fresh", "10240"),
        ("tcp-reused", "10240"),
    }
    for row in netem:
        assert float(row["netem_p50_s"]) >= 2 * DELAY_MS / 1e3, row
    assert "every transfer <= 1.5x its model" in result.stdout
    assert_clean(clean_host)


def test_capacity_rows_compare_the_backend_with_bare_veths(
    fabric_host: None, clean_host: dict[str, object]
) -> None:
    rows = {
        row.metric: row
        for row in bench_capacity(
            None, seconds=2, senders=1, streams=2, target_gbps=1.0, target_pps=20_000
        )
    }
    for load in capacity_loads(1, 2, 1.0, 20_000):
        for label in ("bare veths", "userspace"):
            assert rows[f"{load.label}: aggregate, {label}"].value > 0, rows
            assert rows[f"{load.label}: packets/s, {label}"].value > 0, rows
            assert f"{load.label}: senders that did not finish, {label}" not in rows
        assert rows[f"{load.label}: delay line CPU, userspace"].value > 0
        # The idle pair's RTT: about 0 on bare veths, 2 x 1 ms through the delay line.
        assert abs(rows[f"{load.label}: RTT error p50, bare veths"].value) < 1.0, rows
        assert rows[f"{load.label}: RTT error p50, userspace"].value > -0.1, rows
    assert_clean(clean_host)
