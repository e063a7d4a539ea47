"""``careflow.intercept`` and the ``careflow_intercept`` fixture: code written for the vendors'
real hosts runs unchanged against the in-process fakes, and nothing leaves the machine."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import urllib3

from careflow.mocks import VENDORS
from careflow.mocks.kernel import is_loopback_host
from careflow.scenarios.intercept import InterceptBlocked, InterceptStack, intercept

WC = "https://app.whatconverts.com/api/v1"
CASPIO = "https://c1abc123.caspio.com"


@pytest.fixture
def no_remote_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fails the test on any connect (or DNS lookup) for a non-loopback address. Installed
    inside the intercept block, so it sees every call before the interception's own guard."""
    seen: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def spy(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and not is_loopback_host(str(address[0])):
            seen.append(f"connect {address}")
            pytest.fail(f"a socket was opened to {address}")

    def connect(sock: socket.socket, address: Any) -> None:
        spy(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        spy(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback_host(str(host)):
            seen.append(f"getaddrinfo {host}")
            pytest.fail(f"{host} was looked up")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield seen
    assert seen == []


def verify(stack: InterceptStack, service: str, **matcher: Any) -> dict[str, Any]:
    with stack.client(service) as client:
        answer = client.post("/__sandbox/journal/verify", json=matcher).json()
    assert answer["ok"], answer.get("message")
    return answer  # type: ignore[no-any-return]


def test_code_written_for_the_real_hosts_runs_in_process(
    careflow_intercept: InterceptStack, no_remote_sockets: list[str]
) -> None:
    """The issue's done-when: requests → WhatConverts, httpx → a Caspio account host, and the
    official Ours SDK on its default base URL, with no socket to a non-loopback address."""
    ours_privacy = pytest.importorskip("ours_privacy")
    info = careflow_intercept.info()
    wc, caspio, ours = info["whatconverts"], info["caspio"], info["ours"]

    auth = (wc["api_token"], wc["api_secret"])
    made = requests.post(f"{WC}/leads", auth=auth, data={"lead_type": "chat"})
    assert made.status_code == 200, made.text
    listed = requests.get(f"{WC}/leads", auth=auth, params={"lead_type": "chat"}).json()
    assert made.json()["lead_id"] in [lead["lead_id"] for lead in listed["leads"]]

    token = httpx.post(
        f"{CASPIO}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": caspio["client_id"],
            "client_secret": caspio["client_secret"],
        },
    ).json()["access_token"]
    with httpx.Client(
        base_url=f"{CASPIO}/integrations/rest/v3", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        assert "Patients" in client.get("/tables").json()["Result"]
        inserted = client.post("/tables/Patients/records", json={"Name": "Pat Example"})
        assert inserted.status_code == 201, inserted.text

    with ours_privacy.OursPrivacy(max_retries=0) as sdk:
        assert str(sdk.base_url).startswith("https://api.oursprivacy.com/api/v1")
        assert sdk.track.event(token=ours["token"], event="lead_created", email="a@example.com")
        assert sdk.visitor.upsert(
            token=ours["token"], email="a@example.com", user_properties={"city": "Reno"}
        ).success

    verify(careflow_intercept, "whatconverts", method="POST", path="/api/v1/leads", times=1)
    verify(careflow_intercept, "caspio", path="/integrations/rest/v3/tables/{table}/records")
    verify(careflow_intercept, "ours", path="/api/v1/track", json={"event": "lead_created"})
    assert careflow_intercept.blocked == []


def test_clients_built_before_the_block_are_intercepted_and_restored_after() -> None:
    sync_client, async_client = httpx.Client(), httpx.AsyncClient()
    original = httpx.HTTPTransport.handle_request
    with intercept(seed=0) as stack:
        wc = stack.info()["whatconverts"]
        auth = (wc["api_token"], wc["api_secret"])
        assert sync_client.get(f"{WC}/leads", auth=auth).status_code == 200

        async def call() -> int:
            return (await async_client.get(f"{WC}/leads", auth=auth)).status_code

        assert asyncio.run(call()) == 200
        assert stack.info()["whatconverts"]["url"] == "http://whatconverts.careflow.localhost"
        with stack.client("whatconverts") as admin:
            assert len(admin.get("/__sandbox/journal").json()["items"]) == 2
    assert httpx.HTTPTransport.handle_request is original
    assert "connect" not in socket.socket.__dict__
    sync_client.close()
    asyncio.run(async_client.aclose())


def test_as_a_decorator_sync_async_and_bare(careflow_intercept: InterceptStack) -> None:
    @intercept(stack=careflow_intercept)
    def sync_call() -> int:
        return httpx.get(f"{WC}/leads").status_code

    @intercept(stack=careflow_intercept)
    async def async_call() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{WC}/leads")).status_code

    assert sync_call() == asyncio.run(async_call()) == 401  # no credentials: the fake says so

    @intercept
    def fresh() -> list[str]:
        from careflow.scenarios.intercept import active_stack

        stack = active_stack()
        assert stack is not None and stack is not careflow_intercept
        return [e["path"] for e in careflow_intercept.kernel("whatconverts").journal.items()]

    assert fresh() == ["/api/v1/leads", "/api/v1/leads"]


def test_urllib3_and_urllib_request(careflow_intercept: InterceptStack) -> None:
    wc = careflow_intercept.info()["whatconverts"]
    basic = base64.b64encode(f"{wc['api_token']}:{wc['api_secret']}".encode()).decode()
    pool = urllib3.PoolManager()
    answer = pool.request("GET", f"{WC}/leads", headers={"Authorization": f"Basic {basic}"})
    assert answer.status == 200 and "leads" in json.loads(answer.data)

    request = urllib.request.Request(
        f"{WC}/leads",
        data=b"lead_type=chat",
        headers={"Authorization": f"Basic {basic}"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200 and json.loads(response.read())["lead_type"] == "Chat"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{WC}/leads")
    assert refused.value.code == 401 and b"error_message" in refused.value.read()


def test_aiohttp(careflow_intercept: InterceptStack) -> None:
    aiohttp = pytest.importorskip("aiohttp")
    wc = careflow_intercept.info()["whatconverts"]
    basic = base64.b64encode(f"{wc['api_token']}:{wc['api_secret']}".encode()).decode()

    async def call() -> tuple[int, dict[str, Any], int]:
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {basic}"}) as session:
            async with session.post(f"{WC}/leads", data={"lead_type": "chat"}) as made:
                lead = await made.json()
            async with session.get(f"{WC}/leads/{lead['lead_id']}") as got:
                return got.status, await got.json(), made.status

    status, got, made = asyncio.run(call())
    assert (made, status, got["leads"][0]["lead_type"]) == (200, 200, "Chat")


def test_faults_reach_each_client_as_its_own_errors(careflow_intercept: InterceptStack) -> None:
    with careflow_intercept.client("whatconverts") as admin:
        admin.post("/__sandbox/faults", json={"path": "/api/v1/leads", "kind": "timeout"})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{WC}/leads")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{WC}/leads")
    with careflow_intercept.client("whatconverts") as admin:
        admin.delete("/__sandbox/faults")
        admin.post("/__sandbox/faults", json={"path": "/api/v1/leads", "kind": "drop"})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{WC}/leads")


def test_urllib3_retries_still_apply(careflow_intercept: InterceptStack) -> None:
    with careflow_intercept.client("whatconverts") as admin:
        admin.post(
            "/__sandbox/faults",
            json={"path": "/api/v1/leads", "status": 429, "retry_after": 0, "times": 1},
        )
    session = requests.Session()
    retry = urllib3.Retry(total=2, status_forcelist=[429], backoff_factor=0)
    session.mount("https://", requests.adapters.HTTPAdapter(max_retries=retry))
    assert session.get(f"{WC}/leads").status_code == 401  # the retry got past the 429
    statuses = [e["status"] for e in careflow_intercept.kernel("whatconverts").journal.items()]
    assert statuses == [429, 401]


def test_other_hosts_are_blocked_with_a_clear_error(careflow_intercept: InterceptStack) -> None:
    calls = [
        lambda: requests.get("https://api.example.com/x"),
        lambda: httpx.get("https://api.example.com/x"),
        lambda: urllib.request.urlopen("https://api.example.com/x"),
        lambda: socket.create_connection(("192.0.2.1", 443), timeout=1),
    ]
    for call in calls:
        with pytest.raises(InterceptBlocked, match="not a vendor host the sandbox fakes"):
            call()
    assert len(careflow_intercept.blocked) == 4
    assert "app.whatconverts.com" in str(careflow_intercept.refuse("GET x", "x"))
    careflow_intercept.blocked.clear()
    with pytest.raises(httpx.ConnectError):  # loopback is reached as usual (nothing listens)
        httpx.get("http://127.0.0.1:9/")


def test_every_registered_real_host_routes_to_its_fake(careflow_intercept: InterceptStack) -> None:
    for name in VENDORS:
        for pattern in VENDORS[name].real_hosts:
            host = pattern.replace("*", "acct42")
            assert careflow_intercept.service_for("https", host, None) == name
    assert careflow_intercept.service_for("https", "caspio.com.evil.example", None) is None


def test_the_fixture_fails_a_test_whose_blocked_call_was_swallowed(pytester: Any) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_swallowed(careflow_intercept):
            try:
                httpx.get("https://api.example.com/x")
            except Exception:
                pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*GET https://api.example.com/x*"])


def test_careflow_exports_intercept_lazily() -> None:
    import careflow

    assert careflow.intercept is intercept
