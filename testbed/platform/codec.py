"""The one message encoding between agents: a pickle, base64-encoded, in a JSON string.

Functions exchange arbitrary picklable values (numpy arrays included), so JSON values alone
would not do; pickle also keeps the by-value semantics of `LocalRuntime`. Agents trust each
other: they run the testbed's own functions on an isolated emulated network.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any


def encode(value: Any) -> str:
    """`value` as base64 text of its pickle."""
    return base64.b64encode(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).decode()


def decode(text: str) -> Any:
    """The value `encode` turned into `text`."""
    return pickle.loads(base64.b64decode(text))
