"""Node index <-> address arithmetic and names."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from testbed.emulation import addressing
from testbed.emulation.addressing import (
    GATEWAY,
    MAX_NODES,
    fabric_ifname,
    fabric_netns_name,
    index_of_packed,
    node_address,
    node_index,
    node_netns_name,
)


def test_first_nodes_and_round_trip() -> None:
    assert node_address(0) == IPv4Address("10.200.0.1")
    assert node_address(254) == IPv4Address("10.200.0.255")
    assert node_address(255) == IPv4Address("10.200.1.0")
    for index in (0, 1, 254, 255, 256, 1000, MAX_NODES - 1):
        assert node_index(node_address(index)) == index


def test_gateway_and_outside_addresses_are_no_nodes() -> None:
    assert node_address(MAX_NODES - 1) != GATEWAY
    for address in (GATEWAY, "10.200.0.0", "10.201.0.1", "192.168.0.1"):
        with pytest.raises(ValueError):
            node_index(address)
    with pytest.raises(ValueError):
        node_address(MAX_NODES)


def test_packed_lookup_matches_node_index() -> None:
    header = bytes(12) + node_address(300).packed + node_address(7).packed
    assert index_of_packed(header, 12) == 300
    assert index_of_packed(header, 16) == 7
    assert index_of_packed(bytes(12) + IPv4Address("10.201.0.1").packed, 12) == -1
    assert index_of_packed(bytes(12) + GATEWAY.packed, 12) == -1


def test_names_fit_the_kernel_limits_and_carry_the_prefixes() -> None:
    assert len(fabric_ifname(MAX_NODES - 1)) <= 15
    assert fabric_ifname(3).startswith(addressing.IFNAME_PREFIX)
    assert fabric_netns_name() == addressing.DEFAULT_FABRIC_NETNS
    assert fabric_netns_name("t42") == "leotrek-t42-fab"
    assert node_netns_name(3, "t42") == "leotrek-t42-n3"


@pytest.mark.parametrize("tag", ["", "a-b", "x/y", "a b"])
def test_bad_instance_tags_are_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="instance"):
        fabric_netns_name(tag)
