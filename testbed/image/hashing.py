"""Content hashes that name images: same inputs, same tag, on any machine.

Pure functions of bytes and strings, so that "does this image need a rebuild?" is a lookup of
one tag and is unit tested without Docker.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

TAG_LENGTH = 16


def _digest(document: object) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:TAG_LENGTH]


def node_image_hash(
    *,
    dockerfile: bytes,
    base_id: str,
    requirements: Sequence[str],
    sources: Mapping[str, bytes],
) -> str:
    """Hash of everything that goes into the node image; `sources` maps relative path to bytes."""
    return _digest(
        {
            "dockerfile": hashlib.sha256(dockerfile).hexdigest(),
            "base": base_id,
            "requirements": list(requirements),
            "sources": {path: hashlib.sha256(data).hexdigest() for path, data in sources.items()},
        }
    )


def base_image_hash(suite: str, packages: Sequence[str]) -> str:
    """Hash naming a debootstrap base: the suite and the set of packages it includes."""
    return _digest({"suite": suite, "packages": sorted(packages)})


def wheelhouse_hash(
    requirements: Sequence[str], python_version: str, platforms: Sequence[str]
) -> str:
    """Hash naming a downloaded dependency set, so a source change reuses the wheels."""
    return _digest(
        {"requirements": list(requirements), "python": python_version, "platforms": list(platforms)}
    )
