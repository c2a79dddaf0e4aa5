"""After every tick, the counters of whatever can hold or drop traffic, read on a thread of
its own: netlink dumps and HTTP round trips never delay a tick.

Sources register by name (the emulation registers its shaping backend as `network`; the
platform adds its agents' message counters); each gives a mapping of counter -> number,
stored as `source.counter`. Listeners get every sample (a run appends them to its results);
`latest` is what `testbed status` shows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from testbed.emulation.ticks import Tick

LOG = logging.getLogger(__name__)
_JOIN_S = 10.0

Source = Callable[[], Mapping[str, float]]


@dataclass(frozen=True)
class CounterSample:
    """Every source's counters after one tick, as `source.counter` -> value."""

    tick: int
    wall_unix: float
    values: Mapping[str, float]


class CounterSampler:
    """A tick observer; `start()` its thread, `stop()` it (a last sample is taken)."""

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self.listeners: list[Callable[[CounterSample], None]] = []
        self.latest: CounterSample | None = None
        self.failures = 0
        """Reads a source refused (it is skipped that round: a run never stops for it)."""
        self._wake = threading.Condition()
        self._tick: int | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="counters", daemon=True)

    def __call__(self, tick: Tick) -> None:
        with self._wake:
            self._tick = tick.record.index
            self._wake.notify()

    def start(self) -> CounterSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=_JOIN_S)

    def sample(self, tick: int) -> CounterSample:
        """Read every source now (a source that fails is left out and counted)."""
        values: dict[str, float] = {}
        for name, read in list(self.sources.items()):
            try:
                values.update({f"{name}.{key}": value for key, value in read().items()})
            except Exception as error:  # a closed backend, an agent that went away
                self.failures += 1
                LOG.debug("counters of %s: %s", name, error)
        sample = CounterSample(tick, time.time(), values)
        self.latest = sample
        for listener in list(self.listeners):
            listener(sample)
        return sample

    def _run(self) -> None:
        last = 0
        while True:
            with self._wake:
                while self._tick is None and not self._stopped:
                    self._wake.wait()
                tick, self._tick, stopped = self._tick, None, self._stopped
            last = last if tick is None else tick
            if tick is not None or stopped:
                self.sample(last)  # on stop: the counters as the emulation ends
            if stopped:
                return
