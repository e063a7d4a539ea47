"""Keys for what careflow keeps in a ``--data-dir``: never stored beside the data they protect.

A data dir is named by a random id written into it (``.careflow-id``; a folder inside a data dir,
such as a stack's per-service folders, uses its ancestor's), so it can be moved or copied and
keep its key. The key of that id is, in this order:

1. derived from ``CAREFLOW_PASSPHRASE`` (scrypt, salted with the id) when that is set: nothing
   secret is written anywhere;
2. else a random 256-bit key in the user's config dir:
   ``$CAREFLOW_KEY_DIR`` or ``$XDG_CONFIG_HOME/careflow/keys`` or ``~/.config/careflow/keys``,
   file ``<id>.key`` (mode 0600, the folder 0700), created the first time.

``.careflow-id`` also holds a check value of the key, so a wrong passphrase or a missing key
file is a clear error (``KeyUnavailable``), never garbage. Each user of a data dir derives its
own key from that one (``derive``): the fakes' state store and the engine's vault never share a
key. ``Sealer`` encrypts small records with AES-GCM, bound to where they are stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

PASSPHRASE_ENV = "CAREFLOW_PASSPHRASE"
KEY_DIR_ENV = "CAREFLOW_KEY_DIR"
ID_FILE = ".careflow-id"
NONCE = 12


class KeyUnavailable(RuntimeError):
    """The data dir's key is missing or the passphrase is wrong; the message says what to do."""


def key_dir() -> Path:
    if os.environ.get(KEY_DIR_ENV):
        return Path(os.environ[KEY_DIR_ENV]).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "careflow" / "keys"


def _write_new(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Create ``path`` with ``data`` unless it exists (then False): the first writer wins."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def id_file(data_dir: Path) -> Path:
    """The identity file that governs ``data_dir``: its own, or its nearest ancestor's (a
    stack's data dir holds one for all its services), else a new one in ``data_dir``."""
    data_dir = Path(data_dir).absolute()
    for folder in (data_dir, *data_dir.parents):
        if (folder / ID_FILE).exists():
            return folder / ID_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / ID_FILE


def data_dir_id(data_dir: Path) -> dict[str, str]:
    """The data dir's identity record (``id`` and, once a key exists, ``check``)."""
    path = id_file(data_dir)
    if not path.exists():
        _write_new(path, json.dumps({"id": secrets.token_hex(16)}).encode(), 0o644)
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise KeyUnavailable(f"{path} is damaged; restore it from a backup of the data dir")
    return record


def _check_of(key: bytes) -> str:
    return hmac.new(key, b"careflow key check", hashlib.sha256).hexdigest()[:32]


def master_key(data_dir: Path) -> bytes:
    """The 32-byte key of ``data_dir`` (see the module docstring for where it comes from)."""
    data_dir = Path(data_dir)
    record = data_dir_id(data_dir)
    ident = record["id"]
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase:
        key = hashlib.scrypt(
            passphrase.encode(), salt=f"careflow:{ident}".encode(), n=2**14, r=8, p=1, dklen=32
        )
        source = f"the passphrase in ${PASSPHRASE_ENV}"
    else:
        folder = key_dir()
        path = folder / f"{ident}.key"
        if not path.exists():
            if record.get("check"):
                raise KeyUnavailable(
                    f"the key of data dir {data_dir} (id {ident}) is not in {folder}: copy "
                    f"{ident}.key there from where the data dir was created, set "
                    f"${KEY_DIR_ENV} to its folder, or set ${PASSPHRASE_ENV} if it was made "
                    "with a passphrase"
                )
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
            _write_new(path, base64.b64encode(secrets.token_bytes(32)))
        key = base64.b64decode(path.read_bytes().strip())
        source = f"the key file {path}"
    check = _check_of(key)
    if record.get("check") is None:
        record["check"] = check
        where = id_file(data_dir)
        tmp = where.with_name(ID_FILE + ".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(where)
    elif not hmac.compare_digest(record["check"], check):
        raise KeyUnavailable(
            f"{source} does not open data dir {data_dir} (id {ident}): "
            + (
                "wrong passphrase?"
                if passphrase
                else f"it was made with another key; unset ${KEY_DIR_ENV} or set "
                f"${PASSPHRASE_ENV} to the passphrase it was made with"
            )
        )
    return key


def derive(key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (HMAC-SHA256 of the purpose under ``key``)."""
    return hmac.new(key, f"careflow:{purpose}".encode(), hashlib.sha256).digest()


def fernet_key(key: bytes, purpose: str) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) for one purpose."""
    return base64.urlsafe_b64encode(derive(key, purpose))


class Sealer:
    """AES-256-GCM over small records; ``aad`` binds a record to where it is stored, so a
    record moved to another place does not open."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def seal(self, data: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, data, aad)

    def open(self, blob: bytes, aad: bytes = b"") -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(blob[:NONCE], blob[NONCE:], aad)
        except InvalidTag:
            raise KeyUnavailable(
                "a stored record does not open with this data dir's key (damaged, or moved "
                "from another data dir)"
            ) from None
