"""Authentications are encrypted at rest (Fernet); masking for the audit log."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

import careflow.keys as keys

KEY_ENV = "CAREFLOW_SECRET_KEY"
LEGACY_KEY_FILE = "secret.key"  # where earlier versions kept the key: beside the data
MASK = "***"
SEALED = "_sealed"
SENSITIVE = re.compile(
    r"^(authorization|token|test_?token|api_?token|api_?secret|secret|client_?secret|client_?id|"
    r"password|access_?token|refresh_?token|master_?token|master_?secret|email|email_?address|"
    r"phone|phone_?number|contact_?name|name|first_?name|last_?name|address|dob|"
    r"date_?of_?birth|ssn)$",
    re.IGNORECASE,
)


def load_key(data_dir: Path | None) -> bytes:
    """The vault's Fernet key: $CAREFLOW_SECRET_KEY when set; with a data dir, the data dir's
    key (``careflow.keys``: in the user's config dir, or derived from $CAREFLOW_PASSPHRASE,
    never in the data dir); else a fresh in-memory key (an engine without a data dir keeps
    nothing after it stops anyway)."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    if data_dir is None:
        return Fernet.generate_key()
    return keys.fernet_key(keys.master_key(data_dir), "engine-vault")


def legacy_key(data_dir: Path | None) -> bytes | None:
    """The key an earlier version left beside the data (``<data_dir>/secret.key``), if any."""
    if data_dir is None or not (data_dir / LEGACY_KEY_FILE).exists():
        return None
    return (data_dir / LEGACY_KEY_FILE).read_bytes().strip()


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


def rekey(db: Any, old: Vault, new: Vault) -> int:
    """Re-seal what ``old`` sealed (authentications, triggers' sealed state) under ``new``, in
    the caller's transaction; returns how many records changed."""
    changed = 0
    for auth_id, blob in db.execute("SELECT id, secret FROM authentications").fetchall():
        db.execute(
            "UPDATE authentications SET secret = ? WHERE id = ?",
            (new.seal(old.open(blob)), auth_id),
        )
        changed += 1
    for wf_id, text in db.execute("SELECT id, trigger_state FROM workflows").fetchall():
        if SEALED in (text or ""):
            state = old.open_secrets(text)
            db.execute(
                "UPDATE workflows SET trigger_state = ? WHERE id = ?",
                (new.seal_secrets(state), wf_id),
            )
            changed += 1
    return changed
