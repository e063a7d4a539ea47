import pytest

from careflow.engine.connectors import StepError
from careflow.engine.connectors.base import validate_params
from careflow.engine.connectors.ours import Identify, IdentifyParams, Track, TrackParams


def test_track_with_live_key_is_dispatched(harness):
    h = harness("ours")
    ctx = h.context("ours", correlation_id="run-1")
    params = validate_params(
        TrackParams,
        {"event": "lead_created", "email": "pat@example.com", "properties": {"lead_id": 7}},
    )
    out = h.run(Track().run(ctx, params))
    h.settle("ours")
    assert out == {"success": True, "mode": "live", "event": "lead_created"}
    assert ctx.notes == {"key": "live"}
    kernel = h.kernel("ours")
    (entry,) = kernel.journal.items(path="/api/v1/track")
    assert entry["correlation_id"] == "run-1"
    dispatched = h.run(h.http.get("http://127.0.0.1:8403/__sandbox/dispatches")).json()["items"]
    assert {d["event"] for d in dispatched} == {"lead_created"}


def test_track_with_test_key_is_recorded_never_dispatched(harness):
    h = harness("ours")
    creds = h.credentials("ours")
    ctx = h.context(
        "ours", credentials={"url": creds["url"], "token": creds["test_token"], "mode": "test"}
    )
    params = validate_params(TrackParams, {"event": "lead_created", "externalId": "x-1"})
    assert h.run(Track().run(ctx, params))["mode"] == "test"
    h.settle("ours")
    assert ctx.notes == {"key": "test"}
    events = h.run(h.http.get("http://127.0.0.1:8403/__sandbox/events")).json()["items"]
    assert [(e["event"], e["mode"]) for e in events] == [("lead_created", "test")]
    dispatched = h.run(h.http.get("http://127.0.0.1:8403/__sandbox/dispatches")).json()["items"]
    assert dispatched == []


def test_key_param_picks_the_test_key_of_a_two_key_authentication(harness):
    h = harness("ours")
    ctx = h.context("ours")  # the demo credentials carry both token and test_token
    params = validate_params(
        TrackParams, {"event": "lead_created", "email": "a@example.com", "key": "test"}
    )
    assert h.run(Track().run(ctx, params))["mode"] == "test"


def test_identify_sets_properties(harness):
    h = harness("ours")
    ctx = h.context("ours")
    params = validate_params(
        IdentifyParams, {"email": "id@example.com", "properties": {"plan": "gold"}}
    )
    assert h.run(Identify().run(ctx, params)) == {"success": True, "mode": "live"}


def test_missing_identifier_is_refused_before_any_request(harness):
    h = harness("ours")
    with pytest.raises(StepError, match="at least one identifier") as err:
        validate_params(TrackParams, {"event": "lead_created"})
    assert not err.value.retryable
    assert h.kernel("ours").journal.items() == []


def test_bad_token_fails_without_retry(harness):
    h = harness("ours")
    ctx = h.context("ours", credentials={"url": "http://127.0.0.1:8403", "token": "sbx_nope"})
    params = validate_params(TrackParams, {"event": "lead_created", "email": "a@example.com"})
    with pytest.raises(StepError) as err:
        h.run(Track().run(ctx, params))
    assert (err.value.status, err.value.retryable) == (401, False)


def test_server_errors_are_retryable_with_retry_after(harness):
    h = harness("ours")
    from careflow.mocks.kernel import FaultSpec

    h.kernel("ours").faults.add(FaultSpec(path="/api/v1/track", status=429, retry_after=12))
    ctx = h.context("ours")
    params = validate_params(TrackParams, {"event": "lead_created", "email": "a@example.com"})
    with pytest.raises(StepError) as err:
        h.run(Track().run(ctx, params))
    assert (err.value.status, err.value.retryable, err.value.retry_after) == (429, True, 12)
