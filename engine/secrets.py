"""Authentications are encrypted at rest (Fernet); masking for the audit log."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

KEY_ENV = "CAREFLOW_SECRET_KEY"
MASK = "***"
SEALED = "_sealed"
SENSITIVE = re.compile(
    r"^(authorization|token|test_?token|api_?token|api_?secret|secret|client_?secret|password|"
    r"access_?token|refresh_?token|master_?token|master_?secret|email|email_?address|phone|"
    r"phone_?number|contact_?name|name|first_?name|last_?name|address|dob|date_?of_?birth|ssn)$",
    re.IGNORECASE,
)


def load_key(data_dir: Path | None) -> bytes:
    """The key from $CAREFLOW_SECRET_KEY, else ``<data_dir>/secret.key`` (created 0600), else a
    fresh in-memory key (an engine without a data dir keeps nothing after it stops anyway)."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    if data_dir is None:
        return Fernet.generate_key()
    path = data_dir / "secret.key"
    if not path.exists():
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_bytes().strip()


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, data: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(data).encode())

    def open(self, blob: bytes) -> dict[str, Any]:
        return json.loads(self._fernet.decrypt(blob))

    def seal_secrets(self, state: dict[str, Any]) -> str:
        """JSON of ``state`` with its secret-named top-level values (e.g. a Caspio webhook's
        ``secret``) encrypted together under ``SEALED``; the rest stays readable."""
        hidden = {k: v for k, v in state.items() if SENSITIVE.match(k) and v is not None}
        public = {k: v for k, v in state.items() if k not in hidden and k != SEALED}
        if hidden:
            public[SEALED] = self.seal(hidden).decode()
        return json.dumps(public, default=str)

    def open_secrets(self, text: str) -> dict[str, Any]:
        state = json.loads(text or "{}")
        sealed = state.pop(SEALED, None)
        return {**state, **self.open(sealed.encode())} if sealed else state


def mask(value: Any) -> Any:
    """Secrets and PHI-marked fields read ``***`` (keys matched by name, at any depth)."""
    if isinstance(value, dict):
        return {k: MASK if SENSITIVE.match(str(k)) else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value
