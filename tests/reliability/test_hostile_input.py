"""Hostile input, per service (issue 15): whatever a request carries — nesting 30,000 deep,
NaN, 6,000-digit integers, lone surrogates, bytes that are not UTF-8, YAML aliases — every
service answers a 4xx or a 2xx, never a 5xx; a refused request changes nothing; and every read
endpoint still answers afterwards (nothing stored can poison a read). In-process, so cheap;
``CAREFLOW_RELIABILITY=long`` runs more examples for the report's figures."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings

from careflow.engine import create_app as engine_app
from careflow.mocks import VENDORS
from careflow.mocks.kernel import VirtualClock
from careflow.mocks.kernel.transports import BackgroundLoop, SyncASGITransport

from ..mocks.fake_env import HOOK_URL, FakeEnv
from .hostile import EXAMPLES, Surface, hostile

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
START = "2026-03-02T12:00:00Z"
STATS: dict[str, list[float]] = {}  # seconds per hostile request, per service


def basic(token: str, secret: str) -> tuple[tuple[str, str], ...]:
    encoded = base64.b64encode(f"{token}:{secret}".encode()).decode()
    return (("authorization", f"Basic {encoded}"),)


def attack(
    service: str,
    client: httpx.Client,
    surface: Surface,
    token: bytes | str,
    reads: list[str],
    snapshot: Callable[[], Any],
) -> None:
    note(f"{service}: {surface.method} {surface.path} ({surface.kind}) with {token[:200]!r}")
    before = snapshot()
    started = time.perf_counter()
    response = client.request(surface.method, **surface.request(token))
    STATS.setdefault(service, []).append(time.perf_counter() - started)
    assert response.status_code < 500, (surface, token[:80], response.text[:500])
    if response.status_code >= 400:
        assert snapshot() == before, (surface, token[:80], "a refused request changed state")
        assert response.headers["content-type"].startswith("application/json")
        response.json()  # the vendor's error shape, as JSON
    for url in reads:
        read = client.get(url)
        assert read.status_code == 200, (surface, token[:80], url, read.text[:300])


def summary(service: str) -> None:
    """One line for the report (pytest -s): how many hostile requests, the slowest answer."""
    seconds = STATS.get(service, [0.0])
    print(f"{service}: {len(seconds)} hostile requests, no 5xx, slowest {max(seconds):.3f} s")


def fake(vendor: str, base_url: str) -> FakeEnv:
    return FakeEnv(VENDORS[vendor].create_app, base_url, START, 3)


def without(state: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in keys}


def admin_surfaces() -> list[Surface]:
    """The control plane every fake serves."""
    return [
        Surface("POST", "/__sandbox/seed", "json", '{"synthetic": {"leads": @X@}}'),
        Surface("POST", "/__sandbox/seed", "yaml", "synthetic: {leads: @X@}"),
        Surface(
            "POST", "/__sandbox/faults", "json", '{"path": "/x", "kind": "error", "status": @X@}'
        ),
        Surface("POST", "/__sandbox/faults", "form", "path=@X@"),
        Surface("POST", "/__sandbox/tenants", "json", '{"name": @X@}'),
        Surface("POST", "/__sandbox/tenants", "form", "name=@X@"),
        Surface("POST", "/__sandbox/clock", "json", '{"advance_seconds": @X@}'),
        Surface("POST", "/__sandbox/journal/verify", "json", '{"json": @X@}'),
        Surface("POST", "/__sandbox/state", "json", '{"service": "x", "state": @X@}'),
        Surface("GET", "/__sandbox/journal", "query", "status=@X@"),
    ]


def test_whatconverts_never_answers_5xx_and_cannot_be_poisoned() -> None:
    env = fake("whatconverts", "http://127.0.0.1:8401")
    c = env.backend.credentials_of(env.backend.state())
    profile, master = (
        basic(c["api_token"], c["api_secret"]),
        basic(c["master_token"], c["master_secret"]),
    )
    lead = next(iter(env.backend.state().leads))
    surfaces = [
        Surface(
            "POST",
            "/api/v1/leads",
            "json",
            '{"lead_type": "web_form", "contact_name": @X@}',
            profile,
        ),
        Surface("POST", "/api/v1/leads", "json", '{"lead_type": @X@}', profile),
        Surface("POST", "/api/v1/leads", "json", "@X@", profile),
        Surface("POST", "/api/v1/leads", "form", "lead_type=web_form&contact_name=@X@", profile),
        Surface(
            "POST", "/api/v1/leads", "form", "lead_type=web_form&additional_fields[@X@]=1", profile
        ),
        Surface("POST", f"/api/v1/leads/{lead}", "json", '{"quote_value": @X@}', profile),
        Surface("POST", "/api/v1/accounts", "json", '{"account_name": @X@}', master),
        Surface("GET", "/api/v1/leads", "query", "account_id=@X@", master),
        Surface("GET", "/api/v1/leads", "query", "profile_id=@X@", master),
        Surface("GET", "/api/v1/leads", "query", "leads_per_page=@X@", profile),
        Surface("GET", "/api/v1/accounts", "query", "accounts_per_page=@X@", master),
        Surface("PUT", "/__sandbox/quota", "json", '{"profile": @X@}'),
        Surface(
            "POST", "/__sandbox/webhooks", "json", f'{{"url": "{HOOK_URL}", "profile_id": @X@}}'
        ),
        *admin_surfaces(),
    ]
    reads = ["/__sandbox/state", "/__sandbox/journal", "/__sandbox/webhooks"]
    auth = dict(profile)

    def snapshot() -> Any:
        return without(env.backend.export_state(), "usage")

    @SETTINGS
    @given(hostile(surfaces))
    def run(case: tuple[Surface, Any]) -> None:
        attack("whatconverts", env.client, *case, reads, snapshot)
        listed = env.client.get("/api/v1/leads", headers=auth)
        assert listed.status_code == 200, listed.text

    try:
        run()
    finally:
        env.close()
    summary("whatconverts")


def test_caspio_never_answers_5xx_and_cannot_be_poisoned() -> None:
    env = fake("caspio", "http://127.0.0.1:8402")
    c = env.backend.credentials_of(env.backend.state())
    grant = env.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": c["client_id"],
              "client_secret": c["client_secret"]},
    )  # fmt: skip
    bearer = (("authorization", f"Bearer {grant.json()['access_token']}"),)
    v3 = "/integrations/rest/v3"
    surfaces = [
        Surface("POST", "/oauth/token", "form", "grant_type=client_credentials&client_id=@X@"),
        Surface("POST", f"{v3}/tables/Patients/records", "json", '{"FirstName": @X@}', bearer),
        Surface("POST", f"{v3}/tables/Patients/records", "json", "@X@", bearer),
        Surface(
            "PUT",
            f"{v3}/tables/Patients/records?q.where=PK_ID%3D1",
            "json",
            '{"FirstName": @X@}',
            bearer,
        ),
        Surface("POST", f"{v3}/tables", "json", '{"Name": @X@, "Fields": []}', bearer),
        Surface("POST", f"{v3}/tables", "json", '{"Name": "T", "Fields": [@X@]}', bearer),
        Surface(
            "POST", f"{v3}/outgoingWebhooks", "json", '{"Name": @X@, "OutgoingUrls": []}', bearer
        ),
        Surface("GET", f"{v3}/tables/Patients/records", "query", "q.limit=@X@", bearer),
        Surface("GET", f"{v3}/tables/Patients/records", "query", "q.pageSize=@X@", bearer),
        Surface("GET", f"{v3}/tables/Patients/records", "query", "q.where=PK_ID%3D@X@", bearer),
        Surface("GET", f"{v3}/tables/Patients/records", "query", "q.where=@X@", bearer),
        Surface("POST", "/__sandbox/profiles", "json", '{"name": @X@}'),
        Surface("POST", "/__sandbox/meter", "json", '{"used": @X@}'),
        *admin_surfaces(),
    ]
    reads = ["/__sandbox/state", "/__sandbox/journal", "/__sandbox/meter"]
    auth = dict(bearer)

    def snapshot() -> Any:
        return without(env.backend.export_state(), "meter")

    @SETTINGS
    @given(hostile(surfaces))
    def run(case: tuple[Surface, Any]) -> None:
        attack("caspio", env.client, *case, reads, snapshot)
        rows = env.client.get(f"{v3}/tables/Patients/records", headers=auth)
        assert rows.status_code == 200, rows.text

    try:
        run()
    finally:
        env.close()
    summary("caspio")


def test_ours_never_answers_5xx_and_cannot_be_poisoned() -> None:
    env = fake("ours", "http://127.0.0.1:8403")
    state = env.backend.state()
    token = env.backend.credentials_of(state)["token"]
    webhook = next(s.token for s in state.sources.values() if s.type == "Webhook")
    t = f'"token": "{token}", "event": "lead_created", "email": "h@example.com"'
    surfaces = [
        Surface("POST", "/api/v1/track", "json", f'{{{t}, "eventProperties": {{"x": @X@}}}}'),
        Surface("POST", "/api/v1/track", "json", f'{{{t}, "distinctId": @X@}}'),
        Surface("POST", "/api/v1/track", "json", "@X@"),
        Surface("POST", "/api/v1/identify", "json", f'{{{t}, "userProperties": {{"city": @X@}}}}'),
        Surface("POST", "/api/v1/batch", "json", f'{{"token": "{token}", "events": [@X@]}}'),
        Surface(
            "POST", f"/api/v1/webhooks/{webhook}", "json", '{"email": "h@example.com", "x": @X@}'
        ),
        Surface("POST", "/__sandbox/sources", "json", '{"name": @X@}'),
        Surface("POST", "/__sandbox/destinations", "json", '{"id": "d", "type": @X@}'),
        Surface("PUT", "/__sandbox/data-governance", "json", '{"items": [@X@]}'),
        *admin_surfaces(),
    ]
    reads = [
        "/__sandbox/state",
        "/__sandbox/journal",
        "/__sandbox/events",
        "/__sandbox/dispatches",
        "/__sandbox/visitors",
    ]

    def snapshot() -> Any:
        env.settle()
        return env.backend.export_state()

    @SETTINGS
    @given(hostile(surfaces))
    def run(case: tuple[Surface, Any]) -> None:
        attack("ours", env.client, *case, reads, snapshot)

    try:
        run()
    finally:
        env.close()
    summary("ours")


@pytest.fixture
def engine_client() -> Iterator[httpx.Client]:
    loop = BackgroundLoop()
    app = engine_app(clock=VirtualClock(START, frozen=True))
    transport = SyncASGITransport(httpx.ASGITransport(app=app), loop)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1:8400") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    loop.close()


def test_engine_never_answers_5xx_and_cannot_be_poisoned(engine_client: httpx.Client) -> None:
    client = engine_client
    flow = {"name": "hostile", "trigger": {"app": "webhook"},
            "steps": [{"id": "s", "app": "logic", "action": "continue_if",
                       "params": {"value": "{{ trigger.x }}", "op": "is_not_null"}}]}  # fmt: skip
    wf = client.post("/api/workflows", json=flow).json()["id"]
    assert client.post(f"/api/workflows/{wf}/activate").status_code == 200
    surfaces = [
        Surface(
            "POST",
            "/api/workflows",
            "json",
            '{"name": @X@, "trigger": {"app": "webhook"}, "steps": []}',
        ),
        Surface("POST", "/api/workflows", "json", "@X@"),
        Surface(
            "POST", "/api/workflows", "yaml", "name: @X@\ntrigger: {app: webhook}\nsteps: []\n"
        ),
        Surface("POST", "/api/workflows", "form", "name=@X@"),
        Surface(
            "PUT", f"/api/workflows/{wf}", "yaml", "name: x\ntrigger: {app: webhook}\nsteps: @X@\n"
        ),
        Surface(
            "POST",
            "/api/authentications",
            "json",
            '{"name": "a", "app": "ours", "credentials": {"url": @X@}}',
        ),
        Surface(
            "POST", "/api/authentications", "json", '{"name": @X@, "app": @X@, "credentials": {}}'
        ),
        Surface("POST", "/api/authentications", "form", "name=@X@"),
        Surface("POST", f"/hooks/{wf}", "json", '{"x": @X@}'),
        Surface("POST", f"/hooks/{wf}", "json", "@X@"),
        Surface("POST", f"/hooks/{wf}", "form", "x=@X@"),
        Surface("POST", f"/api/workflows/{wf}/test-step/s", "json", '{"x": @X@}'),
        Surface("POST", "/__sandbox/clock", "json", '{"advance_seconds": @X@}'),
        Surface("POST", "/__sandbox/clock", "json", '{"set": @X@}'),
        Surface("GET", "/api/runs", "query", "limit=@X@"),
        Surface("GET", "/api/runs", "query", "cursor=@X@"),
        Surface("GET", "/api/runs", "query", "status=@X@"),
    ]
    reads = [
        "/api/runs",
        "/api/workflows",
        "/api/audit",
        "/api/authentications",
        "/__sandbox/clock",
    ]

    def snapshot() -> Any:
        return [client.get(url).json() for url in ("/api/workflows", "/api/authentications")]

    @SETTINGS
    @given(hostile(surfaces))
    def run(case: tuple[Surface, Any]) -> None:
        attack("engine", client, *case, reads, snapshot)
        for run_ in client.get("/api/runs").json()["items"][:3]:
            assert client.get(f"/api/runs/{run_['id']}").status_code == 200

    run()
    summary("engine")


def test_a_body_over_the_limit_is_a_413_in_the_vendors_shape() -> None:
    big = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    shapes = {"whatconverts": "error_message", "caspio": "Code", "ours": "success"}
    for vendor, url in (("whatconverts", "/api/v1/leads"), ("caspio", "/oauth/token"),
                        ("ours", "/api/v1/track")):  # fmt: skip
        env = fake(vendor, "http://127.0.0.1:8400")
        try:
            response = env.client.post(
                url, content=big, headers={"content-type": "application/json"}
            )
            assert response.status_code == 413, response.text
            assert shapes[vendor] in response.json()
            entry = env.client.get("/__sandbox/journal").json()["items"][-1]
            assert entry["status"] == 413
        finally:
            env.close()


def test_a_big_body_is_journaled_by_its_size_only() -> None:
    """The journal keeps 5,000 requests: a body over 1 MiB is noted by size, not kept."""
    env = fake("ours", "http://127.0.0.1:8403")
    try:
        body = b'{"token": "x", "event": "' + b"a" * (2 * 1024 * 1024) + b'"}'
        env.client.post("/api/v1/track", content=body, headers={"content-type": "application/json"})
        entry = env.client.get("/__sandbox/journal").json()["items"][-1]
        assert entry["request_body"] == f"<body of {len(body)} bytes: too large to journal>"
    finally:
        env.close()
