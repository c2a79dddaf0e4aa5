"""Durations and sizes as users write them."""

import pytest

from testbed.scenario.units import parse_duration_s, parse_size_bytes


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600.0),
        ("1s", 1.0),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        (5, 5.0),
        ("2.5s", 2.5),
        ("1d", 86400.0),
        ("-3s", -3.0),
        ("7", 7.0),
    ],
)
def test_durations_parse_to_seconds(text: object, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["abc", "10x", "", "m", True, None, [1]])
def test_malformed_durations_are_rejected(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration_s(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512m", 512 * 2**20),
        ("2g", 2 * 2**30),
        ("1024k", 2**20),
        ("64MiB", 64 * 2**20),
        (100, 100),
        ("1.5g", int(1.5 * 2**30)),
        ("3GB", 3 * 2**30),
    ],
)
def test_sizes_parse_to_bytes(text: object, size: int) -> None:
    assert parse_size_bytes(text) == size


@pytest.mark.parametrize("text", ["lots", "12q", "", False])
def test_malformed_sizes_are_rejected(text: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size_bytes(text)
