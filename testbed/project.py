"""Where this package runs from: a source checkout (an editable install) or an installed
wheel. The one place that works out the project root; what needs the checkout asks here and
gets a clear error from a wheel instead of a folder that does not exist."""

from __future__ import annotations

import os
from pathlib import Path

from testbed.errors import SetupError

PACKAGE_DIR = Path(__file__).resolve().parent
_MARKERS = ("pyproject.toml", "testbed/__init__.py")


def source_root() -> Path | None:
    """The checkout holding this package, or None when it runs from an installed wheel."""
    root = PACKAGE_DIR.parent
    return root if all((root / marker).is_file() for marker in _MARKERS) else None


def require_source_root(purpose: str) -> Path:
    """The checkout, or a SetupError saying `purpose` needs one."""
    root = source_root()
    if root is None:
        raise SetupError(
            purpose,
            f"{PACKAGE_DIR} is an installed package, not a source checkout; run it from a "
            "clone installed with `pip install -e .` (scripts/setup.sh does that)",
        )
    return root


def work_dir() -> Path:
    """Where build products go (the wheelhouse, the debootstrap base): `build/` of the
    checkout, else the user's cache folder (`$XDG_CACHE_HOME/leotrek`)."""
    root = source_root()
    if root is not None:
        return root / "build"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "leotrek"
