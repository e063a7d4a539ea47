"""The contract harness: spec check and cases pass on every fake; a deliberately drifted fake is
caught by `check` and `verify`, each drift named; recordings carry no seeded PHI; the CLI fits CI;
assert_conforms; remote targets need an explicit opt-in."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from typer.testing import CliRunner

from contracts import ConformanceError, assert_conforms, check_spec, record, run_cases, verify
from contracts.recordings import import_har, scrub
from contracts.report import DriftReport
from contracts.target import RemoteRefused, in_process, live
from contracts.vendors import authenticate, credentials_from, vendor
from scenarios.cli import app


@pytest.mark.parametrize("name", ["whatconverts", "caspio", "ours"])
def test_each_fake_passes_its_contract(name: str) -> None:
    with in_process(vendor(name)) as target:
        operations = check_spec(target, max_examples=8)
        cases = run_cases(target)
    report = DriftReport(name, target.label, operations, cases)
    assert not report.failed, report.to_markdown()
    spec = vendor(name).spec()
    per_operation = [o for o in operations if not o.operation.startswith("stateful")]
    assert len(per_operation) == len(
        [m for item in spec["paths"].values() for m in item if m != "parameters"]
    )
    assert all(o.examples > 0 for o in operations)
    # the specs' links (create → get/edit/delete the new thing) run as a stateful test
    assert any(o.operation == "stateful: linked operations" for o in operations) == (name != "ours")
    assert cases and all(c.status == "passed" for c in cases)  # the fake has the admin API
    assert report.fidelity == 100.0 and "verified against the in-process fake" in report.summary()


# a deliberately drifted WhatConverts fake ------------------------------------------------------
class Drifted:
    """The real fake, except: total_leads becomes a string on GET /leads, and a created lead is
    answered 201 instead of 200."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        route = (scope.get("method"), scope.get("path"))
        if scope["type"] != "http" or route not in (
            ("GET", "/api/v1/leads"),
            ("POST", "/api/v1/leads"),
        ):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            status = start["status"]
            if status == 200 and route[0] == "GET":
                data = json.loads(body)
                data["total_leads"] = str(data["total_leads"])
                body = json.dumps(data).encode()
            if status == 200 and route[0] == "POST":
                status = 201
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def drifted_target() -> Any:
    v = vendor("whatconverts")
    return in_process(v, app=Drifted(v.create_app(seed=0)))


def test_check_names_each_drift() -> None:
    with drifted_target() as target:
        operations = {o.operation: o for o in check_spec(target, max_examples=10)}
    listing = " ".join(operations["GET /leads"].failures)
    creating = " ".join(operations["POST /leads"].failures)
    assert "total_leads" in listing and "integer" in listing
    assert "201" in creating and "status" in creating.lower()
    assert operations["GET /accounts"].passed  # nothing else is blamed


def test_verify_names_each_drift(tmp_path: Path) -> None:
    with in_process(vendor("whatconverts")) as honest:
        written = record(honest, tmp_path)
    assert len(written) >= 5
    with in_process(vendor("whatconverts")) as same:
        assert all(not d for d in verify(same, written).values())  # replaying the fake: clean
    with drifted_target() as target:
        found = verify(target, written)
    flat = [d for diffs in found.values() for d in diffs]
    assert any("body.total_leads: type number → string" in d for d in flat), flat
    assert any("POST /leads" in d and "status 200 → 201" in d for d in flat), flat
    assert not found["wrong-secret.json"]  # untouched routes still match


def test_recordings_carry_no_seeded_phi_or_secret(tmp_path: Path) -> None:
    for name in ("whatconverts", "caspio"):
        with in_process(vendor(name)) as target:
            record(target, tmp_path / name)
            state = target.app.state.backend.state()
            secrets = [
                str(v) for k, v in target.credentials.items() if "secret" in k or "token" in k
            ]
            if name == "whatconverts":
                rows = list(state.leads.values())
                phi = [
                    r[k] for r in rows for k in ("contact_name", "email_address", "phone_number")
                ]
            else:
                cur = state.db.execute('SELECT Name, Email, Phone, FirstName FROM "Patients"')
                phi = [v for row in cur.fetchall() for v in row]
        text = "\n".join(p.read_text() for p in (tmp_path / name).glob("*.json"))
        assert '"leads"' in text or '"Result"' in text  # real bodies were recorded
        leaked = [v for v in phi + secrets if v and len(str(v)) > 3 and str(v) in text]
        assert not leaked, leaked[:5]


def test_scrubbing_is_stable_and_keeps_structure() -> None:
    lead = {
        "contact_name": "Real Person",
        "email_address": "real.person@gmail.com",
        "phone_number": "+1 (704) 555-8899",
        "notes": "call real.person@gmail.com",
        "form_name": "Contact us",
        "api_secret": "s3cr3t",
    }
    once, twice = scrub(lead), scrub(dict(lead))
    assert once == twice and "api_secret" not in once
    assert once["email_address"].endswith("@example.com")
    assert once["notes"] == f"call {once['email_address']}"  # same value, same replacement
    assert once["form_name"] == "Contact us" and re.match(r"^\+1555010\d\d$", once["phone_number"])
    assert "Real" not in json.dumps(once) and "gmail" not in json.dumps(once)


def test_har_import_scrubs_and_replays(tmp_path: Path) -> None:
    har = {
        "log": {
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": "https://app.whatconverts.com/api/v1/leads/1",
                        "headers": [{"name": "Authorization", "value": "Basic cmVhbDprZXk="}],
                        "queryString": [],
                    },
                    "response": {
                        "status": 400,
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "content": {"text": '{"error_message": "Invalid lead ID."}'},
                    },
                }
            ]
        }
    }
    path = tmp_path / "session.har"
    path.write_text(json.dumps(har))
    [written] = import_har("whatconverts", path, tmp_path / "rec")
    assert "cmVhbDprZXk" not in written.read_text()
    with in_process(vendor("whatconverts")) as target:
        assert verify(target, [written]) == {written.name: []}


def test_assert_conforms() -> None:
    with in_process(vendor("caspio")) as target:
        headers = authenticate(target.vendor, "bearer", target.client, target.credentials).headers
        ok = target.client.get("/integrations/rest/v3/tables", headers=headers)
        assert_conforms(ok, vendor="caspio")
        missing = target.client.get("/integrations/rest/v3/tables/Nope/records", headers=headers)
        assert_conforms(missing, vendor="caspio")  # a documented 404 in the vendor's envelope
    broken = httpx.Response(200, json={"Result": "Patients"}, request=ok.request)
    with pytest.raises(ConformanceError) as err:
        assert_conforms(broken, vendor="caspio")
    assert "GET /integrations/rest/v3/tables → 200" in str(err.value) and "array" in str(err.value)
    undocumented = httpx.Response(418, json={}, request=ok.request)
    with pytest.raises(ConformanceError, match="418 is not documented"):
        assert_conforms(undocumented, vendor="caspio")
    stray = httpx.Response(200, request=httpx.Request("GET", "http://x/integrations/rest/v9/x"))
    with pytest.raises(ConformanceError, match="not an operation"):
        assert_conforms(stray, vendor="caspio")


def test_remote_targets_need_an_explicit_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_a: Any, **_k: Any) -> Any:
        pytest.fail("a request left this machine")

    monkeypatch.setattr(httpx.Client, "send", never)
    creds = {"api_token": "sbx_x", "api_secret": "sbx_y"}
    with pytest.raises(RemoteRefused, match="--allow-remote"):
        live(vendor("whatconverts"), "https://app.whatconverts.com", creds)
    result = CliRunner().invoke(
        app, ["contract", "check", "whatconverts", "--base-url", "https://app.whatconverts.com"]
    )
    assert result.exit_code == 2 and "--allow-remote" in result.output


def test_credentials_from_options_or_environment() -> None:
    v = vendor("caspio")
    env = {"CAREFLOW_CASPIO_CLIENT_ID": "id-from-env", "CAREFLOW_CASPIO_CLIENT_SECRET": "s"}
    assert credentials_from(v, {}, env)["client_id"] == "id-from-env"
    assert credentials_from(v, {"client_id": "opt"}, env)["client_id"] == "opt"
    with pytest.raises(ValueError, match="CAREFLOW_CASPIO_CLIENT_SECRET"):
        credentials_from(v, {"client_id": "x"}, {})


CHECK_OURS = ("contract", "check", "ours", "--max-examples", "5")
DEAD_TARGET = ("contract", "cases", "whatconverts", "--base-url", "http://127.0.0.1:9")


def test_cli_exit_codes_reports_and_junit(tmp_path: Path) -> None:
    runner = CliRunner()
    report, junit = tmp_path / "ours.md", tmp_path / "ours.xml"
    ok = runner.invoke(
        app,
        [*CHECK_OURS, "--report", str(report), "--junit", str(junit)],
    )
    assert ok.exit_code == 0, ok.output
    assert "ours: PASS" in ok.output and "fidelity 100%" in ok.output
    assert "# Contract report: ours" in report.read_text()
    suite = ET.fromstring(junit.read_text())
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) >= 10
    cases = tmp_path / "cases.json"
    assert (
        runner.invoke(app, ["contract", "cases", "caspio", "--report", str(cases)]).exit_code == 0
    )
    assert json.loads(cases.read_text())["fidelity"] == 100.0


def test_cli_fails_on_drift_and_hides_credentials(tmp_path: Path) -> None:
    """Against a dead loopback URL every operation fails: exit 1, and the secret never shows."""
    secret = "sbx_do_not_print_me_123456"
    result = CliRunner().invoke(
        app,
        [*DEAD_TARGET, "--auth", "api_token=sbx_tok", "--auth", f"api_secret={secret}"],
    )
    assert result.exit_code == 1
    assert "FAIL" in result.output and secret not in result.output


def test_verify_cli_against_recordings(tmp_path: Path) -> None:
    with in_process(vendor("ours")) as target:
        record(target, tmp_path)
    result = CliRunner().invoke(app, ["contract", "verify", "ours", "--recordings", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "recordings" in result.output and "PASS" in result.output
