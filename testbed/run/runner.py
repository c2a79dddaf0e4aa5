"""`testbed run`: bring up, deploy, drive, collect, report, tear down; one scenario end to end.

The results directory is written as the run goes (agents append their records to files
on the host, the controller appends ticks, link changes, positions and resource samples),
so Ctrl-C still reports and a SIGKILL loses nothing completed: `testbed down` removes what
the run left and `testbed report DIR` analyses what it wrote.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from testbed.emulation.session import Interrupted, check_host
from testbed.emulation.signals import stop_on_signals
from testbed.errors import UserError
from testbed.orbit.timebase import format_instant
from testbed.platform.control.placement import Placer
from testbed.results import layout
from testbed.results.analyse import build_report
from testbed.results.documents import Arrival, Lifecycle, RunDocument, write_run
from testbed.results.requests import RunFacts
from testbed.run import plan
from testbed.run.live import LiveView, RecordTail, live_figures
from testbed.run.metrics import ControllerMetrics
from testbed.run.ondemand import OnDemandNodes
from testbed.run.preflight import check_scenario
from testbed.run.provenance import code_version, host_facts
from testbed.run.recorder import TickRecorder
from testbed.run.resources import ResourceSampler
from testbed.run.workflows import END_GRACE_S, Settings, WorkflowDriver
from testbed.scenario.loader import load_scenario, read_yaml, scenario_sha256
from testbed.scenario.model import Scenario
from testbed.scenario.overrides import apply_overrides
from testbed.session import Testbed
from testbed.workload.arrivals import arrival_offsets_s
from testbed.workload.lifecycles import submissions
from testbed.workload.model import Workflow

DRAIN_S = 30.0
"""After the last request is sent, how long the run waits for the ones still in flight."""
LEAD_S = 1.0
"""Between the platform being up and the first workflow's submission."""
REFRESH_S = 0.5
DEFAULT_METRICS_PORT = 9464


def default_results_dir(scenario: Scenario) -> Path:
    return Path("results") / f"{scenario.name}-{datetime.now():%Y%m%d-%H%M%S}"


class Run:
    """One run's state; `execute()` does it all and returns the results directory."""

    def __init__(
        self,
        scenario_file: Path,
        overrides: Sequence[str],
        out_dir: Path | None,
        duration_s: float | None,
        console: Console,
        metrics_port: int | None,
        backend: str | None,
    ) -> None:
        checked = check_scenario(scenario_file, overrides, need_workload=True)
        probe = checked.scenario
        assert probe.workload is not None and checked.workflow is not None
        assert checked.ingress is not None
        # Requests, workflows and their lifetimes run in wall-clock seconds; only the orbits
        # go `time.speed` times faster, so a scenario's simulated span lasts duration/speed.
        self.duration_s = duration_s or probe.time.duration_s / probe.time.speed
        if probe.workload.arrival.warmup_s >= self.duration_s:
            raise UserError(
                f"workload.arrival.warmup: {probe.workload.arrival.warmup_s:g} s leaves nothing "
                f"to measure in a {self.duration_s:g} s run"
            )
        # The network keeps following the orbits while the last requests drain.
        sim_s = (self.duration_s + DRAIN_S + 5) * probe.time.speed
        self.overrides = [*overrides, f"time.duration={sim_s:g}s"]
        self.scenario = load_scenario(scenario_file, self.overrides)
        self.scenario_file = scenario_file
        self.workload = probe.workload
        self.workflow: Workflow = checked.workflow
        self.ingress = checked.ingress
        self.ingresses = checked.ingresses
        self.entry = plan.entry_function(self.workflow)
        self.console = console
        self.metrics_port = metrics_port
        self.run_dir = out_dir or default_results_dir(self.scenario)
        if (self.run_dir / layout.RUN).exists():
            raise UserError(f"--out: {self.run_dir} already holds a run; choose another folder")
        check_host(backend)  # before the results folder exists: nothing half-made
        self.testbed = Testbed(
            self.scenario, backend, records_dir=(self.run_dir / layout.RECORDS_DIR).resolve(),
            progress=lambda line: console.print(f"run: {line}"), overrides=self.overrides,
        )  # fmt: skip
        self.emulation = self.testbed.emulation
        self.submissions = [
            (one, arrival_offsets_s(self.workload.arrival, one.end_s - one.arrival_s))
            for one in submissions(self.workload.workflows, self.duration_s)
        ]
        self.metrics = ControllerMetrics()
        self.document = RunDocument()

    # -- files

    def _write_run(self, **changes: Any) -> None:
        """Rewrite run.json with `changes`, each checked as a RunDocument field."""
        self.document = RunDocument.model_validate(self.document.model_dump() | changes)
        write_run(self.run_dir, self.document)

    def _start_files(self) -> None:
        (self.run_dir / layout.RECORDS_DIR).mkdir(parents=True, exist_ok=True)
        as_run = apply_overrides(read_yaml(self.scenario_file), self.overrides)
        (self.run_dir / layout.SCENARIO).write_text(yaml.safe_dump(as_run, sort_keys=False))
        arrival = self.workload.arrival
        self._write_run(
            scenario=self.scenario.name,
            scenario_file=str(self.scenario_file),
            scenario_sha256=scenario_sha256(self.scenario),
            code_version=code_version(),
            backend=None,
            host=host_facts(),
            overrides=self.overrides,
            platform={
                **self.scenario.platform.model_dump(),
                "propagation": self.scenario.platform.propagation.label,
            },
            workflow=self.workflow.name,
            workflow_file=str(self.workload.workflow),
            ingress=self.ingress,
            entry=self.entry,
            arrival=Arrival(
                model=arrival.model,
                rate_per_s=arrival.rate_per_s,
                count=arrival.count,
                seed=arrival.seed,
                warmup_s=arrival.warmup_s,
                requests=sum(len(offsets) for _, offsets in self.submissions),
            ),
            lifecycle=Lifecycle(
                model=self.workload.workflows.model,
                interarrival_s=self.workload.workflows.interarrival_s,
                lifetime_s=self.workload.workflows.lifetime_s,
                warmup_s=self.workload.workflows.warmup_s,
                seed=self.workload.workflows.seed,
                workflows=len(self.submissions),
            ),
            sinks=plan.sink_functions(self.workflow),
            edges=plan.workflow_edges(self.workflow),
            entry_slo_ms=plan.entry_slo_ms(self.workflow, self.entry),
            deadline_ms=self.workflow.deadline_ms,
            duration_s=self.duration_s,
            started_unix=None,
            warmup_end_unix=None,
            ended_unix=None,
            status="starting",
        )

    def _write_nodes(self) -> None:
        sites = {station.name: station for station in self.scenario.ground_stations}
        nodes = []
        for handle in self.emulation.nodes:
            site = sites.get(handle.node.spec.site or "")
            nodes.append(
                {
                    **handle.record().model_dump(),
                    "lat_deg": site.lat if site and handle.node.satellite_id is None else None,
                    "lon_deg": site.lon if site and handle.node.satellite_id is None else None,
                }
            )
        layout.write_json(self.run_dir / layout.NODES, nodes)

    # -- the run

    def _say_stopping(self, signal_name: str) -> None:
        self.console.print(f"run: {signal_name}: stopping, then reporting")

    def execute(self) -> Path:
        self._start_files()
        self.console.print(f"run: results in {self.run_dir}")
        recorder = TickRecorder(
            self.run_dir, self.emulation.engine.nodes, self.emulation.engine.sites.ecef_km
        )
        self.emulation.observers += [recorder, self.metrics.observe_tick]
        self.emulation.counters.listeners.append(recorder.record_counters)
        sampler: ResourceSampler | None = None
        driver: WorkflowDriver | None = None
        status = "interrupted"
        with stop_on_signals(self.testbed.stop, self._say_stopping):
            try:
                self.testbed.start()
                self._write_run(
                    backend=self.emulation.backend.name if self.emulation.backend else None
                )
                self._write_nodes()
                driver = self._driver()
                if self.metrics_port:
                    self.metrics.serve(self.metrics_port)
                    self.console.print(
                        f"run: metrics on http://127.0.0.1:{self.metrics_port}/metrics"
                    )
                sampler = ResourceSampler(
                    self.run_dir,
                    lambda: [
                        (h.node.name, h.container)
                        for h in self.emulation.running_nodes()
                        if h.container is not None
                    ],
                ).start()
                self.testbed.follow_in_background()
                self._drive(recorder, driver)
                status = "interrupted" if self.testbed.stop.is_set() else "completed"
            except Interrupted as step:
                self.console.print(f"run: interrupted before: {step}")
            finally:
                if driver is not None:
                    driver.finish()
                self.testbed.stop.set()
                if sampler is not None:
                    sampler.stop()
                self.testbed.close()
                recorder.close()
                self.metrics.stop()
                self._write_run(ended_unix=time.time(), status=status)
                self.console.print("run: removed every container, interface and rule of this run")
        return self.run_dir

    def _driver(self) -> WorkflowDriver:
        """The lifecycle driver over one cluster for the run; submissions count from now."""
        platform = self.scenario.platform
        with self.testbed.engine_in_use() as engine:
            placer = Placer(
                engine, self.emulation.current_paths(), platform.scheduler, self.ingress,
                check_at_end=platform.slo_at_task_end,
            )  # fmt: skip
        settings = Settings(
            workflow=self.workflow, ingresses=self.ingresses, entry=self.entry,
            request=self.workload.request, mode=platform.placement,
            replacement=platform.replacement, speed=self.scenario.time.speed,
            check_every_s=self.scenario.time.tick_s / self.scenario.time.speed,
            strict=self.workload.workflows.model == "single",
            end_grace_s=DRAIN_S if self.workload.workflows.model == "single" else END_GRACE_S,
        )  # fmt: skip
        say = lambda line: self.console.print(f"run: {line}")  # noqa: E731
        on_demand = (
            OnDemandNodes(self.run_dir, self.testbed, platform.on_demand.idle_s, say)
            if any(node.on_demand for node in self.emulation.engine.nodes)
            else None
        )
        driver = WorkflowDriver(
            self.run_dir, self.testbed, placer, settings, self.submissions, say, on_demand
        )
        start_unix = time.time() + LEAD_S
        driver.start(start_unix)
        self._write_run(
            started_unix=start_unix,
            warmup_end_unix=start_unix + self.workload.arrival.warmup_s,
            status="running",
        )
        return driver

    def _drive(self, recorder: TickRecorder, driver: WorkflowDriver) -> None:
        """Submit, follow and end the workflows until their requests are sent and drained
        (or stop is set)."""
        facts = RunFacts.from_run(self.document)
        tail = RecordTail(self.run_dir)
        counted: set[str] = set()
        start_unix = driver.start_unix
        title = f"{self.scenario.name}: {self.workflow.name} from {', '.join(self.ingresses)}"
        with LiveView(self.console, title, self.duration_s) as view:
            while not self.emulation.stop.wait(REFRESH_S):
                driver.step(time.time())
                tail.read()
                figures, rows = live_figures(tail.records, facts)
                finished = [
                    r for r in rows if r["status"] != "lost" and r["request_id"] not in counted
                ]
                counted.update(r["request_id"] for r in finished)
                self.metrics.observe_requests(finished)
                elapsed_s = max(0.0, time.time() - start_unix)
                last = recorder.last
                tick = "-" if last is None else (
                    f"#{last.index}: {last.pairs} pairs, apply {last.apply_ms:.2f} ms, "
                    f"compute {last.compute_ms:.1f} ms"
                )  # fmt: skip
                sim_time = format_instant(last.sim_time) if last else "-"
                sending = elapsed_s < self.duration_s
                view.update(
                    elapsed_s, "sending" if sending else "draining", sim_time, tick, figures
                )
                # Done when every request planned was sent and answered (a burst ends as
                # soon as its last request does), or when the drain runs out.
                all_done = (
                    figures.sent >= driver.planned and figures.pending == 0 and not driver.placing
                )
                if all_done or (not sending and elapsed_s > self.duration_s + DRAIN_S):
                    return


def run_scenario(
    scenario_file: Path,
    overrides: Sequence[str],
    out_dir: Path | None = None,
    duration_s: float | None = None,
    live: bool = True,
    metrics_port: int | None = DEFAULT_METRICS_PORT,
    backend: str | None = None,
) -> Path:
    """Run the scenario end to end; returns the results directory (with summary.json and
    report.html). `live` False keeps stdout for the caller: progress lines go to stderr."""
    console = Console() if live else Console(stderr=True, force_terminal=False)
    run = Run(scenario_file, overrides, out_dir, duration_s, console, metrics_port, backend)
    run_dir = run.execute()
    build_report(run_dir)
    return run_dir
