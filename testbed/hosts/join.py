"""A board's ends of its two tunnels and its node process, over SSH: joined before the
first tick, unjoined at the end of a run (or by `testbed down` after a crash).

The emulated tunnel carries the board's traffic to and from the other nodes through the
fabric, where it is shaped like a container's; the management tunnel carries the
controller's requests to the board's agent, unshaped. Both are VXLAN, in the kernel. The
node process runs as the SSH user, in a loop that restarts it, in a process group of its
own whose id is in `run/node.pid`; everything of a run is in `run/` under the work folder.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fabric import Connection
from pyroute2 import IPRoute

from testbed.hosts.connection import CONNECT_TIMEOUT_S, BoardError, connect, describe, run
from testbed.hosts.provision import TUNNEL_IFNAMES, python_path, remote_work_dir
from testbed.scenario.model import HostSpec

RUN_FOLDER = "run"
MIRROR_PERIOD_S = 2.0
"""How often a board's records are copied to the controller during a run."""
EMULATED_IFNAME, MANAGEMENT_IFNAME = TUNNEL_IFNAMES


@dataclass(frozen=True)
class Tunnel:
    """The board's side of its tunnels: its addresses, the gateways and network ids."""

    emulated_address: str
    emulated_prefix: int
    emulated_network: str
    gateway: str
    emulated_vni: int
    management_address: str
    management_gateway: str
    management_vni: int
    port: int


def underlay(node: str, host: HostSpec) -> tuple[str, str]:
    """(the board's LAN address, this host's address toward it): the tunnels' endpoints."""
    try:
        remote = socket.gethostbyname(host.address)
    except OSError as error:
        raise BoardError(node, host, "address", describe(error)) from None
    with IPRoute() as ipr:
        routes = ipr.route("get", dst=remote)
    local = routes[0].get_attr("RTA_PREFSRC") if routes else None
    if not local:
        raise BoardError(node, host, "route", f"this host has no route to {remote}")
    return remote, local


def tunnel_script(tunnel: Tunnel, local_underlay: str, sudo: str) -> str:
    """The board's two VXLAN ends toward the host at `local_underlay`, addressed, up, routed."""
    t = tunnel

    def vxlan(name: str, vni: int) -> str:
        return (
            f"{sudo}ip link add {name} type vxlan id {vni} remote {local_underlay} "
            f"dstport {t.port} nolearning"
        )

    return " && ".join(
        [
            vxlan(EMULATED_IFNAME, t.emulated_vni),
            f"{sudo}ip addr add {t.emulated_address}/{t.emulated_prefix} dev {EMULATED_IFNAME} "
            "noprefixroute",
            f"{sudo}ip link set {EMULATED_IFNAME} up",
            f"{sudo}ip route add {t.emulated_network} via {t.gateway} dev {EMULATED_IFNAME} onlink",
            vxlan(MANAGEMENT_IFNAME, t.management_vni),
            f"{sudo}ip addr add {t.management_address}/32 dev {MANAGEMENT_IFNAME}",
            f"{sudo}ip link set {MANAGEMENT_IFNAME} up",
            f"{sudo}ip route add {t.management_gateway}/32 dev {MANAGEMENT_IFNAME}",
        ]
    )


def stop_script(folder: PurePosixPath, sudo: str, remove: str) -> str:
    """Stop the node's process group, delete the tunnels, remove `remove` (a path). Only
    `ip` needs root (`sudo`): the process and the files are the SSH user's."""
    q = shlex.quote
    pid_file = q(str(folder / RUN_FOLDER / "node.pid"))
    stop = (
        f"touch {q(str(folder / RUN_FOLDER / 'stop'))} 2>/dev/null; "
        f"if [ -f {pid_file} ]; then pid=$(cat {pid_file}); "
        "kill -TERM -- -$pid 2>/dev/null; "
        "for i in $(seq 50); do kill -0 -- -$pid 2>/dev/null || break; sleep 0.1; done; "
        "kill -KILL -- -$pid 2>/dev/null; fi"
    )
    links = "; ".join(f"{sudo}ip link del {name} 2>/dev/null" for name in TUNNEL_IFNAMES)
    return f"{stop}; {links}; rm -rf {q(remove)}; test ! -e {q(remove)}"


def start_script(folder: PurePosixPath, command: Sequence[str]) -> str:
    """The node process, restarted when it ends, until `run/stop` exists."""
    q = shlex.quote
    run_dir = folder / RUN_FOLDER
    loop = (
        f"while [ ! -e {q(str(run_dir / 'stop'))} ]; do "
        f"PYTHONPATH={q(python_path(folder))} {' '.join(map(q, command))} "
        f">> {q(str(run_dir / 'node.log'))} 2>&1; sleep 1; done"
    )
    # In a subshell, so that nothing but the detached loop is left holding the SSH session;
    # the loop is no group leader there, so setsid runs it in place and $! is its session.
    return (
        f"cd {q(str(run_dir))} && (setsid sh -c {q(loop)} < /dev/null > /dev/null 2>&1 & "
        f"echo $! > {q(str(run_dir / 'node.pid'))})"
    )


def _sudo(connection: Connection, node: str, host: HostSpec) -> str:
    """How `ip` is run on the board: as it is for root, else by sudo."""
    return "" if run(connection, "id -u", node, host, "user").strip() == "0" else "sudo -n "


def join_board(
    node: str,
    host: HostSpec,
    tunnel: Tunnel,
    local_underlay: str,
    command: Callable[[str], Sequence[str]],
    files: Mapping[str, bytes],
) -> PurePosixPath:
    """The board's tunnels, `files` in its run folder (mode 0600), then the command for
    that run folder started; its work folder. On failure, what was made on the board is
    removed again."""
    with connect(host) as connection:
        folder = remote_work_dir(connection, host, node)
        sudo = _sudo(connection, node, host)
        run_dir = folder / RUN_FOLDER
        try:
            run(connection, stop_script(folder, sudo, str(run_dir)), node, host, "clear")
            run(
                connection,
                f"umask 077 && mkdir -p {shlex.quote(str(run_dir))}",
                node,
                host,
                "run folder",
            )
            for name, data in files.items():
                connection.put(io.BytesIO(data), str(run_dir / name))
                run(
                    connection, f"chmod 600 {shlex.quote(str(run_dir / name))}", node, host, "files"
                )
            run(connection, tunnel_script(tunnel, local_underlay, sudo), node, host, "tunnel")
            start = start_script(folder, command(str(run_dir)))
            run(connection, start, node, host, "start")
        except BaseException:
            with contextlib.suppress(BoardError):
                run(connection, stop_script(folder, sudo, str(run_dir)), node, host, "undo")
            raise
    return folder


def unjoin_board(node: str, host: HostSpec) -> None:
    """Stop the node process, delete the tunnels and the run folder; the provisioned
    software stays (a warm next run)."""
    with connect(host) as connection:
        folder = remote_work_dir(connection, host, node)
        sudo = _sudo(connection, node, host)
        run(connection, stop_script(folder, sudo, str(folder / RUN_FOLDER)), node, host, "unjoin")


class OutputMirror:
    """What the node appends to files of its run folder (its records), copied here every
    `period_s` as whole lines, so that a board that dies mid-run loses at most that much.

    One SSH connection per board, in a thread of its own; a board that does not answer is
    tried again at the next period. `stop` copies what is left, if the board answers.
    """

    def __init__(
        self,
        node: str,
        host: HostSpec,
        folder: PurePosixPath,
        outputs: Mapping[str, Path],
        period_s: float = MIRROR_PERIOD_S,
    ) -> None:
        self.node, self.host, self.period_s = node, host, period_s
        self._sources = {name: folder / RUN_FOLDER / name for name in outputs}
        self._targets = dict(outputs)
        self._offsets = dict.fromkeys(outputs, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"mirror-{node}", daemon=True)
        self.failures = 0
        """Periods in which the board could not be reached."""

    def start(self) -> OutputMirror:
        for target in self._targets.values():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following; one last copy (what the node wrote since the last period)."""
        self._stop.set()
        self._thread.join(timeout=self.period_s + CONNECT_TIMEOUT_S * 3)
        with contextlib.suppress(Exception), connect(self.host) as connection:
            self._copy(connection)  # a dead board: what was copied is what is kept

    def _follow(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                with connect(self.host) as connection:
                    while not self._stop.is_set():
                        self._copy(connection)
                        if self._stop.wait(self.period_s):
                            return
            except Exception:  # the board or its link is down: try again later
                self.failures += 1

    def _copy(self, connection: Connection) -> None:
        sftp = connection.sftp()
        for name, source in self._sources.items():
            try:
                with sftp.open(str(source), "rb") as remote:
                    remote.seek(self._offsets[name])
                    data = remote.read()
            except FileNotFoundError:
                continue
            whole = data[: data.rfind(b"\n") + 1]
            if whole:
                with self._targets[name].open("ab") as local:
                    local.write(whole)
                self._offsets[name] += len(whole)


class _Chunks(io.StringIO):
    """What a command on a board prints, handed on as it comes."""

    def __init__(self, take: Callable[[bytes], None]) -> None:
        super().__init__()
        self._take = take

    def write(self, text: str) -> int:
        self._take(text.encode())
        return len(text)


def run_on_board(
    node: str, host: HostSpec, command: Sequence[str], take: Callable[[bytes], None]
) -> int:
    """`command` on the board as the SSH user (`testbed exec`); its output to `take` as it
    comes (stdout and stderr together); its exit status."""
    with connect(host) as connection:
        try:
            result = connection.run(
                " ".join(map(shlex.quote, command)), hide=True, warn=True, in_stream=False,
                out_stream=_Chunks(take), err_stream=_Chunks(take),
            )  # fmt: skip
        except Exception as error:  # SSH failed before the command ran: one line
            raise BoardError(node, host, "exec", describe(error)) from None
    return int(result.exited)


def leave_board(node: str, host: HostSpec) -> None:
    """Stop what runs, delete the tunnels, remove the whole work folder (idempotent)."""
    with connect(host) as connection:
        folder = remote_work_dir(connection, host, node)
        sudo = _sudo(connection, node, host)
        run(connection, stop_script(folder, sudo, str(folder)), node, host, "leave")


def leave(hosts: Mapping[str, HostSpec]) -> list[BaseException]:
    """Every board left at once; what kept boards from being cleaned, one error each."""
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        futures = [pool.submit(leave_board, node, host) for node, host in hosts.items()]
    return [error for future in futures if (error := future.exception())]
