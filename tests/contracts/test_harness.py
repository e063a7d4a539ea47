"""The contract harness: spec check and cases pass on every fake; a deliberately drifted fake is
caught by `check` and `verify`, each drift named; recordings carry no seeded PHI; the CLI fits CI;
assert_conforms; remote targets need an explicit opt-in."""

from __future__ import annotations

import json
import re
import socket
import tempfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from careflow.contracts import (
    ConformanceError,
    assert_conforms,
    check_spec,
    record,
    run_cases,
    verify,
)
from careflow.contracts.recordings import clean_exchange, import_har
from careflow.contracts.report import DriftReport
from careflow.contracts.scrub import FIRST, LAST, scrub
from careflow.contracts.target import RemoteRefused, in_process, live
from careflow.contracts.vendors import authenticate, credentials_from, vendor
from careflow.scenarios.cli import app


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
    answered 201 instead of 200. With ``more``, also: the last lead of a page has a string
    lead_id, the first lead's account is null, and an unknown lead's error message changes."""

    def __init__(self, app: Any, more: bool = False) -> None:
        self.app = app
        self.state = app.state
        self.more = more

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        route = (scope.get("method"), scope.get("path"))
        if scope["type"] != "http" or route not in (
            ("GET", "/api/v1/leads"),
            ("POST", "/api/v1/leads"),
            ("GET", "/api/v1/leads/1"),
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
            if status == 200 and route == ("GET", "/api/v1/leads"):
                data = json.loads(body)
                data["total_leads"] = str(data["total_leads"])
                if self.more and len(data["leads"]) > 1:
                    data["leads"][-1]["lead_id"] = str(data["leads"][-1]["lead_id"])
                    data["leads"][0]["account"] = None
                body = json.dumps(data).encode()
            if status == 400 and route == ("GET", "/api/v1/leads/1") and self.more:
                body = json.dumps({"error_message": "Lead not found."}).encode()
            if status == 200 and route[0] == "POST":
                status = 201
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def drifted_target(more: bool = False) -> Any:
    v = vendor("whatconverts")
    return in_process(v, app=Drifted(v.create_app(seed=0), more))


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
    with drifted_target(more=True) as target:
        found = verify(target, written)
    flat = [d for diffs in found.values() for d in diffs]
    assert any("body.total_leads: type number → string" in d for d in flat), flat
    assert any("POST /leads" in d and "status 200 → 201" in d for d in flat), flat
    # every list element is compared, not only the first; null is a type change too
    assert any("body.leads[2].lead_id: type number → string" in d for d in flat), flat
    assert any("body.leads[0].account: type string → null" in d for d in flat), flat
    # constant-like values are compared (volatile ones, ids and timestamps, are not)
    lead_1 = found["unknown-lead.json"]
    assert lead_1 == [
        "exchange 1 (GET /leads/1): body.error_message: 'Invalid lead ID.' → 'Lead not found.'"
    ]
    assert not found["wrong-secret.json"]  # untouched routes still match


def test_verify_compares_constant_values_not_data() -> None:
    from careflow.contracts.diff import compare, value_keys

    keys = value_keys(vendor("caspio"))
    assert {"token_type", "expires_in", "Code"} <= keys
    token = {"status": 200, "headers": {}, "body": {"token_type": "bearer", "expires_in": 86399}}
    drifted = {"status": 200, "headers": {}, "body": {"token_type": "Bearer", "expires_in": 3600}}
    assert compare(token, drifted, keys) == [
        "body.token_type: 'bearer' → 'Bearer'",
        "body.expires_in: 86399 → 3600",
    ]
    rows = {"status": 200, "headers": {}, "body": {"Result": [{"Name": "A", "Visits": 1}]}}
    other = {"status": 200, "headers": {}, "body": {"Result": [{"Name": "B", "Visits": 2}] * 3}}
    assert compare(rows, other, keys) == []  # data differs; shapes and constants do not


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
    assert once == twice and once["api_secret"] == "***"
    assert once["email_address"].endswith("@example.com")
    assert once["notes"] == f"call {once['email_address']}"  # same value, same replacement
    assert once["form_name"] == "Contact us" and re.match(
        r"^\+120255501\d\d$", once["phone_number"]
    )
    assert scrub(once) == once  # synthetic values are left as they are
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
        # the fake (like Caspio) serves /rest/v2 as v3: checked as the v3 operation
        assert_conforms(target.client.get("/rest/v2/tables", headers=headers), vendor="caspio")
        assert_conforms(
            target.client.get("/rest/v2/tables/Nope/records", headers=headers), "caspio"
        )
    # the error envelope documents X-Caspio-Request-ID as required
    no_id = httpx.Response(404, json=missing.json(), request=missing.request)
    with pytest.raises(ConformanceError, match="header X-Caspio-Request-ID is missing"):
        assert_conforms(no_id, vendor="caspio")
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
        [
            *DEAD_TARGET,
            "--auth",
            "api_token=sbx_tok",
            "--auth",
            f"api_secret={secret}",
            "--auth",
            "profile_id=101",
        ],
    )
    assert result.exit_code == 1
    assert "FAIL" in result.output and secret not in result.output


def test_verify_cli_against_recordings(tmp_path: Path) -> None:
    with in_process(vendor("ours")) as target:
        record(target, tmp_path)
    result = CliRunner().invoke(app, ["contract", "verify", "ours", "--recordings", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "recordings" in result.output and "PASS" in result.output


# scrubbing, as a property ---------------------------------------------------------------------
WORD = st.from_regex(r"[A-Z][a-z]{3,8}", fullmatch=True).filter(lambda w: w not in FIRST + LAST)
EMAILS = st.from_regex(r"[a-z]{3,8}\.[a-z]{3,8}@(gmail|yahoo|outlook)\.com", fullmatch=True)
DIGITS = st.tuples(
    st.integers(201, 989).filter(lambda n: n != 202), st.integers(200, 999), st.integers(0, 9999)
)
PHONE_FORMATS = ["({a}) {b}-{c:04d}", "{a}-{b}-{c:04d}", "+1 {a} {b} {c:04d}", "+1{a}{b}{c:04d}"]


@st.composite
def phi(draw: st.DrawFn) -> dict[str, str]:
    first, last = draw(WORD), draw(WORD)
    a, b, c = draw(DIGITS)
    return {
        "name": f"{first} {last}",
        "first": first,
        "email": draw(EMAILS),
        "phone": draw(st.sampled_from(PHONE_FORMATS)).format(a=a, b=b, c=c),
        "digits": f"{a}{b}{c:04d}",
        "secret": draw(st.from_regex(r"[A-Za-z0-9]{20,30}", fullmatch=True)),
        "date": draw(st.dates()).isoformat(),
        "stamp": draw(st.datetimes()).replace(microsecond=0).isoformat(),
    }


def seeded_pair(p: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Caspio records call carrying PHI and secrets everywhere, and the answer."""
    request = {
        "method": "GET",
        "path": "/integrations/rest/v3/tables/Patients/records",
        "query": {
            "q.where": f"Email='{p['email']}' AND PatientName = N'{p['name']}' "
            f"AND Phone IN ('{p['phone']}') AND Visit_Date = '{p['date']}'",
            "api_token": p["secret"],
        },
        "headers": {
            "authorization": f"Bearer {p['secret']}",
            "cookie": f"s={p['secret']}",
            "x-api-key": p["secret"],
            "x-note": f"for {p['email']}",
        },
        "json": None,
        "form": None,
    }
    row = {
        "PK_ID": 7,
        "Name": p["name"],
        "PatientName": p["name"],
        "FirstName": p["first"],
        "Email": p["email"],
        "Phone": p["phone"],
        "Notes": f"call {p['phone']} on {p['date']}",
        "Visit_Date": p["date"],
        "Created": p["stamp"],
    }
    response = {
        "status": 200,
        "headers": {"content-type": "application/json"},
        "body": {"Result": [row]},
    }
    return request, response


def structural_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    """Caspio's own names: a table's fields and a webhook keep them."""
    request = {
        "method": "GET",
        "path": "/integrations/rest/v3/tables/Patients/fields",
        "query": {},
        "headers": {},
        "json": None,
        "form": None,
    }
    body = [{"Name": "PatientName", "Type": "STRING"}, {"Name": "Intake Hook", "Id": "abc123"}]
    return request, {"status": 200, "headers": {"content-type": "application/json"}, "body": body}


def as_har(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    def entry(req: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
        return {
            "request": {
                "method": req["method"],
                "url": "https://c1abc123.caspio.com" + req["path"],
                "headers": [{"name": k, "value": v} for k, v in req["headers"].items()],
                "queryString": [{"name": k, "value": v} for k, v in req["query"].items()],
            },
            "response": {
                "status": res["status"],
                "headers": [
                    {"name": "Content-Type", "value": "application/json"},
                    {"name": "Set-Cookie", "value": "s=server-secret"},
                ],
                "content": {"text": json.dumps(res["body"])},
            },
        }

    return {"log": {"entries": [entry(*pair) for pair in pairs]}}


@settings(max_examples=25, deadline=None)
@given(p=phi())
def test_no_seeded_phi_or_secret_survives_recording(p: dict[str, str]) -> None:
    caspio = vendor("caspio")
    request, response = seeded_pair(p)
    live_doc = clean_exchange({"request": request, "response": response}, caspio)
    with tempfile.TemporaryDirectory() as tmp:
        har = Path(tmp) / "session.har"
        har.write_text(json.dumps(as_har([seeded_pair(p), structural_pair()])))
        har_doc, fields_doc = (
            json.loads(path.read_text())["exchanges"][0]
            for path in import_har("caspio", har, Path(tmp) / "rec")
        )
    for doc in (live_doc, har_doc):
        text = json.dumps(doc)
        for value in (p["name"], p["email"], p["phone"], p["digits"], p["secret"]):
            assert value not in text, (value, text)
        row = doc["response"]["body"]["Result"][0]
        # dates survive; timestamps are normalised, never mistaken for phones
        assert row["Visit_Date"] == p["date"] and row["Created"] == "<timestamp>"
        assert row["Notes"].endswith(f" on {p['date']}")
        assert f"Visit_Date = '{p['date']}'" in doc["request"]["query"]["q.where"]
        # stable: the name searched for is the name found, the phone noted is the phone kept
        assert f"PatientName = N'{row['PatientName']}'" in doc["request"]["query"]["q.where"]
        assert row["Name"] == row["PatientName"] and row["Notes"].startswith(f"call {row['Phone']}")
        assert doc["request"]["query"]["api_token"] == "***"
    assert har_doc["request"]["headers"]["cookie"] == "***"
    assert live_doc["response"] == har_doc["response"]  # same input, same synthetic values
    assert [f["Name"] for f in fields_doc["response"]["body"]] == ["PatientName", "Intake Hook"]


def test_token_recordings_mask_client_credentials(tmp_path: Path) -> None:
    with in_process(vendor("caspio")) as target:
        record(target, tmp_path)
        client_id = target.credentials["client_id"]
    doc = json.loads((tmp_path / "client-credentials-token.json").read_text())
    text = json.dumps(doc)
    assert client_id not in text and doc["exchanges"][0]["request"]["form"]["client_id"] == "***"
    assert doc["exchanges"][0]["response"]["body"]["access_token"] == "***"
    assert doc["exchanges"][0]["response"]["body"]["token_type"] == "bearer"


# a target that is down or refuses the credentials --------------------------------------------
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_check_of_a_closed_port_reports_instead_of_crashing(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    result = CliRunner().invoke(
        app,
        [
            "contract",
            "check",
            "caspio",
            "--base-url",
            url,
            "--max-examples",
            "2",
            "--auth",
            "client_id=x",
            "--auth",
            "client_secret=y",
            "--report",
            str(report),
            "--junit",
            str(junit),
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    summary = [line for line in result.output.splitlines() if line.startswith("caspio: FAIL")]
    assert len(summary) == 1 and f"verified against {url} on " in summary[0]  # one line
    data = json.loads(report.read_text())
    reasons = {f for o in data["operations"] for f in o["failures"]}
    assert reasons and all(
        r.startswith(f"cannot connect to {url}: is the server running?") for r in reasons
    )
    assert all(not o["passed"] for o in data["operations"])
    suite = ET.fromstring(junit.read_text())
    assert int(suite.get("failures", "0")) == len(data["operations"]) + len(
        [c for c in data["cases"] if c["status"] == "failed"]
    )


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("caspio", {"client_id": "nope", "client_secret": "nope"}),
        ("whatconverts", {"api_token": "nope", "api_secret": "nope"}),
    ],
)
def test_check_with_wrong_credentials_names_the_reason(name: str, wrong: dict[str, str]) -> None:
    with in_process(vendor(name)) as target:
        target.credentials = wrong
        operations = check_spec(target, max_examples=2)
    assert operations and all(not o.passed for o in operations)
    assert all(o.failures[0].startswith("could not authenticate:") for o in operations)
    assert all(o.examples == 0 for o in operations)  # nothing generated against a dead end


def test_cases_hold_on_a_stack_that_has_been_used() -> None:
    """Cases look at their own requests' traces, not at everything the target ever saw: live
    events dispatched before (or by an earlier run) do not fail the test-key case."""
    with in_process(vendor("ours")) as target:
        live_event = {"token": target.credentials["token"], "event": "lead_created"}
        sent = target.client.post(
            f"{target.api_base}/track", json={**live_event, "email": "earlier@example.com"}
        )
        assert sent.status_code == 200
        for _ in range(2):
            results = run_cases(target)
            assert all(r.status == "passed" for r in results), [r.problems for r in results]


def test_a_value_a_case_cannot_keep_fails_the_case_with_the_answer() -> None:
    case = {
        "name": "keeps a missing value",
        "steps": [
            {
                "request": {"method": "POST", "path": "/track", "json": {"event": "x"}},
                "save": {"nothing": "items.0.id"},
            }
        ],
    }
    with in_process(vendor("ours")) as target:
        (result,) = run_cases(target, [case])
    assert result.status == "failed"
    assert "no 'items.0.id' to keep as {nothing}" in result.problems[0]
