"""The hand-packed tc requests, decoded with pyroute2's parser as the reference."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import numpy as np
import pytest
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from testbed.emulation.addressing import GATEWAY, MAX_NODES, node_address
from testbed.emulation.shaping import tc_messages
from testbed.emulation.shaping.htb import (
    ROOT_HANDLE,
    HtbTree,
    class_id,
    leaf_handle,
    rate_bytes_s,
    source_classifier,
)
from testbed.emulation.shaping.netem import leaf_message, limit_packets
from testbed.emulation.shaping.plan import LinkState, changed_pairs, queue_limit_bytes


def decode(message: bytes) -> tcmsg:
    msg = tcmsg(message)
    msg.decode()
    assert msg["header"]["length"] == len(message)
    return msg


def options(msg: tcmsg) -> dict:
    return msg.get_attr("TCA_OPTIONS")


def test_htb_root_qdisc() -> None:
    msg = decode(tc_messages.htb_qdisc(7, ROOT_HANDLE, 0xFFFF))
    assert msg["header"]["type"] == tc_messages.RTM_NEWQDISC
    assert msg["header"]["flags"] & tc_messages.NLM_F_CREATE
    assert (msg["index"], msg["handle"], msg["parent"]) == (7, ROOT_HANDLE, 0xFFFFFFFF)
    assert msg.get_attr("TCA_KIND") == "htb"
    assert options(msg).get_attr("TCA_HTB_INIT")["defcls"] == 0xFFFF


@pytest.mark.parametrize("create", [True, False])
def test_htb_class_states_rate_and_ceil(create: bool) -> None:
    msg = decode(tc_messages.htb_class(3, class_id(4), ROOT_HANDLE, 12_500_000, create=create))
    assert msg["header"]["type"] == tc_messages.RTM_NEWTCLASS
    assert bool(msg["header"]["flags"] & tc_messages.NLM_F_CREATE) == create
    assert (msg["handle"], msg["parent"]) == (ROOT_HANDLE | 5, ROOT_HANDLE)
    parms = options(msg).get_attr("TCA_HTB_PARMS")
    assert parms["rate"] == parms["ceil"] == 12_500_000
    assert parms["rate___reserved"] == tc_messages.TC_LINKLAYER_ETHERNET
    burst_s = parms["buffer"] * tc_messages.PSCHED_NS_PER_TICK / 1e9
    burst_bytes = 12_500_000 * tc_messages.HTB_BURST_S + 1600
    assert burst_s == pytest.approx(burst_bytes / 12_500_000, rel=1e-3)


def test_htb_class_above_32_bits_uses_rate64() -> None:
    msg = decode(tc_messages.htb_class(3, class_id(0), ROOT_HANDLE, 10**10, create=False))
    opts = options(msg)
    assert opts.get_attr("TCA_HTB_PARMS")["rate"] == tc_messages.U32_MAX
    assert opts.get_attr("TCA_HTB_RATE64") == opts.get_attr("TCA_HTB_CEIL64") == 10**10


def test_bpf_filter_carries_the_program_for_ipv4() -> None:
    program = source_classifier()
    msg = decode(tc_messages.bpf_filter(3, ROOT_HANDLE, 1, 1, program))
    assert msg["header"]["type"] == tc_messages.RTM_NEWTFILTER
    assert msg.get_attr("TCA_KIND") == "bpf"
    assert msg["info"] >> 16 == 1
    assert struct.pack("=H", msg["info"] & 0xFFFF) == struct.pack("!H", 0x0800)
    assert options(msg).get_attr("TCA_BPF_OPS_LEN") == len(program)


def run_cbpf(program: list[tuple[int, int, int, int]], frame: bytes) -> int:
    """A tiny classic-BPF interpreter for the opcodes the classifier uses."""
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == 0x20:
            acc = int.from_bytes(frame[k : k + 4], "big")
        elif code == 0x28:
            acc = int.from_bytes(frame[k : k + 2], "big")
        elif code == 0x54:
            acc &= k
        elif code == 0x44:
            acc |= k
        elif code == 0x15:
            pc += jt if acc == k else jf
        elif code == 0x16:
            return acc
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"opcode {code:#x} not modelled")


def frame_from(src: IPv4Address) -> bytes:
    ethernet = bytes(12) + b"\x08\x00"
    ip_header = bytes(12) + src.packed + node_address(0).packed
    return ethernet + ip_header


@pytest.mark.parametrize("src", [0, 1, 254, 255, 4000])
def test_classifier_maps_a_source_to_its_class(src: int) -> None:
    assert run_cbpf(source_classifier(), frame_from(node_address(src))) == class_id(src)


def test_classifier_leaves_foreign_sources_to_the_default_class() -> None:
    """0 = no match; the gateway's 1:fffe names no class (nodes end at 1:fffd), so HTB
    falls back to its default class for both."""
    assert run_cbpf(source_classifier(), frame_from(IPv4Address("192.168.1.7"))) == 0
    assert run_cbpf(source_classifier(), frame_from(GATEWAY)) == ROOT_HANDLE | 0xFFFE
    assert class_id(MAX_NODES - 1) < ROOT_HANDLE | 0xFFFE


def test_netem_change_restates_every_parameter() -> None:
    message = leaf_message(
        9, 2, delay_ms=12.345678, loss=0.25, rate_mbps=100.0, queue_bytes=625_000, create=False
    )
    msg = decode(message)
    assert msg["header"]["type"] == tc_messages.RTM_NEWQDISC
    assert not msg["header"]["flags"] & tc_messages.NLM_F_CREATE
    assert (msg["index"], msg["handle"], msg["parent"]) == (9, leaf_handle(2), class_id(2))
    opts = options(msg)
    assert opts["delay"] == 12_345_678 // tc_messages.PSCHED_NS_PER_TICK
    assert opts["loss"] == round(0.25 * tc_messages.U32_MAX)
    assert (opts["gap"], opts["duplicate"], opts["jitter"]) == (0, 0, 0)
    assert opts["limit"] == limit_packets(rate_bytes_s(100.0), 12_345_678, 625_000)
    assert opts.get_attr("TCA_NETEM_RATE")["rate"] == 12_500_000
    latency64 = struct.pack("=HHq", 12, tc_messages.TCA_NETEM_LATENCY64, 12_345_678)
    assert latency64 in message


def test_netem_limit_holds_the_packets_in_flight_and_the_pairs_queue() -> None:
    """100 Mbit/s, 10 ms one way: 125 kB in flight, plus a 625 kB queue: 500 packets."""
    assert limit_packets(rate_bytes_s(100.0), 10_000_000, 625_000) == 500
    assert limit_packets(rate_bytes_s(10_000.0), 100_000_000, 0) == 83_334
    assert limit_packets(rate_bytes_s(1.0), 0, 0) == 2


def test_leaf_handles_never_collide_with_the_htb_root() -> None:
    assert leaf_handle(0) >> 16 == 2
    assert len({leaf_handle(src) for src in range(1000)} | {ROOT_HANDLE}) == 1001


def test_pair_queues_hold_the_larger_of_the_bdp_and_the_minimum_time() -> None:
    """40 Mbit/s with 10 ms each way: the 20 ms round trip is shorter than 50 ms, so 50 ms
    of the rate (250 kB); with 80 ms each way the 160 ms round trip (800 kB)."""
    state = LinkState.uniform(3, delay_ms=10.0, rate_mbps=40.0).with_pair(0, 1, delay_ms=80.0)
    state = state.with_pair(1, 0, delay_ms=80.0)
    src, dst = np.array([0, 1, 0]), np.array([2, 0, 1])
    assert queue_limit_bytes(state, src, dst).tolist() == [250_000, 800_000, 800_000]
    tiny = LinkState.uniform(2, rate_mbps=0.01)
    assert queue_limit_bytes(tiny, np.array([0]), np.array([1])).tolist() == [3028]
    short = LinkState(**{**tiny.__dict__, "queue_min_s": 0.2, "rate_mbps": np.full((2, 2), 8.0)})
    assert queue_limit_bytes(short, np.array([0]), np.array([1])).tolist() == [200_000]


def test_fifo_leaves_are_created_then_resized_only_when_they_move() -> None:
    tree = HtbTree([10, 11, 12])
    pairs = np.argwhere(~np.eye(3, dtype=bool))
    created = [decode(m) for m in tree.fifo_messages(LinkState.uniform(3), pairs, create=True)]
    assert len(created) == 6 and all(
        m["header"]["flags"] & tc_messages.NLM_F_CREATE for m in created
    )
    assert {m.get_attr("TCA_KIND") for m in created} == {"bfifo"}
    assert {(m["handle"], m["parent"]) for m in created if m["index"] == 10} == {
        (leaf_handle(1), class_id(1)),
        (leaf_handle(2), class_id(2)),
    }
    slow = LinkState.uniform(3, delay_ms=1.0, rate_mbps=40.0)
    resized = tree.fifo_messages(slow, pairs, create=False)
    assert len(resized) == 6, "line rate -> 40 Mbit/s: every queue shrinks"
    drift = LinkState.uniform(3, delay_ms=1.5, rate_mbps=40.0)
    assert tree.fifo_messages(drift, pairs, create=False) == [], "a small drift keeps them"


def test_htb_tree_restates_only_rates_that_moved() -> None:
    tree = HtbTree([10, 11, 12])
    setup = [decode(m) for m in tree.setup_messages()]
    kinds = [(m["header"]["type"], m["index"]) for m in setup]
    # per destination: root qdisc, default class, 2 source classes, the filter
    assert len(setup) == 3 * 5 and kinds.count((tc_messages.RTM_NEWTCLASS, 10)) == 3
    state = LinkState.uniform(3, rate_mbps=50.0)
    assert len(tree.rate_messages(state, changed_pairs(None, state))) == 6
    assert tree.rate_messages(state, changed_pairs(None, state)) == []
    moved = state.with_pair(2, 0, rate_mbps=20.0)
    (only,) = [decode(m) for m in tree.rate_messages(moved, changed_pairs(state, moved))]
    assert (only["index"], only["handle"]) == (10, class_id(2))
    assert options(only).get_attr("TCA_HTB_PARMS")["rate"] == 2_500_000


def test_a_node_whose_interface_vanished_gets_no_request_from_then_on() -> None:
    tree = HtbTree([10, 11, 12])
    pairs = np.argwhere(~np.eye(3, dtype=bool))
    tree.mark_gone({10, 12, 99})
    assert tree.gone.tolist() == [False, True, False]
    live = tree.live_pairs(pairs)
    assert {tuple(pair) for pair in live.tolist()} == {(1, 0), (2, 0), (0, 2), (1, 2)}
    assert {decode(m)["index"] for m in tree.teardown_messages()} == {10, 12}
    tree.mark_gone({10, 11, 12})
    assert tree.gone.tolist() == [False, True, False], "a stopped node does not come back"


def test_unlimited_rate_becomes_the_line_rate() -> None:
    assert rate_bytes_s(np.inf) == rate_bytes_s(1e9) == 100_000 * 1_000_000 // 8
