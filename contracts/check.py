"""The spec check: schemathesis generates requests for every operation of a vendor's spec and
runs the standard checks on each answer (no 5xx, documented status, content type, response
schema, headers). Each generated case is sent as generated and again with valid credentials, so
the authenticated paths are checked too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .target import Target, unreachable
from .vendors import authenticate, probe

STANDARD_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MAX_FAILURES_KEPT = 5


@dataclass
class OperationResult:
    operation: str  # "GET /leads"
    examples: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def describe(exc: BaseException) -> str:
    """One readable line per schemathesis failure (title and the first lines of its message)."""
    parts = getattr(exc, "exceptions", None) or [exc]
    lines = []
    for part in parts:
        title = getattr(part, "title", type(part).__name__)
        message = " ".join(str(getattr(part, "message", part)).split())
        lines.append(f"{title}: {message[:400]}")
    return "; ".join(lines)


def check_spec(target: Target, *, max_examples: int = 25, seed: int = 0) -> list[OperationResult]:
    """Every operation on its own, then the sequences the spec's links describe (if any)."""
    schema = schemathesis.openapi.from_dict(target.vendor.spec())
    if target.app is not None:
        schema.app = target.app
    blocked = preflight(target)
    results = []
    for item in schema.get_all_operations():
        operation = item.ok()
        result = OperationResult(f"{operation.method.upper()} {operation.path}")
        if blocked:
            result.failures.append(blocked)
        else:
            _run_operation(target, operation, result, max_examples, seed)
        results.append(result)
    if _has_links(target.vendor.spec()):
        links = OperationResult(
            "stateful: linked operations", failures=[blocked] if blocked else []
        )
        results.append(links if blocked else _run_links(target, schema, max_examples))
    return results


def preflight(target: Target) -> str | None:
    """Why nothing can be checked (the target is down, or refuses the credentials), or None."""
    try:
        probe(target.vendor, target.client, target.credentials)
    except httpx.TransportError as exc:
        return unreachable(target, exc)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"could not authenticate: {exc}"
    return None


def _has_links(spec: dict[str, Any]) -> bool:
    return any(
        "links" in response
        for item in spec.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
        for response in (operation.get("responses") or {}).values()
        if isinstance(response, dict)
    )


def _run_links(target: Target, schema: Any, max_examples: int) -> OperationResult:
    """Schemathesis' stateful test: follow the links (create → get/edit/delete the new thing)
    with valid credentials, checking every answer."""
    result = OperationResult("stateful: linked operations")
    credential = authenticate(
        target.vendor, target.vendor.default_auth, target.client, target.credentials
    )
    base = schema.as_state_machine()

    class Linked(base):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            result.examples += 1
            _with_credentials(case, credential.headers, credential.body, target.credentials)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": target.api_base}

        def validate_response(self, response: Any, case: Any, *_a: Any, **_k: Any) -> None:
            case.validate_response(response, checks=STANDARD_CHECKS)

    try:
        Linked.run(
            settings=settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                derandomize=True,
                stateful_step_count=6,
                suppress_health_check=list(HealthCheck),
            )
        )
    except (AssertionError, BaseExceptionGroup) as exc:
        result.failures.append(describe(exc))
    except httpx.TransportError as exc:
        result.failures.append(unreachable(target, exc))
    return result


def _run_operation(
    target: Target, operation: Any, result: OperationResult, max_examples: int, seed: int
) -> None:
    try:
        credential = authenticate(
            target.vendor, target.vendor.default_auth, target.client, target.credentials
        )
    except (httpx.HTTPError, ValueError) as exc:
        result.failures.append(f"could not authenticate: {type(exc).__name__}: {exc}")
        return

    def send(case: Any) -> None:
        try:
            case.call_and_validate(base_url=target.api_base, checks=STANDARD_CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis failures (groups)
            text = describe(exc)
        except Exception as exc:  # the target did not answer at all
            text = f"request failed: {type(exc).__name__}: {str(exc)[:300]}"
        else:
            return
        if text not in result.failures and len(result.failures) < MAX_FAILURES_KEPT:
            result.failures.append(text)

    @hypothesis_seed(seed)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        result.examples += 1
        send(case)  # as generated: mostly a missing or wrong credential
        if _with_credentials(case, credential.headers, credential.body, target.credentials):
            send(case)

    run()


def _with_credentials(
    case: Any, headers: dict[str, str], body: dict[str, Any], creds: dict[str, Any]
) -> bool:
    """Apply a valid credential in place; False when the case has nowhere to carry one."""
    changed = False
    if headers:
        case.headers = {**(case.headers or {}), **headers}
        changed = True
    if body and isinstance(case.body, dict) and "token" in case.body:
        case.body = {**case.body, **body}
        changed = True
    params = dict(case.path_parameters or {})
    if "token" in params and "webhook_token" in creds:
        case.path_parameters = {**params, "token": creds["webhook_token"]}
        changed = True
    if case.path == "/oauth/token" and isinstance(case.body, dict) and "client_id" in creds:
        case.body = {
            **case.body,
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        }
        changed = True
    return changed
