"""The fixture API (issue 20): clock helpers, settle, state/seed/journal, verify, faults, async
clients, server messages on refused admin calls, typed handles; in-process URLs that no real
server answers; the remote guard letting intercepted hosts through in either order."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from careflow import SandboxError, ServiceHandle, StackHandle, intercept
from careflow.scenarios.fixtures import RemoteCallBlocked, Stacks
from careflow.scenarios.intercept import InterceptStack

ROOT = Path(__file__).resolve().parents[2]
BOTH = [
    pytest.param("inprocess", id="inprocess"),
    pytest.param("server", id="server", marks=pytest.mark.careflow(mode="server")),
]
WC_AUTH = ("api_token", "api_secret")


def wc_auth(whatconverts: ServiceHandle) -> tuple[str, str]:
    return whatconverts.credentials["api_token"], whatconverts.credentials["api_secret"]


@pytest.mark.parametrize("mode", BOTH)
def test_clock_helpers_move_the_one_clock(mode: str, careflow_stack: StackHandle, whatconverts):
    assert careflow_stack.mode == mode
    at = whatconverts.freeze("2026-03-02T09:00:00Z")
    assert at == datetime(2026, 3, 2, 9, tzinfo=UTC) == careflow_stack.now()
    assert whatconverts.advance(90) == at + timedelta(seconds=90)
    assert careflow_stack.advance(timedelta(minutes=1)) == at + timedelta(seconds=150)
    assert careflow_stack.set_clock(datetime(2026, 3, 3)) == datetime(2026, 3, 3, tzinfo=UTC)
    with whatconverts.client(auth=wc_auth(whatconverts)) as http:
        lead = http.post("/api/v1/leads", data={"lead_type": "chat"}).json()
    assert lead["date_created"].startswith("2026-03-03")  # the fake reads the same clock
    with careflow_stack["engine"].client() as engine:
        assert engine.get("/__sandbox/clock").json() == {
            "now": "2026-03-03T00:00:00Z",
            "frozen": True,
        }
    assert careflow_stack.unfreeze() >= datetime(2026, 3, 3, tzinfo=UTC)
    assert not careflow_stack.clock.frozen


@pytest.mark.parametrize("mode", BOTH)
def test_settle_waits_for_the_webhook_the_run_and_its_vendor_call(
    mode: str, whatconverts, engine, ours
):
    """A lead → WhatConverts webhook → engine run → Ours track, all in the background:
    ``settle()`` returns once all of it has happened (engine URLs route in-process too)."""
    with engine.client() as api:
        api.post(
            "/api/authentications",
            json={
                "name": "ours-demo",
                "app": "ours",
                "credentials": {"url": ours.url, **ours.credentials},
            },
        ).raise_for_status()
        workflow = api.post(
            "/api/workflows",
            json={
                "name": "lead to ours",
                "trigger": {"app": "webhook"},
                "steps": [
                    {
                        "id": "track",
                        "app": "ours",
                        "action": "track",
                        "auth": "ours-demo",
                        "params": {"event": "lead_created", "email": "{{ trigger.email_address }}"},
                    }
                ],
            },
        ).json()
        api.post(f"/api/workflows/{workflow['id']}/activate").raise_for_status()
    whatconverts.admin("POST", "/webhooks", json={"url": f"{engine.url}/hooks/{workflow['id']}"})
    with whatconverts.client(auth=wc_auth(whatconverts)) as http:
        made = http.post(
            "/api/v1/leads", data={"lead_type": "web_form", "email_address": "sam@example.com"}
        )
    assert made.status_code == 200, made.text
    engine.settle()
    ours.verify(method="POST", path="/api/v1/track", json={"email": "sam@example.com"}, times=1)
    with engine.client() as api:
        runs = api.get("/api/runs", params={"workflow_id": workflow["id"]}).json()["items"]
    assert [run["status"] for run in runs] == ["Completed"]


def test_a_caspio_trigger_activates_and_fires_in_process(caspio, engine, ours):
    """The engine's in-process hook URL is one Caspio takes as an outgoing webhook (plain
    http:// on a loopback name: ``*.localhost``), and its messages arrive."""
    assert engine.url == "http://engine.careflow.localhost"
    with engine.client() as api:
        for name, handle in (("caspio-demo", caspio), ("ours-demo", ours)):
            credentials = {"url": handle.url, **handle.credentials}
            body = {"name": name, "app": handle.name, "credentials": credentials}
            api.post("/api/authentications", json=body).raise_for_status()
        trigger = {"app": "caspio", "event": "table.recordInsert", "auth": "caspio-demo"}
        track = {"event": "lead_created", "email": "{{ trigger.Email }}"}
        workflow = api.post(
            "/api/workflows",
            json={
                "name": "patient to ours",
                "trigger": {**trigger, "params": {"table": "Patients"}},
                "steps": [
                    {
                        "id": "t",
                        "app": "ours",
                        "action": "track",
                        "auth": "ours-demo",
                        "params": track,
                    }
                ],
            },
        ).json()
        activated = api.post(f"/api/workflows/{workflow['id']}/activate")
        assert activated.status_code == 200, activated.text
    with caspio.client() as http:
        form = {"grant_type": "client_credentials", **caspio.credentials}
        form.pop("profile_name", None)
        token = http.post("/oauth/token", data=form).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        row = {"Name": "Pat Example", "Email": "pat@example.com"}
        assert http.post("/integrations/rest/v3/tables/Patients/records", json=row).is_success
    caspio.settle()
    ours.verify(method="POST", path="/api/v1/track", json={"email": "pat@example.com"}, times=1)


def test_state_seed_and_journal(whatconverts, caspio):
    added = whatconverts.seed({"synthetic": {"leads": 3}})
    assert added["status"] == "seeded"
    snapshot = whatconverts.state()
    assert snapshot["service"] == "whatconverts"
    with whatconverts.client(auth=wc_auth(whatconverts)) as http:
        before = len(http.get("/api/v1/leads", params={"leads_per_page": 2500}).json()["leads"])
        http.post("/api/v1/leads", data={"lead_type": "chat"})
        whatconverts.load_state(snapshot)
        after = len(http.get("/api/v1/leads", params={"leads_per_page": 2500}).json()["leads"])
    assert after == before
    entries = whatconverts.journal(method="POST")
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/v1/leads", 200)
    ]
    assert entries[0]["request_headers"]["authorization"] == "***"
    assert caspio.journal() == []


def test_verify_passes_and_fails_with_the_servers_message(whatconverts):
    with whatconverts.client(auth=wc_auth(whatconverts)) as http:
        http.post("/api/v1/leads", data={"lead_type": "web_form", "form_name": "Intake"})
        http.get("/api/v1/leads", params={"lead_type": "web_form"})
    assert whatconverts.verify(method="POST", path="/api/v1/leads", times=1) == {
        "ok": True,
        "matched": 1,
    }
    whatconverts.verify(path="/api/v1/leads/{id}", never=True)
    with pytest.raises(AssertionError) as failed:
        whatconverts.verify(method="POST", path="/api/v1/leads", json={"form_name": "Follow-up"})
    message = str(failed.value)
    assert message.startswith("verify failed on whatconverts: expected at least 1 request")
    assert 'json.form_name: expected "Follow-up", got "Intake"' in message
    assert "Closest requests, best first:" in message
    with pytest.raises(SandboxError, match=r"unknown matcher key 'tiems' \(did you mean 'times'"):
        whatconverts.verify(path="/api/v1/leads", tiems=1)  # type: ignore[call-arg]


def test_a_refused_helper_call_shows_the_servers_message(ours):
    with pytest.raises(SandboxError) as refused:
        ours.fault("/api/v1/track", staus=500)  # type: ignore[call-arg]
    error = refused.value
    assert isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 422
    text = str(error)
    assert "ours: POST /__sandbox/faults answered 422" in text
    assert "staus: Extra inputs are not permitted (got 500)" in text
    assert "'staus' (did you mean 'status'?)" in text
    with pytest.raises(SandboxError, match="status: Input should be less than or equal to 599"):
        ours.fault("/api/v1/track", status=999)
    assert ours.faults() == []  # bad input changed nothing
    with pytest.warns(UserWarning, match="serves no route at /api/v1/trak"):
        ours.fault("/api/v1/trak", status=503)
    assert ours.clear_faults() == 1


def test_the_engine_handle_says_where_fake_only_helpers_are(engine):
    with pytest.raises(TypeError, match="the engine has no journal"):
        engine.journal()
    with pytest.raises(TypeError, match=re.escape("engine.client().get('/api/runs')")):
        engine.fault("/x", status=500)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", BOTH)
async def test_async_clients_in_an_async_test(mode: str, careflow_stack, ours) -> None:
    async with ours.async_client() as http:
        answer = await http.post(
            "/api/v1/track",
            json={
                "token": ours.credentials["token"],
                "event": "lead_created",
                "email": "pat@example.com",
            },
        )
        assert answer.status_code == 200, answer.text
    async with careflow_stack.async_client("engine") as engine:
        assert (await engine.get("/__sandbox/health")).json()["service"] == "engine"
    ours.verify(path="/api/v1/track", times=1)


def test_in_process_urls_reach_no_real_server(careflow_stack, ours, careflow_block_remote):
    """In-process, .url names no real server (a running ``careflow up`` on the default ports
    never receives a test's calls); a client sent there is told what to use instead."""
    assert careflow_stack.mode == "inprocess"
    for name, url in careflow_stack.urls.items():
        assert url == f"http://{name}.careflow.localhost"
        assert careflow_stack.info[name]["url"] == url
    with pytest.raises(RemoteCallBlocked, match=r"ours\.client\(\) or \.async_client\(\)"):
        httpx.get(f"{ours.url}/__sandbox/health")
    with pytest.raises(RemoteCallBlocked, match="in-process ours service"):
        requests.get(f"{ours.url}/__sandbox/health", timeout=1)
    assert len(careflow_block_remote) == 2 and "careflow_intercept" in careflow_block_remote[0]
    careflow_block_remote.clear()  # provoked on purpose


@pytest.fixture
def intercept_opened_first(_careflow_stacks: Stacks) -> Iterator[InterceptStack]:
    """An intercept block opened before the remote guard is installed (its patches inside)."""
    stack = _careflow_stacks.get("inprocess", 0).stack
    assert isinstance(stack, InterceptStack)
    with intercept(stack=stack):
        yield stack


def _call_real_hosts(info: dict[str, Any]) -> None:
    wc = info["whatconverts"]
    auth = (wc["api_token"], wc["api_secret"])
    url = "https://app.whatconverts.com/api/v1/leads"
    assert httpx.get(url, auth=auth).status_code == 200
    assert requests.get(url, auth=auth, timeout=5).status_code == 200


def test_the_guard_lets_intercepted_hosts_through_installed_after(
    intercept_opened_first: InterceptStack, careflow_block_remote: list[str]
):
    _call_real_hosts(intercept_opened_first.info())
    with pytest.raises(AssertionError, match=r"api\.example\.com"):
        httpx.get("https://api.example.com/x")
    assert careflow_block_remote + intercept_opened_first.blocked != []
    careflow_block_remote.clear()
    intercept_opened_first.blocked.clear()


def test_the_guard_lets_intercepted_hosts_through_installed_before(
    careflow_block_remote: list[str], intercept_opened_first: InterceptStack
):
    _call_real_hosts(intercept_opened_first.info())
    assert careflow_block_remote == []


def test_the_fixtures_and_careflow_intercept_share_one_stack(careflow_intercept, whatconverts):
    """What the intercepted code reaches is what the fixture handles fault, freeze and verify."""
    assert careflow_intercept is whatconverts.stack.stack
    whatconverts.freeze("2026-03-02T12:00:00Z")
    whatconverts.fault("/api/v1/leads", method="GET", status=503, times=1)
    auth = wc_auth(whatconverts)
    url = "https://app.whatconverts.com/api/v1/leads"
    assert requests.get(url, auth=auth, timeout=5).status_code == 503
    made = requests.post(url, auth=auth, data={"lead_type": "chat"}, timeout=5).json()
    assert made["date_created"].startswith("2026-03-02")
    whatconverts.verify(method="GET", path="/api/v1/leads", status=503, times=1)


def test_handles_are_typed_and_exported() -> None:
    import careflow
    from careflow.scenarios import fixtures

    assert careflow.ServiceHandle is fixtures.ServiceHandle
    assert careflow.StackHandle is fixtures.StackHandle
    hints = ServiceHandle.verify.__annotations__
    assert hints["return"] == "dict[str, Any]" and "Unpack[Matcher]" in hints["matcher"]


def test_every_package_ships_py_typed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in config["package-data"]["*"]
    for folder in config["package-dir"].values():
        assert (ROOT / folder / "py.typed").is_file(), f"{folder}/py.typed is missing"


# the marker, checked -------------------------------------------------------------------------


def test_marker_options_are_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.careflow(mdoe="server")
        def test_misspelt_key(ours):
            pass

        @pytest.mark.careflow(mode="srever")
        def test_bad_mode():
            pass

        @pytest.mark.careflow(seed="1")
        def test_bad_seed(ours):
            pass

        @pytest.mark.careflow("server")
        def test_positional(ours):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(
        [
            "*careflow(mdoe=...): unknown option 'mdoe' (did you mean 'mode'?); the options "
            "are mode ('inprocess' or 'server'), seed (a whole number ≥ 0)*",
            "*careflow(mode='srever'): mode must be 'inprocess' or 'server'*",
            "*careflow(seed='1'): seed must be a whole number ≥ 0*",
            "*takes keyword options only, not ('server',)*",
        ]
    )


def test_a_bad_ini_mode_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncareflow_mode = sever\n")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*careflow_mode = 'sever'*must be one of 'inprocess', 'server'*"])
