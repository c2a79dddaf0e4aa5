"""Every command, given bad input, ends in one line naming the file, field or option and
exit status 2, and never in a traceback; the walk covers every command the CLI has."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from testbed import cli
from testbed.emulation import runstate

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "topologies/demo.yaml")
CHAIN = str(REPO / "functions/vector_mul/workflow-chain.json")
REPRODUCTIONS = REPO / "reproductions"

CASES: list[tuple[list[str], str]] = [
    (["frobnicate"], "No such command"),
    (["validate", "missing.yaml"], "missing.yaml: file not found"),
    (["validate", DEMO, "--set", "nodes[2].select.count=0"], "nodes[2].select.count: must be"),
    (
        [
            "validate",
            DEMO,
            "--set",
            "workload.workflow=../functions/wildfire/workflow-hyperdrive.yaml",
        ],
        "sources.eo-satellite.node: 'sat-starlink-70-13' is not a node of this scenario",
    ),
    (["validate", DEMO, "--set", "workload.ingress=drone-9"], "workload.ingress: no node called"),
    (["paths", DEMO, "--at", "yesterday"], "--at: not an ISO 8601 time"),
    (["paths", DEMO, "--from", "nope", "--to", "cloud"], "--from: unknown node 'nope'"),
    (["precompute", DEMO, "--out", "/nonexistent/x.npz"], "--out: directory not found"),
    (["up", "missing.yaml"], "missing.yaml: file not found"),
    (["up", DEMO, "--backend", "magic"], "--backend: must be one of auto, netem, userspace"),
    (["up", DEMO, "--duration", "soon"], "--duration: must be a duration"),
    (["up", DEMO, "--set", "platform.scheduler=best-fit"], "platform.scheduler: must be"),
    (["up", DEMO, "--set", "platform.nope=1"], "platform.nope: unknown key"),
    (["status", "--bogus"], "No such option: --bogus"),
    (["exec"], "Missing argument"),
    (["down", "now"], "unexpected extra argument"),
    (["deploy", CHAIN], "no testbed is up"),
    (["records", "--last", "0"], "--last"),
    (["records"], "no testbed is up"),
    (["run", DEMO, "--backend", "magic"], "--backend: must be one of"),
    (["run", DEMO, "--set", "workload.arrival.model=flood"], "workload.arrival.model: must be"),
    (["report", "/nonexistent/run"], "/nonexistent/run: no such folder"),
    (["experiment", DEMO, "--vary", "platform.scheduler"], "--vary platform.scheduler:"),
    (["experiment", DEMO, "--repeat", "0"], "--repeat"),
    (["experiment", DEMO, "--backend", "magic"], "--backend: must be one of"),
    (["reproduce", "/nonexistent.yaml"], "/nonexistent.yaml: cannot read"),
    (["reproduce", str(REPRODUCTIONS / "databelt.yaml"), "--report"], "--report: give the"),
    (
        ["reproduce", str(REPRODUCTIONS / "databelt.yaml"), "--report", "--out", "/nonexistent"],
        "--out: /nonexistent: no such folder",
    ),
    (["reproduce", str(REPRODUCTIONS / "databelt.yaml"), "--only", "x"], "--only x: "),
    (["run", DEMO, "--set", "workload.arrival.model=burst"], "arrival model burst needs count"),
    (["bench", "topology", "--topologies", "/nonexistent"], "--topologies: /nonexistent"),
    (["bench", "network", "--sizes", "a,b"], "--sizes: comma-separated node counts"),
    (["bench", "network", "--sizes", "2"], "--sizes: each count must be >= 3"),
    (["bench", "network", "--backend", "magic"], "--backend: must be one of"),
    (["bench", "platform", "--decisions", "1"], "--decisions"),
    (["bench", "on-demand", "--active", "0"], "--active"),
    (["bench", "transfers", "--pairs", "10ms"], "--pairs: '10ms' is not DELAY:RATE_MBPS"),
    (["bench", "transfers", "--sizes", "lots"], "--sizes: 'lots' is not a size"),
    (["bench", "transfers", "--flows", "0"], "--flows: comma-separated numbers >= 1"),
    (["bench", "transfers", "--paths", "ftp"], "--paths: choose from"),
    (["bench", "transfers", "--max-batch", "x"], "--max-batch: 'x' is not a size"),
    (["bench", "transfers", "--max-transfer-s", "0"], "no case left"),
    (["image", "build", "--base", "docker-hub"], "--base"),
    (["image", "show", "--bogus"], "No such option: --bogus"),
    (["hosts", "check", DEMO], "the scenario names no board"),
    (["hosts", "provision", "missing.yaml"], "missing.yaml: file not found"),
    (
        ["hosts", "leave", DEMO, "--set", "nodes[1].host={address: pi, user: pi, port: 0}"],
        "nodes[1].host.port: must be > 0",
    ),
    (["hosts", "leave", DEMO], "the scenario names no board"),
]


@pytest.fixture(autouse=True)
def no_testbed_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The walk sees no running testbed, whatever else runs on this machine."""
    monkeypatch.setattr(runstate, "CONTROLLER_FILE", tmp_path / "controller.json")
    monkeypatch.setattr(runstate, "STATUS_FILE", tmp_path / "status.json")


@pytest.mark.parametrize(("args", "message"), CASES, ids=lambda value: " ".join(value)[:60])
def test_bad_input_is_one_line_and_status_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = cli.main_entry(args)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert message in lines[0], lines[0]
    assert "Traceback" not in captured.out + captured.err


def _command_paths(command: object, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return {prefix}
    return {
        path for name, sub in subcommands.items() for path in _command_paths(sub, (*prefix, name))
    }


def test_the_walk_covers_every_command() -> None:
    commands = _command_paths(typer.main.get_command(cli.app))
    groups = ("bench", "hosts", "image")
    covered = {tuple(args[:2]) if args[0] in groups else (args[0],) for args, _ in CASES}
    assert commands <= covered, f"commands without a bad-input case: {sorted(commands - covered)}"


def test_the_status_of_nothing_is_one_line_and_status_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main_entry(["status"]) == 1
    assert capsys.readouterr().out.strip() == "no testbed is up"
