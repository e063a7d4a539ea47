"""POST /batch: one token, per-row results, 200 / 207, request-level 400/401/413/415
(ours-privacy.md §5)."""

from __future__ import annotations

from .conftest import OursEnv


def row(n: int, **extra: object) -> dict:
    return {
        "event": "lead_created",
        "distinctId": f"row-{n}",
        "email": f"p{n}@example.com",
        **extra,
    }


def test_all_rows_accepted_is_200_with_one_result_per_row(env: OursEnv) -> None:
    response = env.batch([row(0), row(1), row(2)])
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "accepted": 3,
        "failed": 0,
        "results": [{"index": i, "success": True} for i in range(3)],
    }
    assert len(env.events()) == 3
    assert len(env.dispatches(destination="meta-capi")) == 3


def test_mixed_rows_are_207_with_invalid_event_rows(env: OursEnv) -> None:
    rows = [row(0), {"event": "lead_created", "email": "x@example.com"}, row(2, time="soon"), {}]
    response = env.batch(rows)
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["failed"], body["success"]) == (1, 3, False)
    assert body["results"][0] == {"index": 0, "success": True}
    for result in body["results"][1:]:
        assert result["success"] is False and result["code"] == "invalid_event"
        assert result["message"]
    assert "distinctId" in body["results"][1]["message"]
    assert [e["distinct_id"] for e in env.events()] == ["row-0"]


def test_retrying_a_batch_with_the_same_distinct_ids_adds_nothing(env: OursEnv) -> None:
    rows = [row(0), row(1)]
    env.batch(rows)
    again = env.batch([*rows, row(1)])  # a repeat inside one batch counts once too
    assert again.status_code == 200 and again.json()["accepted"] == 3
    assert len(env.events()) == 2
    assert len(env.dispatches(destination="meta-capi")) == 2


def test_request_level_failures_accept_no_row(env: OursEnv) -> None:
    cases = [
        (env.batch([row(0)], token="sbx_nope"), 401),
        (env.post("/batch", {"events": [row(0)]}), 401),
        (env.post("/batch", {"token": env.token, "events": []}), 400),
        (env.post("/batch", {"token": env.token, "events": "x"}), 400),
        (env.post("/batch", {"token": env.token}), 400),
        (
            env.client.post(
                "/api/v1/batch", content=b"{", headers={"content-type": "application/json"}
            ),
            400,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status
        body = response.json()
        assert body["success"] is False and isinstance(body["error"], str)
    assert env.events() == []


def test_non_json_content_type_is_415(env: OursEnv) -> None:
    response = env.client.post(
        "/api/v1/batch", content=b"token=x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["success"] is False


def test_too_many_rows_is_413_with_limit(env: OursEnv) -> None:
    response = env.batch([row(i) for i in range(1001)])
    assert response.status_code == 413
    body = response.json()
    assert body["success"] is False and body["limit"] == 1000
    assert env.events() == []


def test_batch_with_the_test_key_is_recorded_as_test_and_never_dispatched(env: OursEnv) -> None:
    env.add_http_destination()
    assert env.batch([row(0), row(1)], token=env.test_token).status_code == 200
    events = env.events()
    assert [e["mode"] for e in events] == ["test", "test"]
    assert all(e["tags"] == ["test"] and e["status"] == "test" for e in events)
    assert env.dispatches() == [] and env.received == []
