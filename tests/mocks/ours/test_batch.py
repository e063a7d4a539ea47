"""POST /batch: one token, per-row results, 200 / 207, request-level 400/401/413/415
(ours-privacy.md §5)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- a batch is N /track calls in one request ---------------------------------------------------

NAMES = st.sampled_from(["lead_created", "lead_updated", "not_allow_listed", "Lead_Created"])
ROW = st.fixed_dictionaries(
    {
        "event": NAMES,
        "distinctId": st.sampled_from(["d1", "d2", "d3", "d4", 7]),  # repeats are deduplicated
    },
    optional={
        "email": st.sampled_from(["pat@example.com", "LEE@example.com ", "bad-email"]),
        "externalId": st.sampled_from(["mrn-1", "mrn-2"]),
        "userId": st.just("user-9"),
        "time": st.sampled_from([-60_000, -10 * 86_400_000, 60_000]),  # ms from now; 2 bad
        "eventProperties": st.sampled_from([{"slot": 1}, {"phone": "2125550104", "": 1}, {}]),
        "userProperties": st.sampled_from(
            [{"consent": {"rejected_categories": ["advertising"]}}, {"phone_number": "212 555"}]
        ),
    },
)


def _outcome(env: OursEnv) -> tuple[list[dict], list[dict]]:
    """Recent Events (live and test) and dispatches, with the ids a run numbers in its own
    order (events, dispatches, visitors: one counter) replaced by their order of appearance."""
    names: dict[str, str] = {}

    def canon(value: str) -> str:
        return names.setdefault(value, f"#{len(names)}")

    events = [
        {**e, "id": canon(e["id"]), "visitor_id": canon(e["visitor_id"]), "correlation_id": None}
        for e in env.events()
    ]
    dispatches = [
        {**d, "id": None, "event_id": canon(d["event_id"]), "order": None, "correlation_id": None}
        for d in env.dispatches()
    ]
    return events, dispatches


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=8), test_mode=st.booleans())
def test_a_batch_records_and_dispatches_what_its_rows_sent_to_track_would(
    rows: list[dict], test_mode: bool
) -> None:
    batch_env, track_env = _ENVS
    for env in (batch_env, track_env):
        env.reset()
    now = batch_env.now_ms
    rows = [{**r, "time": now + r["time"]} if "time" in r else r for r in rows]
    token = batch_env.test_token if test_mode else batch_env.token
    answer = batch_env.batch(rows, token=token)
    track_token = track_env.test_token if test_mode else track_env.token
    # the batch's pipeline runs once all its rows are in (it sees the visitors as they are
    # then): the /track calls' pipeline runs after the last call, on their events in order
    pipeline = track_env.app.state.pipeline
    submitted: list[tuple[str, list[str]]] = []
    pipeline.submit = lambda tenant, ids: submitted.append((tenant, ids))
    try:
        tracked = [track_env.track(token=track_token, **row).status_code for row in rows]
    finally:
        del pipeline.submit
    for tenant, ids in submitted:
        pipeline.process(tenant, ids)
    results = answer.json()["results"]
    assert [r["success"] for r in results] == [status == 200 for status in tracked]
    assert answer.status_code == (200 if all(s == 200 for s in tracked) else 207)
    assert _outcome(batch_env) == _outcome(track_env)
    if test_mode:  # [C] §7 test-mode events are shown but never dispatched
        assert batch_env.dispatches() == []


_ENVS: tuple[OursEnv, OursEnv]


def setup_module() -> None:
    global _ENVS
    _ENVS = (OursEnv(), OursEnv())


def teardown_module() -> None:
    for env in _ENVS:
        env.close()
