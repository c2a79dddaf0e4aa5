"""Run a command inside a small QEMU VM whose kernel has sch_netem, and get its verdict back.

This machine's kernel has no netem and cannot load modules, so netem is tested in a VM booting
the stock Debian kernel (assets from scripts/netem-vm/build.sh, cached under build/netem-vm).
The guest mounts the HOST's root read-only over 9p with a tmpfs overlay: the command runs with
the host's own ip/tc/ping and the project's .venv, with no guest root filesystem to maintain.

    result = run_in_vm(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "10ms"])
    assert result.returncode == 0, result.output
"""

from __future__ import annotations

import fcntl
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from testbed.project import require_source_root

QEMU = "qemu-system-x86_64"
# qboot starts the kernel in well under a second where SeaBIOS takes ~5 s under TCG.
QBOOT = Path("/usr/share/qemu/qboot.rom")
START_MARKER = "VMTEST-START"  # run-job prints it just before the command starts
FAIL_MARKER = "VMTEST-FAIL="  # the initramfs prints it, naming the step that failed
CONSOLE_TAIL_LINES = 15


class VmError(RuntimeError):
    """A step (assets, qemu, boot, run) failed; the first line of the message names it."""


@dataclass(frozen=True)
class VmResult:
    """What the command did in the guest, and how long the VM took around it."""

    returncode: int
    output: str  # the command's stdout and stderr, interleaved
    boot_seconds: float  # QEMU start until the command started
    run_seconds: float  # command start until QEMU exited (power-off included)
    console: str  # the serial console, for diagnosing the guest


def _repo() -> Path:
    """The checkout: the guest runs its .venv and the build script lives in it."""
    return require_source_root("the netem VM")


def build_assets() -> Path:
    """Build the kernel and initramfs if missing or stale; return their directory.

    A lock makes concurrent test processes wait for one build instead of racing it.
    """
    assets = _repo() / "build" / "netem-vm"
    build_script = _repo() / "scripts" / "netem-vm" / "build.sh"
    assets.mkdir(parents=True, exist_ok=True)
    with (assets / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            proc = subprocess.run(
                [str(build_script), str(assets)], capture_output=True, text=True, check=False
            )
        except OSError as error:
            raise VmError(f"netem-vm assets: cannot run {build_script}: {error}") from error
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise VmError(lines[-1] if lines else f"netem-vm assets: {build_script} failed")
    return assets


def qemu_command(assets: Path, job_dir: Path) -> list[str]:
    """QEMU's argv: TCG only (/dev/kvm may exist and still hang), one vCPU (faster than two
    on a 2-core host), serial console on stdout, host root read-only, job dir writable."""
    return [
        QEMU,
        "-accel", "tcg",
        "-machine", "pc",
        "-bios", str(QBOOT),
        "-smp", "1",
        "-m", "512",
        "-nodefaults",
        "-no-user-config",
        "-nographic",
        "-serial", "stdio",
        "-no-reboot",
        "-kernel", str(assets / "vmlinuz"),
        "-initrd", str(assets / "initramfs.cpio.gz"),
        "-append",
        f"console=ttyS0 panic=-1 quiet vmtest_modules={(assets / 'modules').resolve()} "
        f"vmtest_repo={_repo()}",
        # multidevs=remap: / spans several host filesystems; without it inode numbers
        # collide and the guest's overlay misbehaves.
        "-virtfs",
        "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={job_dir},mount_tag=vmjob,security_model=none",
        # The repository once more, mounted at its own path after the guest's fresh /tmp and
        # /run: a checkout under /tmp (as CI may make) would be hidden otherwise.
        "-virtfs",
        f"local,path={_repo()},mount_tag=repo,security_model=none,readonly=on,multidevs=remap",
    ]  # fmt: skip


class _Console:
    """Collects QEMU's serial output in a thread, noting when the command starts."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.lines: list[str] = []
        self.start_time: float | None = None
        self.failure: str | None = None
        self.settled = threading.Event()  # the command started, or QEMU's output ended
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.lines.append(line)
            if line.endswith(START_MARKER) and self.start_time is None:
                self.start_time = time.monotonic()
                self.settled.set()
            elif FAIL_MARKER in line:
                self.failure = line.split(FAIL_MARKER, 1)[1]
        self.settled.set()

    def join(self) -> None:
        self._thread.join(timeout=5)

    def tail(self) -> str:
        """The last console lines, indented, after a newline; empty when the console was."""
        return "".join("\n  | " + line for line in self.lines[-CONSOLE_TAIL_LINES:])


def run_in_vm(
    command: Sequence[str], timeout_s: float = 120.0, *, boot_timeout_s: float = 60.0
) -> VmResult:
    """Boot the VM, run `command` as root in the repository root with a standard PATH, power off.

    Boot and run together never take longer than `timeout_s` (boot alone: `boot_timeout_s`);
    QEMU is killed whatever happens. A failure of the harness itself raises VmError; the
    command's own failure is just a non-zero `returncode`.
    """
    if not command:
        raise ValueError("run_in_vm needs a command")
    assets = build_assets()
    if shutil.which(QEMU) is None or not QBOOT.is_file():
        raise VmError(f"netem-vm qemu: {QEMU} or {QBOOT} missing (Debian package qemu-system-x86)")
    with tempfile.TemporaryDirectory(prefix="netem-vm-job-") as tmp:
        job_dir = Path(tmp)
        (job_dir / "command").write_text(
            f"cd {shlex.quote(str(_repo()))} || exit 125\nexec {shlex.join(command)}\n"
        )
        began = time.monotonic()
        proc = subprocess.Popen(
            qemu_command(assets, job_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        console = _Console(proc)
        try:
            return _await_verdict(proc, console, job_dir, began, timeout_s, boot_timeout_s, command)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            console.join()


def _await_verdict(
    proc: subprocess.Popen[bytes],
    console: _Console,
    job_dir: Path,
    began: float,
    timeout_s: float,
    boot_timeout_s: float,
    command: Sequence[str],
) -> VmResult:
    """Wait for the start marker, then for power-off, then read the job's verdict."""
    boot_limit = min(boot_timeout_s, timeout_s)
    if not console.settled.wait(boot_limit):
        raise VmError(
            f"netem-vm boot: timed out after {boot_limit:.0f} s before the command started"
            + console.tail()
        )
    if console.start_time is None:
        proc.wait()
        cause = (
            f"the initramfs failed to {console.failure}"
            if console.failure
            else f"QEMU exited with status {proc.returncode} before the command started"
        )
        raise VmError(f"netem-vm boot: {cause}" + console.tail())
    try:
        proc.wait(max(0.0, began + timeout_s - time.monotonic()))
    except subprocess.TimeoutExpired:
        partial = _read(job_dir / "output")[-2000:]
        raise VmError(
            f"netem-vm run: {shlex.join(command)[:200]} did not finish within "
            f"{timeout_s:.0f} s (boot included); output so far:\n{partial}"
        ) from None
    ended = time.monotonic()
    rc_text = _read(job_dir / "rc").strip()
    if not rc_text.isdigit():
        raise VmError(
            f"netem-vm run: the guest stopped without an exit status "
            f"(QEMU status {proc.returncode})" + console.tail()
        )
    return VmResult(
        returncode=int(rc_text),
        output=_read(job_dir / "output"),
        boot_seconds=console.start_time - began,
        run_seconds=ended - console.start_time,
        console="\n".join(console.lines),
    )


def _read(path: Path) -> str:
    """A job file's text, or "" where the guest never wrote it."""
    return path.read_text(errors="replace") if path.exists() else ""
