"""What ``verify`` reports between a recorded answer and the fake's answer to the same request:
status, content type, every key missing or extra, every type change (``null`` included), the
shapes of all list elements, and the values of constant-like fields (the spec's ``const``
properties and the vendor's outcome codes such as Caspio's ``Code`` or ``token_type``). Other
values are data and may differ; ids and timestamps are normalised before this runs."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from .vendors import Vendor


@cache
def value_keys(v: Vendor) -> frozenset[str]:
    return frozenset(v.value_keys) | frozenset(_const_properties(v.spec()))


def _const_properties(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, schema in (node.get("properties") or {}).items():
            if isinstance(schema, dict) and "const" in schema:
                yield name
        for child in node.values():
            yield from _const_properties(child)
    elif isinstance(node, list):
        for child in node:
            yield from _const_properties(child)


def compare(want: dict[str, Any], have: dict[str, Any], keys: frozenset[str]) -> list[str]:
    diffs = []
    if want["status"] != have["status"]:
        diffs.append(f"status {want['status']} → {have['status']}")
    w_type = (want.get("headers") or {}).get("content-type", "").split(";")[0]
    h_type = (have.get("headers") or {}).get("content-type", "").split(";")[0]
    if w_type != h_type:
        diffs.append(f"content-type {w_type or '-'} → {h_type or '-'}")
    return diffs + body_diff(want.get("body"), have.get("body"), "body", keys)


def body_diff(want: Any, have: Any, path: str, keys: frozenset[str], key: str = "") -> list[str]:
    """Recursively: types (numbers are one type; null is a type of its own), keys, every list
    element (checked against the recorded element at the same place, or the first one), and the
    values of ``keys``."""
    if _kind(want) != _kind(have):
        return [f"{path}: type {_kind(want)} → {_kind(have)}"]
    if isinstance(want, dict):
        diffs = [f"{path}.{k}: missing" for k in want if k not in have]
        diffs += [f"{path}.{k}: extra" for k in have if k not in want]
        for k in want:
            if k in have:
                diffs += body_diff(want[k], have[k], f"{path}.{k}", keys, k)
        return diffs
    if isinstance(want, list):
        if not want:
            return []
        diffs = []
        for i, item in enumerate(have):
            template = want[i] if i < len(want) else want[0]
            diffs += body_diff(template, item, f"{path}[{i}]", keys, key)
        return diffs
    if key in keys and want != have:
        return [f"{path}: {want!r} → {have!r}"]
    return []


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}[type(value)]
