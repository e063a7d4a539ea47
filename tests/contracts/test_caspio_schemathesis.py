"""mocks/caspio/openapi.yaml against the Caspio fake, in-process (schemathesis over ASGI).

Every operation: no 5xx, every status, header and body as the spec says. Each generated case is
sent as generated (mostly an unknown bearer → 401) and again with a live demo token, so the
table, record and webhook paths are exercised too (on the seeded Patients table half the time).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis

from careflow.contracts import STANDARD_CHECKS as CHECKS
from careflow.mocks.caspio import create_app
from careflow.mocks.kernel import VirtualClock

from . import contract_settings

SPEC = Path(__file__).resolve().parents[2] / "mocks" / "caspio" / "openapi.yaml"
BASE = "http://127.0.0.1:8402"

app = create_app(clock=VirtualClock("2026-01-01T12:00:00Z", frozen=True), seed=5)
CREDS = app.state.backend.credentials_of(app.state.backend.state())
TOKEN = app.state.backend.issue_token(
    "default", app.state.backend.state().profiles[CREDS["profile_name"]]
)["access_token"]
schema = schemathesis.openapi.from_asgi("/integrations/rest/v3/swagger/documentation", app)


def test_the_served_spec_is_the_contract_file() -> None:
    import yaml

    assert schema.raw_schema == yaml.safe_load(SPEC.read_text())


@schema.parametrize()
@contract_settings(max_examples=12)
def test_caspio_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(base_url=BASE, checks=CHECKS)
    if case.path == "/oauth/token":
        return
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
    case.call_and_validate(base_url=BASE, checks=CHECKS)
    if case.path_parameters and "tableName" in case.path_parameters:
        case.path_parameters = {**case.path_parameters, "tableName": "Patients"}
        case.call_and_validate(base_url=BASE, checks=CHECKS)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/integrations/rest/v3/tables", {}, 200),
        ("GET", "/integrations/rest/v3/tables/{tableName}", {}, 200),
        ("GET", "/integrations/rest/v3/tables/{tableName}/fields", {}, 200),
        (
            "GET",
            "/integrations/rest/v3/tables/{tableName}/records",
            {"query": {"q.where": "Visits > 2", "q.getPaginationInfo": True, "q.pageSize": 5}},
            200,
        ),
        (
            "POST",
            "/integrations/rest/v3/tables/{tableName}/records",
            {"query": {"response": "rows"}, "body": {"FirstName": "Ann"}},
            201,
        ),
        (
            "PUT",
            "/integrations/rest/v3/tables/{tableName}/records",
            {"query": {"q.where": "FirstName = 'Ann'", "response": "rows"}, "body": {"Visits": 1}},
            200,
        ),
        (
            "DELETE",
            "/integrations/rest/v3/tables/{tableName}/records",
            {"query": {"q.where": "PK_ID = 3"}},
            200,
        ),
        (
            "POST",
            "/integrations/rest/v3/outgoingWebhooks",
            {"body": {"Name": "c1", "OutgoingUrls": ["https://hooks.example.com/c1"]}},
            201,
        ),
    ],
)
def test_success_answers_conform(method: str, path: str, kwargs: dict, status: int) -> None:
    """Valid answers the random cases rarely reach, checked against the spec the same way."""
    body = kwargs.get("body")
    extra = {"body": body, "media_type": "application/json"} if body is not None else {}
    if "{tableName}" in path:
        extra["path_parameters"] = {"tableName": "Patients"}
    case = schema[path][method].Case(
        query=kwargs.get("query"), headers={"Authorization": f"Bearer {TOKEN}"}, **extra
    )
    response = case.call_and_validate(base_url=BASE, checks=CHECKS)
    assert response.status_code == status, response.text
    if method == "POST" and path.endswith("/records"):
        import jsonschema

        rows = schema.raw_schema["components"]["schemas"]["CreatedRows"]
        rows = {**rows, "properties": {"Result": {"type": "array", "minItems": 1, "maxItems": 1}}}
        jsonschema.validate(response.json(), rows)


def test_token_answer_conforms() -> None:
    case = schema["/oauth/token"]["POST"].Case(
        body={
            "grant_type": "client_credentials",
            "client_id": CREDS["client_id"],
            "client_secret": CREDS["client_secret"],
        },
        media_type="application/x-www-form-urlencoded",
    )
    assert case.call_and_validate(base_url=BASE, checks=CHECKS).status_code == 200
