"""Scrubbing and normalising what a recording keeps.

* Secrets (keys whose parts say token, key, secret, password, cookie, authorization, signature,
  session, or ``client_id``) always read ``"***"``: the structure stays, the value never does.
* PHI is replaced with stable synthetic values (same input → same output, so a recording keeps its
  internal references): names by key (``PatientName``, ``first_name``, ``contact_name`` …),
  phones by key or by a strict pattern in free text, emails anywhere, addresses, birth dates,
  record numbers. Query strings, ``q.where`` literals and URLs inside values are scrubbed too.
* A bare ``Name`` is a person only in data rows: the vendor decides which paths carry rows
  (``Vendor.bare_name_is_person``), so a Caspio table, field or webhook keeps its own name.
* Volatile values (ids, timestamps) become placeholders of the same type. Timestamps are
  normalised first and the phone pattern never matches an ISO date or time, so dates survive.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_PARTS = frozenset(
    [
        "token",
        "secret",
        "password",
        "passwd",
        "cookie",
        "authorization",
        "key",
        "apikey",
        "signature",
        "session",
        "credential",
        "credentials",
    ]
)
SECRET_KEYS = frozenset({"client_id", "clientid"})
NOT_SECRET = frozenset({"token_type"})  # "bearer": a documented constant, compared by verify
# "<structural>_name" is the name of a thing, not of a person (form_name, profile_name …)
STRUCTURAL = frozenset(
    [
        "form",
        "phone",
        "profile",
        "account",
        "table",
        "field",
        "object",
        "webhook",
        "event",
        "file",
        "company",
        "business",
        "display",
        "host",
        "domain",
        "campaign",
        "source",
        "app",
        "application",
        "column",
        "view",
        "page",
        "tag",
        "group",
        "site",
        "device",
        "browser",
        "os",
        "product",
        "plan",
        "destination",
        "property",
        "folder",
        "directory",
    ]
)
PERSON_NAMES = ("firstname", "lastname", "fullname", "middlename", "givenname", "familyname")
ADDRESS_PARTS = frozenset(["address", "street", "city", "zip", "zipcode", "postal", "postcode"])
PHONE_PARTS = frozenset(["phone", "mobile", "fax", "cell"])
RECORD_NUMBER_PARTS = frozenset(["mrn", "ssn"])
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# North American numbers with separators, or E.164; never 4-2-2 dates or hh:mm:ss times
PHONE = re.compile(
    r"(?<![\w+:/.-])(?:(?:\+1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
    r"|\+\d{10,14})(?![\w-])"
)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")
ID_KEYS = re.compile(r"(?i)(^id$|_id$|^pk_id$|id$)")
WHERE_LITERAL = re.compile(
    r"(\[?\w+\]?)(\s*(?:=|<>|!=|<=|>=|<|>|\s(?:NOT\s+)?LIKE\s)\s*N?)'((?:[^']|'')*)'", re.I
)
WHERE_IN = re.compile(r"(\[?\w+\]?)(\s+(?:NOT\s+)?IN\s*)\(([^)]*)\)", re.I)
QUOTED = re.compile(r"(N?)'((?:[^']|'')*)'")
SYNTHETIC_EMAIL = re.compile(r"^person\d{5}@example\.com$")
FIRST = ["Avery", "Jordan", "Casey", "Riley", "Quinn", "Morgan", "Rowan", "Sage"]
LAST = ["Placeholder", "Example", "Sample", "Testcase", "Fakename", "Demo"]


def _digest(value: str) -> int:
    return int(hashlib.sha256(value.encode()).hexdigest()[:12], 16)


def fake_email(value: str) -> str:
    if SYNTHETIC_EMAIL.match(value):
        return value  # already synthetic: scrubbing twice changes nothing
    return f"person{_digest(value.lower()) % 100000:05d}@example.com"


def fake_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]  # +1 (704) 555-8899 and 704.555.8899 are one number
    if re.fullmatch(r"20255501\d\d", digits):
        return f"+1{digits}"  # already synthetic
    return f"+1202555{100 + _digest(digits) % 100:04d}"  # +1 202 555-01xx: the fictional range


def fake_name(value: str, part: str = "full") -> str:
    words = value.split()
    if (words and words[0] in FIRST and all(w in LAST for w in words[1:])) or value in LAST:
        return value  # already synthetic
    n = _digest(value.strip().lower())
    first, last = FIRST[n % len(FIRST)], LAST[(n // 8) % len(LAST)]
    return {"first": first, "last": last}.get(part, f"{first} {last}")


def fake_address(value: str) -> str:
    return f"Sandbox-{_digest(value) % 10000:04d}"


def key_parts(key: str) -> list[str]:
    """``PatientName`` → [patient, name]; ``x-api-key`` → [x, api, key]; ``PK_ID`` → [pk, id]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", str(key))
    return [p for p in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if p]


def is_secret(key: str) -> bool:
    parts = key_parts(key)
    joined = "_".join(parts)
    if joined in NOT_SECRET:
        return False
    return joined in SECRET_KEYS or any(p in SECRET_PARTS for p in parts)


def name_kind(key: str, rows: bool) -> str | None:
    """ "first", "last" or "full" when ``key`` holds a person's name; None otherwise."""
    parts = key_parts(key)
    joined = "".join(parts)
    if joined.endswith(PERSON_NAMES) or parts[-1:] == ["surname"]:
        if joined.endswith(("firstname", "givenname")):
            return "first"
        return "last" if joined.endswith(("lastname", "familyname", "surname")) else "full"
    if parts[-1:] != ["name"]:
        return None
    if len(parts) == 1:
        return "full" if rows else None  # a bare Name: a person only in data rows
    return None if parts[-2] in STRUCTURAL else "full"


def scrub_text(text: str) -> str:
    """Emails and phone numbers anywhere in free text."""
    text = EMAIL.sub(lambda m: fake_email(m.group(0)), text)
    return PHONE.sub(lambda m: fake_phone(m.group(0)), text)


def scrub_value(key: str, value: str, rows: bool) -> str:
    """One string value under ``key``."""
    if not value:
        return value
    if is_secret(key):
        return MASK
    parts = key_parts(key)
    kind = name_kind(key, rows)
    if kind:
        return fake_name(value, kind)
    if "dob" in parts or any("birth" in p for p in parts):
        return "1900-01-01"
    if RECORD_NUMBER_PARTS & set(parts):
        return f"REC-{_digest(value) % 100000:05d}"
    if ADDRESS_PARTS & set(parts) and "email" not in parts:
        return fake_address(value)
    if PHONE_PARTS & set(parts) and parts[-1] != "name" and len(re.sub(r"\D", "", value)) >= 7:
        return fake_phone(value)
    if parts[-1:] == ["where"]:  # q.where, where, Where
        return scrub_where(value, rows)
    if re.match(r"(?i)^https?://", value) and "?" in value:
        return scrub_url(value, rows)
    return scrub_text(value)


def scrub_where(where: str, rows: bool) -> str:
    """Literals of ``column op 'literal'`` and ``column IN ('a', 'b')`` scrubbed as values of
    that column; then emails and phones anywhere."""

    def literal(column: str, text: str) -> str:
        value = scrub_value(column.strip("[]"), text.replace("''", "'"), rows)
        return value.replace("'", "''")

    def one(m: re.Match[str]) -> str:
        return f"{m.group(1)}{m.group(2)}'{literal(m.group(1), m.group(3))}'"

    def many(m: re.Match[str]) -> str:
        inner = QUOTED.sub(lambda q: f"{q.group(1)}'{literal(m.group(1), q.group(2))}'", m.group(3))
        return f"{m.group(1)}{m.group(2)}({inner})"

    return scrub_text(WHERE_IN.sub(many, WHERE_LITERAL.sub(one, where)))


def scrub_url(url: str, rows: bool) -> str:
    parts = urlsplit(url)
    query = [(k, scrub_value(k, v, rows)) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(path=scrub_text(parts.path), query=urlencode(query)))


def mask_secrets(value: Any) -> Any:
    """Every secret-keyed value → ``"***"``, at any depth (also when PHI is kept)."""
    if isinstance(value, dict):
        return {k: MASK if v and is_secret(str(k)) else mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def scrub(value: Any, key: str = "", rows: bool = True) -> Any:
    """Secrets masked and PHI replaced with stable synthetic values; structure kept.
    ``rows``: whether a bare ``Name`` here is a person's (see the module docstring)."""
    if key and is_secret(key) and value not in (None, "", {}, []):
        return MASK
    if isinstance(value, dict):
        return {k: scrub(v, str(k), rows) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key, rows) for v in value]
    if isinstance(value, str):
        return scrub_value(key, value, rows)
    return value


def normalise(value: Any, key: str = "") -> Any:
    """Ids and timestamps → placeholders of the same type, so recordings diff cleanly."""
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, key) for v in value]
    if isinstance(value, str) and TIMESTAMP.match(value):
        return "<timestamp>"
    if ID_KEYS.search(key) and isinstance(value, int) and not isinstance(value, bool):
        return 0
    if ID_KEYS.search(key) and isinstance(value, str):
        return "<id>"
    return value
