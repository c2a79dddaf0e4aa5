"""Every pluggable kind and its implementations, under the names scenarios and the CLI use.

One registry per kind: the scenario schema validates names against it, the CLI offers them
as choices, and a test holds the README's tables to it. Adding an implementation is one
class and one line here (`"name": "module:Class"`); a class is imported only when it is
used, so naming a shaping backend in a scenario never loads netlink code.

Constructors per kind (what `create` passes on):
- scheduler: `(cluster, latency_view, seed)`, with `place(request)`;
- state policy: `(seed)`, with `place(graph, request)`;
- runtime policy: `(gpu, classification, config, deployed_at_s)`, with `initial` (the
  first revision's decision), `observe(mode, at_s, latency_ms)`, `evaluate(now_s)` (None
  when never re-evaluated) and `commit(evaluation)`;
- shaping backend: `()`, with `setup(fabric, n_nodes)`, `apply(state, pairs)`, `close()`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Registry:
    """Implementations of one kind by name, each as `module:attribute`."""

    kind: str
    entries: Mapping[str, str]

    def names(self) -> tuple[str, ...]:
        return tuple(self.entries)

    def choices(self) -> str:
        """The names as a sentence: `'a', 'b' or 'c'`."""
        quoted = [repr(name) for name in self.entries]
        return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def check(self, name: str) -> str:
        """`name` if it is registered, else ValueError listing the known names (the text
        a scenario field's error shows: `must be 'a', 'b' or 'c'`)."""
        if name not in self.entries:
            raise ValueError(f"must be {self.choices()}")
        return name

    def load(self, name: str) -> Any:
        """The registered class (or factory) called `name`."""
        module, _, attribute = self.entries[self.check(name)].partition(":")
        return getattr(importlib.import_module(module), attribute)

    def create(self, name: str, *args: Any) -> Any:
        """An instance of `name`, built with the kind's constructor arguments."""
        return self.load(name)(*args)


_SCHEDULER = "testbed.platform.control.scheduler"
_STATE = "testbed.platform.node.state.policy"
_RUNTIME = "testbed.platform.node.runtime.policy"
_SHAPING = "testbed.emulation.shaping"

SCHEDULERS = Registry(
    "scheduler",
    {
        "hyperdrive": f"{_SCHEDULER}.hyperdrive:HyperDriveScheduler",
        "random": f"{_SCHEDULER}.baselines:RandomScheduler",
        "round-robin": f"{_SCHEDULER}.baselines:RoundRobinScheduler",
        "first-fit": f"{_SCHEDULER}.baselines:FirstFitScheduler",
    },
)
STATE_POLICIES = Registry(
    "state policy",
    {
        "databelt": f"{_STATE}:DatabeltPolicy",
        "stateless": f"{_STATE}:StatelessPolicy",
        "random": f"{_STATE}:RandomPolicy",
        "local": f"{_STATE}:LocalPolicy",
    },
)
RUNTIME_POLICIES = Registry(
    "runtime policy",
    {
        "auto": f"{_RUNTIME}:AutoRuntime",
        "cpu": f"{_RUNTIME}:CpuRuntime",
        "gpu": f"{_RUNTIME}:GpuRuntime",
    },
)
SHAPING_BACKENDS = Registry(
    "shaping backend",
    {
        "netem": f"{_SHAPING}.netem:NetemBackend",
        "userspace": f"{_SHAPING}.userspace:UserspaceBackend",
    },
)
AUTO_BACKEND = "auto"
"""`--backend auto`: netem where the kernel has it, else userspace."""

REGISTRIES = (SCHEDULERS, STATE_POLICIES, RUNTIME_POLICIES, SHAPING_BACKENDS)
