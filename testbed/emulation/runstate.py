"""The controller's files under /run/leotrek: who runs, and how the emulation is doing.

`testbed status`, `exec` and `down` read them from other processes; writes are atomic
(temporary file + rename) so a reader never sees half a document.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from testbed.emulation.namespaces import RUN_DIR, Owner, start_ticks

CONTROLLER_FILE = RUN_DIR / "controller.json"
STATUS_FILE = RUN_DIR / "status.json"
CONTROLLER_LOG = RUN_DIR / "controller.log"


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=1))
    temporary.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def controller_owner(record: dict[str, Any]) -> Owner:
    """The process a controller record names (pid plus start time: pid reuse is no match)."""
    return Owner(int(record.get("pid", -1)), int(record.get("start_ticks") or -1), "controller")


def own_record() -> dict[str, int | None]:
    """Pid and start time of this process, for the controller record."""
    return {"pid": os.getpid(), "start_ticks": start_ticks(os.getpid())}


def live_controller() -> dict[str, Any] | None:
    """The controller record if its process still runs, else None."""
    record = read_json(CONTROLLER_FILE)
    if record is None or not controller_owner(record).alive():
        return None
    return record


def clear() -> None:
    for path in (CONTROLLER_FILE, STATUS_FILE):
        path.unlink(missing_ok=True)
