"""What the pipeline treats as PHI on its way to a destination.

[C] ours-privacy.md §9 "Default PHI posture": email, phone and other visitor properties reach
destinations hashed or redacted by default, configurable per destination. The real product's
detector is not published ([?]); the fake's choice, written once here:

- **by name**: a payload key, or a ``{{event.x}}``/``{{visitor.x}}`` variable a mapping reads,
  whose name (split into words: ``patientEmail`` → patient, email) says email, phone/mobile/fax,
  a person's name (``first_name``, ``caller_name``, bare ``name``…), address/zip, date of birth,
  SSN/MRN or clinical notes; the short Meta/Google aliases (``em``, ``ph``, ``fn``, ``ln``,
  ``db``, ``zp``…) only as a whole key, so ``graph`` is not a phone;
- **by value**: any string that contains an email address, or is a phone number (10-15 digits,
  optional ``+``, spaces, dots, dashes, brackets). Numbers are not value-checked (epoch
  timestamps look like phone numbers).

A mapping with an explicit modification (``None`` included) is taken as the configured treatment.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from careflow.mocks.kernel.masking import PHI_KEYS, normalise

PhiKind = Literal["email", "phone", "text"]

EMAIL_WORDS = frozenset({"email", "emails", "mail", "emailaddress"})
PHONE_WORDS = frozenset(
    {"phone", "phones", "mobile", "cell", "cellphone", "tel", "telephone", "fax", "sms"}
)
# "name" counts alone or after a word naming a person (event_name, utm_name are not PHI)
PERSON_WORDS = frozenset(
    {"first", "last", "full", "middle", "given", "family", "maiden", "legal", "nick",
     "preferred", "patient", "contact", "caller", "customer", "client", "person", "visitor",
     "user", "member", "guardian", "parent", "spouse", "emergency", "recipient", "sender",
     "billing", "shipping"}
)  # fmt: skip
NAME_WORDS = frozenset(
    {"firstname", "lastname", "fullname", "middlename", "surname", "givenname", "familyname",
     "fname", "lname", "initials"}
)  # fmt: skip
OTHER_WORDS = frozenset(
    {"address", "addr", "street", "zip", "zipcode", "postal", "postcode", "dob", "birth",
     "birthdate", "birthday", "ssn", "mrn", "notes", "note", "diagnosis", "symptoms",
     "medication", "medications", "insurance"}
)  # fmt: skip
# whole-key aliases used by ad platforms (Meta CAPI user_data, Google Ads identifiers)
ALIASES: dict[str, PhiKind] = {
    "em": "email", "ph": "phone", "fn": "text", "ln": "text", "db": "text", "zp": "text",
    "ge": "text", "externalid": "text",
    # a bare name part as the whole key ("first": "Jane")
    "first": "text", "last": "text", "given": "text", "middle": "text",
}  # fmt: skip
# glued words (``patientemail``, ``callerphone``) are caught by these substrings
SUBSTRINGS: dict[str, PhiKind] = {
    "email": "email", "phone": "phone", "firstname": "text", "lastname": "text",
    "fullname": "text", "surname": "text", "address": "text", "birth": "text",
}  # fmt: skip

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_EMAIL = re.compile(r"[^\s@]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(r"\+?[\d\s().\-]+")
_TEMPLATE_PATH = re.compile(r"\b(?:event|visitor)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def words(key: str) -> list[str]:
    """``patientEmail`` / ``caller_phone`` / ``Home-Address2`` → lower-case words."""
    return [w.lower() for w in _WORD.findall(key)]


@lru_cache(maxsize=4096)  # per dispatch, for every key: names repeat
def kind_of_name(key: str) -> PhiKind | None:
    """The PHI a field of this name carries, if any (by its words, aliases, glued words)."""
    flat = normalise(key)
    if not flat:
        return None
    if flat in ALIASES:
        return ALIASES[flat]
    parts = words(key)
    if any(w in EMAIL_WORDS for w in parts):
        return "email"
    if any(w in PHONE_WORDS for w in parts):
        return "phone"
    if any(w in NAME_WORDS or w in OTHER_WORDS for w in parts):
        return "text"
    if "name" in parts:
        at = parts.index("name")
        if at == 0 or parts[at - 1] in PERSON_WORDS:
            return "text"
    for fragment, kind in SUBSTRINGS.items():
        if fragment in flat:
            return kind
    if flat in PHI_KEYS:  # the kernel's masking list (contactname, callernumber, …)
        return "phone" if "number" in flat else "text"
    return None


def kind_of_value(value: Any) -> PhiKind | None:
    """An email anywhere in a string, or a string that is a phone number."""
    if not isinstance(value, str):
        return None
    if "@" in value and _EMAIL.search(value):  # (the search alone is slow on long text)
        return "email"
    text = value.strip()
    if _PHONE.fullmatch(text) and 10 <= sum(ch.isdigit() for ch in text) <= 15:
        return "phone"
    return None


@lru_cache(maxsize=1024)
def template_reads_phi(template: str) -> PhiKind | None:
    """The PHI a mapping's template reads (``{{ visitor.first_name }}`` → text), if any."""
    for match in _TEMPLATE_PATH.finditer(template):
        for segment in match.group(1).split(".")[1:]:
            kind = kind_of_name(segment)
            if kind is not None:
                return kind
    return None
