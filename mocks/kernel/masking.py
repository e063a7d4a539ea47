"""Masking of secrets and PHI-marked fields for journals, logs and audit records.

One rule set for the whole stack: a key whose normalised name is a secret or a PHI field reads
``"***"``, wherever it appears (headers, query strings, JSON and form bodies, nested values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import careflow.strictjson as strictjson

MASK = "***"
BODY_VIEW_LIMIT = 1024 * 1024  # bigger request bodies are summarised, not parsed to be masked
VERDICTS_KEPT = 4096  # key names whose verdict a Masker remembers

SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "token",
        "apitoken",
        "apisecret",
        "apikey",
        "xapikey",
        "secret",
        "clientsecret",
        "clientid",  # a Caspio client id identifies its web services profile (issue 15)
        "accesstoken",
        "refreshtoken",
        "password",
        "mastertoken",
        "mastersecret",
        "testtoken",
        "webhooksecret",
    }
)

# Fields that commonly carry PHI in the three vendors' payloads (names, contacts, addresses).
PHI_KEYS = frozenset(
    {
        "email",
        "emailaddress",
        "phone",
        "phonenumber",
        "callernumber",
        "contactname",
        "contactemailaddress",
        "contactphonenumber",
        "name",
        "firstname",
        "lastname",
        "fullname",
        "patientname",
        "address",
        "streetaddress",
        "dob",
        "dateofbirth",
        "birthdate",
        "ssn",
    }
)


def normalise(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


_ATOMS = frozenset({str, int, float, bool, type(None)})  # values a mask never looks into


class Masker:
    """Masks values whose key is a secret or PHI; extra keys can be added per service."""

    def __init__(self, extra_keys: Iterable[str] = ()) -> None:
        self.keys = SECRET_KEYS | PHI_KEYS | {normalise(k) for k in extra_keys}
        # key → verdict: payloads repeat a few names many times (a page of 25 leads has 5,000
        # keys and ~60 names), so each name is normalised once
        self._verdicts: dict[str, bool] = {}

    def is_sensitive(self, key: str) -> bool:
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._decide(key)
            if len(self._verdicts) < VERDICTS_KEPT:
                self._verdicts[key] = verdict
        return verdict

    def _decide(self, key: str) -> bool:
        name = normalise(key)
        # bracketed form keys such as additional_fields[Email] count by their inner name too
        inner = re.findall(r"\[([^\]]+)\]", key)
        return name in self.keys or any(normalise(part) in self.keys for part in inner)

    def value(self, data: Any) -> Any:
        if type(data) is dict or isinstance(data, Mapping):
            sensitive = self.is_sensitive
            return {
                k: (
                    MASK
                    if isinstance(k, str) and sensitive(k)
                    else (
                        self.value(v)
                        if type(v) not in _ATOMS and isinstance(v, Mapping | list)
                        else v
                    )
                )
                for k, v in data.items()
            }
        if isinstance(data, list):
            return [
                self.value(item)
                if type(item) not in _ATOMS and isinstance(item, Mapping | list)
                else item
                for item in data
            ]
        return data

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        return {k: (MASK if self.is_sensitive(k) else v) for k, v in headers}

    def query(self, query: str) -> str:
        if not query:
            return ""
        pairs = parse_qsl(query, keep_blank_values=True)
        return urlencode([(k, MASK if self.is_sensitive(k) else v) for k, v in pairs])

    def body(self, raw: bytes, content_type: str = "") -> Any:
        """Decode a request body (JSON or form) and mask it; other bodies are summarised. A
        body the stack refused (careflow.limits) is summarised with the reason: the journal
        must always answer, whatever it was sent."""
        if not raw:
            return None
        if len(raw) > BODY_VIEW_LIMIT:
            return f"<body of {len(raw)} bytes: too large to journal>"
        text = raw.decode("utf-8", errors="replace")
        if "json" in content_type or text[:1] in "{[":
            try:
                return self.value(strictjson.loads(raw))
            except strictjson.JSONRefused as exc:  # never journal it raw: it may not encode
                return f"<JSON body refused ({exc}), {len(raw)} bytes>"
            except ValueError:
                pass
        if "x-www-form-urlencoded" in content_type:
            pairs = parse_qsl(text, keep_blank_values=True)
            return {k: (MASK if self.is_sensitive(k) else v) for k, v in pairs}
        if "multipart" in content_type:
            return f"<multipart body, {len(raw)} bytes>"
        return text if len(text) <= 2000 else text[:2000] + "…"


default_masker = Masker()
