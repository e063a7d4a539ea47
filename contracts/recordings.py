"""Recordings: real request/response pairs kept under ``contracts/recordings/<vendor>/``, scrubbed
of secrets and PHI, with volatile values normalised, and replayed against the fake by ``verify``.

Scrubbing (``contracts/scrub.py``) is on by default and stable: the same real value always
becomes the same synthetic value, so a recording keeps its internal references (the email
searched for is the email found) while no real value survives. Secrets (headers, query values,
body fields, cookies) always read ``"***"``, scrubbed or not.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .cases import Exchange, load_cases, run_case
from .diff import compare, value_keys
from .scrub import MASK, mask_secrets, normalise, scrub
from .target import Target
from .vendors import Vendor
from .vendors import vendor as get_vendor


def exchange_record(exchange: Exchange, v: Vendor, clean: bool = True) -> dict[str, Any]:
    return clean_exchange(asdict(exchange), v, clean)


def clean_exchange(data: dict[str, Any], v: Vendor, clean: bool = True) -> dict[str, Any]:
    """Secrets masked always; with ``clean``, timestamps and ids normalised (first, so no
    pattern mistakes a date for anything) and PHI replaced, in the request and the answer."""
    data = {
        **data,
        "request": mask_secrets(data["request"]),
        "response": mask_secrets(data["response"]),
    }
    if clean:
        rows = v.bare_name_is_person(str(data["request"].get("path", "")))
        data["request"] = scrub(data["request"], rows=rows)
        data["response"] = scrub(normalise(data["response"]), rows=rows)
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
            "exchanges": [exchange_record(e, target.vendor, clean) for e in result.exchanges],
        }
        path = out_dir / f"{slug(case['name'])}.json"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def import_har(vendor_name: str, har: Path, out_dir: Path, *, clean: bool = True) -> list[Path]:
    """Each HAR entry becomes a one-exchange recording (replayed as a raw request)."""
    v = get_vendor(vendor_name)
    entries = json.loads(har.read_text()).get("log", {}).get("entries", [])
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, entry in enumerate(entries, 1):
        req, res = entry["request"], entry["response"]
        url = urlsplit(req["url"])
        headers = {h["name"].lower(): h["value"] for h in req.get("headers", [])}
        query = req.get("queryString")
        json_body, form = _har_body(req.get("postData") or {})
        exchange = Exchange(
            case="",
            step=1,
            auth="bearer" if headers.get("authorization", "").lower().startswith("bearer") else "",
            request={
                "method": req["method"].upper(),
                "path": url.path,
                "query": (
                    {q["name"]: q["value"] for q in query}
                    if query is not None
                    else dict(parse_qsl(url.query, keep_blank_values=True))
                ),
                "headers": headers,
                "json": json_body,
                "form": form,
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
            "exchanges": [exchange_record(exchange, v, clean)],
        }
        path = out_dir / f"har-{i:03d}-{slug(url.path)}.json"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def _har_body(post: dict[str, Any]) -> tuple[Any, dict[str, str] | None]:
    """(JSON body, form fields) of a HAR postData."""
    if "form-urlencoded" in str(post.get("mimeType", "")) or post.get("params"):
        if post.get("params"):
            return None, {p["name"]: p.get("value", "") for p in post["params"]}
        return None, dict(parse_qsl(post.get("text") or "", keep_blank_values=True))
    return _maybe_json(post.get("text")), None


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
            fresh = [exchange_record(e, target.vendor, doc.get("scrubbed", True)) for e in got]
        else:
            fresh = [replay(target, e, doc.get("scrubbed", True)) for e in recorded]
        keys = value_keys(target.vendor)
        diffs = []
        for i, (want, have) in enumerate(zip(recorded, fresh, strict=False), 1):
            where = f"{want['request']['method']} {want['request']['path']}"
            found = compare(want["response"], have["response"], keys)
            diffs += [f"exchange {i} ({where}): {d}" for d in found]
        if len(fresh) < len(recorded):
            diffs.append(f"the fake stopped after {len(fresh)} of {len(recorded)} exchanges")
        out[path.name] = diffs
    return out


def replay(target: Target, recorded: dict[str, Any], clean: bool) -> dict[str, Any]:
    """Send a recorded request again with the target's own credentials (masked values are
    left out, or filled from the credentials: e.g. a token call's client_id/client_secret)."""
    from .vendors import authenticate

    req = recorded["request"]
    auth = recorded.get("auth") or target.vendor.default_auth
    credential = authenticate(target.vendor, auth, target.client, target.credentials)
    body = req.get("json")
    if isinstance(body, dict):
        body = {**_unmasked(body, target.credentials), **credential.body}
    form = req.get("form")
    response = target.client.request(
        req["method"],
        target.base_url + req["path"],
        params=_unmasked(req.get("query") or {}, {}) or None,
        headers=credential.headers,
        json=body,
        data=_unmasked(form, target.credentials) if isinstance(form, dict) else form,
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
    return clean_exchange(data, target.vendor, clean)


def _unmasked(fields: dict[str, Any], credentials: dict[str, Any]) -> dict[str, Any]:
    return {
        k: credentials.get(k, v) if v == MASK else v
        for k, v in fields.items()
        if v != MASK or k in credentials
    }


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
