"""The platform's codec: every carried type comes back equal and of its type; anything else
is refused when encoded, and no input makes decoding run code."""

from __future__ import annotations

import base64
import enum
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from testbed.platform import codec

_LEAVES = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text()
    | st.binary() | st.floats(allow_nan=False) | st.complex_numbers(allow_nan=False)
)  # fmt: skip
_HASHABLE = st.recursive(_LEAVES, lambda inner: st.tuples(inner, inner), max_leaves=5)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_HASHABLE, inner, max_size=4)
        | st.sets(_HASHABLE, max_size=4)
        | st.frozensets(_HASHABLE, max_size=4)
    ),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same type all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@given(_VALUES)
def test_every_carried_value_comes_back_equal_and_of_its_type(value: Any) -> None:
    assert _same(codec.decode(codec.encode(value)), value)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2],  # not contiguous
        np.zeros((0, 5), dtype=np.uint8),
        np.array([1 + 2j], dtype=np.complex128),
        np.array(["ab", "c"]),
        np.array([True, False]),
    ],
)
def test_numpy_arrays_keep_dtype_shape_and_values(array: np.ndarray) -> None:
    back = codec.copy(array)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array) and back.flags.writeable


def test_numpy_scalars_stay_scalars_and_subclasses_become_their_base() -> None:
    class Colour(enum.IntEnum):
        RED = 3

    assert repr(codec.copy(np.float32(1.5))) == repr(np.float32(1.5))
    assert codec.copy(Colour.RED) == 3 and type(codec.copy(Colour.RED)) is int
    assert type(codec.copy(OrderedDict(a=1))) is dict
    assert codec.copy(bytearray(b"xy")) == b"xy"


@pytest.mark.parametrize("value", [object(), np.array([object()]), lambda: 1, Path("/")])
def test_what_is_not_carried_is_refused_when_encoded(value: Any) -> None:
    with pytest.raises(TypeError, match="the platform carries"):
        codec.encode(value)


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_a_pickle_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = base64.b64encode(pickle.dumps(_Exploit(marker))).decode()
    with pytest.raises(codec.DecodeError):
        codec.decode(text)
    assert not marker.exists()


@pytest.mark.parametrize("text", ["!", "AAAA", base64.b64encode(b"\xc7\x01\x63x").decode()])
def test_garbage_is_a_decode_error(text: str) -> None:
    with pytest.raises(codec.DecodeError):
        codec.decode(text)


def test_an_object_array_sent_by_hand_is_refused() -> None:
    inner = codec.pack(["|O", [1], b"\0" * 8])
    data = bytes([0xC7, len(inner), 5]) + inner  # ext 8 of code 5: an array of pointers
    with pytest.raises(codec.DecodeError, match="dtype"):
        codec.unpack(data)
