"""Command lines of the build tools (pip, debootstrap), computed without running anything.

Pure functions so that the exact arguments (platform tags, package lists, mirror) are
unit tested; `steps.run_tool` runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

MACHINE_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}
OLDEST_GLIBC_MINOR = 17
"""glibc 2.17: manylinux2014, the oldest tag pip is asked for."""
IMAGE_GLIBC_MINOR = 36
"""glibc 2.36, Debian bookworm's, in the image."""


def wheel_platforms(machine: str, glibc_minor: int = IMAGE_GLIBC_MINOR) -> list[str]:
    """pip `--platform` tags of binary wheels that run for `machine` on glibc 2.`glibc_minor`
    (the image's by default; a board's own)."""
    arch = MACHINE_ALIASES.get(machine.lower(), machine.lower())
    return [f"manylinux2014_{arch}"] + [
        f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, OLDEST_GLIBC_MINOR - 1, -1)
    ]


def pip_download_command(
    python: str,
    requirements: Sequence[str],
    dest: Path,
    python_version: str,
    platforms: Sequence[str],
) -> list[str]:
    """pip download of binary wheels for the image's Python, whatever the host's Python is."""
    abi = "cp" + python_version.replace(".", "")
    platform_args = [arg for platform in platforms for arg in ("--platform", platform)]
    return [
        python, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
        "--only-binary=:all:", "--python-version", python_version,
        "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none",
        *platform_args, "--dest", str(dest), *requirements,
    ]  # fmt: skip


def debootstrap_command(
    suite: str, target: Path, mirror: str, packages: Iterable[str], keyring: Path | None
) -> list[str]:
    """debootstrap of a minimal root file system that already holds `packages`."""
    keyring_args = [f"--keyring={keyring}"] if keyring else []
    return [
        "debootstrap", "--variant=minbase", f"--include={','.join(sorted(packages))}",
        *keyring_args, suite, str(target), mirror,
    ]  # fmt: skip


def _one_line_entries(text: str) -> Iterable[tuple[list[str], list[str], list[str]]]:
    for line in text.splitlines():
        line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0])
        fields = line.split()
        if len(fields) >= 3:
            yield [fields[0]], [fields[1]], [fields[2]]


def _deb822_entries(text: str) -> Iterable[tuple[list[str], list[str], list[str]]]:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(("#", " ", "\t")):
                fields[key.strip().lower()] = value.split()
        yield fields.get("types", []), fields.get("uris", []), fields.get("suites", [])


def apt_mirror(sources: Iterable[tuple[str, str]], suite: str, default: str) -> str:
    """The first plain-http Debian mirror that apt uses for `suite`, else `default`.

    `sources` pairs a file name with its text; names ending in `.sources` are deb822, the
    others one-line format. An Ubuntu host has no such entry and gets the default.
    """
    for name, text in sources:
        entries = _deb822_entries(text) if name.endswith(".sources") else _one_line_entries(text)
        for types, uris, suites in entries:
            if "deb" in types and suite in suites:
                plain = [uri for uri in uris if uri.startswith("http://")]
                if plain:
                    return plain[0].rstrip("/")
    return default
