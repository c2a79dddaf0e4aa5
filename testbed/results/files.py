"""Reading a run's results files, tolerant of the files a run killed early never finished."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file by header; [] when missing, and a row cut short by a kill is dropped."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row for row in rows if None not in row.values() and None not in row]


def read_json(path: Path, default: Any) -> Any:
    """The parsed JSON document, or `default` when the run never wrote the file."""
    if not path.is_file():
        return default
    return json.loads(path.read_text(encoding="utf-8"))
