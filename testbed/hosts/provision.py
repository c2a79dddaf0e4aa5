"""`testbed hosts provision` and `leave`: the node's software onto each board (every board
at once), and everything the testbed put on or started there removed again.

On a board the testbed writes only inside the host's `work_dir`:
  provisioned   the digest of the bundle installed (the same digest: nothing to do)
  lib/deps      the pinned dependencies, installed by pip from the pushed wheels
  lib/pkg       the package's own files
  run/          what a joined node runs (its pid file, logs, the run's secret)
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fabric import Connection

from testbed.errors import UserError
from testbed.hosts.bundle import PIP_WHEEL, Bundle, bundle_for
from testbed.hosts.check import check
from testbed.hosts.connection import BoardError, boards, connect, describe, run
from testbed.hosts.facts import BoardFacts
from testbed.image.project import read_inputs
from testbed.project import work_dir
from testbed.scenario.model import HostSpec, Scenario

STAMP = "provisioned"
TUNNEL_IFNAMES = ("ltb-emu", "ltb-mgmt")
"""The interfaces a joined board gets (the emulated and the management tunnel)."""


@dataclass(frozen=True)
class Provisioned:
    """One board after `provision`: how long it took and whether anything was pushed."""

    node: str
    seconds: float
    pushed_bytes: int
    bundle: str

    @property
    def warm(self) -> bool:
        return self.pushed_bytes == 0

    def summary(self) -> str:
        """`provisioned in 9.5 s (pushed 64.6 MiB)`, or `(warm)`: what each caller prints."""
        state = "warm" if self.warm else f"pushed {self.pushed_bytes / 2**20:.1f} MiB"
        return f"provisioned in {self.seconds:.1f} s ({state})"


def remote_work_dir(connection: Connection, host: HostSpec, node: str) -> PurePosixPath:
    """The absolute work folder on the board (a relative one is under the user's home)."""
    folder = PurePosixPath(host.work_dir)
    if folder.is_absolute():
        return folder
    home = run(connection, 'printf %s "$HOME"', node, host, "home folder").strip()
    if not home.startswith("/"):
        raise BoardError(node, host, "home folder", f"none, for work_dir {host.work_dir}")
    return PurePosixPath(home) / folder


def python_path(folder: PurePosixPath) -> str:
    """PYTHONPATH of the node's processes on the board."""
    return f"{folder}/lib/pkg:{folder}/lib/deps"


def _install_script(folder: PurePosixPath, python: str, digest: str) -> str:
    q = shlex.quote
    return " && ".join(
        [
            f"cd {q(str(folder))}",
            "rm -rf lib.new && mkdir lib.new",
            "tar -xf bundle.tar -C lib.new",
            f"{q(python)} lib.new/wheels/{PIP_WHEEL}/pip install --quiet --no-index "
            "--disable-pip-version-check --no-warn-script-location --no-compile "
            "--find-links lib.new/wheels --target lib.new/deps -r lib.new/requirements.txt",
            "rm -rf lib.new/wheels bundle.tar lib",
            "mv lib.new lib",
            f"PYTHONPATH={q(python_path(folder))} {q(python)} -c "
            + q("import testbed.platform.node.agent.app"),
            f"printf %s {q(digest)} > {STAMP}",
        ]
    )


def provision_board(node: str, host: HostSpec, bundle: Bundle) -> Provisioned:
    """Install `bundle` on one board unless it already holds it."""
    started = time.monotonic()
    with connect(host) as connection:
        folder = remote_work_dir(connection, host, node)
        q = shlex.quote
        held = run(
            connection, f"mkdir -p {q(str(folder))} && cat {q(str(folder / STAMP))} 2>/dev/null "
            "|| true", node, host, "work folder",
        ).strip()  # fmt: skip
        if held == bundle.digest:
            return Provisioned(node, time.monotonic() - started, 0, bundle.digest)
        try:
            connection.put(str(bundle.archive), str(folder / "bundle.tar"))
        except Exception as error:  # SFTP raises OSError and paramiko's own kinds
            raise BoardError(node, host, "push", describe(error)) from None
        install = _install_script(folder, host.python, bundle.digest)
        run(connection, install, node, host, "install")
    size = bundle.archive.stat().st_size
    return Provisioned(node, time.monotonic() - started, size, bundle.digest)


def check_and_provision(
    scenario: Scenario, progress: Callable[[str], None] = lambda _: None
) -> list[Provisioned]:
    """Check every board of `scenario`, then provision them all; UserError listing every
    problem when a board cannot be a node (nothing is pushed then)."""
    reports = check(scenario)
    problems = [problem for report in reports for problem in report.problems]
    if problems:
        raise UserError(problems)
    for report in reports:
        for note in report.notes:
            progress(note)
    facts = {report.node: report.facts for report in reports if report.facts is not None}
    return provision(boards(scenario), facts, progress)


def provision(
    hosts: dict[str, HostSpec],
    facts: dict[str, BoardFacts],
    progress: Callable[[str], None] = lambda _: None,
    cache: Path | None = None,
) -> list[Provisioned]:
    """Every board provisioned at once (bundles built first, one per kind of board);
    BoardError naming the first board that failed, after all have finished."""
    inputs = read_inputs()
    folder = cache or work_dir()
    bundles = {node: bundle_for(facts[node], inputs, folder) for node in hosts}
    for node in hosts:
        progress(f"{node}: provisioning ({bundles[node].platform}, Python {facts[node].python})")
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        futures = {n: pool.submit(provision_board, n, h, bundles[n]) for n, h in hosts.items()}
    failed = [error for future in futures.values() if (error := future.exception())]
    if failed:
        raise failed[0]
    return [future.result() for future in futures.values()]
