"""The vendor's official Python SDK (PyPI ``oursprivacy-client``) against the fake, unchanged,
over a real loopback socket: pointed at it with ``OURS_PRIVACY_BASE_URL`` (and ``base_url=``)."""

from __future__ import annotations

import pytest

ours_privacy = pytest.importorskip("ours_privacy")


@pytest.mark.careflow(mode="server")
def test_sdk_tracks_identifies_and_batches(ours, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OURS_PRIVACY_BASE_URL", f"{ours.url}/api/v1")
    token, test_token = ours.credentials["token"], ours.credentials["test_token"]
    with ours_privacy.OursPrivacy(max_retries=0, _strict_response_validation=True) as client:
        tracked = client.track.event(
            token=token,
            event="lead_created",
            email="sdk.patient@example.com",
            distinct_id="sdk-1",
            event_properties={"lead_id": "101", "value": 120.5},
            user_properties={"first_name": "Sam", "custom_properties": {"plan": "gold"}},
            default_properties={"utm_source": "newsletter"},
            identity_context={"ip": "127.0.0.1", "userAgent": "careflow-test"},
        )
        assert tracked.success is True
        upserted = client.visitor.upsert(
            token=token, email="sdk.patient@example.com", user_properties={"city": "Reno"}
        )
        assert upserted.success is True
        batch = client.batch.create(
            token=token,
            events=[
                {"event": "appointment_booked", "distinct_id": "sdk-2", "external_id": "mrn-7"},
                {"event": "quote_added", "distinct_id": "sdk-3", "email": "b@example.com"},
            ],
        )
        assert (batch.success, batch.accepted, batch.failed) == (True, 2, 0)
        assert [r.success for r in batch.results] == [True, True]
        assert client.track.event(
            token=test_token, event="lead_created", email="t@example.com"
        ).success

        with pytest.raises(ours_privacy.AuthenticationError):
            client.track.event(token="sbx_not_issued", event="lead_created", email="a@example.com")
        with pytest.raises(ours_privacy.BadRequestError):
            client.track.event(token=token, event="lead_created")  # no identifier

    events = ours.admin("GET", "/events")["items"]
    assert [(e["event"], e["mode"]) for e in events] == [
        ("lead_created", "live"),
        ("$identify", "live"),
        ("appointment_booked", "live"),
        ("quote_added", "live"),
        ("lead_created", "test"),
    ]
    assert events[0]["properties"] == {"lead_id": "101", "value": 120.5}
    dispatched = {d["event_id"] for d in ours.admin("GET", "/dispatches")["items"]}
    assert dispatched == {
        e["id"] for e in events if e["event"] != "$identify" and e["mode"] == "live"
    }


@pytest.mark.careflow(mode="server")
def test_async_sdk_with_base_url_argument(ours) -> None:
    import asyncio

    async def send() -> None:
        async with ours_privacy.AsyncOursPrivacy(
            base_url=f"{ours.url}/api/v1", max_retries=0
        ) as client:
            result = await client.track.event(
                token=ours.credentials["token"], event="patient_intake", external_id="mrn-1"
            )
            assert result.success is True

    asyncio.run(send())
    [event] = ours.admin("GET", "/events")["items"]
    assert (event["event"], event["identifiers"]["externalId"]) == ("patient_intake", "mrn-1")


@pytest.mark.careflow(mode="server")
def test_sdk_retries_a_429_with_retry_after(ours, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OURS_PRIVACY_BASE_URL", f"{ours.url}/api/v1")
    ours.fault("/api/v1/track", method="POST", status=429, times=1, retry_after=0)
    with ours_privacy.OursPrivacy(max_retries=1) as client:
        result = client.track.event(
            token=ours.credentials["token"], event="lead_created", email="a@example.com"
        )
    assert result.success is True
    assert [e["status"] for e in ours.journal(path="/api/v1/track")] == [429, 200]
    assert len(ours.admin("GET", "/events")["items"]) == 1
