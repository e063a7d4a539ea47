"""Guards that keep real credentials and real hosts out of the sandbox."""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from urllib.parse import urlsplit

from .synthetic import SANDBOX_MARK

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname)


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def production_credential_reason(value: str) -> str | None:
    """Why ``value`` looks like a real vendor credential, or None when it is a sandbox one.

    The sandbox marks every credential it issues with ``sbx``. Anything else that is long and
    random enough to be a live key is refused by name, so a real key pasted into a test or a seed
    file is caught before it is stored or echoed anywhere.
    """
    if not value or SANDBOX_MARK in value.lower():
        return None
    if value.lower().startswith(("live_", "sk_live", "prod_", "pk_live")):
        return "it carries a live/production prefix"
    if len(value) >= 20 and _entropy(value) >= 3.5:
        return "it is long and random like a real API key and was not issued by the sandbox"
    return None


class RemoteTargetRefused(Exception):
    """An outbound call to a non-loopback host while remote targets are not allowed."""

    def __init__(self, url: str) -> None:
        host = urlsplit(url).hostname
        super().__init__(
            f"refused to send to {host!r}: the sandbox only sends to loopback (127.0.0.1, "
            "localhost) unless started with --allow-remote"
        )
        self.url = url
