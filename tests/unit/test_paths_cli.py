"""`testbed paths`: the JSON document, the CSV time series and one-line option errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from testbed import cli

DEMO = str(Path(__file__).resolve().parents[2] / "topologies" / "demo.yaml")


def test_json_has_exactly_the_documented_shape() -> None:
    result = CliRunner().invoke(cli.app, ["paths", DEMO, "--json", "--at", "2025-01-01T00:02:00Z"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["time", "nodes", "delay_ms", "hops", "bandwidth_mbps", "loss"]
    assert document["time"] == "2025-01-01T00:02:00Z"
    nodes = document["nodes"]
    assert nodes[:2] == ["cloud", "drone-1"] and len(nodes) == 6
    for key, kind in (
        ("delay_ms", float),
        ("hops", int),
        ("bandwidth_mbps", float),
        ("loss", float),
    ):
        matrix = document[key]
        assert len(matrix) == len(nodes) and all(len(row) == len(nodes) for row in matrix)
        assert all(matrix[i][i] == 0 for i in range(len(nodes)))
        assert all(value is None or type(value) is kind for row in matrix for value in row)
    assert document["delay_ms"][0][1] > 5.0  # cloud's 5 ms link plus the way to Graz


def test_default_instant_is_the_epoch_and_the_table_is_readable() -> None:
    result = CliRunner().invoke(cli.app, ["paths", DEMO])
    assert result.exit_code == 0, result.output
    assert "2025-01-01T00:00:00Z" in result.stdout and "drone-1" in result.stdout


def test_time_series_of_one_pair_is_csv() -> None:
    args = ["paths", DEMO, "--from", "cloud", "--to", "drone-1", "--start",
            "2025-01-01T00:01:00Z", "--duration", "5s", "--step", "1s"]  # fmt: skip
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["time", "delay_ms", "hops", "bandwidth_mbps", "reachable"]
    assert [row["time"] for row in rows] == [f"2025-01-01T00:01:0{s}Z" for s in range(5)]
    assert all(row["reachable"] == "true" and float(row["delay_ms"]) > 5.0 for row in rows)
    assert all(int(row["hops"]) >= 3 and float(row["bandwidth_mbps"]) == 500.0 for row in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "noon"], "error: --at: not an ISO 8601 time: 'noon'"),
        (["--from", "nobody", "--to", "cloud"], "error: --from: unknown node 'nobody'"),
        (["--from", "cloud", "--to", "drone-1", "--step", "fast"], "error: --step: "),
        (["--from", "cloud"], "error: --to: required for a time series"),
        (["--duration", "5s"], "error: --duration: only used with --from and --to"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.argv", ["testbed", "paths", DEMO, *args])
    with pytest.raises(SystemExit) as exited:
        cli.run_cli()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_satellites_sgp4_cannot_place_are_named_in_a_warning(tmp_path: Path) -> None:
    line1 = "1 44714C 19074B   24350.56645833  .00026237  00000+0  17578-2 0  3505"
    line2 = "2 44714  53.0534  42.8128 0001373  72.5790  90.6204 15.06374033    15"
    broken = "2 44714  53.0534  42.8128 9991373  72.5790  90.6204  1.06374033    15"
    (tmp_path / "set.tle").write_text(f"GOOD\n{line1}\n{line2}\nBROKEN\n{line1}\n{broken}\n")
    (tmp_path / "s.yaml").write_text(
        "version: 1\nname: broken\n"
        "time: {epoch: '2024-12-15T12:00:00Z', duration: 1m, tick: 1s}\n"
        "constellation: {tle: {file: set.tle}}\n"
        "ground_stations: [{name: x, lat: 0, lon: 0}]\n"
        "nodes: [{name: e, kind: edge, site: x}, {kind: satellite, select: {ids: [good]}}]\n"
    )
    result = CliRunner().invoke(cli.app, ["paths", str(tmp_path / "s.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["nodes"] == ["e", "sat-good"]
    assert "warning: 2024-12-15T12:00:00Z: 1 satellite(s) absent" in result.stderr
    assert "broken (" in result.stderr
