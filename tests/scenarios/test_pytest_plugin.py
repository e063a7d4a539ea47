import pytest


def test_stack_fixture_in_process(careflow_stack, whatconverts, caspio, ours, engine):
    assert careflow_stack.mode == "inprocess"
    for service in (whatconverts, caspio, ours, engine):
        with service.client() as client:
            assert client.get("/__sandbox/health").json()["service"] == service.name
    assert set(whatconverts.credentials) >= {"api_token", "api_secret", "profile_id"}
    assert set(caspio.credentials) >= {"client_id", "client_secret", "profile_name"}
    assert set(ours.credentials) >= {"token", "test_token"}


@pytest.mark.careflow(mode="server")
def test_stack_fixture_as_real_servers(careflow_stack, ours):
    import httpx

    assert careflow_stack.mode == "server"
    assert ours.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{ours.url}/__sandbox/health").json() == {"status": "ok", "service": "ours"}
    info = httpx.get(f"{careflow_stack.urls['engine']}/__sandbox/stack").json()
    assert info["ours"]["url"] == ours.url


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_state_is_reset_between_tests(pytester, mode):
    pytester.makepyfile(
        f"""
        import pytest

        pytestmark = pytest.mark.careflow(mode="{mode}")

        def test_one(whatconverts):
            whatconverts.fault("/anything", status=500)
            whatconverts.advance(3600)

        def test_two(whatconverts, careflow_stack):
            with whatconverts.client() as c:
                assert c.get("/__sandbox/faults").json() == {{"items": []}}
            from datetime import UTC, datetime
            assert abs((careflow_stack.clock.now() - datetime.now(UTC)).total_seconds()) < 60
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_unmatched_request_fails_the_test_with_nearest_route(pytester):
    pytester.makepyfile(
        """
        import pytest

        def test_typo(ours):
            with ours.client() as c:
                c.post("/api/v1/trak", json={})

        @pytest.mark.careflow_allow_unmatched
        def test_allowed(ours):
            with ours.client() as c:
                c.post("/api/v1/trak", json={})

        def test_typo_then_a_failed_assert(ours):
            with ours.client() as c:
                assert c.post("/api/v1/trak", json={}).status_code == 200
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:xdist")
    # the test that made the call fails, in its call phase (not "1 passed, 1 error" at teardown)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_typo _*",
            "*requests that no fake could serve*",
            "*ours: POST /api/v1/trak → 404; closest: POST /api/v1/track*",
            "*_ test_typo_then_a_failed_assert _*",
            "E           AssertionError: assert 404 == 200",
            "*- Captured careflow call -*",
            "*ours: POST /api/v1/trak → 404; closest: POST /api/v1/track*",
        ]
    )


def test_remote_hosts_are_blocked(pytester):
    pytester.makepyfile(
        """
        import httpx
        import pytest

        def test_real_vendor(careflow_stack, careflow_block_remote):
            with pytest.raises(AssertionError, match="blocked a request to api.oursprivacy.com"):
                httpx.post("https://api.oursprivacy.com/api/v1/track", json={})
            assert careflow_block_remote == ["POST https://api.oursprivacy.com/api/v1/track"]
            careflow_block_remote.clear()  # provoked on purpose: acknowledged

        def test_any_client_is_blocked_at_connect(careflow_stack, careflow_block_remote):
            import socket
            import urllib.request

            with pytest.raises(AssertionError, match="blocked a request to 203.0.113.9"):
                urllib.request.urlopen("http://203.0.113.9/api/v1/leads", timeout=1)
            with pytest.raises(AssertionError, match="blocked"):
                socket.create_connection(("198.51.100.7", 443), timeout=1)
            assert careflow_block_remote == ["connect 203.0.113.9:80", "connect 198.51.100.7:443"]
            careflow_block_remote.clear()

        def test_swallowed_block_still_fails(careflow_stack):
            try:
                httpx.get("https://app.whatconverts.com/api/v1/leads")
            except Exception:
                pass  # client code that hides errors must not hide a real-vendor call
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*tried to reach hosts outside the stack*",
            "*GET https://app.whatconverts.com/api/v1/leads*",
        ]
    )


@pytest.mark.careflow(mode="server")
def test_timeout_and_drop_faults_over_a_real_socket(ours):
    """Over a socket a timeout fault answers nothing at all (the client's own timeout fires),
    and a drop closes the connection mid-answer: neither is a 500."""
    import httpx

    ours.fault("/api/v1/track", kind="timeout", latency_ms=60_000, times=1)
    ours.fault("/api/v1/identify", kind="drop", times=1)
    # a patient client outlasts the fault: the connection closes with no answer, never a 500
    ours.fault("/api/v1/batch", kind="timeout", latency_ms=50, times=1)
    with httpx.Client(base_url=ours.url, timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/v1/track", json={})
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/api/v1/identify", json={})
    with (
        httpx.Client(base_url=ours.url, timeout=30) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post("/api/v1/batch", json={})
    kinds = [(e["path"], e["status"], e["fault"]["kind"]) for e in ours.journal() if e["fault"]]
    assert kinds == [
        ("/api/v1/track", 0, "timeout"),
        ("/api/v1/identify", 0, "drop"),
        ("/api/v1/batch", 0, "timeout"),
    ]


@pytest.mark.parametrize("mode", ["inprocess", "server"])
def test_readme_example_client_sees_the_fault_then_the_leads(pytester, mode):
    pytester.makepyfile(
        f"""
        import pytest

        pytestmark = pytest.mark.careflow(mode="{mode}")

        class MyLeadsClient:
            def __init__(self, http):
                self.http = http

            def list_leads(self):
                for _ in range(3):
                    response = self.http.get("/api/v1/leads")
                    if response.status_code != 429:
                        return response.json()["leads"]

        def test_my_client_handles_rate_limits(whatconverts):
            whatconverts.fault("/api/v1/leads", method="GET", status=429, retry_after=2, times=1)
            creds = whatconverts.credentials
            with whatconverts.client(auth=(creds["api_token"], creds["api_secret"])) as http:
                assert MyLeadsClient(http).list_leads()
            statuses = [e["status"] for e in whatconverts.journal(path="/api/v1/leads")]
            assert statuses == [429, 200]
        """
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)


HEAVY = ("fastapi", "httpx", "yaml", "careflow.engine", "careflow.mocks.whatconverts.app")


def test_importing_the_plugin_imports_nothing_heavy():
    """The plugin is loaded into every pytest run of every user: importing it (a fresh
    interpreter, as pytest's entry-point loading does) pulls in no web framework, no YAML, no
    fake and no engine."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys, careflow.scenarios.pytest_plugin\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_one_service_fixture_per_registered_vendor(request, careflow_stack):
    from careflow.mocks import VENDORS
    from careflow.scenarios import pytest_plugin

    for name in ("engine", *VENDORS):
        handle = request.getfixturevalue(name)
        assert handle.name == name and handle.url == careflow_stack.urls[name]
    generated = {n for n in vars(pytest_plugin) if n.startswith("_careflow_service_")}
    assert generated == {f"_careflow_service_{n}" for n in ("engine", *VENDORS)}
