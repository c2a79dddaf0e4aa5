"""Failures of set-up steps become one SetupError naming the step, with the tool's output tail."""

from __future__ import annotations

import sys

import pytest

from testbed.errors import SetupError
from testbed.image.engine import follow_build
from testbed.image.steps import run_tool, step, tail


def test_run_tool_returns_the_output_of_a_successful_tool() -> None:
    assert run_tool("echo", [sys.executable, "-c", "print('hello')"]) == "hello\n"


def test_failing_tool_names_the_step_and_keeps_the_output_tail() -> None:
    script = (
        "import sys; print('step one'); print('E: no such package', file=sys.stderr); sys.exit(3)"
    )
    with pytest.raises(SetupError) as raised:
        run_tool("base image (debootstrap)", [sys.executable, "-c", script])
    error = raised.value
    assert error.step == "base image (debootstrap)"
    summary, *details = error.reason.splitlines()
    assert summary.endswith("exited with status 3")
    assert details == ["  | step one", "  | E: no such package"]
    assert str(error).startswith("base image (debootstrap) failed: ")


def test_missing_tool_says_so() -> None:
    with pytest.raises(SetupError, match="no-such-tool-xyz is not installed"):
        run_tool("wheelhouse", ["no-such-tool-xyz"])


def test_tail_keeps_the_last_non_blank_lines() -> None:
    output = "\n".join(f"line {n}" for n in range(30)) + "\n\n   \n"
    assert tail(output, lines=2) == "  | line 28\n  | line 29"


def test_step_turns_effect_errors_into_setup_errors() -> None:
    with pytest.raises(SetupError) as raised, step("wheelhouse (finish)"):
        raise PermissionError("build/wheelhouse: permission denied")
    assert raised.value.step == "wheelhouse (finish)"
    assert "permission denied" in raised.value.reason


def test_step_lets_programming_errors_through() -> None:
    with pytest.raises(KeyError), step("wheelhouse (finish)"):
        raise KeyError("bug")


def test_failed_dockerfile_step_is_named_with_the_build_log_tail() -> None:
    chunks = [
        {"stream": "Step 1/3 : ARG BASE_IMAGE\n"},
        {"stream": "Step 2/3 : RUN apt-get install -y nosuchpackage\n"},
        {"stream": " ---> Running in 0123\n"},
        {"stream": "Reading package lists...\n"},
        {"stream": "\x1b[91mE: Unable to locate"},
        {"stream": " package nosuchpackage\n\x1b[0m"},
        {"error": "The command '/bin/sh -c apt-get install' returned a non-zero code: 100"},
    ]
    with pytest.raises(SetupError) as raised:
        follow_build(chunks)
    assert raised.value.step == "node image build (Step 2/3 : RUN apt-get install -y nosuchpackage)"
    summary, *details = raised.value.reason.splitlines()
    assert summary == "the command exited with status 100"
    assert not [line for line in details if "--->" in line]
    assert details[-2:] == [
        "  | Reading package lists...",
        "  | E: Unable to locate package nosuchpackage",
    ]


def test_successful_build_stream_gives_the_image_id() -> None:
    chunks = [
        {"stream": "Step 1/1 : FROM base\n"},
        {"aux": {"ID": "sha256:feed"}},
        {"stream": "Successfully built feed\n"},
    ]
    assert follow_build(chunks) == "sha256:feed"


def test_build_stream_without_an_image_fails() -> None:
    with pytest.raises(SetupError, match="no image"):
        follow_build([{"stream": "Step 1/1 : FROM base\n"}])
