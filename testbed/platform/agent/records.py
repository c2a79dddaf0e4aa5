"""The record every invocation leaves: where, when, how long, on what, which state access."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from testbed.platform.state import AccessRecord


@dataclass(frozen=True)
class InvocationRecord:
    """One handler run; times are unix seconds, `error` is None when it returned."""

    instance: str
    node: str
    handler: str
    start_s: float
    end_s: float
    exec_ms: float
    mode: str
    reason: str
    state_accesses: tuple[AccessRecord, ...]
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
