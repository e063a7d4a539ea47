import asyncio

import httpx
import pytest

from mocks.kernel import FaultSpec, FaultStore
from mocks.kernel.faults import compile_pattern


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
