import asyncio

import httpx
import pytest

from careflow.mocks.kernel import FaultSpec, FaultStore
from careflow.mocks.kernel.faults import compile_pattern


def test_patterns_match_params_and_wildcards():
    assert compile_pattern("/api/v1/leads/{id}").fullmatch("/api/v1/leads/42")
    assert not compile_pattern("/api/v1/leads/{id}").fullmatch("/api/v1/leads/42/x")
    assert compile_pattern("/api/*").fullmatch("/api/v1/track")
    assert compile_pattern("/api/v1/track").fullmatch("/api/v1/track/")


def test_times_limits_how_often_a_fault_fires():
    store = FaultStore()
    store.add(FaultSpec(method="POST", path="/api/v1/track", times=2))
    fired = [store.match("POST", "/api/v1/track") is not None for _ in range(4)]
    assert fired == [True, True, False, False]
    assert store.match("GET", "/api/v1/track") is None


def test_probability_is_seeded_and_reproducible():
    def run(seed: int) -> list[bool]:
        store = FaultStore(seed)
        store.add(FaultSpec(path="*", probability=0.5))
        return [store.match("GET", "/x") is not None for _ in range(50)]

    assert run(3) == run(3)
    assert 5 < sum(run(3)) < 45


def test_error_fault_is_vendor_shaped_with_retry_after(admin):
    fault = admin.post(
        "/__sandbox/faults",
        json={
            "method": "GET",
            "path": "/api/v1/leads",
            "kind": "error",
            "status": 429,
            "retry_after": 7,
            "times": 1,
        },
    ).json()
    response = admin.get("/api/v1/leads")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"error_message": f"Injected fault #{fault['id']}"}
    assert admin.get("/api/v1/leads").status_code != 429  # times=1 used up
    entries = admin.get("/__sandbox/journal", params={"status": 429}).json()["items"]
    assert entries[0]["fault"] == {"id": fault["id"], "kind": "error"}


def test_custom_error_body_is_sent_verbatim(admin):
    admin.post("/__sandbox/faults", json={"path": "/x", "status": 503, "body": {"oops": 1}})
    response = admin.get("/x")
    assert (response.status_code, response.json()) == (503, {"oops": 1})


def test_latency_on_a_frozen_clock_is_virtual(admin, frozen_clock):
    before = frozen_clock.now()
    admin.post("/__sandbox/faults", json={"path": "/slow", "kind": "latency", "latency_ms": 5000})
    admin.get("/slow")
    assert (frozen_clock.now() - before).total_seconds() == 5


def test_timeout_and_drop_reach_the_client_as_transport_errors(wc_app):
    async def scenario() -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=wc_app), base_url="http://127.0.0.1"
        ) as client:
            await client.post("/__sandbox/faults", json={"path": "/t", "kind": "timeout"})
            await client.post("/__sandbox/faults", json={"path": "/d", "kind": "drop"})
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/t")
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/d")
            journal = (await client.get("/__sandbox/journal")).json()["items"]
            assert [e["fault"]["kind"] for e in journal] == ["timeout", "drop"]

    asyncio.run(scenario())


def test_faults_can_be_listed_and_deleted(admin):
    first = admin.post("/__sandbox/faults", json={"path": "/a"}).json()["id"]
    admin.post("/__sandbox/faults", json={"path": "/b"})
    assert [f["path"] for f in admin.get("/__sandbox/faults").json()["items"]] == ["/a", "/b"]
    assert admin.delete(f"/__sandbox/faults/{first}").status_code == 204
    assert admin.delete(f"/__sandbox/faults/{first}").status_code == 404
    assert admin.delete("/__sandbox/faults").json() == {"deleted": 1}
    assert admin.get("/__sandbox/faults").json() == {"items": []}


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"path": "/a", "kind": "explode"}, "kind"),
        ({"path": "a"}, "must start with '/'"),
        ({"path": "/a", "probability": 2}, "probability"),
        ({"path": "/a", "surprise": True}, "surprise"),
    ],
)
def test_bad_fault_is_422_and_adds_nothing(admin, body, needle):
    response = admin.post("/__sandbox/faults", json=body)
    assert response.status_code == 422
    assert needle in response.text
    assert admin.get("/__sandbox/faults").json() == {"items": []}


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"path": "/a", "kind": "latency"}, "needs latency_ms"),
        ({"path": "/a", "kind": "error", "status": 200}, "error status"),
        ({"path": "/a", "kind": "latency", "latency_ms": 5, "retry_after": 3}, "retry_after"),
    ],
)
def test_incoherent_fault_is_422_and_adds_nothing(admin, body, needle):
    response = admin.post("/__sandbox/faults", json=body)
    assert response.status_code == 422
    assert needle in response.text
    assert admin.get("/__sandbox/faults").json() == {"items": []}


def test_fault_ids_are_never_reused_after_a_clear(admin):
    first = admin.post("/__sandbox/faults", json={"path": "/a"}).json()["id"]
    admin.delete("/__sandbox/faults")
    assert admin.post("/__sandbox/faults", json={"path": "/a"}).json()["id"] > first


def test_a_tenant_scoped_fault_fires_only_for_that_tenants_credential(admin):
    alice = admin.post("/__sandbox/tenants", json={"name": "alice"}).json()["credentials"]
    default = admin.get("/__sandbox/info").json()
    scoped = {"X-Sandbox-Tenant": "alice"}
    fault = {"method": "GET", "path": "/api/v1/leads", "status": 503}
    created = admin.post("/__sandbox/faults", json=fault, headers=scoped).json()
    assert created["tenant"] == "alice"

    alice_auth = (alice["api_token"], alice["api_secret"])
    default_auth = (default["api_token"], default["api_secret"])
    assert admin.get("/api/v1/leads", auth=default_auth).status_code == 200
    assert admin.get("/api/v1/leads", auth=alice_auth).status_code == 503
    # an unscoped fault still fires for everyone
    admin.post("/__sandbox/faults", json={**fault, "status": 502, "times": 1})
    assert admin.get("/api/v1/leads", auth=default_auth).status_code == 502

    # clearing alice's faults leaves the others' alone (and vice versa for the listing)
    admin.post("/__sandbox/faults", json={**fault, "status": 500})
    assert admin.delete("/__sandbox/faults", headers=scoped).json() == {"deleted": 1}
    assert [f["status"] for f in admin.get("/__sandbox/faults").json()["items"]] == [502, 500]
    assert admin.get("/api/v1/leads", auth=alice_auth).status_code == 500


def test_a_client_that_has_its_answer_finds_it_in_the_journal(wc_app):
    """The journal entry is written before the answer's last chunk leaves the server, so a
    test that checks the journal right after a response never misses it (strict mode)."""
    seen_in_journal: list[bool] = []

    async def scenario() -> None:
        kernel = wc_app.state.kernel
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                seen_in_journal.append(
                    any(e["path"] == "/api/v1/nope" for e in kernel.journal.items())
                )
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/v1/nope",
            "raw_path": b"/api/v1/nope",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8401),
        }
        await wc_app(scope, receive, send)
        assert sent[0]["status"] == 404

    asyncio.run(scenario())
    assert seen_in_journal == [True]


def test_a_fault_for_an_unknown_tenant_is_422_and_adds_nothing(admin):
    response = admin.post(
        "/__sandbox/faults", json={"path": "/api/v1/leads"}, headers={"X-Sandbox-Tenant": "nope"}
    )
    assert response.status_code == 422
    assert "no tenant 'nope'" in response.text and "POST /__sandbox/tenants" in response.text
    assert admin.get("/__sandbox/faults").json() == {"items": []}


def test_a_fault_on_a_path_no_route_serves_says_so(admin):
    typo = admin.post("/__sandbox/faults", json={"path": "/api/v1/lead"}).json()
    assert "serves no route at /api/v1/lead" in typo["warning"]
    for path in ("/api/v1/leads", "/api/v1/leads/{id}", "/api/*"):
        assert "warning" not in admin.post("/__sandbox/faults", json={"path": path}).json()


def test_listing_faults_for_a_tenant_shows_what_can_hit_it(admin):
    admin.post("/__sandbox/tenants", json={"name": "t1"})
    admin.post("/__sandbox/tenants", json={"name": "t2"})
    for tenant in ("t1", "t2"):
        admin.post(
            "/__sandbox/faults",
            json={"path": "/api/v1/leads"},
            headers={"X-Sandbox-Tenant": tenant},
        )
    admin.post("/__sandbox/faults", json={"path": "/api/v1/leads"})
    listed = admin.get("/__sandbox/faults", headers={"X-Sandbox-Tenant": "t1"}).json()["items"]
    assert [f["tenant"] for f in listed] == ["t1", None]
    assert len(admin.get("/__sandbox/faults").json()["items"]) == 3
