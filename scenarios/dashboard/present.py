"""What the dashboard shows of a value: PHI masked unless revealed, secrets never.

The key rules are the stack's own (``careflow.mocks.kernel.masking`` plus each vendor's
PHI-marked field names), so a field masked in a journal is masked here too. Secrets (tokens,
client ids and secrets, api secrets) read ``***`` whatever the reveal switch says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from careflow.mocks.caspio.models import CaspioBackend
from careflow.mocks.kernel.masking import MASK, PHI_KEYS, SECRET_KEYS, normalise
from careflow.mocks.ours.models import OursBackend
from careflow.mocks.whatconverts.models import WhatConvertsBackend

# Credentials the services panel lists by name only: DESIGN.md masks client ids as secrets too.
SECRETS = SECRET_KEYS | {"clientid", "hashingsalt", "signingsecret"}
PHI = (
    PHI_KEYS
    | {
        normalise(k)
        for backend in (WhatConvertsBackend, CaspioBackend, OursBackend)
        for k in backend.phi_fields
    }
) - SECRETS


# An email address inside free text (a journaled query such as q.where=Email='...', URL-encoded
# or not) is PHI whatever its key: masked unless revealed.
EMAIL = re.compile(
    r"(?:(?<=%[0-9A-Fa-f]{2})|(?<![A-Za-z0-9._+%-]))"  # a whole token, or after a %XX escape
    r"[A-Za-z0-9._+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)


def is_secret(key: str) -> bool:
    return normalise(key) in SECRETS


def is_phi(key: str) -> bool:
    return normalise(key) in PHI


class Masked(str):
    """A value the page shows masked (the template styles it and says why)."""

    __slots__ = ("reason",)

    def __new__(cls, reason: str) -> Masked:
        made = super().__new__(cls, MASK)
        made.reason = reason
        return made


def mask(data: Any, reveal: bool, key: str | None = None) -> Any:
    """``data`` with secret values masked always and PHI values masked unless ``reveal``."""
    if key is not None and data is not None and data != "":
        if is_secret(key):
            return Masked("secret")
        if is_phi(key) and not reveal:
            return Masked("PHI")
    if isinstance(data, Mapping):
        return {k: mask(v, reveal, k if isinstance(k, str) else None) for k, v in data.items()}
    if isinstance(data, list):
        # a list under a PHI key is masked whole above; its items keep no key of their own
        return [mask(item, reveal) for item in data]
    if isinstance(data, str) and not reveal and not isinstance(data, Masked):
        return EMAIL.sub(MASK, data)
    return data


def pretty(data: Any) -> str:
    """JSON for a ``<pre>``: masked values print as ``***``."""
    if data is None:
        return "—"
    return json.dumps(data, indent=2, ensure_ascii=False, default=str, sort_keys=False)


def clock_text(iso: str | None) -> str:
    """``2026-03-02 09:01:00`` from an ISO instant (virtual time, UTC)."""
    if not iso:
        return "—"
    text = str(iso).replace("T", " ").rstrip("Z")
    return text.split(".")[0]


def short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def parse_instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


def credentials_view(entry: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A services-panel row: every credential by name, secrets masked."""
    return [(k, Masked("secret") if is_secret(k) else v) for k, v in entry.items() if k != "url"]


def count_by(items: Iterable[Mapping[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        value = str(item.get(key))
        out[value] = out.get(value, 0) + 1
    return out
