"""One printed figure of a benchmark: what, how much, in which unit, measured how."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchRow:
    metric: str
    value: float
    unit: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.metric:<44} {self.value:>12.4g} {self.unit:<8} {self.detail}"


HEADER = f"{'metric':<44} {'value':>12} {'unit':<8} detail"
