"""The run's secret: made when a testbed starts, handed to every agent in a file, carried
by every request the controller (or another `testbed` command) sends to an agent.

An agent on a real board sits on a LAN that others reach; the secret is what tells its
controller and its peers from them. It lives in the controller's run folder (root only,
mode 0600) for as long as the testbed runs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx

from testbed.emulation.namespaces import RUN_DIR
from testbed.errors import UserError
from testbed.platform.contract import auth_headers

SECRET_FILE = RUN_DIR / "agent-secret"
SECRET_BYTES = 32
"""256 random bits (43 characters of URL-safe base64)."""
DEFAULT_TIMEOUT_S = 5.0
"""httpx's own default, for clients whose calls each name their timeout."""


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def write_secret(secret: str, path: Path = SECRET_FILE) -> Path:
    """Write it readable by its owner only (created so, never widened afterwards)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
    temporary.replace(path)
    return path


def read_secret(path: Path = SECRET_FILE) -> str:
    """The running testbed's secret (UserError when no testbed wrote one)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise UserError(f"{path} is missing: is a testbed up?") from None


def remove_secret(path: Path = SECRET_FILE) -> None:
    path.unlink(missing_ok=True)


def agent_client(secret: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> httpx.Client:
    """An HTTP client whose every request to an agent carries the secret."""
    return httpx.Client(timeout=timeout_s, headers=auth_headers(secret))
