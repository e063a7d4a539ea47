"""Validation of Ingest API bodies (pure functions): the field rules of /track, /identify and
/batch rows, each citing docs/vendors/ours-privacy.md (``§n``) with its status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .errors import InvalidEvent

IDENTIFY = "$identify"  # [C] §4: /identify fires a $identify event
TOKEN_MAX = 250  # [C] §3 token 1-250
EVENT_MAX = 1000  # [C] §3 event 1-1000
ID_MAX = 400  # [C] §3 userId / externalId / distinctId 1-400
EMAIL_MAX = 1000  # [C] §3 email 1-1000
BACKFILL_WINDOW = timedelta(days=7)  # [C] §3 time: in the past, within the last 7 days
MAX_PROPERTY_KEYS = 200  # [C] sdk-py TrackEventParams.event_properties: ≤ 200 nonempty keys
MAX_PROPERTY_DEPTH = 5  # [C] same: at most five object levels (arrays do not count)
MAX_ARRAY_ITEMS = 250  # [C] same: arrays are truncated to 250 entries
MAX_NESTING = 32  # [?] objects and arrays together nest at most 32 deep (else 400)
OBJECT_FIELDS = ("userProperties", "defaultProperties", "identityContext")
_FLAT = frozenset({str, int, float, bool, type(None)})  # JSON values with nothing below them


@dataclass(slots=True)
class TrackInput:
    """One validated /track-shaped event (or /identify call, ``event`` = ``$identify``)."""

    event: str
    user_id: str | None = None
    external_id: str | None = None
    email: str | None = None
    time_ms: float | None = None
    distinct_id: str | None = None
    event_properties: dict[str, Any] = field(default_factory=dict)
    user_properties: dict[str, Any] | None = None
    default_properties: dict[str, Any] = field(default_factory=dict)
    identity_context: dict[str, Any] = field(default_factory=dict)


def _text(body: dict[str, Any], key: str, maximum: int, *, coerce: bool = False) -> str | None:
    """A trimmed string field; null/absent → None. [C] sdk-py: "Leading and trailing whitespace
    is removed before validation"; "Non-string input is converted to text" for ids."""
    value = body.get(key)
    if value is None:
        return None
    if coerce and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidEvent(f"{key} must be a string")
    value = value.strip()
    if not 1 <= len(value) <= maximum:
        raise InvalidEvent(f"{key} must be 1-{maximum} characters")
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidEvent(f"{key} must be an object or null")
    return value


def _object_field(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    """An object field of OBJECT_FIELDS: an object or null, nested at most MAX_NESTING deep."""
    if body.get(key) is None:
        return None
    return _nested_at_most(_object(body, key), key)  # type: ignore[no-any-return]


def _nested_at_most(value: Any, key: str, nesting: int = 1) -> Any:
    """[?] any object field nests at most MAX_NESTING deep (objects and arrays), else 400."""
    if nesting > MAX_NESTING:
        raise InvalidEvent(f"{key} nests deeper than {MAX_NESTING} levels")
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        _nested_at_most(child, key, nesting + 1)
    return value


def _clean(value: Any, depth: int, nesting: int) -> Any:
    """eventProperties below ``value``: empty keys removed, arrays cut, depth checked."""
    if nesting > MAX_NESTING:
        raise InvalidEvent(f"eventProperties nest deeper than {MAX_NESTING} levels")
    if isinstance(value, dict):
        if depth > MAX_PROPERTY_DEPTH:
            raise InvalidEvent(f"eventProperties nest deeper than {MAX_PROPERTY_DEPTH} levels")
        return {k: _clean(v, depth + 1, nesting + 1) for k, v in value.items() if k.strip()}
    if isinstance(value, list):
        return [_clean(v, depth, nesting + 1) for v in value[:MAX_ARRAY_ITEMS]]
    return value


def _check_properties(props: dict[str, Any]) -> dict[str, Any]:
    """[C] sdk-py eventProperties: ≤ 200 nonempty keys, ≤ 5 object levels; empty keys removed
    recursively; arrays truncated to 250 entries."""
    for key, value in props.items():
        if type(value) not in _FLAT or not key.strip():
            cleaned = _clean(props, 1, 1)
            break
    else:
        cleaned = dict(props)  # the usual case: flat, no empty key (clean would copy it as is)
    if len(cleaned) > MAX_PROPERTY_KEYS:
        raise InvalidEvent(f"eventProperties has more than {MAX_PROPERTY_KEYS} keys")
    return cleaned


def parse_event(body: Any, now_ms: float, *, in_batch: bool = False) -> TrackInput:
    """Validate one /track body or /batch row. Unknown keys are accepted and ignored ([I] §3)."""
    if not isinstance(body, dict):
        raise InvalidEvent("each event must be a JSON object")
    event = _text(body, "event", EVENT_MAX)
    if event is None:
        raise InvalidEvent("event is required")  # [C] §3
    distinct_id = _text(body, "distinctId", ID_MAX, coerce=True)
    if in_batch and distinct_id is None:
        raise InvalidEvent("distinctId is required on every batch row")  # [C] §5
    time_ms = body.get("time")
    if time_ms is not None:
        if isinstance(time_ms, bool) or not isinstance(time_ms, int | float):
            raise InvalidEvent("time must be a number of milliseconds since the UTC epoch")
        # [C] §3 "must be in the past and within the last 7 days"
        if time_ms > now_ms or time_ms < now_ms - BACKFILL_WINDOW.total_seconds() * 1000:
            raise InvalidEvent("time must be in the past and within the last 7 days")
    props = _object(body, "eventProperties")
    if props is None and "eventProperties" not in body:
        # [C] §3 doc inconsistency: the quickstart sends "properties"; accept it as an alias.
        props = _object(body, "properties")
    parsed = _identity(body, event)
    parsed.time_ms = float(time_ms) if time_ms is not None else None
    parsed.distinct_id = distinct_id
    parsed.event_properties = _check_properties(props or {})
    return parsed


def parse_identify(body: Any) -> TrackInput:
    """[C] §4 /identify: userProperties required; same identifiers as /track."""
    if not isinstance(body, dict):
        raise InvalidEvent("body must be a JSON object")
    if not isinstance(body.get("userProperties"), dict):
        raise InvalidEvent("userProperties is required and must be an object")
    return _identity(body, IDENTIFY)


def _identity(body: dict[str, Any], event: str) -> TrackInput:
    user_id = _text(body, "userId", ID_MAX)
    external_id = _text(body, "externalId", ID_MAX, coerce=True)
    email = _text(body, "email", EMAIL_MAX)
    user_props = _object_field(body, "userProperties")  # OBJECT_FIELDS, in their order
    default_props = _object_field(body, "defaultProperties")
    context = _object_field(body, "identityContext")
    # [C] §3 "Include at least one of userId, externalId, or email"; [I] enforced with a 400.
    # userProperties.email / external_id count too: they are used for lookup ([C] §3).
    fallback = user_props or {}
    if not (
        user_id or external_id or email or fallback.get("email") or fallback.get("external_id")
    ):
        raise InvalidEvent("include at least one of userId, externalId or email")
    return TrackInput(
        event=event,
        user_id=user_id,
        external_id=external_id,
        email=email,
        user_properties=user_props,
        default_properties=default_props or {},
        identity_context=context or {},
    )
