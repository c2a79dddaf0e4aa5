"""Tool command lines: wheels for the image's Python and glibc, debootstrap from apt's mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.image.commands import (
    apt_mirror,
    debootstrap_command,
    pip_download_command,
    wheel_platforms,
)

DEFAULT = "http://deb.debian.org/debian"


def test_wheel_platforms_span_manylinux2014_to_bookworm_glibc() -> None:
    platforms = wheel_platforms("x86_64")
    assert platforms[0] == "manylinux2014_x86_64"
    assert "manylinux_2_17_x86_64" in platforms
    assert "manylinux_2_28_x86_64" in platforms
    assert "manylinux_2_36_x86_64" in platforms
    assert "manylinux_2_37_x86_64" not in platforms


@pytest.mark.parametrize(("machine", "arch"), [("arm64", "aarch64"), ("AMD64", "x86_64")])
def test_wheel_platforms_use_pip_architecture_names(machine: str, arch: str) -> None:
    assert all(platform.endswith(f"_{arch}") for platform in wheel_platforms(machine))


def test_pip_download_targets_the_image_python_with_binary_wheels_only() -> None:
    command = pip_download_command(
        "/venv/bin/python",
        ["numpy==2.2.6", "rich==15.0.0"],
        Path("/wh/deps"),
        "3.11",
        ["manylinux2014_x86_64", "manylinux_2_28_x86_64"],
    )
    assert command[:4] == ["/venv/bin/python", "-m", "pip", "download"]
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.11"
    assert command[command.index("--implementation") + 1] == "cp"
    abis = [command[i + 1] for i, arg in enumerate(command) if arg == "--abi"]
    assert "cp311" in abis
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == ["manylinux2014_x86_64", "manylinux_2_28_x86_64"]
    assert command[command.index("--dest") + 1] == "/wh/deps"
    assert command[-2:] == ["numpy==2.2.6", "rich==15.0.0"]


def test_debootstrap_includes_every_package_in_a_minimal_base() -> None:
    command = debootstrap_command(
        "bookworm", Path("/b/rootfs"), DEFAULT, ["redis-server", "python3"], Path("/k.gpg")
    )
    assert command[0] == "debootstrap"
    assert "--variant=minbase" in command
    assert "--include=python3,redis-server" in command
    assert "--keyring=/k.gpg" in command
    assert command[-3:] == ["bookworm", "/b/rootfs", DEFAULT]


def test_debootstrap_without_keyring_uses_the_default() -> None:
    command = debootstrap_command("bookworm", Path("/r"), DEFAULT, ["python3"], None)
    assert not [arg for arg in command if arg.startswith("--keyring")]


DEB822 = """\
Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_from_deb822_sources() -> None:
    assert (
        apt_mirror([("debian.sources", DEB822)], "bookworm", DEFAULT)
        == "http://mirror.example/debian"
    )


def test_mirror_from_one_line_sources_with_options() -> None:
    text = (
        "# a comment\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://sec.example/ds bookworm-security main\n"
        "deb [signed-by=/k.gpg] http://ftp.example/debian bookworm main contrib\n"
    )
    assert apt_mirror([("sources.list", text)], "bookworm", DEFAULT) == "http://ftp.example/debian"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("sources.list", "deb http://archive.ubuntu.com/ubuntu jammy main universe\n"),
        ("sources.list", "deb-src http://ftp.example/debian bookworm main\n"),
        ("sources.list", "deb https://ftp.example/debian bookworm main\n"),
        (
            "nodesource.sources",
            "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n",
        ),
        ("empty.list", ""),
    ],
)
def test_mirror_falls_back_to_the_default_without_a_plain_bookworm_entry(
    name: str, text: str
) -> None:
    assert apt_mirror([(name, text)], "bookworm", DEFAULT) == DEFAULT
