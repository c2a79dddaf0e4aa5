"""`testbed bench transfers`: timed transfers over emulated pairs in real node containers,
with the tick loop and the agents running, next to the TCP model.

Raw TCP runs the probe (`testbed.bench.transfer_probe`) inside the nodes; the platform's
paths run the bench functions (`testbed/bench/functions/`), deployed by hand: the senders
on the source, the receiver on the sink. Each batch of a platform case is timed by the
records the agents leave: a put, get or call by its sender's handler (start to end), a cast
from its send to its arrival. One warm-up batch per case (not counted) opens the
connections, as they are open on a busy node.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from testbed.bench.transfer_plan import (
    SINK,
    TCP_PATHS,
    Case,
    CaseResult,
    Pair,
    case_model,
    transfers_scenario,
)
from testbed.bench.transfer_probe import PROBE_PORT
from testbed.platform import codec
from testbed.platform.contract import InvocationRecord, Message
from testbed.platform.control.deploy import deploy
from testbed.platform.control.placement import PlacedFunction
from testbed.scenario.model import PropagationSpec
from testbed.session import Testbed
from testbed.workload.model import Edge, FunctionInstance, Workflow

PROBE_MODULE = "testbed.bench.transfer_probe"
FUNCTIONS = Path(__file__).parent / "functions"
POLL_S = 0.01
HTTP_TIMEOUT_S = 30.0
PUT_AT_SINK = PropagationSpec(slo="edge")
"""Every state goes to the sink: per-edge settings with no SLO on the sender's edge, so
Databelt takes the destination whatever the pair's delay (the bench times the transfer)."""
RECORD_WAIT_S = 30.0
"""How long past five times its model a batch may take before the case fails."""


def bench_workflow(source: str, senders: int) -> Workflow:
    """Senders 0..n-1 on `source`, each with output `out` to one receiver on the sink."""
    version = "1"
    functions = [
        FunctionInstance(
            name=f"sender-{i}", class_id="bench-sender", version=version,
            code=FUNCTIONS / "sender.py", outputs=("out",),
        )
        for i in range(senders)
    ]  # fmt: skip
    receiver = FunctionInstance(
        name="receiver", class_id="bench-receiver", version=version,
        code=FUNCTIONS / "receiver.py",
    )  # fmt: skip
    edges = [Edge(source=f.name, output="out", target=receiver.name) for f in functions]
    return Workflow(name=f"bench-{source}", functions=(*functions, receiver), edges=tuple(edges))


def _placements(workflow: Workflow, source: str) -> list[PlacedFunction]:
    return [
        PlacedFunction(
            function=f.name,
            node=SINK if f.name == "receiver" else source,
            instance=f"{workflow.name}-{f.name}",
            reason="bench: placed by hand",
            decision_ms=0.0,
        )
        for f in workflow.functions
    ]


class TransferBench:
    """Runs cases on a started testbed of `transfers_scenario(pairs)`."""

    def __init__(self, testbed: Testbed, pairs: Sequence[Pair], max_flows: int, repeats: int):
        self.testbed = testbed
        self.pairs = pairs
        self.repeats = repeats
        self._http = testbed.agent_client(HTTP_TIMEOUT_S)
        self._request_ids = itertools.count(1)
        self._instances: dict[tuple[str, str], str] = {}
        self._keys: dict[tuple[str, int], str] = {}
        """The key of each sender's last put (it names the sink): what its gets read."""
        now = testbed.paths()
        agents = testbed.running_agents()
        for index, pair in enumerate(pairs):
            source = pair.node(index)
            workflow = bench_workflow(source, max_flows)
            placed = _placements(workflow, source)
            deploy(self.testbed.secret, workflow, placed, agents, now, propagation=PUT_AT_SINK)
            self._instances.update({(source, p.function): p.instance for p in placed})
        testbed.spawn(SINK, ["python3", "-m", PROBE_MODULE, "serve", "--port", str(PROBE_PORT)])

    def close(self) -> None:
        self._http.close()

    def run(self, case: Case) -> CaseResult:
        model = case_model(case)
        before = self._drops()
        try:
            if case.path in TCP_PATHS:
                seconds, error = tuple(self._tcp(case)), None
            else:
                timeout_s = model.total_s * 5 + RECORD_WAIT_S
                seconds, error = tuple(self._platform(case, timeout_s)), None
        except BenchCaseError as failure:
            seconds, error = (), str(failure)
        after = self._drops()
        return CaseResult(case, seconds, model, error, after[0] - before[0], after[1] - before[1])

    def _drops(self) -> tuple[int, int]:
        """Link-queue and emulator drops so far (every pair: the bench runs one at a time)."""
        backend = self.testbed.emulation.backend
        assert backend is not None, "the testbed is started"
        counters = backend.counters()
        return int(counters["link_queue_dropped"]), int(counters["emulator_dropped"])

    # ------------------------------------------------------------------ raw TCP

    def _tcp(self, case: Case) -> list[float]:
        command = [
            "python3", "-m", PROBE_MODULE, "send", "--to", SINK, "--port", str(PROBE_PORT),
            "--size", str(case.size_bytes), "--repeats", str(self.repeats),
            "--flows", str(case.flows), *(("--fresh",) if case.fresh else ()),
        ]  # fmt: skip
        result = self.testbed.exec(case.source, command)
        lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        errors = [line["error"] for line in lines if "error" in line]
        if result.exit_code != 0 or errors or len(lines) != self.repeats:
            raise BenchCaseError(errors[0] if errors else result.output.strip()[-300:])
        return [float(line["seconds"]) for line in lines]

    # ------------------------------------------------------------------ the platform

    def _platform(self, case: Case, timeout_s: float) -> list[float]:
        if case.path == "get":  # the states to fetch, on the sink (not timed)
            self._batch(case, "put", timeout_s)
        self._batch(case, case.path, timeout_s)  # warm-up
        return [self._batch(case, case.path, timeout_s) for _ in range(self.repeats)]

    def _batch(self, case: Case, operation: str, timeout_s: float) -> float:
        """Start `case.flows` operations at once; the time from the first start to the
        last end their records show."""
        source = case.source
        wanted: dict[str, str] = {}
        flow_of: dict[str, int] = {}
        for flow in range(case.flows):
            sender = self._instances[(source, f"sender-{flow}")]
            request_id = f"bench-{next(self._request_ids)}"
            key = self._keys.get((source, flow), "") if operation == "get" else f"bench-{flow}"
            msg = {"op": operation, "size": case.size_bytes, "key": key}
            body = Message(src="bench", msg=codec.encode(msg), rid=request_id)
            answer = self._http.post(
                f"{self.testbed.agent_url(source)}/instances/{sender}/cast",
                content=body.model_dump_json(),
                headers={"Content-Type": "application/json"},
            )
            if answer.status_code != 202:
                raise BenchCaseError(f"cast to {sender}: HTTP {answer.status_code}")
            wanted[request_id] = sender
            flow_of[request_id] = flow
        if operation == "cast":
            receiver = self._instances[(source, "receiver")]
            records = self._records(SINK, receiver, set(wanted), timeout_s)
            # The sender's connection is free once the 202 is back: one round trip after
            # the receiver saw the cast. The next batch must not find it busy.
            time.sleep(2 * case.pair.delay_ms / 1e3)
            return max(r.received_s or 0 for r in records) - min(r.sent_s or 0 for r in records)
        records = [
            record
            for request_id, sender in wanted.items()
            for record in self._records(source, sender, {request_id}, timeout_s)
        ]
        if operation == "put":
            for record in records:
                assert record.request_id is not None  # it is one of `wanted`
                self._keys[(source, flow_of[record.request_id])] = record.state_accesses[0].key
        return max(r.end_s for r in records) - min(r.start_s for r in records)

    def _records(
        self, node: str, instance: str, request_ids: set[str], timeout_s: float
    ) -> list[InvocationRecord]:
        """The handler records of `instance` for these requests, once all are there (an
        error in any fails the case)."""
        url = f"{self.testbed.agent_url(node)}/records"
        deadline = time.monotonic() + timeout_s
        while True:
            answer = self._http.get(url, params={"instance": instance, "limit": 64})
            answer.raise_for_status()
            found = [
                record
                for raw in answer.json()["records"]
                if (record := InvocationRecord.model_validate(raw)).request_id in request_ids
                and record.handled
            ]
            failed = [record for record in found if record.error]
            if failed:
                raise BenchCaseError(f"{instance}: {failed[0].error}")
            if len({record.request_id for record in found}) >= len(request_ids):
                return found
            if time.monotonic() > deadline:
                raise BenchCaseError(
                    f"{instance} on {node}: {len(found)} of {len(request_ids)} records after "
                    f"{timeout_s:.0f} s"
                )
            time.sleep(POLL_S)


class BenchCaseError(Exception):
    """One case could not be measured; the bench goes on with the next."""


@contextmanager
def transfer_bench(
    pairs: Sequence[Pair],
    max_flows: int,
    repeats: int,
    backend: str | None,
    progress: Callable[[str], None],
) -> Iterator[TransferBench]:
    """The testbed of the pairs, running (containers, agents, ticks), with the bench's
    functions and probe server deployed; everything removed on exit."""
    scenario = transfers_scenario(pairs, max_flows)
    with Testbed(scenario, backend=backend, progress=progress) as testbed:
        bench = TransferBench(testbed, pairs, max_flows, repeats)
        try:
            yield bench
        finally:
            bench.close()


CSV_FIELDS = (
    "path", "delay_ms", "rate_mbps", "size_bytes", "flows", "batches", "p50_s", "max_s",
    "model_s", "model_handshake_s", "model_slow_start_s", "model_serialization_s",
    "model_propagation_s", "p50_over_model", "max_over_model", "rate_share", "seconds",
    "queue_dropped", "emulator_dropped", "netem_p50_s", "netem_seconds", "error",
)  # fmt: skip


def _reference_fields(reference: tuple[float, ...] | str | None) -> list[object]:
    if reference is None:
        return ["", ""]
    if isinstance(reference, str):
        return ["", reference]
    return [float(np.median(reference)), " ".join(f"{s:.6f}" for s in reference)]


def write_csv(
    results: Sequence[CaseResult],
    reference: Mapping[Case, tuple[float, ...] | str],
    path: Path,
) -> None:
    """One row per case: its figures, its model, every batch's time and the reference's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_FIELDS)
        for r in results:
            case, model = r.case, r.model
            figures = (r.p50_s, r.max_s) if r.ok else ("", "")
            writer.writerow([
                case.path, case.pair.delay_ms, case.pair.rate_mbps, case.size_bytes,
                case.flows, len(r.seconds), *figures, model.total_s, model.handshake_s,
                model.slow_start_s, model.serialization_s, model.propagation_s,
                r.p50_ratio if r.ok else "", r.max_ratio if r.ok else "",
                "" if not r.ok or r.rate_share is None else r.rate_share,
                " ".join(f"{s:.6f}" for s in r.seconds), r.queue_dropped, r.emulator_dropped,
                *_reference_fields(reference.get(case)), r.error or "",
            ])  # fmt: skip
