"""The controller's files under /run/leotrek: who runs, and how the emulation is doing.

`testbed status`, `deploy`, `records`, `exec` and `down` read them from other processes;
writes are atomic (temporary file + rename) so a reader never sees half a document. Each
file has one typed document, one writer (the controller) and one reader (below).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from testbed.emulation.namespaces import RUN_DIR, Owner, start_ticks
from testbed.scenario.model import HostSpec

CONTROLLER_FILE = RUN_DIR / "controller.json"
STATUS_FILE = RUN_DIR / "status.json"
CONTROLLER_LOG = RUN_DIR / "controller.log"
BOARDS_FILE = RUN_DIR / "boards.json"


class Document(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


NodeState = Literal["running", "paused", "stopped"]
"""paused: outside its bounding box (frozen); stopped: its container exited."""


class NodeRecord(Document):
    """One emulated node as `status`, the info service and a run's nodes.json show it."""

    name: str
    kind: str
    address: str
    management_address: str
    state: NodeState
    container: str
    gpu: str = "none"
    """`none` (not asked), `attached`, or why a node that asked runs on the CPU."""


class ControllerRecord(Document):
    """The live controller: its process (pid and start time), scenario and overrides."""

    pid: int
    start_ticks: int | None
    run_id: str
    scenario: str
    overrides: list[str] = []
    backend: str | None = None
    info_url: str | None = None

    def owner(self) -> Owner:
        """The process this record names (pid plus start time: pid reuse is no match)."""
        return Owner(self.pid, self.start_ticks or -1, "controller")


class StatusDocument(Document):
    """How the emulation is doing, rewritten after every tick."""

    sim_time: str | None
    scenario: str
    backend: str | None
    ticks_total: int
    tick_s: float
    speed: float
    origin_unix: float | None
    tick_stats: dict[str, Any]
    extra: dict[str, Any] = {}
    """Figures of what the emulation runs (e.g. the platform's topology pushes)."""
    nodes: list[NodeRecord]


def _write(path: Path, document: BaseModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(document.model_dump_json(indent=1))
    temporary.replace(path)


def _read(path: Path, model: type[Document]) -> Any:
    try:
        return model.model_validate_json(path.read_text())
    except (FileNotFoundError, ValidationError):
        return None


def write_controller(record: ControllerRecord) -> None:
    _write(CONTROLLER_FILE, record)


def write_status(status: StatusDocument) -> None:
    _write(STATUS_FILE, status)


def read_status() -> StatusDocument | None:
    status: StatusDocument | None = _read(STATUS_FILE, StatusDocument)
    return status


def own_process() -> dict[str, int | None]:
    """Pid and start time of this process, for the controller record."""
    return {"pid": os.getpid(), "start_ticks": start_ticks(os.getpid())}


def live_controller() -> ControllerRecord | None:
    """The controller record if its process still runs, else None."""
    record: ControllerRecord | None = _read(CONTROLLER_FILE, ControllerRecord)
    if record is None or not record.owner().alive():
        return None
    return record


class JoinedBoards(Document):
    """The boards a run joined (or began to join), so that `testbed down` can unjoin them
    after the controller was killed."""

    boards: dict[str, HostSpec] = {}


def add_board(node: str, host: HostSpec) -> None:
    """Remember `node` before anything is made for it on its board or here."""
    joined = read_boards()
    _write(BOARDS_FILE, JoinedBoards(boards={**joined.boards, node: host}))


def read_boards() -> JoinedBoards:
    found: JoinedBoards | None = _read(BOARDS_FILE, JoinedBoards)
    return found or JoinedBoards()


def forget_boards(nodes: Iterable[str]) -> None:
    """Drop `nodes` from the record (they were unjoined); the file goes with the last."""
    gone = set(nodes)
    left = {n: host for n, host in read_boards().boards.items() if n not in gone}
    if left:
        _write(BOARDS_FILE, JoinedBoards(boards=left))
    else:
        BOARDS_FILE.unlink(missing_ok=True)


def clear() -> None:
    for path in (CONTROLLER_FILE, STATUS_FILE):
        path.unlink(missing_ok=True)
