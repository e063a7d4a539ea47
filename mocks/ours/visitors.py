"""Visitors: who an event is about. Identity resolution ([C] ours-privacy.md §3) and the
semantics of visitor properties."""

from __future__ import annotations

import hashlib
from typing import Any

from .state import OursState, Visitor
from .validation import TrackInput

LOOKUP_KEYS = ("external_id", "email", "phone_number")  # [C] §3 externalId → email → phone


def apply_user_properties(visitor: Visitor, props: dict[str, Any]) -> None:
    """[C] §3 null/empty semantics: a value sets, null clears, "" and omitted keep;
    ``custom_properties`` merge (null and "" entries ignored, other keys kept)."""
    for key, value in props.items():
        if isinstance(value, str):
            value = value.strip()
        if key == "custom_properties":
            # [?] custom_properties: null is ignored (merge semantics never remove keys).
            if isinstance(value, dict):
                for ckey, cvalue in value.items():
                    if cvalue is None or cvalue == "":
                        continue
                    visitor.custom_properties[ckey] = cvalue
            continue
        if value is None:
            visitor.properties.pop(key, None)
        elif value == "":
            continue
        else:
            visitor.properties[key] = value


def _norm(kind: str, value: Any) -> str:
    text = str(value).strip()
    if kind == "email":
        return text.lower()
    if kind == "phone_number":  # [I] digits only; a leading US country code 1 is dropped
        digits = "".join(ch for ch in text if ch.isdigit())
        return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    return text


def new_visitor(state: OursState, mode: str, now: str, vid: str | None = None) -> Visitor:
    if vid is None:
        state.counter += 1
        vid = hashlib.sha256(f"visitor:{mode}:{state.counter}".encode()).hexdigest()[:24]
    visitor = Visitor(id=vid, mode=mode, created_at=now)
    state.visitors[mode][vid] = visitor
    return visitor


def index_visitor(state: OursState, visitor: Visitor, before: dict[str, Any] | None = None) -> None:
    """Keep the lookup index in step with the visitor's identifying properties."""
    for kind in LOOKUP_KEYS:
        old = (before or {}).get(kind)
        new = visitor.properties.get(kind)
        if old not in (None, "") and old != new:
            key = (visitor.mode, kind, _norm(kind, old))
            if state.index.get(key) == visitor.id:
                del state.index[key]
        if new not in (None, ""):
            state.index.setdefault((visitor.mode, kind, _norm(kind, new)), visitor.id)


def resolve_visitor(state: OursState, mode: str, row: TrackInput, now: str) -> Visitor:
    """[C] §3 identity: userId is used directly (no lookup); otherwise externalId, then email,
    then userProperties.phone_number are looked up; a new visitor is created when none match.
    Test-mode traffic resolves among test visitors only ([?] so a test key never changes what
    live destinations receive)."""
    store = state.visitors[mode]
    props = row.user_properties or {}
    candidates = {
        "external_id": row.external_id or props.get("external_id"),
        "email": row.email or props.get("email"),
        "phone_number": props.get("phone_number"),
    }
    visitor: Visitor | None = None
    if row.user_id:
        visitor = store.get(row.user_id) or new_visitor(state, mode, now, row.user_id)
    else:
        for kind in LOOKUP_KEYS:
            value = candidates[kind]
            if isinstance(value, str) and value.strip():
                vid = state.index.get((mode, kind, _norm(kind, value)))
                if vid is not None:
                    visitor = store[vid]
                    break
        if visitor is None:
            visitor = new_visitor(state, mode, now)
    before = {kind: visitor.properties.get(kind) for kind in LOOKUP_KEYS}
    # link the identifiers the call carried ([C] §10: external_id / email identify a visitor)
    for kind in ("external_id", "email"):
        value = candidates[kind]
        if isinstance(value, str) and value.strip() and kind not in visitor.properties:
            visitor.properties[kind] = value.strip()
    if row.user_properties:
        apply_user_properties(visitor, row.user_properties)
    index_visitor(state, visitor, before)
    return visitor
