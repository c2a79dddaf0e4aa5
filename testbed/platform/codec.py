"""The one value encoding of the platform: MessagePack, for messages between agents (base64
text in a JSON body) and for state values in Redis (raw bytes).

Decoding runs no code: only the types below come back, whatever a peer sends. Pickle did
the same job until boards joined the emulation; on a real LAN an unpickled message is code
execution for anyone who reaches the agent, so it is gone from every network path.

Types carried: None, bool, int (64-bit), float, str, bytes (bytearray comes back as bytes),
list, dict (any encodable key), and as extensions tuple, set, frozenset, complex, numpy
arrays and numpy scalars of any non-object dtype. Anything else is a TypeError when encoded.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgpack
import numpy as np

_TUPLE, _SET, _FROZENSET, _COMPLEX, _ARRAY, _SCALAR = range(1, 7)
CARRIED_TYPES = (
    "None, bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict, "
    "numpy arrays and scalars"
)


class DecodeError(ValueError):
    """What arrived is not a value this codec wrote."""


def _packed(value: Any) -> bytes:
    return msgpack.packb(value, default=_extension, strict_types=True, use_bin_type=True)


def _extension(value: Any) -> Any:
    """What msgpack packs instead of a value it has no exact type for (strict types: a tuple
    is not packed as a list)."""
    if isinstance(value, tuple):
        return msgpack.ExtType(_TUPLE, _packed(list(value)))
    if isinstance(value, (set, frozenset)):
        code = _FROZENSET if isinstance(value, frozenset) else _SET
        return msgpack.ExtType(code, _packed(list(value)))
    if isinstance(value, complex):
        return msgpack.ExtType(_COMPLEX, _packed([value.real, value.imag]))
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind not in "OV":
        code = _ARRAY if isinstance(value, np.ndarray) else _SCALAR
        array = np.asarray(value, order="C")  # keeps a scalar 0-d
        return msgpack.ExtType(code, _packed([array.dtype.str, list(array.shape), array.tobytes()]))
    if isinstance(value, bytearray):
        return bytes(value)
    for plain in (bool, int, float, str, bytes, list, dict):
        if isinstance(value, plain):  # a subclass (an IntEnum, an OrderedDict): its value
            return plain(value)
    raise TypeError(f"cannot encode a {type(value).__name__}: the platform carries {CARRIED_TYPES}")


def _ext_hook(code: int, data: bytes) -> Any:
    inner = _unpacked(data)
    if code == _TUPLE:
        return tuple(inner)
    if code == _SET:
        return set(inner)
    if code == _FROZENSET:
        return frozenset(inner)
    if code == _COMPLEX:
        return complex(*inner)
    if code in (_ARRAY, _SCALAR):
        dtype_text, shape, raw = inner
        dtype = np.dtype(dtype_text)
        if dtype.kind in "OV":
            raise DecodeError(f"array of dtype {dtype_text} is not carried")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array if code == _ARRAY else array[()]
    raise DecodeError(f"unknown extension type {code}")


def _unpacked(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, strict_map_key=False, raw=False)


def pack(value: Any) -> bytes:
    """`value` as MessagePack bytes (TypeError naming the type it cannot carry)."""
    return _packed(value)


def unpack(data: bytes) -> Any:
    """The value `pack` turned into `data`; DecodeError for anything else."""
    try:
        return _unpacked(data)
    except DecodeError:
        raise
    except Exception as error:  # msgpack raises several types for malformed input
        raise DecodeError(f"not a packed value: {error}") from error


def encode(value: Any) -> str:
    """`value` as base64 text (for a JSON body)."""
    return base64.b64encode(pack(value)).decode()


def decode(text: str) -> Any:
    """The value `encode` turned into `text`; DecodeError for anything else."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise DecodeError(f"not base64: {error}") from error
    return unpack(data)


def copy(value: Any) -> Any:
    """`value` by value, as a peer would receive it (TypeError if it cannot be sent)."""
    return unpack(pack(value))
