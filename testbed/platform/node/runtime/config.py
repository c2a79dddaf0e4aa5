"""Every number of the Gaia policy in one place, with the paper's values as defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class GaiaConfig:
    """Parameters of deploy-time classification and run-time re-evaluation.

    Fields ending in `_s` are time constants and `_per_s` rates; `scaled` shrinks the first
    and grows the second, so a short experiment replays the same decisions at a fraction of
    the wall time. Latencies (`_ms`) are the work itself and stay as they are.
    """

    large_tensor_elements: int = 1000
    """A tensor-creating call with at least this many elements makes `gpu_preferred`."""
    evaluation_interval_s: float = 30.0
    """Re-evaluate every this often, counted from deployment."""
    latency_threshold_ms: float = 1000.0
    """The current mode's P95 above this makes the other mode worth considering."""
    low_rate_latency_threshold_ms: float = 2000.0
    """The same threshold while the request rate is below `low_rate_per_s`."""
    low_rate_per_s: float = 0.2
    """Below this rate (over `rate_window_s`) the relaxed threshold applies."""
    min_rate_per_s: float = 0.1
    """Cold-start guard: below this rate (over `rate_window_s`) there is nothing to judge."""
    rate_window_s: float = 60.0
    """Window of the request rate; no judgement before one full window after deployment."""
    latency_window_s: float = 60.0
    """A mode's P95 covers its samples this far back from that mode's newest sample."""
    hysteresis_ms: float = 200.0
    """The other mode must be faster by at least this much to switch."""
    switch_wait_s: float = 120.0
    """No re-evaluation this long after a switch, so the new mode gets measured."""
    demote_rate_per_s: float = 0.01
    """A GPU-held function below this rate over `demote_window_s` goes back to the CPU."""
    demote_window_s: float = 1800.0
    """Window of the demotion rate; also how long the function must have held the GPU."""
    pin_gpu_cpu_latency_ms: float = 100_000.0
    """CPU P95 at or above this (with the GPU `hysteresis_ms` faster) pins the GPU for good."""

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) <= 0:
                raise ValueError(f"GaiaConfig.{field.name} must be positive")
        if self.min_rate_per_s > self.low_rate_per_s:
            raise ValueError("GaiaConfig.min_rate_per_s must not exceed low_rate_per_s")

    def scaled(self, factor: float) -> GaiaConfig:
        """The same policy on a clock `factor` times as fast: times shrink, rates grow."""
        if factor <= 0:
            raise ValueError("scale factor must be positive")
        changes: dict[str, float] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_per_s"):
                changes[field.name] = value / factor
            elif field.name.endswith("_s"):
                changes[field.name] = value * factor
        return replace(self, **changes)


DEFAULT_CONFIG = GaiaConfig()
