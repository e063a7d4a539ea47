"""Issue 14: a fourth fake is a folder plus one line in the registry. ``tests/fixtures/tinyvendor``
is such a folder; registering it is the one line. Nothing else is told about it, yet the stack,
the served ports, the admin surface and the contract harness all pick it up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from careflow.mocks import VENDORS
from careflow.scenarios.server import bind_sockets, urls_of
from careflow.scenarios.stack import InProcessStack, port_offsets, services


@pytest.fixture
def tiny() -> Iterator[str]:
    VENDORS.register("tiny", "tests.fixtures.tinyvendor")  # the one line
    try:
        yield "tiny"
    finally:
        VENDORS.unregister("tiny")


def test_the_registry_lists_the_three_vendors_without_importing_their_apps() -> None:
    assert list(VENDORS) == ["whatconverts", "caspio", "ours"]
    assert [VENDORS[n].port_offset for n in VENDORS] == [1, 2, 3]
    assert VENDORS.for_host("c1abc123.caspio.com") is VENDORS["caspio"]
    assert VENDORS.for_host("app.whatconverts.com") is VENDORS["whatconverts"]
    assert VENDORS.for_host("api.oursprivacy.com") is VENDORS["ours"]
    assert VENDORS.for_host("example.com") is None
    assert VENDORS["caspio"].serves_host("C1ABC123.Caspio.com.")
    assert not VENDORS["caspio"].serves_host("caspio.com.evil.example")
    with pytest.raises(ValueError, match="one of whatconverts, caspio, ours"):
        VENDORS.get_vendor("whatconvert")


def test_a_registered_vendor_joins_the_stack(tiny: str) -> None:
    assert services() == ("engine", "whatconverts", "caspio", "ours", "tiny")
    assert port_offsets()["tiny"] == 4
    with InProcessStack(seed=0) as stack:
        info = stack.info()
        assert info["tiny"] == {"url": "http://127.0.0.1:8404", "token": "sbx_tiny_default"}
        with stack.client("tiny") as client:
            headers = {"Authorization": f"Bearer {info['tiny']['token']}"}
            assert client.get("/api/ping", headers=headers).json() == {"pong": 1}
            assert client.get("/api/ping").status_code == 401
            assert client.get("/__sandbox/health").json() == {"status": "ok", "service": "tiny"}
            journal = client.get("/__sandbox/journal").json()["items"]
            assert [e["status"] for e in journal] == [200, 401]
            client.post("/__sandbox/reset")
            assert client.get("/api/ping", headers=headers).json() == {"pong": 1}


def test_a_registered_vendor_gets_its_port(tiny: str) -> None:
    sockets = bind_sockets("127.0.0.1", 0)
    try:
        assert set(sockets) == {"engine", "whatconverts", "caspio", "ours", "tiny"}
        assert urls_of("127.0.0.1", sockets)["tiny"].startswith("http://127.0.0.1:")
    finally:
        for sock in sockets.values():
            sock.close()


def test_the_contract_harness_checks_a_registered_vendor(tiny: str) -> None:
    from careflow.contracts.check import check_spec
    from careflow.contracts.target import in_process
    from careflow.contracts.vendors import vendor

    with in_process(vendor("tiny")) as target:
        assert target.credentials == {"token": "sbx_tiny_default"}
        results = check_spec(target, max_examples=3)
    assert [r.operation for r in results] == ["GET /ping"]
    assert all(r.passed for r in results), [r.failures for r in results]
    assert results[0].examples > 0
