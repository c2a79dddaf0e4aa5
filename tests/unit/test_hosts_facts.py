"""What a board's probe answer means: its facts, one problem line per missing need, notes
where the scenario declares otherwise; the bundle's wheel tags follow the board's glibc."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.hosts.bundle import board_requirements, glibc_minor
from testbed.hosts.facts import BoardFacts, declared_mismatches, parse_probe, problems
from testbed.image.commands import wheel_platforms

PI = """arch=aarch64
kernel=6.6.51+rpt-rpi-2712
os=Debian GNU/Linux 12 (bookworm)
python=3.11.2
glibc=2.36
uid=1000
sudo=yes
cpus=4
memory_kb=8245000
redis=/usr/bin/redis-server
ip=/usr/sbin/ip
vxlan=module
gpu=none
"""


def _pi(**changes: object) -> BoardFacts:
    return replace(parse_probe(PI), **changes)


def test_a_probe_answer_becomes_facts() -> None:
    facts = parse_probe(PI)
    assert (facts.machine, facts.wheel_machine, facts.python_version) == (
        "arm64",
        "aarch64",
        "3.11",
    )
    assert facts.sudo and not facts.root and facts.cpus == 4
    assert facts.memory_bytes == 8245000 * 1024
    assert problems(facts, "python3") == []


def test_an_answer_without_its_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks arch"):
        parse_probe("bash: sh: not found\n")


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"python": ""}, "no python3: install Python 3.10 or newer"),
        ({"python": "3.9.2"}, "python3 is 3.9.2: the node needs 3.10 or newer"),
        ({"glibc": "2.27"}, "glibc 2.27: the wheels need 2.28 or newer"),
        ({"sudo": False}, "neither root nor password-less sudo for ip"),
        ({"memory_bytes": 128 * 2**20}, "128 MiB of memory"),
        ({"redis": ""}, "no redis-server: install it"),
        ({"ip": ""}, "no ip command"),
        ({"vxlan": "no"}, "has no vxlan"),
        ({"arch": "armv7l"}, "architecture armv7l"),
    ],
)
def test_each_missing_need_is_one_line(changes: dict[str, object], line: str) -> None:
    found = problems(_pi(**changes), "python3")
    assert len(found) == 1 and line in found[0], found


def test_root_needs_no_sudo_and_a_gpu_asked_for_must_be_there() -> None:
    assert problems(_pi(sudo=False, root=True), "python3") == []
    assert "no NVIDIA GPU" in problems(_pi(), "python3", gpu_required=True)[0]
    assert problems(_pi(gpu="jetson"), "python3", gpu_required=True) == []


def test_a_declared_architecture_that_differs_is_a_note() -> None:
    assert declared_mismatches(_pi(), "arm64") == []
    assert declared_mismatches(_pi(), None) == []
    note = declared_mismatches(_pi(arch="x86_64"), "arm64")
    assert note == ["declared arm64, the board is x86_64: placement uses arm64"]


def test_wheel_tags_stop_at_the_boards_glibc() -> None:
    jetson = _pi(glibc="2.31")
    tags = wheel_platforms(jetson.wheel_machine, glibc_minor(jetson))
    assert tags[0] == "manylinux2014_aarch64" and tags[1] == "manylinux_2_31_aarch64"
    assert "manylinux_2_32_aarch64" not in tags and tags[-1] == "manylinux_2_17_aarch64"
    assert glibc_minor(_pi(glibc="2.40")) == 36, "capped at what the tags list knows"


def test_a_boards_pins_are_those_its_own_python_needs() -> None:
    pins = [
        "numpy==2.2.6",
        'scipy==1.15.3; python_version < "3.11"',
        'scipy==1.16.3; python_version >= "3.11"',
        'tomli==2.2.1; python_version < "3.11"',
    ]
    assert board_requirements(pins, _pi(python="3.10.12")) == [
        "numpy==2.2.6", "scipy==1.15.3", "tomli==2.2.1",
    ]  # fmt: skip
    assert board_requirements(pins, _pi()) == ["numpy==2.2.6", "scipy==1.16.3"]
