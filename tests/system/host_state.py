"""What the testbed could leave on the host, to check that every run removes all it made."""

from __future__ import annotations

import re
import subprocess

from testbed.emulation.runstate import BOARDS_FILE, CONTROLLER_FILE


def host_snapshot() -> dict[str, object]:
    """What the testbed could leave on the host (its own label/prefix only, plus iptables)."""

    def lines(*command: str) -> list[str]:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.split(
            "\n"
        )

    iptables = [line for line in lines("iptables-save") if line and not line.startswith(("#", ":"))]
    return {
        "containers": lines("docker", "ps", "-aq", "--filter", "label=org.leotrek.testbed"),
        "networks": lines("docker", "network", "ls", "-q", "--filter", "label=org.leotrek.testbed"),
        "fabric": [n for n in lines("ip", "netns", "list") if n.startswith("leotrek-fab")],
        "links": [x for x in lines("ip", "-o", "link") if re.search(r"\b(lt\d+m?|emu0)[@:]", x)],
        "iptables": iptables,
        "controller": CONTROLLER_FILE.exists(),
        "boards joined": BOARDS_FILE.exists(),
    }


def assert_clean(before: dict[str, object]) -> None:
    assert host_snapshot() == before
