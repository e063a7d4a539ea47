"""WhatConverts state: accounts, profiles, API keys, leads, webhooks and usage of one tenant,
the limits of [C] whatconverts.md §3, and the date and number forms every part shares.

The parts (access.py, fields.py, leads.py, webhooks.py, accounts.py) read and change this
state; models.py composes them into the ``WhatConvertsBackend``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from .errors import WCError

PAGE_MAX = 2500  # §3 leads_per_page maximum 2500 (default 25)
PAGE_DEFAULT = 25
ADMIN_PAGE_MAX = 250  # §3 accounts_per_page / profiles_per_page maximum 250
RANGE_DAYS = 400  # §3 a lead date range may span at most 400 days
PROFILE_DAILY = 1_000  # §3 profile key: 1,000 requests/day
MASTER_DAILY = 10_000  # §3 master key: 10,000 requests/day
CONCURRENT = 20  # §3 up to 20 concurrent requests


def stamp(moment: datetime) -> str:
    """[C] §1/§6.1 dates look like ``2016-02-01T14:09:01Z``: always a four-digit year
    (``strftime("%Y")`` gives ``73`` for the year 73 on glibc, which breaks the contract's
    pattern and the string order leads are sorted and filtered by)."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def parse_date(value: str, name: str, *, end: bool = False) -> datetime:
    """§5.1 ``YYYY-MM-DD`` or an ISO date-time, as a UTC instant; an instant outside years
    1..9999 once in UTC (``0001-01-01T00:30:00+01:00``) is invalid too, not an overflow."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise WCError(f"Invalid {name} parameter.") from None


@dataclass
class ApiKey:
    token: str
    secret: str
    kind: str  # "profile" | "master"
    account_id: int
    profile_id: int | None = None


@dataclass
class WCState:
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, list[Any]] = field(default_factory=dict)  # token → [day, count]
    limits: dict[str, int] = field(
        default_factory=lambda: {"profile": PROFILE_DAILY, "master": MASTER_DAILY, "status": 429}
    )
    next_ids: dict[str, int] = field(
        default_factory=lambda: {"lead": 100_001, "account": 2001, "profile": 102, "webhook": 1}
    )
    in_flight: dict[str, int] = field(default_factory=dict)  # token → requests in flight
    demo: dict[str, Any] = field(default_factory=dict)


def int_param(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise WCError(f"Invalid {name} parameter.") from None
