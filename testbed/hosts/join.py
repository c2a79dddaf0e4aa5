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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fabric import Connection
from pyroute2 import IPRoute

from testbed.hosts.connection import BoardError, connect, describe, run
from testbed.hosts.provision import TUNNEL_IFNAMES, python_path, remote_work_dir
from testbed.scenario.model import HostSpec

RUN_FOLDER = "run"
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
    """Stop the node's process group, delete the tunnels, remove `remove` (a path)."""
    q = shlex.quote
    pid_file = q(str(folder / RUN_FOLDER / "node.pid"))
    stop = (
        f"touch {q(str(folder / RUN_FOLDER / 'stop'))} 2>/dev/null; "
        f"if [ -f {pid_file} ]; then pid=$(cat {pid_file}); "
        f"{sudo}kill -TERM -- -$pid 2>/dev/null; "
        "for i in $(seq 50); do kill -0 -- -$pid 2>/dev/null || break; sleep 0.1; done; "
        f"{sudo}kill -KILL -- -$pid 2>/dev/null; fi"
    )
    links = "; ".join(f"{sudo}ip link del {name} 2>/dev/null" for name in TUNNEL_IFNAMES)
    return f"{stop}; {links}; {sudo}rm -rf {q(remove)}; test ! -e {q(remove)}"


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
    """How root commands are run on the board: as they are for root, else by sudo."""
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


def unjoin_board(node: str, host: HostSpec, outputs: Mapping[str, Path]) -> None:
    """Fetch `outputs` (name in the run folder -> file here), stop the node process, delete
    the tunnels and the run folder; the provisioned software stays (a warm next run)."""
    with connect(host) as connection:
        folder = remote_work_dir(connection, host, node)
        sudo = _sudo(connection, node, host)
        run(
            connection,
            f"touch {shlex.quote(str(folder / RUN_FOLDER / 'stop'))} 2>/dev/null || true",
            node,
            host,
            "stop",
        )
        for name, target in outputs.items():
            try:
                connection.get(str(folder / RUN_FOLDER / name), str(target))
            except FileNotFoundError:
                continue
            except Exception as error:  # SFTP: one line, and the board is still cleaned
                raise BoardError(node, host, f"fetching {name}", describe(error)) from None
        run(connection, stop_script(folder, sudo, str(folder / RUN_FOLDER)), node, host, "unjoin")


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
