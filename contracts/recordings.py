"""Recordings: real request/response pairs kept under ``contracts/recordings/<vendor>/``, scrubbed
of secrets and PHI, with volatile values normalised, and replayed against the fake by ``verify``.

Scrubbing is on by default and stable: the same real value always becomes the same synthetic
value (``example.com`` emails, ``555-01xx`` phones, obviously fake names), so a recording keeps
its internal references (the email searched for is the email found) while no real value
survives. Authorization headers, tokens and secrets are dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .cases import Exchange, load_cases, run_case
from .target import Target

SECRET_KEYS = re.compile(
    r"(?i)^(authorization|token|test_token|access_token|refresh_token|.*secret.*|api_key|password)$"
)
NAME_KEYS = re.compile(r"(?i)(^|_)(name|first_?name|last_?name|caller_name|sender_name)$")
ADDRESS_KEYS = re.compile(r"(?i)(^|_)(address|street|city|zip|postal_?code|ip_address)$")
BIRTH_KEYS = re.compile(r"(?i)(^dob$|birth)")
NOT_PHI = re.compile(r"(?i)^(form_name|phone_name|profile_name|account_name|table|objectname)$")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+?\d[\d\s().-]{8,}\d")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")
ID_KEYS = re.compile(r"(?i)(^id$|_id$|^pk_id$|id$)")
FIRST = ["Avery", "Jordan", "Casey", "Riley", "Quinn", "Morgan", "Rowan", "Sage"]
LAST = ["Placeholder", "Example", "Sample", "Testcase", "Fakename", "Demo"]


def _digest(value: str) -> int:
    return int(hashlib.sha256(value.encode()).hexdigest()[:12], 16)


def fake_email(value: str) -> str:
    return f"person{_digest(value.lower()) % 100000:05d}@example.com"


def fake_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return f"+1555010{_digest(digits) % 100:02d}"  # the reserved 555-01xx range


def fake_name(value: str) -> str:
    n = _digest(value.strip().lower())
    return f"{FIRST[n % len(FIRST)]} {LAST[(n // 8) % len(LAST)]}"


def fake_address(value: str) -> str:
    return f"Sandbox-{_digest(value) % 10000:04d}"


def scrub(value: Any, key: str = "") -> Any:
    """Secrets removed, PHI replaced with stable synthetic values; structure kept."""
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items() if not SECRET_KEYS.match(str(k))}
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    if not isinstance(value, str) or not value:
        return value
    if NOT_PHI.match(key):
        return value
    if BIRTH_KEYS.search(key):
        return "1900-01-01"
    if NAME_KEYS.search(key):
        return fake_name(value)
    if ADDRESS_KEYS.search(key) and "email" not in key.lower():
        return fake_address(value)
    value = EMAIL.sub(lambda m: fake_email(m.group(0)), value)
    return PHONE.sub(lambda m: fake_phone(m.group(0)), value)


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


def exchange_record(exchange: Exchange, clean: bool = True) -> dict[str, Any]:
    data = asdict(exchange)
    data["request"]["headers"] = {
        k: v for k, v in data["request"]["headers"].items() if not SECRET_KEYS.match(k)
    }
    if clean:
        data["request"] = scrub(data["request"])
        data["response"] = normalise(scrub(data["response"]))
    return data


def record(target: Target, out_dir: Path, *, clean: bool = True) -> list[Path]:
    """Run the vendor's cases against ``target`` and store what was sent and answered."""
    out_dir.mkdir(parents=True, exist_ok=True)
    admin = target.has_admin()
    written = []
    for case in load_cases(target.vendor):
        result = run_case(target, case, admin)
        if result.status == "skipped" or not result.exchanges:
            continue
        doc = {
            "vendor": target.vendor.name,
            "case": case["name"],
            "recorded_from": target.label,
            "scrubbed": clean,
            "exchanges": [exchange_record(e, clean) for e in result.exchanges],
        }
        path = out_dir / f"{slug(case['name'])}.json"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def import_har(vendor_name: str, har: Path, out_dir: Path, *, clean: bool = True) -> list[Path]:
    """Each HAR entry becomes a one-exchange recording (replayed as a raw request)."""
    entries = json.loads(har.read_text()).get("log", {}).get("entries", [])
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, entry in enumerate(entries, 1):
        req, res = entry["request"], entry["response"]
        from urllib.parse import urlsplit

        url = urlsplit(req["url"])
        body_text = (req.get("postData") or {}).get("text")
        headers = {h["name"].lower(): h["value"] for h in req.get("headers", [])}
        exchange = Exchange(
            case="",
            step=1,
            auth="bearer" if headers.get("authorization", "").lower().startswith("bearer") else "",
            request={
                "method": req["method"].upper(),
                "path": url.path,
                "query": {q["name"]: q["value"] for q in req.get("queryString", [])},
                "headers": headers,
                "json": _maybe_json(body_text),
                "form": None,
            },
            response={
                "status": res["status"],
                "headers": {"content-type": _header(res, "content-type")},
                "body": _maybe_json((res.get("content") or {}).get("text")),
            },
        )
        doc = {
            "vendor": vendor_name,
            "case": "",
            "recorded_from": f"HAR {har.name}",
            "scrubbed": clean,
            "exchanges": [exchange_record(exchange, clean)],
        }
        path = out_dir / f"har-{i:03d}-{slug(url.path)}.json"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


# verify --------------------------------------------------------------------------------------
def verify(target: Target, recordings: list[Path]) -> dict[str, list[str]]:
    """Replay each recording against ``target`` (the fake); name every difference per file."""
    cases = {c["name"]: c for c in load_cases(target.vendor)}
    out: dict[str, list[str]] = {}
    for path in recordings:
        doc = json.loads(path.read_text())
        recorded = doc["exchanges"]
        if doc.get("case") in cases:
            got = run_case(target, cases[doc["case"]]).exchanges
            fresh = [exchange_record(e, doc.get("scrubbed", True)) for e in got]
        else:
            fresh = [replay(target, e, doc.get("scrubbed", True)) for e in recorded]
        diffs = []
        for i, (want, have) in enumerate(zip(recorded, fresh, strict=False), 1):
            where = f"{want['request']['method']} {want['request']['path']}"
            diffs += [
                f"exchange {i} ({where}): {d}" for d in compare(want["response"], have["response"])
            ]
        if len(fresh) < len(recorded):
            diffs.append(f"the fake stopped after {len(fresh)} of {len(recorded)} exchanges")
        out[path.name] = diffs
    return out


def replay(target: Target, recorded: dict[str, Any], clean: bool) -> dict[str, Any]:
    from .vendors import authenticate

    req = recorded["request"]
    auth = recorded.get("auth") or target.vendor.default_auth
    credential = authenticate(target.vendor, auth, target.client, target.credentials)
    body = req.get("json")
    if isinstance(body, dict) and credential.body:
        body = {**body, **credential.body}
    response = target.client.request(
        req["method"],
        target.base_url + req["path"],
        params=req.get("query") or None,
        headers=credential.headers,
        json=body,
        data=req.get("form"),
    )
    try:
        parsed = response.json()
    except ValueError:
        parsed = response.text or None
    data = {
        "request": req,
        "response": {
            "status": response.status_code,
            "headers": {"content-type": response.headers.get("content-type", "")},
            "body": parsed,
        },
    }
    if clean:
        data["response"] = normalise(scrub(data["response"]))
    return data


def compare(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    diffs = []
    if want["status"] != have["status"]:
        diffs.append(f"status {want['status']} → {have['status']}")
    w_type = (want.get("headers") or {}).get("content-type", "").split(";")[0]
    h_type = (have.get("headers") or {}).get("content-type", "").split(";")[0]
    if w_type != h_type:
        diffs.append(f"content-type {w_type or '-'} → {h_type or '-'}")
    diffs += shape_diff(want.get("body"), have.get("body"), "body")
    return diffs


def shape_diff(want: Any, have: Any, path: str) -> list[str]:
    """Missing and extra keys, and type changes (numbers are one type), recursively."""
    if _kind(want) != _kind(have):
        if want is None or have is None:
            return [] if path != "body" else [f"{path}: {_kind(want)} → {_kind(have)}"]
        return [f"{path}: type {_kind(want)} → {_kind(have)}"]
    if isinstance(want, dict):
        diffs = [f"{path}.{k}: missing" for k in want if k not in have]
        diffs += [f"{path}.{k}: extra" for k in have if k not in want]
        for k in want:
            if k in have:
                diffs += shape_diff(want[k], have[k], f"{path}.{k}")
        return diffs
    if isinstance(want, list) and want and have:
        return shape_diff(want[0], have[0], f"{path}[0]")
    return []


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}[type(value)]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "root"


def _maybe_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _header(res: dict[str, Any], name: str) -> str:
    for h in res.get("headers", []):
        if h["name"].lower() == name:
            return str(h["value"])
    return str((res.get("content") or {}).get("mimeType", ""))
