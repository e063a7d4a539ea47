"""mocks/ours/openapi.yaml against the Ours Privacy fake, in-process (schemathesis over ASGI).

Every operation: no 5xx, every status and body as the spec says. Each generated case is sent
as generated (mostly an unknown token → 401) and again with the demo source's live key, so the
validation and ingest paths are exercised too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis

from careflow.contracts import STANDARD_CHECKS as CHECKS
from careflow.mocks.kernel import VirtualClock
from careflow.mocks.ours import create_app

from . import contract_settings

SPEC = Path(__file__).resolve().parents[2] / "mocks" / "ours" / "openapi.yaml"

app = create_app(clock=VirtualClock("2026-01-01T12:00:00Z", frozen=True), seed=5)
TOKEN = app.state.backend.credentials_of(app.state.backend.state())["token"]
WEBHOOK_TOKEN = app.state.backend.state().sources["src_webhook"].token
schema = schemathesis.openapi.from_asgi("/api/v1/openapi", app)


def test_the_served_spec_is_the_contract_file() -> None:
    import yaml

    assert schema.raw_schema == yaml.safe_load(SPEC.read_text())


def use_live_key(case: schemathesis.Case) -> bool:
    """Swap the generated credential for a valid one (in place); False when there is none."""
    if case.path == "/webhooks/{token}":
        case.path_parameters = {**(case.path_parameters or {}), "token": WEBHOOK_TOKEN}
        return True
    if isinstance(case.body, dict) and "token" in case.body:
        case.body = {**case.body, "token": TOKEN}
        return True
    return False


@schema.parametrize()
@contract_settings(max_examples=15)
def test_ours_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(base_url="http://127.0.0.1:8403/api/v1", checks=CHECKS)
    if use_live_key(case):
        case.call_and_validate(base_url="http://127.0.0.1:8403/api/v1", checks=CHECKS)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/track", {"event": "lead_created", "email": "a@example.com"}, 200),
        ("/identify", {"email": "a@example.com", "userProperties": {"city": "Reno"}}, 200),
        (
            "/batch",
            {"events": [{"event": "lead_created", "distinctId": "1", "email": "a@b.org"}]},
            200,
        ),
        ("/batch", {"events": [{"event": "lead_created", "email": "a@example.com"}]}, 207),
        ("/batch", {"events": [{"event": "x", "distinctId": str(i)} for i in range(1001)]}, 413),
    ],
)
def test_success_and_limit_answers_conform(path: str, body: dict, status: int) -> None:
    """Valid-key answers the random cases rarely reach, checked against the spec the same way."""
    case = schema[path]["POST"].Case(body={"token": TOKEN, **body}, media_type="application/json")
    response = case.call_and_validate(base_url="http://127.0.0.1:8403/api/v1", checks=CHECKS)
    assert response.status_code == status
