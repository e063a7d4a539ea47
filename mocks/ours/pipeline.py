"""The processing pipeline: allow-list → data governance → mappings → destinations.

[C] ours-privacy.md §9 order: Source → Allowed Events → Data Governance → per-destination
Mappings → Destination. [C] §6 processing is asynchronous: an answered request is only
``accepted``; the pipeline runs afterwards in background tasks that ``kernel.settle()`` waits for
(``GET /__sandbox/events`` and ``/dispatches`` settle first, so they show processed events).

Test mode ([C] §7): a test-key event passes the allow-list, is kept in Recent Events tagged
``test`` and stops there — ``_dispatch`` refuses any event that is not live.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from careflow.mocks.kernel import Kernel, format_instant, next_order, parse_instant

from .destinations import Destination, Mapping, deliver
from .models import OursBackend
from .phi import PhiKind, kind_of_name, kind_of_value, template_reads_phi
from .state import OursState
from .validation import IDENTIFY

# --- modifications ([C] §9 field modifications; the PHI-handling subset the fake implements) ---


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text))


# Hashing modifications: how each normalises the value before it is hashed.
HASH_NORMALISERS: dict[str, Callable[[Any], str]] = {
    "Hash": str,
    "HashMD5": str,
    "HashedNormalized": lambda v: str(v).strip().lower(),
    "HashedNormalizedNoSpecialChars": lambda v: re.sub(r"[^a-z0-9]", "", str(v).lower()),
    "HashedPhone": lambda v: "".join(ch for ch in str(v) if ch.isdigit()),
    "HashedZip": lambda v: str(v).strip()[:5],
    "HashedState": lambda v: str(v).strip().lower(),
    "HashedCountry": lambda v: str(v).strip().lower(),
    "HashedGender": lambda v: str(v).strip().lower()[:1],
    "HashedDateOfBirth": lambda v: re.sub(r"\D", "", str(v)),
}

MODIFICATIONS: dict[str, Callable[[Any], Any]] = {
    "None": lambda v: v,
    "Null": lambda v: None,
    "Redacted": lambda v: "REDACTED",
    "LowerCase": lambda v: str(v).lower(),
    "UpperCase": lambda v: str(v).upper(),
    "SnakeCase": lambda v: "_".join(w.lower() for w in _words(str(v))),
    "KebabCase": lambda v: "-".join(w.lower() for w in _words(str(v))),
    "CamelCase": lambda v: "".join(
        w.lower() if i == 0 else w.capitalize() for i, w in enumerate(_words(str(v)))
    ),
    "StartCase": lambda v: " ".join(w.capitalize() for w in _words(str(v))),
    "DomainOnly": lambda v: re.sub(r"^[a-z]+://([^/?#]+).*$", r"\1", str(v)),
}


def modify(value: Any, modification: str | None, salt: str = "") -> Any:
    """Apply a modification. [C] §9 each destination has a ``hashingSalt``; [?] how it is used
    is not published: the fake prefixes it to the normalised value before any hash (an empty
    salt, the default, gives the plain hash ad platforms match on)."""
    if value is None or modification is None:
        return value
    if modification in HASH_NORMALISERS:
        text = salt + HASH_NORMALISERS[modification](value)
        if modification == "HashMD5":
            return hashlib.md5(text.encode()).hexdigest()
        return _sha(text)
    if modification not in MODIFICATIONS:
        raise ValueError(f"unknown modification {modification!r}")
    return MODIFICATIONS[modification](value)


def default_phi(value: Any, kind: PhiKind, policy: str, salt: str = "") -> Any:
    """[C] §9 PHI reaches destinations hashed or redacted by default (``phi_default``);
    ``kind`` is what phi.py detected (a phone is hashed as digits)."""
    if value is None or isinstance(value, bool) or policy == "off":
        return value
    if policy == "redact":
        return "REDACTED"
    return modify(value, "HashedPhone" if kind == "phone" else "HashedNormalized", salt)


# --- templates (jinja2's sandbox: user-written mappings never run arbitrary code) -------------

_env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
_SINGLE = re.compile(r"^\{\{\s*(.+?)\s*\}\}$", re.S)
# ``{{ event.a.b }}``: a plain dotted reference is looked up directly (same result as jinja2's
# item lookup on these dicts, without building a jinja2 context per field: the hot path).
_DOTTED = re.compile(r"^(event|visitor)(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@lru_cache(maxsize=1024)
def _compiled(template: str) -> tuple[bool, Any]:
    """(is_expression, compiled): a mapping is compiled once, then rendered per event."""
    single = _SINGLE.match(template)
    if single and _DOTTED.match(single.group(1)):
        path = single.group(1).split(".")
        return True, lambda **context: _walk(context, path)
    if single and "}}" not in single.group(1):
        return True, _env.compile_expression(single.group(1))
    return False, _env.from_string(template)


def render(template: str, context: dict[str, Any]) -> Any:
    """``{{ event.x }}`` alone keeps the value's type; other templates render text; a bare
    string is sent verbatim ([C] §9)."""
    if "{{" not in template and "{%" not in template:
        return template
    try:
        is_expression, compiled = _compiled(template)
        if is_expression:
            value = compiled(**context)
            value = None if isinstance(value, ChainableUndefined) else value
        else:
            value = compiled.render(**context)
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise ValueError(f"mapping template {template!r}: {exc}") from exc
    if not _json_safe(value):
        raise ValueError(f"mapping template {template!r} gives a {type(value).__name__}")
    return value


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def _walk(context: dict[str, Any], path: list[str]) -> Any:
    current: Any = context
    for part in path:
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c``; each object on the way is copied, since it may be a rendered value that
    is still the event's own data (writing into it would change the event, or make a cycle)."""
    parts = path.split(".")
    for part in parts[:-1]:
        child = target.get(part)
        target[part] = child = dict(child) if isinstance(child, dict) else {}
        target = child
    target[parts[-1]] = value


# --- logic trees (governance and mapping gates) ------------------------------------------------


def _lookup(path: str, context: dict[str, Any]) -> Any:
    current: Any = context
    for part in path.lstrip("$").split("."):
        if isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _instant(value: Any) -> datetime | None:
    try:
        return parse_instant(str(value))
    except ValueError:
        return None


def _compare(op: str, left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return False
    return {
        "IsGreaterThan": a > b,
        "IsGreaterThanOrEqual": a >= b,
        "IsLessThan": a < b,
        "IsLessThanOrEqual": a <= b,
    }[op]


def _dates(op: str, left: Any, right: Any) -> bool:
    a, b = _instant(left), _instant(right)
    if a is None or b is None:
        return False
    return {"IsBefore": a < b, "IsAfter": a > b, "IsOnOrBefore": a <= b, "IsOnOrAfter": a >= b}[op]


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, list | tuple | dict):
        return right in left
    return left is not None and str(right) in str(left)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "Is": lambda a, b: a == b,
    "IsNot": lambda a, b: a != b,
    "Contains": _contains,
    "DoesNotContain": lambda a, b: not _contains(a, b),
    "StartsWith": lambda a, b: isinstance(a, str) and a.startswith(str(b)),
    "EndsWith": lambda a, b: isinstance(a, str) and a.endswith(str(b)),
    "IsTruthy": lambda a, _b: bool(a),
    "IsFalsy": lambda a, _b: not a,
    "IsNull": lambda a, _b: a is None,
    "IsNotNull": lambda a, _b: a is not None,
    "IsUndefined": lambda a, _b: a is None,
    "IsNotUndefined": lambda a, _b: a is not None,
    "IsTrue": lambda a, _b: a is True,
    "IsFalse": lambda a, _b: a is False,
    "IsIn": lambda a, b: isinstance(b, list) and a in b,
    "IsNotIn": lambda a, b: not (isinstance(b, list) and a in b),
    "IsFoundIn": lambda a, b: a is not None and str(a) in str(b),
    "IsNotFoundIn": lambda a, b: a is None or str(a) not in str(b),
    "MatchesRegex": lambda a, b: a is not None and re.search(str(b), str(a)) is not None,
    "MatchesRegexIgnoreCase": lambda a, b: (
        a is not None and re.search(str(b), str(a), re.I) is not None
    ),
    "DoesNotMatchRegex": lambda a, b: a is None or re.search(str(b), str(a)) is None,
    "DoesNotMatchRegexIgnoreCase": lambda a, b: (
        a is None or re.search(str(b), str(a), re.I) is None
    ),
    "IsBetween": lambda a, b: (
        isinstance(b, list)
        and len(b) == 2
        and _compare("IsGreaterThanOrEqual", a, b[0])
        and _compare("IsLessThanOrEqual", a, b[1])
    ),
}
for _op in ("IsGreaterThan", "IsGreaterThanOrEqual", "IsLessThan", "IsLessThanOrEqual"):
    OPERATORS[_op] = lambda a, b, _op=_op: _compare(_op, a, b)
for _op in ("IsBefore", "IsAfter", "IsOnOrBefore", "IsOnOrAfter"):
    OPERATORS[_op] = lambda a, b, _op=_op: _dates(_op, a, b)


def evaluate(logic: dict[str, Any] | None, context: dict[str, Any]) -> bool:
    """A logic tree: ``{"operator": "AND"|"OR", "conditions": [...]}``, ``{"operator": "NOT",
    "conditions": [one]}`` or a leaf ``{"path": "visitor.consent.x", "operator": "Contains",
    "value": ...}``. [C] §9 operators and combinators; [?] the JSON shape is the fake's."""
    if not logic:
        return True
    op = logic.get("operator")
    if op in ("AND", "OR", "NOT"):
        results = [evaluate(c, context) for c in logic.get("conditions", [])]
        if op == "AND":
            return all(results)
        if op == "OR":
            return any(results)
        return not all(results)
    if op not in OPERATORS:
        raise ValueError(f"unknown logic operator {op!r}")
    return OPERATORS[op](_lookup(str(logic.get("path", "")), context), logic.get("value"))


# --- the pipeline -------------------------------------------------------------------------------


def event_view(event: dict[str, Any]) -> dict[str, Any]:
    """What templates and governance see as ``event``. [C] §9 variables event.*"""
    when = parse_instant(event["time"])
    ctx = event.get("identity_context") or {}
    return {
        "id": event["id"],
        "event": event["event"],
        "distinct_id": event["distinct_id"],
        "email": event["identifiers"]["email"],
        "external_id": event["identifiers"]["externalId"],
        "user_id": event["identifiers"]["userId"],
        "source_id": event["source"],
        "time": event["time"],
        "time_seconds": int(when.timestamp()),
        "time_micros": int(when.timestamp() * 1_000_000),
        "event_properties": event.get("properties") or {},
        "user_properties": event.get("user_properties") or {},
        "default_properties": event.get("default_properties") or {},
        "request_context": {"ip": ctx.get("ip"), "user_agent": ctx.get("userAgent")},
    }


def build_payload(destination: Destination, context: dict[str, Any]) -> dict[str, Any]:
    """Apply a destination's mappings. Whatever no mapping gave a modification gets the
    destination's default PHI treatment when phi.py finds PHI in it — by field name, by the
    variable the mapping reads, or by value — however deep it sits (e.g. inside custom_data)."""
    payload: dict[str, Any] = {}
    explicit: set[str] = set()
    reads_phi: dict[str, PhiKind] = {}
    for mapping in destination.effective_mappings():
        if mapping.logic and not evaluate(mapping.logic, context):
            continue
        value = render(mapping.map, context)
        if value is None or value == "":
            continue
        if mapping.modification is not None:
            value = modify(value, mapping.modification, destination.hashing_salt)
            explicit.add(mapping.property)
        elif (kind := template_reads_phi(mapping.map)) is not None:
            reads_phi[mapping.property] = kind
        _set_path(payload, mapping.property, value)
    return _Scrubber(destination, explicit, reads_phi).scrub(payload, "", None)


class _Scrubber:
    def __init__(
        self, destination: Destination, explicit: set[str], reads_phi: dict[str, PhiKind]
    ) -> None:
        self.policy, self.salt = destination.phi_default, destination.hashing_salt
        self.explicit, self.reads_phi = explicit, reads_phi

    def scrub(self, value: Any, path: str, kind: PhiKind | None) -> Any:
        """``kind``: PHI known from an enclosing name (everything below it is protected)."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                here = f"{path}.{key}" if path else str(key)
                if here in self.explicit:
                    out[key] = item  # the mapping's own modification decides
                    continue
                inner = kind or self.reads_phi.get(here) or kind_of_name(str(key))
                out[key] = self.scrub(item, here, inner)
            return out
        if isinstance(value, list):
            return [self.scrub(item, path, kind) for item in value]
        found = kind or kind_of_value(value)
        return value if found is None else default_phi(value, found, self.policy, self.salt)


class Pipeline:
    """Runs accepted events through the pipeline in background tasks on the running loop."""

    def __init__(self, kernel: Kernel, backend: OursBackend) -> None:
        self.kernel = kernel
        self.backend = backend
        self._tasks: set[asyncio.Task[Any]] = set()
        kernel.on_settle(self.drain)

    def submit(self, tenant: str, event_ids: list[str]) -> None:
        if not event_ids:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.process(tenant, event_ids)  # no loop (sync caller): process inline
            return
        task = loop.create_task(self._run(tenant, event_ids))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, tenant: str, event_ids: list[str]) -> None:
        await asyncio.sleep(0)  # after the response: the pipeline is asynchronous
        self.process(tenant, event_ids)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def process(self, tenant: str, event_ids: list[str]) -> None:
        if not self.backend.has_tenant(tenant):
            return  # the tenant was reset or dropped meanwhile
        state = self.backend.state(tenant)
        with state.lock:
            for event_id in event_ids:
                event = state.events_by_id.get(event_id)
                if event is None or event["status"] != "accepted":
                    continue
                try:
                    self._process_one(tenant, state, event)
                except Exception as exc:  # keep the pipeline alive; show what went wrong
                    event["status"] = "error"
                    event.setdefault("errors", []).append({"error": f"{type(exc).__name__}: {exc}"})

    def _process_one(self, tenant: str, state: OursState, event: dict[str, Any]) -> None:
        allowed = self.backend.allowed(state, event["event"])
        if allowed is None:
            # [C] §9 not allow-listed → dropped, hidden from Recent Events. DESIGN.md: $identify
            # is shown all the same (it only sets properties), but goes nowhere.
            event["status"] = "filtered" if event["event"] == IDENTIFY else "dropped"
            return
        if event["mode"] != "live":
            event["status"] = "test"  # [C] §7 never forwarded to destinations
            return
        visitor = state.visitors["live"].get(event["visitor_id"])
        context = {"event": event_view(event), "visitor": visitor.view() if visitor else {}}
        blocked = {
            dest_id
            for category in state.governance
            if evaluate(category.logic, context)
            for dest_id in category.destination_ids
        }
        sent = []
        for dest_id in allowed.destination_ids:
            destination = state.destinations.get(dest_id)
            if (
                destination is None
                or not destination.active
                or not destination.takes_source(event["source"])
                or dest_id in blocked
            ):
                continue
            try:
                payload = build_payload(destination, context)
            except ValueError as exc:  # a broken mapping stops this destination, not the event
                event.setdefault("errors", []).append({"destination": dest_id, "error": str(exc)})
                continue
            self._dispatch(tenant, state, destination, event, payload)
            sent.append(dest_id)
        event["destinations"] = sent
        event["blocked_by_governance"] = sorted(blocked & set(allowed.destination_ids))
        event["status"] = "dispatched" if sent else "processed"

    def _dispatch(
        self,
        tenant: str,
        state: OursState,
        destination: Destination,
        event: dict[str, Any],
        payload: dict[str, Any],
    ) -> None:
        if event["mode"] != "live":  # the one gate every dispatch passes
            raise AssertionError("a test-mode event must never reach a destination")
        record = {
            "id": state.next_id("dsp"),
            "event_id": event["id"],
            "event": event["event"],
            "destination": destination.id,
            "destination_type": destination.type,
            "payload": payload,
            "time": format_instant(self.kernel.clock.now()),
            "correlation_id": event.get("correlation_id"),
            "order": next_order(),
        }
        record.update(deliver(self.kernel, tenant, destination, event, payload))
        state.dispatches.append(record)
        state.sources[event["source"]].last_dispatched_at = record["time"]


__all__ = ["Mapping", "Pipeline", "build_payload", "evaluate", "modify", "render"]
