"""PHI reaches destinations hashed or redacted by default ([C] ours-privacy.md §9), whatever
the field is called and however deep it sits; detection rules are in mocks/ours/phi.py."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.mocks.ours.destinations import DEFAULT_MAPPINGS, Destination
from careflow.mocks.ours.phi import kind_of_name, kind_of_value
from careflow.mocks.ours.pipeline import build_payload

from .conftest import OursEnv


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("patient_email", "email"),
        ("patientEmail", "email"),
        ("callerphone", "phone"),
        ("mobile", "phone"),
        ("ph", "phone"),
        ("em", "email"),
        ("first_name", "text"),
        ("callerName", "text"),
        ("name", "text"),
        ("first", "text"),
        ("home_address", "text"),
        ("dob", "text"),
        ("notes", "text"),
        ("graph", None),
        ("phase", None),
        ("event_name", None),
        ("utm_name", None),
        ("lead_id", None),
        ("value", None),
    ],
)
def test_phi_by_name_uses_words_not_substrings_of_short_aliases(key: str, kind: str) -> None:
    assert kind_of_name(key) == kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("x@y.com", "email"),
        ("reach me at Pat@Example.org please", "email"),
        ("+1 (312) 555-0100", "phone"),
        ("312.555.0100", "phone"),
        ("3125550100", "phone"),
        ("2026-01-01T12:00:00Z", None),
        ("555-0100", None),  # 7 digits: not a full number (a PHI-named field is still hashed)
        ("lead_created", None),
        (1767268800000, None),  # numbers are not value-checked: epoch timestamps
    ],
)
def test_phi_by_value(value: Any, kind: str | None) -> None:
    assert kind_of_value(value) == kind


def test_phi_in_event_properties_and_custom_mappings_is_hashed(env: OursEnv) -> None:
    env.admin(
        "POST",
        "/destinations",
        json={
            "id": "custom",
            "type": "Facebook",
            "mappings": [
                {"property": "contact", "map": "{{ visitor.email }}"},
                {"property": "who", "map": "{{ visitor.first_name }}"},
                {"property": "event", "map": "{{ event.event }}"},
                {"property": "raw", "map": "{{ visitor.email }}", "modification": "None"},
            ],
        },
    )
    env.admin(
        "PUT",
        "/allowed-events",
        json={"items": [{"name": "lead_created", "destinationIds": ["meta-capi", "custom"]}]},
    )
    env.track(
        event="lead_created",
        email="pat@example.com",
        userProperties={"first_name": "Pat"},
        eventProperties={
            "patient_email": "x@y.com",
            "mobile": "+13125550100",
            "caller_phone": "+1 312 555 0100",
            "notes": "has diabetes",
            "graph": "bar",
            "contact": {"home": "(312) 555-0199", "list": ["z@w.org"]},
        },
    )
    meta, custom = env.dispatches()
    data = meta["payload"]["custom_data"]
    assert data["patient_email"] == sha("x@y.com")
    assert data["mobile"] == data["caller_phone"] == sha("13125550100")
    assert data["notes"] == sha("has diabetes")
    assert data["graph"] == "bar"
    assert data["contact"] == {"home": sha("3125550199"), "list": [sha("z@w.org")]}
    assert custom["payload"] == {
        "contact": sha("pat@example.com"),
        "who": sha("pat"),
        "event": "lead_created",
        "raw": "pat@example.com",  # an explicit modification decides
    }


# --- property: an email or phone value never reaches a destination in clear ------------------

KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True)
SEPARATORS = st.sampled_from([" ", "-", ".", ""])


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=10, max_size=15))
    groups, at = [], 0
    while at < len(digits):
        size = draw(st.integers(2, 4))
        groups.append(digits[at : at + size])
        at += size
    if draw(st.booleans()):
        groups[0] = f"({groups[0]})"
    return draw(st.sampled_from(["", "+"])) + draw(SEPARATORS).join(groups)


PHI_VALUES = st.emails() | phones()
HARMLESS = st.sampled_from(["bar", "lead_created", "", None, True, 7, 2.5])
TREES = st.recursive(
    PHI_VALUES | HARMLESS,
    lambda children: st.dictionaries(KEYS, children, max_size=3) | st.lists(children, max_size=3),
    max_leaves=8,
)


def _phi_leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _phi_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _phi_leaves(item)]
    return [value] if isinstance(value, str) and kind_of_value(value) else []


@settings(max_examples=50, deadline=None)
@given(
    props=st.dictionaries(KEYS, TREES, min_size=1, max_size=4),
    key=KEYS,
    email=st.emails(),
    phone=phones(),
    policy=st.sampled_from(["hash", "redact"]),
)
def test_email_or_phone_values_never_reach_a_destination_in_clear(
    props: dict[str, Any], key: str, email: str, phone: str, policy: str
) -> None:
    context = {
        "event": {"event": "lead_created", "distinct_id": "d-1", "event_properties": props},
        "visitor": {"id": "v1", "email": email, "phone_number": phone, "custom_properties": props},
    }
    custom = [
        {"property": key, "map": "{{ event.event_properties }}"},
        {"property": f"x.{key}", "map": "{{ visitor.custom_properties }}"},
        {"property": "contact", "map": "{{ visitor.email }}"},
        {"property": "line", "map": "call {{ visitor.phone_number }} or {{ visitor.email }}"},
    ]
    destinations = [
        Destination(id=kind, type=kind, phi_default=policy, settings={"url": "http://127.0.0.1/"})
        for kind in DEFAULT_MAPPINGS
    ]
    destinations.append(Destination.parse({"id": "c", "type": "Google", "mappings": custom}))
    secrets = [email, phone, *_phi_leaves(props)]
    for destination in destinations:
        sent = json.dumps(build_payload(destination, context))
        for secret in secrets:
            assert json.dumps(secret)[1:-1] not in sent, (destination.id, secret)


def test_hashing_salt_is_prefixed_to_every_hash(env: OursEnv) -> None:
    env.admin(
        "POST",
        "/destinations",
        json={
            "id": "salted",
            "type": "Facebook",
            "hashingSalt": "pepper",
            "mappings": [
                {
                    "property": "em",
                    "map": "{{ visitor.email }}",
                    "modification": "HashedNormalized",
                },
                {"property": "md5", "map": "{{ event.event }}", "modification": "HashMD5"},
                {"property": "phone", "map": "{{ visitor.phone_number }}"},
                {"property": "props", "map": "{{ event.event_properties }}"},
            ],
        },
    )
    env.admin(
        "PUT",
        "/allowed-events",
        json={"items": [{"name": "lead_created", "destinationIds": ["salted"]}]},
    )
    env.track(
        event="lead_created",
        email="Pat@Example.com",
        userProperties={"phone_number": "+1 312 555 0100"},
        eventProperties={"contact": "x@y.com", "lead_id": 3},
    )
    [dispatch] = env.dispatches()
    assert dispatch["payload"] == {
        "em": sha("pepperpat@example.com"),
        "md5": hashlib.md5(b"pepperlead_created").hexdigest(),
        "phone": sha("pepper13125550100"),
        "props": {"contact": sha("pepperx@y.com"), "lead_id": 3},
    }
