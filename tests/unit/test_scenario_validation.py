"""Every class of user mistake in a scenario file is named by its field path, never a traceback."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.errors import UserError
from testbed.scenario.loader import load_scenario
from testbed.scenario.model import GpuNeed, NodeKind

REPO = Path(__file__).resolve().parents[2]
TOPOLOGIES = sorted((REPO / "topologies").glob("*.yaml"))

VALID: dict[str, Any] = {
    "version": 1,
    "name": "unit",
    "time": {"epoch": "2025-01-01T00:00:00Z", "duration": "2m", "tick": "1s"},
    "constellation": {
        "shells": [
            {
                "name": "leo",
                "altitude_km": 550,
                "inclination_deg": 53,
                "planes": 6,
                "sats_per_plane": 11,
                "phasing": 1,
            }
        ]
    },
    "ground_stations": [
        {"name": "vienna", "lat": 48.21, "lon": 16.37},
        {"name": "graz", "lat": 47.07, "lon": 15.44},
    ],
    "nodes": [
        {"name": "cloud", "kind": "cloud", "site": "vienna", "cpus": 2, "memory": "2g"},
        {"name": "drone-1", "kind": "edge", "site": "graz"},
        {"kind": "satellite", "select": {"shell": "leo", "nearest_to": "vienna", "count": 4}},
    ],
}


def _write(tmp_path: Path, data: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of `data` with the field at `a.b[2].c` replaced (or deleted for ...)."""
    result = copy.deepcopy(data)
    parts = dotted.replace("[", ".").replace("]", "").split(".")
    target: Any = result
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return result


def _problems(tmp_path: Path, data: Any) -> list[str]:
    path = _write(tmp_path, data)
    with pytest.raises(UserError) as caught:
        load_scenario(path)
    prefix = f"{path}: "
    assert all(line.startswith(prefix) for line in caught.value.problems)
    return [line.removeprefix(prefix) for line in caught.value.problems]


def test_valid_scenario_loads_into_typed_objects(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, VALID))
    assert scenario.time.duration_s == 120.0
    assert scenario.time.ticks == 120
    assert scenario.nodes[0].memory_bytes == 2 * 2**30
    assert scenario.nodes[0].kind is NodeKind.cloud
    assert scenario.nodes[1].gpu is GpuNeed.none
    assert scenario.constellation.shells[0].satellites == 66
    assert scenario.source == (tmp_path / "scenario.yaml").resolve()
    assert scenario.station("graz").lat == pytest.approx(47.07)


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("nodes[2].select.count", 0, "nodes[2].select.count: must be > 0"),
        ("time.duration", "-5s", "time.duration: must be > 0"),
        ("time.duration", "0s", "time.duration: must be > 0"),
        ("time.tick", 0, "time.tick: must be > 0"),
        ("time.tick", "5x", "time.tick: must be a duration"),
        ("time.tick", "10m", "time: tick must not be longer than duration"),
        ("time.speed", "fast", "time.speed: must be a number"),
        ("time.epoch", "yesterday", "time.epoch: must be an ISO 8601"),
        ("time.epoch", ..., "time.epoch: required"),
        ("ground_stations[0].lat", 95, "ground_stations[0].lat: must be <= 90"),
        ("ground_stations[1].lon", -181, "ground_stations[1].lon: must be >= -180"),
        ("constellation.shells[0].colour", "red", "constellation.shells[0].colour: unknown key"),
        (
            "constellation.shells[0].planes",
            "six",
            "constellation.shells[0].planes: must be an integer",
        ),
        (
            "constellation.shells[0].phasing",
            6,
            "constellation.shells[0]: phasing must be < planes (6)",
        ),
        ("constellation.shells[0].inclination_deg", 200, "inclination_deg: must be <= 180"),
        ("constellation.shells", [], "constellation: needs at least one of shells or tle"),
        ("nodes[0].cpus", -1, "nodes[0].cpus: must be > 0"),
        ("nodes[0].memory", "lots", "nodes[0].memory: must be a size"),
        (
            "nodes[1].kind",
            "edgy",
            "nodes[1].kind: must be 'cloud', 'edge', 'ground' or 'satellite'",
        ),
        ("nodes[1].arch", "sparc", "nodes[1].arch: must be 'x86_64' or 'arm64'"),
        ("nodes[0].name", "Cloud_1", "nodes[0].name: must be lowercase letters"),
        ("nodes", [], "nodes: needs at least 1 item"),
        ("platform", {"scheduler": "magic"}, "platform.scheduler: must be 'hyperdrive'"),
        ("surprise", 1, "surprise: unknown key"),
        ("links", {"congestion_control": "Cubic!"}, "links.congestion_control: must match"),
        (
            "nodes[2].select.bbox",
            {"lat_min": 1, "lat_max": 2, "lon_min": 0, "lon_max": 1},
            "nodes[2].select: give exactly one of ids, nearest_to (with count), bbox or all",
        ),
        ("workload", {"workflow": "missing.yaml"}, "workload.workflow: file not found"),
        ("workload", {}, "workload.workflow: required"),
    ],
)
def test_structural_mistakes_name_the_field(
    tmp_path: Path, dotted: str, value: Any, expected: str
) -> None:
    problems = _problems(tmp_path, _set(VALID, dotted, value))
    assert any(expected in line for line in problems), problems


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("nodes[0].site", "paris", "nodes[0].site: unknown ground station 'paris'"),
        ("nodes[1].site", ..., "nodes[1].site: required for kind edge"),
        ("nodes[2].select.shell", "meo", "nodes[2].select.shell: unknown shell 'meo'"),
        (
            "nodes[2].select.nearest_to",
            "rome",
            "nodes[2].select.nearest_to: unknown ground station",
        ),
        ("nodes[2].select.count", 67, "nodes[2].select.count: 67 > 66 satellites available"),
        (
            "nodes[2].select",
            {"ids": ["leo-0-0", "leo-9-9"]},
            "nodes[2].select.ids[1]: unknown satellite 'leo-9-9'",
        ),
        ("nodes[1].name", "cloud", "nodes: repeated name 'cloud'"),
        ("ground_stations[1].name", "vienna", "ground_stations: repeated name 'vienna'"),
        ("nodes[0].select", {"ids": ["leo-0-0"]}, "nodes[0].select: only satellite nodes"),
    ],
)
def test_broken_references_name_the_field(
    tmp_path: Path, dotted: str, value: Any, expected: str
) -> None:
    problems = _problems(tmp_path, _set(VALID, dotted, value))
    assert any(expected in line for line in problems), problems


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    data = _set(_set(VALID, "time.tick", 0), "ground_stations[0].lat", 91)
    problems = _problems(tmp_path, data)
    assert len(problems) == 2


def test_missing_and_unsupported_version(tmp_path: Path) -> None:
    assert _problems(tmp_path, _set(VALID, "version", ...)) == [
        "version: required (this testbed reads version 1)"
    ]
    assert "unsupported version 2" in _problems(tmp_path, _set(VALID, "version", 2))[0]


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nname: x\ntime: {epoch: 2025, duration: 1m\n  tick: 1s}\n")
    with pytest.raises(UserError) as caught:
        load_scenario(path)
    assert caught.value.problems[0].startswith(f"{path}:4:")
    assert "YAML syntax error" in caught.value.problems[0]


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nname: x\nname: y\n")
    with pytest.raises(UserError, match="key 'name' given twice"):
        load_scenario(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "must be a mapping" in _problems(tmp_path, "- a\n- b\n")[0]


def test_tle_source_file_relative_to_scenario_and_filtered(tmp_path: Path) -> None:
    tle = (REPO / "topologies/data/starlink-2024-12-15.tle").read_text().splitlines()[:30]
    (tmp_path / "few.tle").write_text("\n".join(tle) + "\n")
    data = _set(VALID, "constellation", {"tle": {"file": "few.tle", "name": "starlink"}})
    data = _set(data, "nodes[2].select", {"nearest_to": "vienna", "count": 3})
    scenario = load_scenario(_write(tmp_path, data))
    assert scenario.constellation.tle is not None
    assert scenario.constellation.tle.file == (tmp_path / "few.tle").resolve()

    unknown_tle = _set(data, "constellation.tle.file", "gone.tle")
    assert any(
        "constellation.tle.file: file not found" in p for p in _problems(tmp_path, unknown_tle)
    )
    empty = _set(data, "constellation.tle.filter", {"name_regex": "^ONEWEB"})
    assert "constellation.tle.filter: selects no satellites" in _problems(tmp_path, empty)
    bad_regex = _set(data, "constellation.tle.filter", {"name_regex": "("})
    assert any(
        "name_regex: invalid regular expression" in p for p in _problems(tmp_path, bad_regex)
    )


def test_malformed_tle_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.tle").write_text("SAT A\n1 00001U ...\nnot a line two\n")
    data = _set(VALID, "constellation", {"tle": {"file": "bad.tle"}})
    data = _set(data, "nodes[2].select", {"nearest_to": "vienna", "count": 1})
    problems = _problems(tmp_path, data)
    assert "constellation.tle.file:" in problems[0] and "line 2" in problems[0]


def test_ground_station_files_stardust_format_and_selection(tmp_path: Path) -> None:
    data = _set(VALID, "ground_stations", [])
    data["ground_station_files"] = [
        {"file": str(REPO / "topologies/data/ground-stations.yml"), "names": ["Vienna", "Graz"]}
    ]
    scenario = load_scenario(_write(tmp_path, data))
    assert [station.name for station in scenario.ground_stations] == ["vienna", "graz"]
    data["ground_station_files"][0]["names"] = ["Vienna", "Atlantis", "Graz"]
    assert any("not in ground-stations.yml: atlantis" in p for p in _problems(tmp_path, data))


def test_gpu_accepts_booleans_and_optional(tmp_path: Path) -> None:
    data = _set(VALID, "nodes[0].gpu", True)
    data = _set(data, "nodes[1].gpu", "optional")
    scenario = load_scenario(_write(tmp_path, data))
    assert scenario.nodes[0].gpu is GpuNeed.required
    assert scenario.nodes[1].gpu is GpuNeed.optional


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "testbed", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", TOPOLOGIES, ids=lambda p: p.name)
def test_shipped_topologies_validate(path: Path) -> None:
    result = _cli("validate", path)
    assert result.returncode == 0, result.stderr
    assert "satellites" in result.stdout and "containers" in result.stdout


def test_shipped_topologies_have_the_promised_sizes() -> None:
    from testbed.scenario.summary import count_scenario

    counts = {path.stem: count_scenario(load_scenario(path)) for path in TOPOLOGIES}
    assert counts["starlink"].satellites == 4408
    assert counts["starlink-tle"].satellites == 6882
    assert 50 <= counts["demo"].satellites <= 70
    assert counts["demo"].ground_stations == 3
    assert counts["demo"].emulated_by_kind == {"cloud": 1, "edge": 1, "ground": 0, "satellite": 4}
    assert counts["databelt"].emulated_by_kind == {
        "cloud": 1,
        "edge": 1,
        "ground": 0,
        "satellite": 7,
    }


def test_cli_prints_one_line_per_problem_and_exits_2(tmp_path: Path) -> None:
    data = _set(_set(VALID, "time.tick", 0), "nodes[2].select.count", 0)
    result = _cli("validate", _write(tmp_path, data), tmp_path / "missing.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, lines
    assert all(line.startswith("error: ") for line in lines)
    assert any(line.endswith("nodes[2].select.count: must be > 0") for line in lines)


def test_cli_version_and_help() -> None:
    assert _cli("--version").stdout.startswith("testbed ")
    help_text = _cli("--help").stdout
    assert "validate" in help_text


def test_a_board_is_a_named_node_with_its_ssh_host(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not read here")
    host = {"address": "192.168.1.40", "user": "pi", "key": str(key)}
    scenario = load_scenario(_write(tmp_path, _set(VALID, "nodes[1].host", host)))
    board = scenario.nodes[1].host
    assert board is not None and (board.port, board.work_dir, board.python) == (
        22,
        ".leotrek",
        "python3",
    )
    assert board.key == key


@pytest.mark.parametrize(
    ("node", "host", "message"),
    [
        (2, {"address": "pi", "user": "pi"}, "not a satellite"),
        (1, {"address": "pi"}, "user"),
        (1, {"address": "pi", "user": "pi", "port": 0}, "port"),
        (1, {"address": "pi", "user": "pi", "key": "missing-key"}, "missing-key"),
        (1, {"address": "pi", "user": "pi", "work_dir": "../.."}, "not a folder of its own"),
        (1, {"address": "pi", "user": "pi", "work_dir": "/"}, "not a folder of its own"),
    ],
)
def test_a_bad_board_is_one_line_naming_the_field(
    tmp_path: Path, node: int, host: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserError) as raised:
        load_scenario(_write(tmp_path, _set(VALID, f"nodes[{node}].host", host)))
    assert len(raised.value.problems) == 1 and message in raised.value.problems[0]
    assert "nodes" in raised.value.problems[0]
