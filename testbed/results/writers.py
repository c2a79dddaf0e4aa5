"""Append-only CSV files flushed row by row: what a run has written survives a SIGKILL."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any


class CsvAppender:
    """One CSV file with a header; rows may come from several threads."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self._file: IO[str] = path.open("w", newline="", buffering=1)
        self._writer = csv.writer(self._file)
        self._writer.writerow(columns)
        self._lock = threading.Lock()

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        with self._lock:
            self._writer.writerows(rows)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
