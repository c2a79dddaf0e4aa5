"""sshd containers playing Raspberry Pis on a LAN of their own, for `testbed hosts` tests.

Each board is a container of `board/Dockerfile` (OpenSSH, a non-root `pi` with sudo, key
authentication) on a Docker bridge that the host reaches by address, as a controller reaches
boards on its LAN. The label is the tests' own, so `testbed down` never touches them.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import paramiko

from testbed.image.base import SELECTED_BASE

LABEL = "org.leotrek.test-board"
IMAGE = "leotrek/test-board:latest"
LAN = "leotrek-test-lan"
LAN_SUBNET, LAN_GATEWAY = "10.202.0.0/24", "10.202.0.1"
"""A subnet of its own: one Docker picks could overlap the testbed's management network
(172.30.77.0/24) once Docker has handed out a dozen bridges."""
DOCKERFILE = Path(__file__).resolve().parent / "board" / "Dockerfile"
READY_TIMEOUT_S = 20.0


@dataclass
class Board:
    name: str
    container: docker.models.containers.Container
    address: str

    def exec(self, command: str) -> tuple[int, str]:
        """(exit status, output) of a shell command run as root inside the board."""
        code, output = self.container.exec_run(["sh", "-c", command])
        return code, output.decode(errors="replace")

    def files(self, folder: str = "/") -> set[str]:
        """Every path under `folder` but the kernel's and the runtime's (for "left clean")."""
        skip = "-path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp"
        _, listing = self.exec(f"find {folder} -xdev \\( {skip} \\) -prune -o -print")
        return set(listing.splitlines())


def make_key(folder: Path) -> Path:
    """A fresh ed25519 key pair; the private key's path."""
    key = folder / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def build_image(client: docker.DockerClient, key: Path, folder: Path) -> str:
    """The board image with `key` authorised for `pi` (apt layer cached between runs)."""
    context = folder / "board-context"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_bytes(DOCKERFILE.read_bytes())
    (context / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    client.images.build(
        path=str(context), tag=IMAGE, buildargs={"BASE_IMAGE": SELECTED_BASE}, rm=True
    )
    return IMAGE


def wait_for_sshd(address: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            with paramiko.Transport((address, 22)) as transport:
                transport.start_client(timeout=2)
                return
        except (OSError, paramiko.SSHException):
            if time.monotonic() > deadline:
                raise AssertionError(f"sshd on {address} not up in {READY_TIMEOUT_S} s") from None
            time.sleep(0.2)


def start_boards(client: docker.DockerClient, names: list[str]) -> list[Board]:
    """Boards on the tests' LAN (created if missing), with sshd answering."""
    remove_boards(client)
    network = client.networks.create(
        LAN, driver="bridge", labels={LABEL: "lan"},
        ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=LAN_SUBNET, gateway=LAN_GATEWAY)]
        ),
    )  # fmt: skip
    boards = []
    for name in names:
        container = client.containers.run(
            IMAGE, name=f"leotrek-test-{name}", hostname=name, detach=True,
            network=network.name, labels={LABEL: name}, cap_add=["NET_ADMIN"],
        )  # fmt: skip
        container.reload()
        address = container.attrs["NetworkSettings"]["Networks"][LAN]["IPAddress"]
        boards.append(Board(name, container, address))
    for board in boards:
        wait_for_sshd(board.address)
    return boards


def remove_boards(client: docker.DockerClient) -> None:
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        container.remove(force=True)
    for network in client.networks.list(filters={"label": LABEL}):
        network.remove()


def scenario_text(boards: list[Board], key: Path, extra: dict[str, str] | None = None) -> str:
    """A scenario of fixed links with the boards as edge nodes and two cloud containers.

    `extra` maps a board name to more YAML of its node entry (flow style, e.g.
    `arch: arm64`)."""
    extra = extra or {}
    nodes = "\n".join(
        f"  - {{name: {board.name}, kind: edge, site: vienna, "
        f"host: {{address: {board.address}, user: pi, key: {key}}}"
        f"{', ' + extra[board.name] if board.name in extra else ''}}}"
        for board in boards
    )
    return f"""version: 1
name: boards
time: {{epoch: "2025-01-01T00:00:00Z", duration: 60s, tick: 1s}}
ground_stations:
  - {{name: vienna, lat: 48.21, lon: 16.37}}
nodes:
  - {{name: cloud, kind: cloud, site: vienna}}
{nodes}
fixed_links:
  - {{a: cloud, b: {boards[0].name}, delay: 20ms, bandwidth_mbps: 100}}
"""


SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def joined_scenario_text(boards: list[Board], key: Path, duration: str = "60s") -> str:
    """`scenarios/boards.yaml` with the first two boards as pi-1 and pi-2 (see there)."""
    text = (SCENARIOS / "boards.yaml").read_text()
    for token, value in {
        "@PI1@": boards[0].address, "@PI2@": boards[1].address, "@KEY@": str(key),
        "@DURATION@": duration, "@WORKFLOW@": str(SCENARIOS / "boards_workflow.yaml"),
    }.items():  # fmt: skip
        text = text.replace(token, value)
    return text
