"""Request matching shared by faults and ``POST /__sandbox/journal/verify``.

``RequestView`` is a request as a fake received it (method, path, raw query string, raw headers,
raw body), decoded lazily: a fault that only names a route never parses a body. The ``*_diff``
functions say, field by field, how a request differs from what a matcher expects; an empty list
means it matches. Values are compared as received (unmasked); callers mask what they show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs

import careflow.strictjson as strictjson

ABSENT = "<absent>"  # the ``actual`` of a diff when the request has no such field


class _NoBody:
    def __repr__(self) -> str:
        return "<no JSON or form body>"


NO_BODY: Any = _NoBody()


class RequestView:
    """One request's parts; ``query``, ``headers`` and ``document`` decode on first use."""

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str = "",
        raw_headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
    ) -> None:
        self.method = method
        self.path = path
        self.query_string = query_string
        self.raw_headers = raw_headers or []
        self.body = body
        self.omitted = 0  # bytes of a body too large to keep in the journal (dropped)

    @cached_property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    @cached_property
    def headers(self) -> dict[str, str]:
        """Lower-cased names; repeated headers joined with ``", "``."""
        out: dict[str, str] = {}
        for key, value in self.raw_headers:
            name, text = key.decode("latin-1").lower(), value.decode("latin-1")
            out[name] = f"{out[name]}, {text}" if name in out else text
        return out

    @cached_property
    def document(self) -> Any:
        """The body as JSON (any content type that parses) or a form as a dict of strings;
        ``NO_BODY`` when empty or neither."""
        if not self.body:
            return NO_BODY
        content_type = self.headers.get("content-type", "")
        if "x-www-form-urlencoded" in content_type:
            form = parse_qs(self.body.decode("latin-1"), keep_blank_values=True)
            return {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        try:
            return strictjson.loads(self.body)
        except (ValueError, RecursionError):  # JSONRefused included: never matched or shown
            return NO_BODY


def _same(expected: Any, actual: Any) -> bool:
    """Scalar equality that does not take ``True`` for ``1``."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def subset_diff(expected: Any, actual: Any, field: str = "json") -> list[dict[str, Any]]:
    """How ``actual`` fails to contain ``expected``: objects match when every expected key
    matches (extra keys are fine), lists element by element (same length), scalars by value."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [{"field": field, "expected": expected, "actual": _shown(actual)}]
        diffs: list[dict[str, Any]] = []
        for key, value in expected.items():
            sub = f"{field}.{key}"
            if key not in actual:
                diffs.append({"field": sub, "expected": value, "actual": ABSENT})
            else:
                diffs.extend(subset_diff(value, actual[key], sub))
        return diffs
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [{"field": field, "expected": expected, "actual": _shown(actual)}]
        return [
            d
            for i, item in enumerate(expected)
            for d in subset_diff(item, actual[i], f"{field}[{i}]")
        ]
    if not _same(expected, actual):
        return [{"field": field, "expected": expected, "actual": _shown(actual)}]
    return []


def _shown(value: Any) -> Any:
    return ABSENT if value is NO_BODY else value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_diff(expected: Mapping[str, Any], request: RequestView) -> list[dict[str, Any]]:
    """Each expected pair must be present (a list: exactly those values, in order)."""
    diffs = []
    for key, value in expected.items():
        actual = request.query.get(key)
        wanted = [_as_text(v) for v in value] if isinstance(value, list) else [_as_text(value)]
        ok = actual is not None and (
            actual == wanted if isinstance(value, list) else wanted[0] in actual
        )
        if not ok:
            shown: Any = ABSENT if actual is None else (actual[0] if len(actual) == 1 else actual)
            diffs.append({"field": f"query.{key}", "expected": value, "actual": shown})
    return diffs


def headers_diff(expected: Mapping[str, Any], request: RequestView) -> list[dict[str, Any]]:
    """Header names are case-insensitive; values compare exactly."""
    diffs = []
    for key, value in expected.items():
        actual = request.headers.get(key.lower())
        if actual is None or actual != _as_text(value):
            field = f"headers.{key}"
            diffs.append({"field": field, "expected": value, "actual": actual or ABSENT})
    return diffs


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``/api/v1/leads/{id}`` and ``/api/*`` style patterns to a regex matching whole paths
    (a trailing slash is optional)."""
    if pattern == "*":
        return re.compile(".*")
    out = []
    for piece in re.split(r"(\{[^}/]+\}|\*)", pattern):
        if piece == "*":
            out.append(".*")
        elif piece.startswith("{") and piece.endswith("}"):
            out.append("[^/]+")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out) + "/?")
