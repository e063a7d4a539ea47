"""Behavioural contract cases: requests and what must hold of the answers, written from the
vendor facts (``mocks/<vendor>/cases.yaml``, read through the vendor registry). The same cases
run against the fake in the test suite and against a real URL from the CLI; steps marked
``admin`` read the sandbox's own admin API and are skipped on a target that has none (a real
vendor).

A case::

    - name: edit of a fifth field is refused
      fact: whatconverts.md §5.5
      steps:
        - request: {method: GET, path: /leads, query: {leads_per_page: 1}, auth: profile}
          save: {lead_id: leads.0.lead_id}
        - request: {method: POST, path: "/leads/{lead_id}", form: {lead_source: x}}
          expect:
            status: 400
            json: {error_message: {contains: lead_source}}
            headers: {content-type: {contains: json}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from .target import Target, unreachable
from .vendors import Vendor, authenticate

TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
    "null": type(None),
}


@dataclass
class Exchange:
    """One request and its answer, as sent (before scrubbing)."""

    case: str
    step: int
    auth: str
    request: dict[str, Any]
    response: dict[str, Any]


@dataclass
class CaseResult:
    name: str
    fact: str
    status: str = "passed"  # passed | failed | skipped
    problems: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status != "failed"


def load_cases(v: Vendor, path: Path | None = None) -> list[dict[str, Any]]:
    text = path.read_text() if path else v.cases_text()
    data = yaml.safe_load(text) if text else {"cases": []}
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list):
        raise ValueError(f"{path or v.name + ' cases'}: expected a mapping with a 'cases' list")
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or "name" not in case or not case.get("steps"):
            raise ValueError(f"case {i + 1}: needs 'name' and at least one step")
    return cases


def run_cases(target: Target, cases: list[dict[str, Any]] | None = None) -> list[CaseResult]:
    cases = load_cases(target.vendor) if cases is None else cases
    admin = target.has_admin()
    return [run_case(target, case, admin) for case in cases]


def run_case(target: Target, case: dict[str, Any], admin: bool = True) -> CaseResult:
    result = CaseResult(case["name"], str(case.get("fact", "")))
    if not admin and any(step.get("admin") for step in case["steps"]):
        result.status = "skipped"
        result.problems.append("needs the sandbox admin API, which this target does not have")
        return result
    saved: dict[str, Any] = {k: v for k, v in target.credentials.items() if k[0] != "_"}
    for index, step in enumerate(case["steps"], 1):
        try:
            exchange, response = send_step(target, case["name"], index, step, saved)
        except httpx.TransportError as exc:
            result.status = "failed"
            result.problems.append(f"step {index}: {unreachable(target, exc)}")
            return result
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            result.status = "failed"
            result.problems.append(f"step {index}: {type(exc).__name__}: {exc}")
            return result
        if not step.get("admin"):
            result.exchanges.append(exchange)
        problems = check_expect(fill(step.get("expect") or {}, saved), response)
        if problems:
            result.status = "failed"
            request = step.get("request", {})
            where = f"step {index} ({request.get('method', 'GET')} {request.get('path')})"
            result.problems += [f"{where}: {p}" for p in problems]
            return result
        for name, path in (step.get("save") or {}).items():
            try:
                saved[name] = json_path(_json(response), path)
            except KeyError:
                result.status = "failed"
                result.problems.append(
                    f"step {index}: the answer has no {path!r} to keep as {{{name}}} "
                    f"(status {response.status_code}: {response.text[:200]})"
                )
                return result
    return result


def send_step(
    target: Target, case: str, index: int, step: dict[str, Any], saved: dict[str, Any]
) -> tuple[Exchange, httpx.Response]:
    request = fill(step.get("request") or {}, saved)
    auth = request.get("auth", "none" if step.get("admin") else target.vendor.default_auth)
    credential = authenticate(target.vendor, auth, target.client, target.credentials)
    base = target.base_url if step.get("admin") else target.api_base
    method = request.get("method", "GET").upper()
    url = base + request["path"]
    kwargs: dict[str, Any] = {
        "params": request.get("query"),
        "headers": {**credential.headers, **(request.get("headers") or {})},
    }
    if "json" in request:
        body = request["json"]
        kwargs["json"] = {**body, **credential.body} if isinstance(body, dict) else body
    elif "form" in request:
        kwargs["data"] = request["form"]
    elif credential.body and method != "GET":
        kwargs["json"] = credential.body
    response = target.client.request(method, url, **kwargs)
    exchange = Exchange(
        case,
        index,
        auth,
        {
            "method": method,
            "path": request["path"],
            "query": request.get("query") or {},
            "headers": dict(kwargs["headers"]),
            "json": kwargs.get("json"),
            "form": kwargs.get("data"),
        },
        {
            "status": response.status_code,
            "headers": {"content-type": response.headers.get("content-type", "")},
            "body": _json(response),
        },
    )
    return exchange, response


def check_expect(expect: dict[str, Any], response: httpx.Response) -> list[str]:
    problems = []
    want = expect.get("status")
    if want is not None:
        allowed = want if isinstance(want, list) else [want]
        if response.status_code not in allowed:
            problems.append(
                f"status {response.status_code}, expected {' or '.join(map(str, allowed))}: "
                f"{response.text[:200]}"
            )
    body = _json(response)
    for path, rule in (expect.get("json") or {}).items():
        try:
            actual = json_path(body, path)
        except KeyError:
            if not (isinstance(rule, dict) and rule.get("exists") is False):
                problems.append(f"{path}: missing")
            continue
        problems += [f"{path}: {p}" for p in match(actual, rule)]
    if "keys" in expect and (not isinstance(body, dict) or list(body) != expect["keys"]):
        problems.append(
            f"keys {list(body) if isinstance(body, dict) else body!r}, expected {expect['keys']}"
        )
    for name, rule in (expect.get("headers") or {}).items():
        value = response.headers.get(name)
        if value is None:
            if not (isinstance(rule, dict) and rule.get("exists") is False):
                problems.append(f"header {name}: missing")
            continue
        problems += [f"header {name}: {p}" for p in match(value, rule)]
    return problems


def match(actual: Any, rule: Any) -> list[str]:
    """A rule is a value (equal), or a mapping of equals/contains/type/matches/exists/length."""
    if not isinstance(rule, dict):
        return [] if actual == rule else [f"{actual!r}, expected {rule!r}"]
    problems = []
    if rule.get("exists") is False:
        problems.append(f"{actual!r} is present, expected no such key")
    if "equals" in rule and actual != rule["equals"]:
        problems.append(f"{actual!r}, expected {rule['equals']!r}")
    if "contains" in rule and str(rule["contains"]) not in str(actual):
        problems.append(f"{actual!r} does not contain {rule['contains']!r}")
    if "type" in rule:
        kind = TYPES[rule["type"]]
        if not isinstance(actual, kind) or (
            rule["type"] in ("integer", "number") and isinstance(actual, bool)
        ):
            problems.append(f"{type(actual).__name__} {actual!r}, expected a {rule['type']}")
    if "matches" in rule and not re.search(rule["matches"], str(actual)):
        problems.append(f"{actual!r} does not match /{rule['matches']}/")
    size = len(actual) if hasattr(actual, "__len__") else None
    if "length" in rule and size != rule["length"]:
        problems.append(f"length {size}, expected {rule['length']}")
    return problems


def json_path(body: Any, path: str) -> Any:
    """``leads.0.lead_id`` → body["leads"][0]["lead_id"]; KeyError when absent."""
    node = body
    for part in str(path).split("."):
        if (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(path)
    return node


def fill(value: Any, saved: dict[str, Any]) -> Any:
    """``{name}`` in strings (mapping keys too) from saved values and credentials (a whole-string
    ``{name}`` keeps the saved value's type); ``{$repeat: n, item: x}`` is a list of n copies."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in saved:
            return saved[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(saved.get(m.group(1), m.group(0))), value)
    if isinstance(value, dict):
        if set(value) == {"$repeat", "item"}:  # a long list without a long file
            return [fill(value["item"], saved) for _ in range(int(value["$repeat"]))]
        return {str(fill(k, saved)): fill(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, saved) for v in value]
    return value


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text or None
