"""The one place an unexpected exception becomes an answer (kernel intake.py, the engine's
InputGuard): the vendor's error shape with status 500, one log line, never a traceback page.
Every class of bad input has its own 4xx (tests/reliability); this is the net under them."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from careflow.engine import create_app as engine_app
from careflow.mocks import VENDORS


def boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("boom: an unforeseen bug")


@pytest.mark.parametrize(
    ("vendor", "method", "path", "shape"),
    [
        ("whatconverts", "list_leads", "/api/v1/leads", "error_message"),
        ("caspio", "select_rows", "/integrations/rest/v3/tables/Patients/records", "Code"),
        ("ours", "ingest", "/api/v1/track", "success"),
    ],
)
def test_an_unexpected_error_is_a_vendor_shaped_500_and_one_log_line(
    vendor: str, method: str, path: str, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = VENDORS[vendor].create_app()
    backend = app.state.backend
    setattr(backend, method, boom)
    creds = backend.credentials_of(backend.state())
    client = TestClient(app, raise_server_exceptions=False)
    headers, kwargs = {}, {}
    if vendor == "whatconverts":
        kwargs["auth"] = (creds["api_token"], creds["api_secret"])
    elif vendor == "caspio":
        grant = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": creds["client_id"],
                  "client_secret": creds["client_secret"]},
        )  # fmt: skip
        headers["Authorization"] = f"Bearer {grant.json()['access_token']}"
    else:
        kwargs["json"] = {
            "token": creds["token"],
            "event": "lead_created",
            "email": "a@example.com",
        }
    with caplog.at_level(logging.ERROR, logger="careflow"):
        response = client.request(
            "POST" if vendor == "ours" else "GET", path, headers=headers, **kwargs
        )
    assert response.status_code == 500
    assert shape in response.json() and "RuntimeError" in response.text
    lines = [r for r in caplog.records if r.name == "careflow"]
    assert len(lines) == 1 and "boom" in lines[0].getMessage()
    assert client.get("/__sandbox/journal").json()["items"][-1]["status"] == 500


def test_the_engine_answers_an_unexpected_error_in_its_own_shape() -> None:
    app = engine_app()
    app.state.engine.list_workflows = boom
    response = TestClient(app, raise_server_exceptions=False).get("/api/workflows")
    assert response.status_code == 500 and "RuntimeError" in response.json()["detail"]
