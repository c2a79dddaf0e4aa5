"""The record every invocation leaves: where, when, how long, on what, which state access,
and which request it served, so a run can follow each request across the nodes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from testbed.platform.state import AccessRecord


@dataclass(frozen=True)
class Delivery:
    """How a message reached an instance: its request, its sender, when it left and arrived.

    Sender and receiver read the same host clock (containers share the kernel), so
    `received_s - sent_s` is the message's transfer time over the emulated network.
    """

    request_id: str | None
    src: str
    src_node: str | None = None
    sent_s: float | None = None
    received_s: float | None = None
    payload_bytes: int = 0

    @property
    def transfer_ms(self) -> float | None:
        if self.sent_s is None or self.received_s is None:
            return None
        return (self.received_s - self.sent_s) * 1e3


INGRESS = "ingress"
"""Sender (and instance) name of the requests a workload driver sends into a workflow."""
REQUEST_HANDLER = "request"
"""Handler name of the record the ingress leaves per request it sent."""
DELIVERY_HANDLER = "deliver-cast"
"""Handler name of the record a sender leaves for a cast that was not delivered."""

NO_DELIVERY = Delivery(request_id=None, src="")
"""handle_init and handle_stop: run by the platform, not by a message."""


@dataclass(frozen=True)
class InvocationRecord:
    """One handler run; times are unix seconds, `error` is None when it returned."""

    instance: str
    workflow: str
    function: str
    node: str
    handler: str
    delivery: Delivery
    start_s: float
    end_s: float
    exec_ms: float
    mode: str
    reason: str
    state_accesses: tuple[AccessRecord, ...]
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """Flat JSON, the delivery's fields next to the run's (results-format contract)."""
        body = asdict(self)
        delivery = body.pop("delivery")
        delivery["transfer_ms"] = self.delivery.transfer_ms
        return {**body, **delivery}


class RecordLog:
    """Appends every record as one JSON line and flushes it at once, so a run killed at any
    moment keeps everything completed before (the file lives on the host)."""

    def __init__(self, path: Path | None) -> None:
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", buffering=1)

    def append(self, record: InvocationRecord) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record.to_json()) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
