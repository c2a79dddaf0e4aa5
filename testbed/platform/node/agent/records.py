"""How a message reached an instance, and the log every invocation record is appended to,
so a run can follow each request across the nodes (the record itself is the contract's
`InvocationRecord`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Delivery:
    """How a message reached an instance: its request, its sender, when it left and arrived,
    and the request's state keys it carried.

    Sender and receiver read the same host clock (containers share the kernel), so
    `received_s - sent_s` is the message's transfer time over the emulated network.
    """

    request_id: str | None
    src: str
    src_node: str | None = None
    sent_s: float | None = None
    received_s: float | None = None
    payload_bytes: int = 0
    state_keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def transfer_ms(self) -> float | None:
        if self.sent_s is None or self.received_s is None:
            return None
        return (self.received_s - self.sent_s) * 1e3

    def record_fields(self) -> dict[str, Any]:
        """The delivery's fields of an `InvocationRecord`."""
        return {
            "request_id": self.request_id,
            "src": self.src,
            "src_node": self.src_node,
            "sent_s": self.sent_s,
            "received_s": self.received_s,
            "payload_bytes": self.payload_bytes,
            "transfer_ms": self.transfer_ms,
        }


NO_DELIVERY = Delivery(request_id=None, src="")
"""handle_init and handle_stop: run by the platform, not by a message."""


class RecordLog:
    """Appends every record as one JSON line and flushes it at once, so a run killed at any
    moment keeps everything completed before (the file lives on the host)."""

    def __init__(self, path: Path | None) -> None:
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", buffering=1)

    def append(self, record_json: str) -> None:
        """One record, already as JSON text (one line)."""
        if self._file is not None:
            self._file.write(record_json + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
