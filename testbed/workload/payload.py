"""EDGELESS' `init-payload` annotation: `k=v,k=v` into a mapping (values stay strings)."""

from __future__ import annotations


def parse_init_payload(text: str) -> dict[str, str]:
    """`seed=42,is_client=true,outputs=` -> {'seed': '42', 'is_client': 'true', 'outputs': ''}."""
    payload: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ValueError(f"must be k=v pairs separated by ',', got {item!r}")
        if key in payload:
            raise ValueError(f"key {key!r} given twice")
        payload[key] = value.strip()
    return payload
