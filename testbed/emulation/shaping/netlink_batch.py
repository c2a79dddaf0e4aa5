"""Send many rtnetlink requests to a namespace's kernel in few system calls.

The kernel handles every request of one datagram inside the `send` call and answers only
failures (no NLM_F_ACK), so a whole batch costs one syscall per chunk. The last request of
each chunk asks for an ack so that a lost datagram cannot pass unnoticed.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Sequence

from pyroute2 import netns

from testbed.emulation.shaping.tc_messages import NLM_F_ACK

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSG_ERROR = 2
NLMSGERR_ATTR_MSG = 1
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32

_CHUNK_BYTES = 64 * 1024
_BUFFER_BYTES = 8 * 1024 * 1024
_HEADER = struct.Struct("=IHHII")
_ERROR = struct.Struct("=i")


class NetlinkBatchError(RuntimeError):
    """Requests of the batch were refused; carries the kernel's errno of each (the first
    one's message too). Every other request of the batch was carried out."""

    def __init__(self, errnos: Sequence[int], message: str) -> None:
        super().__init__(
            f"{len(errnos)} netlink request(s) failed; first: {os.strerror(errnos[0])}"
            + (f" ({message})" if message else "")
        )
        self.errno = errnos[0]
        self.errnos = tuple(errnos)


class NetlinkBatch:
    """An rtnetlink socket opened inside a network namespace (by name or path)."""

    def __init__(self, namespace: str) -> None:
        self._sock = netns.create_socket(
            namespace, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE, flags=0
        )
        self._sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, _BUFFER_BYTES)
        self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, _BUFFER_BYTES)
        self._sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self._sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self._sock.bind((0, 0))
        self._seq = 0

    def send(self, messages: Sequence[bytes]) -> None:
        """Send every request; raise NetlinkBatchError after all were tried if any failed."""
        failures: list[tuple[int, str]] = []
        for chunk in _chunks(messages):
            failures.extend(self._send_chunk(chunk))
        if failures:
            raise NetlinkBatchError([code for code, _ in failures], failures[0][1])

    def _send_chunk(self, chunk: Sequence[bytes]) -> list[tuple[int, str]]:
        buffer = bytearray(b"".join(chunk))
        offset = 0
        for index, message in enumerate(chunk):
            self._seq = (self._seq + 1) & 0xFFFFFFFF
            struct.pack_into("=I", buffer, offset + 8, self._seq)
            if index == len(chunk) - 1:
                flags = struct.unpack_from("=H", buffer, offset + 6)[0]
                struct.pack_into("=H", buffer, offset + 6, flags | NLM_F_ACK)
            offset += len(message)
        self._sock.send(buffer)
        return self._collect(self._seq)

    def _collect(self, last_seq: int) -> list[tuple[int, str]]:
        failures = []
        while True:
            data = self._sock.recv(65536)
            for seq, code, text in _errors(data):
                if code:
                    failures.append((code, text))
                if seq == last_seq:
                    return failures

    def close(self) -> None:
        self._sock.close()


def _chunks(messages: Sequence[bytes]) -> list[list[bytes]]:
    chunks: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for message in messages:
        if current and size + len(message) > _CHUNK_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append(message)
        size += len(message)
    if current:
        chunks.append(current)
    return chunks


def _errors(data: bytes) -> list[tuple[int, int, str]]:
    """(sequence, errno, extended-ack text) of each NLMSG_ERROR in a datagram."""
    found = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, msg_type, flags, seq, _pid = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        if msg_type == NLMSG_ERROR:
            code = -_ERROR.unpack_from(data, offset + _HEADER.size)[0]
            found.append((seq, code, _ext_ack_text(data, offset, length, flags)))
        offset += (length + 3) & ~3
    return found


def _ext_ack_text(data: bytes, offset: int, length: int, flags: int) -> str:
    """The kernel's human-readable reason, from the attributes after a capped error."""
    if not flags & 0x200:  # NLM_F_ACK_TLVS
        return ""
    attr = offset + _HEADER.size + _ERROR.size + _HEADER.size
    end = offset + length
    while attr + 4 <= end:
        attr_len, attr_type = struct.unpack_from("=HH", data, attr)
        if attr_len < 4:
            break
        if attr_type & 0x3FFF == NLMSGERR_ATTR_MSG:
            return data[attr + 4 : attr + attr_len].split(b"\0", 1)[0].decode(errors="replace")
        attr += (attr_len + 3) & ~3
    return ""


def is_missing_kind(error: NetlinkBatchError) -> bool:
    """True when the kernel lacks the requested qdisc/classifier kind."""
    return error.errno in (errno.ENOENT, errno.EOPNOTSUPP)
