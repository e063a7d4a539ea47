"""The Integrations meter: REST calls and webhook messages counted against one allowance
([C] caspio.md §7, §10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import OverQuota

if TYPE_CHECKING:
    from .state import CaspioState

DEFAULT_ALLOWANCE = 500_000  # [O] §7: one plan's 500,000 integration calls per period


def new_meter() -> dict[str, Any]:
    """A tenant's meter at the start of a period (the admin API may change each value)."""
    return {"used": 0, "allowance": DEFAULT_ALLOWANCE, "overage": 0, "over_quota": "record"}


def count_call(state: CaspioState, n: int = 1, *, refuse: bool = True) -> None:
    """[C] §7/§10: REST calls and webhook messages share the Integrations meter. Over the
    allowance: ``record`` adds overage (the observed invoice, not a block) or ``error``
    answers the observed 400 api-calls-rate body (configurable, [?] §7).

    A REST call is charged once, before it does anything, so a refused call changes
    nothing. Webhook messages (``refuse=False``) follow a change already made: they are
    always sent and past the allowance only add overage ([I] §7)."""
    with state.lock:
        meter = state.meter
        if meter["used"] + n > meter["allowance"]:
            if refuse and meter["over_quota"] == "error":
                raise OverQuota("api-calls-rate")
            meter["overage"] += min(n, meter["used"] + n - meter["allowance"])
        meter["used"] += n
