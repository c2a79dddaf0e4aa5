"""The vocabulary shared by the classifier, the state machine and the records."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Mode(str, Enum):
    """Where one invocation runs."""

    cpu = "cpu"
    gpu = "gpu"

    @property
    def other(self) -> Mode:
        return Mode.gpu if self is Mode.cpu else Mode.cpu


class FunctionClass(int, Enum):
    """Deploy-time class; the order is the strength, so across files `max` wins."""

    cpu = 0
    cpu_preferred = 1
    gpu_preferred = 2
    gpu = 3

    @property
    def adaptive(self) -> bool:
        """Only the `*_preferred` classes are re-evaluated at run time."""
        return self in (FunctionClass.cpu_preferred, FunctionClass.gpu_preferred)


@dataclass(frozen=True)
class Decision:
    """A mode and the reason for it, as written into the invocation record."""

    mode: Mode
    reason: str


@dataclass(frozen=True)
class GpuInfo:
    """Whether the host has a GPU (as detected by `gpu.detect_gpu`); `reason` says which
    probe answered and how."""

    available: bool
    name: str | None
    reason: str
