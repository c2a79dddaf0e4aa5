"""Named network namespaces the testbed creates, with an owner record for each.

A namespace outlives a SIGKILLed owner. The record (owner pid, its start time, and the
namespace's role) lets a later run tell a leftover from a namespace that a live parallel
run still uses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import netns

NETNS_DIR = Path("/var/run/netns")
RUN_DIR = Path("/run/leotrek")
_OWNERS_DIR = RUN_DIR / "owners"


@dataclass(frozen=True)
class Owner:
    pid: int
    start_ticks: int
    role: str

    def alive(self) -> bool:
        return start_ticks(self.pid) == self.start_ticks


def start_ticks(pid: int) -> int | None:
    """Process start time in clock ticks (field 22 of /proc/PID/stat); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def netns_path(name: str) -> str:
    return str(NETNS_DIR / name)


def create(name: str, role: str) -> str:
    """Create namespace `name` owned by this process; returns its path."""
    _OWNERS_DIR.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "start_ticks": start_ticks(os.getpid()), "role": role}
    (_OWNERS_DIR / name).write_text(json.dumps(record))
    netns.create(name)
    return netns_path(name)


def remove(name: str) -> None:
    """Unmount and unlink a namespace (idempotent); it dies with its last user."""
    if (NETNS_DIR / name).exists():
        netns.remove(name)
    (_OWNERS_DIR / name).unlink(missing_ok=True)


def owner(name: str) -> Owner | None:
    try:
        record = json.loads((_OWNERS_DIR / name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return Owner(int(record["pid"]), int(record["start_ticks"]), str(record["role"]))


def list_names(prefix: str) -> list[str]:
    """Named namespaces (and orphaned owner records) whose name starts with `prefix`."""
    names = set(netns.listnetns()) | {p.name for p in _OWNERS_DIR.glob("*")}
    return sorted(name for name in names if name.startswith(prefix))


def pids_inside(name: str) -> list[int]:
    """Processes whose network namespace is the named one."""
    try:
        target = os.stat(NETNS_DIR / name)
    except FileNotFoundError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(entry / "ns" / "net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            found.append(int(entry.name))
    return found
