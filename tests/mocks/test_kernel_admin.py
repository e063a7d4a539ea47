import pytest

from careflow.mocks.kernel import VirtualClock
from careflow.scenarios import InProcessStack


def test_health_names_the_service(admin):
    assert admin.get("/__sandbox/health").json() == {"status": "ok", "service": "whatconverts"}


def test_correlation_id_is_honoured_or_generated(admin):
    assert admin.get("/x", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    generated = admin.get("/x").headers["x-request-id"]
    assert len(generated) == 32
    assert admin.get("/__sandbox/journal").json()["items"][-1]["correlation_id"] == generated


def test_clock_read_and_moves(admin):
    assert admin.get("/__sandbox/clock").json() == {"now": "2026-01-01T12:00:00Z", "frozen": True}
    moved = admin.post("/__sandbox/clock", json={"advance_seconds": 3600}).json()
    assert moved == {"now": "2026-01-01T13:00:00Z", "frozen": True}
    assert admin.post("/__sandbox/clock", json={"set": "2027-03-04T05:06:07Z"}).json()["now"] == (
        "2027-03-04T05:06:07Z"
    )


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"advance_seconds": -5}, "greater than or equal to 0"),
        ({"set": "yesterday"}, "not an ISO-8601 instant"),
        ({"frozen": "maybe"}, "frozen"),
        ({"warp": 1}, "warp"),
    ],
)
def test_bad_clock_input_is_422_and_moves_nothing(admin, body, needle):
    response = admin.post("/__sandbox/clock", json=body)
    assert response.status_code == 422
    assert needle in response.text
    assert admin.get("/__sandbox/clock").json()["now"] == "2026-01-01T12:00:00Z"


@pytest.mark.parametrize(
    "raw, needle",
    [
        ('{"advance_seconds": NaN}', "finite number"),
        ('{"advance_seconds": 1e400}', "finite number"),
        ('{"advance_seconds": 1e12}', "less than or equal to"),
        ('{"set": "9999-12-31T00:00:00Z", "advance_seconds": 86400000}', "year 9999"),
    ],
)
def test_out_of_range_advance_is_422_and_moves_nothing(admin, raw, needle):
    response = admin.post(
        "/__sandbox/clock", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert needle in response.text
    assert admin.get("/__sandbox/clock").json()["now"] == "2026-01-01T12:00:00Z"


def test_advancing_one_fake_moves_the_whole_stack():
    clock = VirtualClock("2026-01-01T00:00:00Z", frozen=True)
    with InProcessStack(clock=clock) as stack, stack.client() as client:
        client.post(f"{stack.urls['caspio']}/__sandbox/clock", json={"advance_seconds": 120})
        for url in stack.urls.values():
            assert client.get(f"{url}/__sandbox/clock").json()["now"] == "2026-01-01T00:02:00Z"


def test_state_export_import_round_trip(admin):
    exported = admin.get("/__sandbox/state").json()
    assert exported["service"] == "whatconverts"
    assert admin.post("/__sandbox/state", json=exported).status_code == 200
    assert admin.get("/__sandbox/state").json()["state"] == exported["state"]


def test_state_import_rejects_other_services_and_real_keys(admin):
    before = admin.get("/__sandbox/state").json()
    wrong = admin.post("/__sandbox/state", json={"service": "caspio", "state": {}})
    assert wrong.status_code == 422 and "whatconverts" in wrong.text
    token = "9f8c1e2d4b7a6c5e3f1a0b9c8d7e6f5a"
    key = {"token": token, "secret": "s", "kind": "profile", "account_id": 1, "profile_id": 1}
    real = dict(before["state"], keys={token: key})
    refused = admin.post("/__sandbox/state", json={"service": "whatconverts", "state": real})
    assert refused.status_code == 422 and "real" in refused.text
    assert admin.get("/__sandbox/state").json()["state"] == before["state"]


def test_reset_clears_journal_and_faults(admin):
    admin.get("/x")
    admin.post("/__sandbox/faults", json={"path": "/y"})
    admin.post("/__sandbox/reset")
    assert admin.get("/__sandbox/journal").json()["items"] == []
    assert admin.get("/__sandbox/faults").json() == {"items": []}


def test_tenants_are_isolated_and_cheap_to_reset(wc_app, admin):
    backend = wc_app.state.backend
    created = admin.post("/__sandbox/tenants", json={"name": "ci-1"}).json()
    token = created["credentials"]["api_token"]
    assert backend.tenant_for(token) == "ci-1"
    assert backend.tenant_for(backend.credentials_of(backend.state())["api_token"]) == "default"
    assert token != backend.credentials_of(backend.state())["api_token"]
    assert admin.post("/__sandbox/tenants", json={"name": "ci-1"}).status_code == 409
    admin.post("/__sandbox/reset", headers={"X-Sandbox-Tenant": "ci-1"})
    assert backend.tenant_for(token) == "ci-1"  # same seeded credentials after a reset
    assert admin.delete("/__sandbox/tenants/ci-1").status_code == 204
    assert backend.tenant_for(token) is None
    assert admin.delete("/__sandbox/tenants/default").status_code == 404


def test_seed_accepts_yaml(admin):
    response = admin.post(
        "/__sandbox/seed", content=b"synthetic: {}\n", headers={"content-type": "application/yaml"}
    )
    assert response.status_code == 200
    bad = admin.post("/__sandbox/seed", content=b"[1, 2", headers={"content-type": "text/plain"})
    assert bad.status_code == 422


@pytest.mark.parametrize("service", ["whatconverts", "caspio", "ours"])
def test_a_malformed_state_document_is_422_and_changes_nothing(service):
    with InProcessStack() as stack, stack.client(service) as client:
        before = client.get("/__sandbox/state").json()
        for broken in (5, [], "x", {"nonsense": True}):
            doc = {"service": service, "state": {key: broken for key in before["state"]}}
            response = client.post("/__sandbox/state", json=doc)
            assert response.status_code == 422, (broken, response.text)
            assert "state document rejected" in response.json()["detail"]
            assert client.get("/__sandbox/state").json()["state"] == before["state"]


@pytest.mark.parametrize(
    "service, body, needle",
    [
        ("whatconverts", {"synthetic": {"leadz": 5}}, "synthetic: unknown key(s) 'leadz'"),
        ("whatconverts", {"lead": [{}]}, "seed body: unknown key(s) 'lead'"),
        ("whatconverts", {"synthetic": 5}, "'synthetic' must be an object"),
        ("ours", {"synthetic": {"visitor": 2}}, "synthetic: unknown key(s) 'visitor'"),
        ("ours", {"destination": []}, "seed body: unknown key(s) 'destination'"),
        ("caspio", {"synthetic": {"patient": 2}}, "synthetic: unknown key(s) 'patient'"),
        ("caspio", {"table": {}}, "seed body: unknown key(s) 'table'"),
    ],
)
def test_a_seed_with_an_unknown_key_is_422_and_adds_nothing(service, body, needle):
    with InProcessStack() as stack, stack.client(service) as client:
        before = client.get("/__sandbox/state").json()["state"]
        response = client.post("/__sandbox/seed", json=body)
        assert response.status_code == 422, response.text
        assert needle in response.json()["detail"]
        assert client.get("/__sandbox/state").json()["state"] == before
