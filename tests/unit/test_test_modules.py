"""The test tree itself: pytest imports test modules by their file name (rootdir-based
imports, no packages), so two modules called alike under tests/unit and tests/system stop
the whole run at collection; this catches it in the fast part of the suite."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_name_of_its_own() -> None:
    names = Counter(path.name for path in TESTS.rglob("*.py"))
    # conftest.py is pytest's own, one per folder by design.
    shared = {"__init__.py", "conftest.py"}
    assert [name for name, count in names.items() if count > 1 and name not in shared] == []
