"""Follow every request across the nodes' invocation records (pure).

Agents stamp each message with its request id, sender, send and arrival time, so a
request's records form a tree rooted at the ingress; the chain that ended last (the
critical path) gives the request's latency and the emulated delays it crossed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from testbed.platform.contract import INGRESS, REQUEST_HANDLER, InvocationRecord
from testbed.results.documents import RunDocument
from testbed.results.timeline import DelayTimeline


@dataclass(frozen=True)
class RunFacts:
    """What the analysis needs from run.json."""

    sinks: frozenset[str]
    slo_ms: Mapping[tuple[str, str], float]
    """(source function or "ingress", target function) -> the edge's max latency."""
    deadline_ms: float | None
    warmup_end_unix: float

    @classmethod
    def from_run(cls, run: RunDocument) -> RunFacts:
        slo_ms = {
            (edge.source, edge.target): edge.max_latency_ms
            for edge in run.edges
            if edge.max_latency_ms is not None
        }
        if run.entry_slo_ms is not None and run.entry is not None:
            slo_ms[(INGRESS, run.entry)] = run.entry_slo_ms
        return cls(frozenset(run.sinks), slo_ms, run.deadline_ms, run.warmup_end_unix or 0.0)


def _state_counts(record: InvocationRecord) -> dict[str, Any]:
    """Puts, and reads that found the state, split by where they were served."""
    accesses = record.state_accesses
    reads = [a for a in accesses if a.operation == "get" and a.hit]
    return {
        "state_gets": len(reads),
        "state_puts": sum(1 for a in accesses if a.operation == "put"),
        "state_local": sum(1 for a in reads if a.locality == "local"),
        "state_remote": sum(1 for a in reads if a.locality == "remote"),
        "state_bytes": sum(a.size_bytes for a in accesses),
        "state_ms": sum(a.seconds for a in accesses) * 1e3,
    }


class RequestAnalysis:
    """Invocation and request rows of one run (`timeline` None: path delays unknown)."""

    def __init__(
        self,
        records: Iterable[InvocationRecord],
        facts: RunFacts,
        timeline: DelayTimeline | None,
    ) -> None:
        self.records = sorted(records, key=lambda r: r.start_s)
        self.facts = facts
        self.timeline = timeline
        self._function_of = {r.instance: r.function for r in self.records if r.handled}
        self._function_of[INGRESS] = INGRESS

    def hop_delay_ms(self, record: InvocationRecord) -> float | None:
        """The emulated one-way delay the message that started `record` crossed."""
        if self.timeline is None or record.src_node is None:
            return None
        if record.sent_s is None or record.received_s is None:
            return None
        return self.timeline.min_delay_ms(
            record.src_node, record.node, record.sent_s, record.received_s
        )

    def hop_slo_ms(self, record: InvocationRecord) -> float | None:
        source = self._function_of.get(record.src)
        return self.facts.slo_ms.get((source, record.function)) if source else None

    def invocation_rows(self) -> list[dict[str, Any]]:
        rows = []
        for record in self.records:
            handled = record.handled
            rows.append(
                {
                    "request_id": record.request_id,
                    "instance": record.instance,
                    "function": record.function,
                    "node": record.node,
                    "handler": record.handler,
                    "src": record.src,
                    "src_node": record.src_node,
                    "sent_unix": record.sent_s,
                    "start_unix": record.start_s,
                    "end_unix": record.end_s,
                    "exec_ms": record.exec_ms,
                    "transfer_ms": record.transfer_ms,
                    "path_delay_ms": self.hop_delay_ms(record) if handled else None,
                    "slo_ms": self.hop_slo_ms(record) if handled else None,
                    "slo_met": self._slo_met(record) if handled else None,
                    "mode": record.mode,
                    **_state_counts(record),
                    "error": record.error,
                }
            )
        return rows

    def request_rows(self) -> list[dict[str, Any]]:
        by_request: dict[str, list[InvocationRecord]] = {}
        for record in self.records:
            if record.request_id:
                by_request.setdefault(record.request_id, []).append(record)
        rows = [self._request_row(rid, records) for rid, records in by_request.items()]
        return sorted(rows, key=lambda row: row["sent_unix"])

    def _request_row(self, request_id: str, records: Sequence[InvocationRecord]) -> dict[str, Any]:
        ingress = next((r for r in records if r.handler == REQUEST_HANDLER), None)
        handled = [r for r in records if r.handled]
        sent_unix = (
            ingress.start_s if ingress is not None else min(r.sent_s or r.start_s for r in records)
        )
        errors = [r.error for r in records if r.error]
        finished = {r.function for r in handled if r.error is None}
        complete = bool(handled) and self.facts.sinks <= finished
        last = max(
            (r for r in handled if r.function in self.facts.sinks or not self.facts.sinks),
            key=lambda r: r.end_s,
            default=None,
        )
        chain = self._chain(last, records) if complete and last is not None else []
        hops = [self.hop_delay_ms(r) for r in chain if r.handled]
        latency_ms = (last.end_s - sent_unix) * 1e3 if chain and last is not None else None
        slo_checks = [self._slo_met(r) for r in handled]
        checked = [met for met in slo_checks if met is not None]
        if latency_ms is not None and self.facts.deadline_ms is not None:
            checked.append(latency_ms <= self.facts.deadline_ms)
        return {
            "request_id": request_id,
            "sent_unix": sent_unix,
            "end_unix": last.end_s if chain and last is not None else None,
            "latency_ms": latency_ms,
            "path_delay_ms": None if not hops or None in hops else sum(hops),  # type: ignore[arg-type]
            "hops": len(hops),
            "transfer_ms": sum(r.transfer_ms or 0.0 for r in chain if r.handled),
            "exec_ms": sum(r.exec_ms for r in chain if r.handled),
            "nodes": ";".join(r.node for r in chain),
            "slo_met": all(checked) if checked and not errors else (False if errors else None),
            "status": "failed" if errors else ("ok" if chain else "lost"),
            "measured": sent_unix >= self.facts.warmup_end_unix,
            "error": errors[0] if errors else None,
        }

    def _slo_met(self, record: InvocationRecord) -> bool | None:
        slo_ms, transfer_ms = self.hop_slo_ms(record), record.transfer_ms
        return None if slo_ms is None or transfer_ms is None else transfer_ms <= slo_ms

    @staticmethod
    def _chain(
        last: InvocationRecord, records: Sequence[InvocationRecord]
    ) -> list[InvocationRecord]:
        """From the ingress (or the record that started the request) to `last`: each
        record's parent is the latest run of its sender that began before it sent."""
        chain = [last]
        seen = {id(last)}
        current = last
        while current.src and current.handler != REQUEST_HANDLER:
            sent_s = current.sent_s or current.start_s
            candidates = [
                r for r in records
                if r.instance == current.src and r.start_s <= sent_s and id(r) not in seen
                and (r.handler == REQUEST_HANDLER or r.handled)
            ]  # fmt: skip
            if not candidates:
                break
            current = max(candidates, key=lambda r: r.start_s)
            seen.add(id(current))
            chain.append(current)
        return chain[::-1]
