"""The compiled delay line: built from delayline.c (shipped in the package) with the host's
C compiler, once per source text, into the work folder; reused while the source is the same.

The set-up script builds it ahead of time; from an installed wheel it is built on first use.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from testbed.errors import SetupError
from testbed.project import work_dir

SOURCE = Path(__file__).resolve().with_name("delayline.c")
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11")
_COMPILE_TIMEOUT_S = 120.0


def delay_line_binary(source: Path = SOURCE, folder: Path | None = None) -> Path:
    """The binary for `source`, compiled if this text was never built here."""
    text = source.read_bytes()
    digest = hashlib.sha256(text + " ".join(CFLAGS).encode()).hexdigest()[:16]
    target = (folder or work_dir() / "delayline") / digest / "delayline"
    if target.is_file():
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SetupError("delay line", "no C compiler (gcc): run scripts/setup.sh as root")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    done = subprocess.run(
        [compiler, *CFLAGS, "-o", str(partial), str(source)],
        capture_output=True, text=True, timeout=_COMPILE_TIMEOUT_S, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SetupError("delay line", f"{compiler} failed:\n{done.stderr.strip()[-2000:]}")
    partial.replace(target)
    return target


if __name__ == "__main__":  # scripts/setup.sh builds it ahead of the first run
    print(delay_line_binary())
