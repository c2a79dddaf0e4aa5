"""Running set-up steps: a spinner while they run, and one `SetupError` naming the step on failure.

Every effect of the image build goes through `step` or `run_tool`, so a failure reaches the
user as "<step> failed: <reason>" with the useful tail of the tool's output, not a traceback.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import docker.errors
import requests.exceptions
from rich.console import Console

from testbed.errors import SetupError

console = Console(stderr=True, highlight=False)

TAIL_LINES = 12
EFFECT_ERRORS = (
    OSError,
    subprocess.SubprocessError,
    docker.errors.DockerException,
    requests.exceptions.RequestException,
)
"""What an effect (file, process, Docker API) raises when the machine, not the code, is wrong."""


def tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last non-blank lines of a tool's output, indented under the error line."""
    kept = [line.rstrip() for line in output.splitlines() if line.strip()][-lines:]
    return "\n".join(f"  | {line}" for line in kept)


def failure(summary: str, output: str) -> str:
    """A reason: one summary line, then the output tail when there is one."""
    details = tail(output)
    return f"{summary}\n{details}" if details else summary


@contextmanager
def step(name: str) -> Iterator[None]:
    """Show `name` with a spinner while the block runs; turn effect errors into SetupError."""
    with console.status(f"{name} ..."):
        try:
            yield
        except EFFECT_ERRORS as error:
            raise SetupError(name, str(error) or type(error).__name__) from error


def report(message: str) -> None:
    """One progress line, visible in CI logs where the spinner is not."""
    console.print(f"[image] {message}", markup=False)


def run_tool(name: str, argv: Sequence[str]) -> str:
    """Run a tool as step `name` and return its output; failures carry the output's tail."""
    with step(name):
        try:
            completed = subprocess.run(
                list(argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                check=False,
            )
        except FileNotFoundError as error:
            raise SetupError(name, f"{argv[0]} is not installed (run scripts/setup.sh)") from error
        output = completed.stdout
        if completed.returncode != 0:
            raise SetupError(
                name, failure(f"{argv[0]} exited with status {completed.returncode}", output)
            )
        return output
