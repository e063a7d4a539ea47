"""``POST /__sandbox/journal/verify``: did this fake receive the requests a test expects?

The matcher (DESIGN.md, "Verify"): ``method``, ``path`` (exact or a route template such as
``/api/v1/leads/{id}``) or ``path_regex`` (the whole path must match), ``query`` and ``headers``
(objects whose pairs must all match), ``json`` (a subset of the JSON or form body), and at most
one count: ``times`` (exactly n), ``at_least`` (n or more; the default is ``at_least: 1``) or
``never: true``. This repository adds ``status`` (the answer's status code).

Requests are matched on what the fake received (unmasked, in memory); the answer shows journal
entries and diffs masked. When the count is wrong the answer lists the closest requests, best
first, with a field-by-field diff, and a ``message`` a test can show as it is.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .journal import JournalRecord
from .masking import MASK, Masker
from .matching import (
    ABSENT,
    compile_pattern,
    headers_diff,
    query_diff,
    subset_diff,
)

KEYS = (
    "method",
    "path",
    "path_regex",
    "query",
    "json",
    "headers",
    "status",
    "times",
    "at_least",
    "never",
)
CLOSEST = 3  # how many near misses an answer lists


class MatcherError(ValueError):
    """A malformed matcher (answered 422, naming the key)."""


@dataclass
class Matcher:
    method: str | None = None
    path: str | None = None
    path_regex: str | None = None
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    has_json: bool = False
    status: int | None = None
    low: int = 1  # matched must be within [low, high]
    high: int | None = None
    _path_re: re.Pattern[str] | None = None

    def expectation(self) -> str:
        if self.high == 0:
            return "no request"
        if self.high is None:
            return f"at least {self.low} request{'s' if self.low != 1 else ''}"
        return f"exactly {self.low} request{'s' if self.low != 1 else ''}"

    def describe(self) -> str:
        parts = [self.method or "any method"]
        if self.path is not None:
            parts.append(self.path)
        elif self.path_regex is not None:
            parts.append(f"path ~ /{self.path_regex}/")
        else:
            parts.append("any path")
        if self.query:
            parts.append(f"query ⊇ {_show(self.query)}")
        if self.headers:
            parts.append(f"headers ⊇ {_show(self.headers)}")
        if self.has_json:
            parts.append(f"json ⊇ {_show(self.json)}")
        if self.status is not None:
            parts.append(f"→ {self.status}")
        return " ".join(parts)

    def route_diff(self, record: JournalRecord) -> list[dict[str, Any]]:
        diffs = []
        if self.method is not None and record.method != self.method:
            diffs.append({"field": "method", "expected": self.method, "actual": record.method})
        if self._path_re is not None and self._path_re.fullmatch(record.path) is None:
            wanted = self.path if self.path is not None else self.path_regex
            diffs.append({"field": "path", "expected": wanted, "actual": record.path})
        return diffs

    def diff(self, record: JournalRecord) -> list[dict[str, Any]]:
        """Every way ``record`` differs from the matcher (empty: it matches)."""
        diffs = self.route_diff(record)
        request = record.request
        if self.query:
            diffs += query_diff(self.query, request)
        if self.headers:
            diffs += headers_diff(self.headers, request)
        if self.has_json:
            diffs += subset_diff(self.json, request.document, "json")
        if self.status is not None and record.status != self.status:
            diffs.append({"field": "status", "expected": self.status, "actual": record.status})
        return diffs


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _count(doc: Mapping[str, Any], key: str) -> int:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MatcherError(f"'{key}' must be a whole number ≥ 0, not {_show(value)}")
    return value


def _pairs(doc: Mapping[str, Any], key: str, lists: bool) -> dict[str, Any]:
    value = doc[key]
    scalar = (str, int, float, bool)
    if not isinstance(value, dict) or not all(
        isinstance(v, scalar)
        or (lists and isinstance(v, list) and all(isinstance(x, scalar) for x in v))
        for v in value.values()
    ):
        kind = "strings, numbers or lists of them" if lists else "strings or numbers"
        raise MatcherError(f"'{key}' must be an object whose values are {kind}, not {_show(value)}")
    return dict(value)


def parse_matcher(doc: Any) -> Matcher:
    """The verify body as a ``Matcher``; a ``MatcherError`` names what is wrong."""
    if not isinstance(doc, dict):
        raise MatcherError(f"the matcher must be a JSON object with keys among {', '.join(KEYS)}")
    for key in doc:
        if key not in KEYS:
            near = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise MatcherError(f"unknown matcher key '{key}'{hint}: the keys are {', '.join(KEYS)}")
    matcher = Matcher()
    if "method" in doc:
        if not isinstance(doc["method"], str) or not doc["method"].strip():
            raise MatcherError(
                f"'method' must be a method name such as \"POST\", not {_show(doc['method'])}"
            )
        matcher.method = doc["method"].strip().upper()
    if "path" in doc and "path_regex" in doc:
        raise MatcherError("give 'path' or 'path_regex', not both")
    if "path" in doc:
        path = doc["path"]
        if not isinstance(path, str) or not path.startswith("/"):
            raise MatcherError(f"'path' must start with '/', not {_show(path)}")
        if "?" in path:
            raise MatcherError("'path' carries no query string: put its pairs in 'query'")
        matcher.path, matcher._path_re = path, compile_pattern(path)
    if "path_regex" in doc:
        if not isinstance(doc["path_regex"], str):
            raise MatcherError(f"'path_regex' must be a string, not {_show(doc['path_regex'])}")
        try:
            matcher._path_re = re.compile(doc["path_regex"])
        except re.error as exc:
            raise MatcherError(f"'path_regex' is not a valid regular expression: {exc}") from None
        matcher.path_regex = doc["path_regex"]
    if "query" in doc:
        matcher.query = _pairs(doc, "query", lists=True)
    if "headers" in doc:
        matcher.headers = _pairs(doc, "headers", lists=False)
    if "json" in doc:
        matcher.json, matcher.has_json = doc["json"], True
    if "status" in doc:
        status = doc["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise MatcherError(f"'status' must be an HTTP status (100-599), not {_show(status)}")
        matcher.status = status
    counts = [k for k in ("times", "at_least", "never") if k in doc]
    if len(counts) > 1:
        raise MatcherError(f"use at most one of 'times', 'at_least', 'never' (got {counts})")
    if "times" in doc:
        matcher.low = matcher.high = _count(doc, "times")
    elif "at_least" in doc:
        matcher.low = _count(doc, "at_least")
    elif "never" in doc:
        if not isinstance(doc["never"], bool):
            raise MatcherError(f"'never' must be true or false, not {_show(doc['never'])}")
        if doc["never"]:
            matcher.low, matcher.high = 0, 0
    return matcher


def _masked_diff(diff: dict[str, Any], masker: Masker) -> dict[str, Any]:
    """A diff as shown: the actual value of a secret or PHI field reads ``***``."""
    names = re.split(r"[.\[\]]+", diff["field"])[1:]
    actual = diff["actual"]
    if actual != ABSENT and any(name and masker.is_sensitive(name) for name in names):
        actual = MASK
    elif diff["field"] != "path":
        actual = masker.value(actual)
    return {**diff, "actual": actual}


def verify(
    records: Sequence[JournalRecord],
    matcher: Matcher,
    masker: Masker,
    *,
    service: str = "",
    dropped: int = 0,
) -> dict[str, Any]:
    """The verify answer: ``{"ok", "matched"}``, and when not ok ``closest`` and ``message``."""
    matched: list[JournalRecord] = []
    missed: list[tuple[int, int, int, JournalRecord, list[dict[str, Any]]]] = []
    for record in records:
        diffs = matcher.diff(record)
        if diffs:
            off_route = 1 if matcher.route_diff(record) else 0
            missed.append((off_route, len(diffs), -record.id, record, diffs))
        else:
            matched.append(record)
    n = len(matched)
    ok = n >= matcher.low and (matcher.high is None or n <= matcher.high)
    answer: dict[str, Any] = {"ok": ok, "matched": n}
    if ok:
        return answer
    if n < matcher.low:
        missed.sort(key=lambda item: item[:3])
        closest = [
            {"entry": record.view(masker), "diff": [_masked_diff(d, masker) for d in diffs]}
            for *_, record, diffs in missed[:CLOSEST]
        ]
    else:  # too many: the ones that matched, newest first
        closest = [{"entry": r.view(masker), "diff": []} for r in reversed(matched[-CLOSEST:])]
    answer["closest"] = closest
    answer["message"] = message(
        matcher, n, closest, service=service, total=len(records), dropped=dropped
    )
    return answer


def message(
    matcher: Matcher,
    matched: int,
    closest: list[dict[str, Any]],
    *,
    service: str,
    total: int,
    dropped: int,
) -> str:
    """What a failed verify says to a person."""
    where = f" on {service}" if service else ""
    lines = [
        f"verify failed{where}: expected {matcher.expectation()} matching",
        f"    {matcher.describe()}",
        f"but {matched} matched (of {total} journaled request{'s' if total != 1 else ''}).",
    ]
    if not total:
        lines.append(f"The journal{where} is empty: no request reached it.")
    elif not closest:
        lines.append("Every journaled request matched; too few were sent.")
    elif matched < matcher.low:
        lines.append("Closest requests, best first:")
    else:
        lines.append("Requests that matched, newest first:")
    for item in closest:
        entry = item["entry"]
        lines.append(
            f"  #{entry['id']} {entry['method']} {entry['path']}"
            + (f"?{entry['query']}" if entry["query"] else "")
            + f" → {entry['status']} at {entry['time']}"
        )
        for diff in item["diff"]:
            actual = diff["actual"]
            if actual == ABSENT:
                got = ABSENT
            elif actual == MASK:
                got = "*** (masked: a secret or PHI field)"
            else:
                got = _show(actual)
            lines.append(f"      {diff['field']}: expected {_show(diff['expected'])}, got {got}")
    if dropped:
        lines.append(f"(the journal dropped {dropped} older entries: raise its capacity)")
    return "\n".join(lines)


__all__ = ["KEYS", "Matcher", "MatcherError", "message", "parse_matcher", "verify"]
