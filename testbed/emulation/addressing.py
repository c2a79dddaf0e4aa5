"""Emulated addresses and names, computed from a node's index.

Everything is arithmetic on purpose: the delay line maps a packet's source and destination
address to matrix indices without a lookup table, and a crashed run's leftovers can be
recognised by name alone.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

EMULATED_NETWORK = IPv4Network("10.200.0.0/16")
"""Every emulated node has one address here; nodes reach each other only through the fabric."""

GATEWAY = IPv4Address("10.200.255.254")
"""The fabric's address on every fabric-side interface; each node's next hop."""

BOARD_MANAGEMENT_NETWORK = IPv4Network("10.201.0.0/16")
"""A board's management address (controller <-> its agent, never shaped): one per slot,
over a tunnel of its own into the host."""
BOARD_MANAGEMENT_GATEWAY = IPv4Address("10.201.255.254")
"""The host's end of every board's management tunnel."""
VXLAN_PORT = 4789
"""IANA's VXLAN port, on the host and on every board."""
_EMULATED_VNI_BASE = 1_000_000
_MANAGEMENT_VNI_BASE = 2_000_000
"""VXLAN network ids: base + slot, one per tunnel (VNIs are 24-bit, below 16,777,216)."""

MAX_NODES = 65533
"""Host numbers 1..65533; 65534 is the gateway and 65535 is never used."""

NETNS_PREFIX = "leotrek-"
DEFAULT_FABRIC_NETNS = "leotrek-fab"
NODE_IFNAME = "emu0"
IFNAME_PREFIX = "lt"

_NETWORK_BASE = int(EMULATED_NETWORK.network_address)
_PREFIX_OCTETS = EMULATED_NETWORK.network_address.packed[:2]


def _check_index(index: int) -> None:
    if not 0 <= index < MAX_NODES:
        raise ValueError(f"node index {index} is outside 0..{MAX_NODES - 1}")


def node_address(index: int) -> IPv4Address:
    """Address of node `index` (0 -> 10.200.0.1)."""
    _check_index(index)
    return IPv4Address(_NETWORK_BASE + index + 1)


def node_index(address: IPv4Address | str) -> int:
    """Inverse of `node_address`; raises ValueError for addresses that are no node."""
    value = int(IPv4Address(address)) - _NETWORK_BASE - 1
    if not 0 <= value < MAX_NODES:
        raise ValueError(f"{address} is not an emulated node address")
    return value


def index_of_packed(packet: bytes, offset: int) -> int:
    """Node index of the IPv4 address stored at `packet[offset:offset + 4]`, or -1.

    Used per packet by the delay line, so it avoids building address objects.
    """
    if packet[offset : offset + 2] != _PREFIX_OCTETS:
        return -1
    value = ((packet[offset + 2] << 8) | packet[offset + 3]) - 1
    return value if 0 <= value < MAX_NODES else -1


def fabric_ifname(index: int) -> str:
    """Name of node `index`'s veth end inside the fabric namespace."""
    _check_index(index)
    return f"{IFNAME_PREFIX}{index}f"


def board_management_address(index: int) -> IPv4Address:
    """The management address of a board in slot `index` (0 -> 10.201.0.1)."""
    _check_index(index)
    return IPv4Address(int(BOARD_MANAGEMENT_NETWORK.network_address) + index + 1)


def emulated_vni(index: int) -> int:
    _check_index(index)
    return _EMULATED_VNI_BASE + index


def management_vni(index: int) -> int:
    _check_index(index)
    return _MANAGEMENT_VNI_BASE + index


def management_ifname(index: int) -> str:
    """Name of a board's management tunnel on the host (slot `index`)."""
    _check_index(index)
    return f"{IFNAME_PREFIX}{index}m"


def _instance_prefix(instance: str | None) -> str:
    if instance is None:
        return NETNS_PREFIX
    if not instance or not all(c.isalnum() or c == "_" for c in instance):
        raise ValueError(f"instance tag {instance!r} must be non-empty and alphanumeric")
    return f"{NETNS_PREFIX}{instance}-"


def fabric_netns_name(instance: str | None = None) -> str:
    """Fabric namespace name; an instance tag lets parallel runs (tests) keep apart."""
    return f"{_instance_prefix(instance)}fab"


def node_netns_name(index: int, instance: str | None = None) -> str:
    """Name for a plain namespace that stands in for node `index` (tests, benchmarks)."""
    _check_index(index)
    return f"{_instance_prefix(instance)}n{index}"
