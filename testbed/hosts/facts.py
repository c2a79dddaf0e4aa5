"""What a board is and has, from the answer of `PROBE` (key=value lines), and what it
lacks to be the node a scenario declares. Pure: no SSH here, so every rule is unit tested.
"""

from __future__ import annotations

from dataclasses import dataclass

from testbed.image.commands import MACHINE_ALIASES

MIN_PYTHON = (3, 10)
"""The oldest Python the node's packages support (pyproject's requires-python)."""
MIN_MEMORY_BYTES = 256 * 2**20
"""The agent with its Redis takes about 70 MiB; a board with less than this is no node."""
MIN_GLIBC = (2, 28)
"""manylinux_2_28 (numpy's and scipy's oldest binary wheels for aarch64 and x86_64)."""

PROBE = r"""
py="$1"
echo "arch=$(uname -m)"
echo "kernel=$(uname -r)"
echo "os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null)"
echo "python=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)"
echo "glibc=$("$py" -c 'import platform; print(platform.libc_ver()[1])' 2>/dev/null)"
echo "uid=$(id -u)"
if [ "$(id -u)" = 0 ] || sudo -n ip -V >/dev/null 2>&1; then echo "sudo=yes"
else echo "sudo=no"; fi
echo "cpus=$(nproc 2>/dev/null)"
echo "memory_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "redis=$(command -v redis-server)"
echo "ip=$(command -v ip || ls /usr/sbin/ip /sbin/ip 2>/dev/null | head -n 1)"
if [ -d /sys/module/vxlan ]; then vx=loaded
elif find "/lib/modules/$(uname -r)" -name 'vxlan.ko*' 2>/dev/null | grep -q .; then
  vx=module
else vx=no; fi
echo "vxlan=$vx"
if [ -e /etc/nv_tegra_release ]; then gpu=jetson
elif command -v nvidia-smi >/dev/null 2>&1; then gpu=nvidia
else gpu=none; fi
echo "gpu=$gpu"
"""
"""POSIX sh, so it answers on a board without Python too; `$1` is the board's Python."""


@dataclass(frozen=True)
class BoardFacts:
    """What the probe found (empty strings where it found nothing)."""

    arch: str
    kernel: str
    os: str
    python: str
    glibc: str
    root: bool
    sudo: bool
    cpus: int
    memory_bytes: int
    redis: str
    ip: str
    vxlan: str
    gpu: str

    @property
    def machine(self) -> str:
        """The scenario's spelling of the architecture (x86_64 or arm64)."""
        return {"aarch64": "arm64", "amd64": "x86_64"}.get(self.arch, self.arch)

    @property
    def wheel_machine(self) -> str:
        """The architecture as wheel tags spell it (x86_64, aarch64)."""
        return MACHINE_ALIASES.get(self.arch, self.arch)

    @property
    def python_version(self) -> str:
        """major.minor, as wheels are built for it ('' without Python)."""
        return ".".join(self.python.split(".")[:2])


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


def parse_probe(text: str) -> BoardFacts:
    """The probe's answer as facts (ValueError naming what is missing from it)."""
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    missing = [key for key in ("arch", "uid", "sudo", "vxlan", "gpu") if key not in values]
    if missing:
        raise ValueError(f"the probe's answer lacks {', '.join(missing)}: {text[:200]!r}")
    return BoardFacts(
        arch=values["arch"].strip(),
        kernel=values.get("kernel", "").strip(),
        os=values.get("os", "").strip(),
        python=values.get("python", "").strip(),
        glibc=values.get("glibc", "").strip(),
        root=values["uid"].strip() == "0",
        sudo=values["sudo"].strip() == "yes",
        cpus=int(values.get("cpus", "").strip() or 0),
        memory_bytes=int(values.get("memory_kb", "").strip() or 0) * 1024,
        redis=values.get("redis", "").strip(),
        ip=values.get("ip", "").strip(),
        vxlan=values["vxlan"].strip(),
        gpu=values["gpu"].strip(),
    )


def problems(facts: BoardFacts, python: str, gpu_required: bool = False) -> list[str]:
    """What keeps the board from being a node, one line each (empty: it can be one).

    `python` is the interpreter the scenario names for it.
    """
    found = []
    if facts.wheel_machine not in ("x86_64", "aarch64"):
        found.append(f"architecture {facts.arch}: only x86_64 and aarch64 (arm64) are built for")
    version = _version(facts.python)
    if not facts.python:
        found.append(f"no {python}: install Python {'.'.join(map(str, MIN_PYTHON))} or newer")
    elif version[:2] < MIN_PYTHON:
        found.append(
            f"{python} is {facts.python}: the node needs {'.'.join(map(str, MIN_PYTHON))} or newer"
        )
    if facts.python and _version(facts.glibc)[:2] < MIN_GLIBC:
        found.append(
            f"glibc {facts.glibc or 'not found'}: the wheels need "
            f"{'.'.join(map(str, MIN_GLIBC))} or newer"
        )
    if not (facts.root or facts.sudo):
        found.append("neither root nor password-less sudo for ip: the tunnels need it")
    if facts.memory_bytes and facts.memory_bytes < MIN_MEMORY_BYTES:
        found.append(f"{facts.memory_bytes // 2**20} MiB of memory: the node needs 256 MiB")
    if not facts.redis:
        found.append("no redis-server: install it (apt install redis-server)")
    if not facts.ip:
        found.append("no ip command: install iproute2")
    if facts.vxlan == "no":
        found.append(f"kernel {facts.kernel} has no vxlan: the tunnel into the fabric needs it")
    if gpu_required and facts.gpu == "none":
        found.append("gpu: true, but the board has no NVIDIA GPU (no nvidia-smi, not a Jetson)")
    return found


def declared_mismatches(facts: BoardFacts, arch: str | None) -> list[str]:
    """Where the scenario's declaration differs from the board: notes, not problems (a
    scenario may declare an arm64 board for placement and run it on another)."""
    notes = []
    if arch is not None and arch != facts.machine:
        notes.append(f"declared {arch}, the board is {facts.machine}: placement uses {arch}")
    return notes
