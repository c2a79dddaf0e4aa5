"""`testbed image` on the command line: bad options exit 2, failed steps exit 1 naming the step."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from testbed import cli
from testbed.cli import image as image_cli
from testbed.errors import SetupError
from testbed.image.build import NodeImage
from testbed.image.spec import BaseChoice


def test_unknown_base_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli.app, ["image", "build", "--base", "docker-hub"])
    assert result.exit_code == 2
    assert "--base" in result.output


def test_build_passes_the_options_and_prints_the_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_build(base: BaseChoice, force: bool, gpu: bool) -> NodeImage:
        calls.append((base, force, gpu))
        return NodeImage(tag="leotrek/node:0123", image_id="sha256:1", built=False)

    monkeypatch.setattr(image_cli, "build_node_image", fake_build)
    result = CliRunner().invoke(cli.app, ["image", "build", "--base", "DEBOOTSTRAP", "--force"])
    assert result.exit_code == 0, result.output
    assert calls == [(BaseChoice.DEBOOTSTRAP, True, False)]
    assert result.output == "leotrek/node:0123 (up to date)\n"
    assert CliRunner().invoke(cli.app, ["image", "build", "--gpu"]).exit_code == 0
    assert calls[-1] == (BaseChoice.AUTO, False, True)


def test_failed_step_exits_1_with_the_step_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing_build(base: BaseChoice, force: bool, gpu: bool) -> NodeImage:
        raise SetupError("base image (debootstrap)", "debootstrap exited with status 1")

    monkeypatch.setattr(image_cli, "build_node_image", failing_build)
    monkeypatch.setattr("sys.argv", ["testbed", "image", "build"])
    with pytest.raises(SystemExit) as exited:
        cli.run_cli()
    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        "error: base image (debootstrap) failed: debootstrap exited with status 1\n"
    )
