"""Databelt's state keys: `chain:holder:name` for one state, `chain:holder` for a fused chain.

The key names the node that holds the state, so whoever has the key reads from that node at
once, with no search. The chain is one workflow invocation (the request id), so two
requests of one workflow never share a key. Neither the chain nor a state's name may hold
the separator.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = ":"


def check_part(what: str, text: str) -> str:
    """`text` as a part of a key (ValueError naming `what` if it cannot be one)."""
    if not text or SEPARATOR in text:
        raise ValueError(f"state {what} {text!r} must be non-empty and hold no {SEPARATOR!r}")
    return text


@dataclass(frozen=True)
class StateKey:
    """Where one state (or, with `name` None, a chain's fused states) is held."""

    chain: str
    holder: str
    name: str | None = None

    def __post_init__(self) -> None:
        check_part("chain", self.chain)
        check_part("holder", self.holder)
        if self.name is not None:
            check_part("name", self.name)

    @property
    def fused(self) -> bool:
        return self.name is None

    @property
    def text(self) -> str:
        parts = (
            (self.chain, self.holder) if self.name is None else (self.chain, self.holder, self.name)
        )
        return SEPARATOR.join(parts)

    @classmethod
    def parse(cls, text: str) -> StateKey:
        """The key written as `text` (ValueError if it is not one)."""
        parts = text.split(SEPARATOR)
        if len(parts) not in (2, 3):
            raise ValueError(f"{text!r} is not a state key (chain:holder[:name])")
        return cls(*parts)
