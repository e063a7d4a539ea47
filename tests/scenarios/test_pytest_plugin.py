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
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*requests that no fake could serve*", "*ours: POST /api/v1/trak*"]
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
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
