"""Hypothesis state machine: live and test keys mixed across track / identify / batch / webhook
sources / key rotation. Invariants, after the pipeline settles:

- no test-key event ever reaches a destination (recording sink or HTTP);
- every allow-listed live event reaches each of its destinations exactly once (distinctId
  idempotency across repeats, batches and rotations);
- retired keys are refused at once.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from careflow.mocks.ours.seed import CONVERSIONS, DEMO_EVENTS

from .conftest import OursEnv

NAMES = st.sampled_from(
    [*DEMO_EVENTS[:5], "LEAD_CREATED", "Appointment_Booked", "page_viewed", "not_allowed"]
)
MODES = st.sampled_from(["live", "test"])
IDENTITY = st.sampled_from(
    [{"email": "ann@example.com"}, {"externalId": "p-1"}, {"userId": "web-1"},
     {"email": "bob@example.org", "externalId": "p-2"}]
)  # fmt: skip

_ENV: OursEnv | None = None


def shared_env() -> OursEnv:
    global _ENV
    if _ENV is None:
        _ENV = OursEnv(seed=11)
    return _ENV


def destinations_for(name: str) -> set[str]:
    folded = name.casefold()
    if folded not in DEMO_EVENTS:
        return set()
    base = {"meta-capi", "crm-hook"}
    return base | ({"google-ads"} if folded in CONVERSIONS else set())


class IngestMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.env = shared_env()
        self.env.reset()
        self.env.add_http_destination()
        self.retired: list[str] = []
        self.seen: dict[str, set[str]] = {"live": set(), "test": set()}  # distinct ids
        self.anonymous_live_allowed = 0
        self.live_allowed_ids: set[str] = set()
        self.test_ids: set[str] = set()

    def token(self, mode: str) -> str:
        return self.env.token if mode == "live" else self.env.test_token

    def record(self, mode: str, name: str, distinct: str | None) -> None:
        if distinct is None:
            if mode == "live" and destinations_for(name):
                self.anonymous_live_allowed += 1
            return
        if mode == "test":
            self.test_ids.add(distinct)
        elif destinations_for(name) and distinct not in self.seen["live"]:
            self.live_allowed_ids.add(distinct)
        self.seen[mode].add(distinct)

    @rule(mode=MODES, name=NAMES, n=st.none() | st.integers(0, 6), who=IDENTITY)
    def track(self, mode: str, name: str, n: int | None, who: dict) -> None:
        distinct = None if n is None else f"{mode}-{n}"
        body = {"event": name, **who}
        if distinct:
            body["distinctId"] = distinct
        response = self.env.track(self.token(mode), **body)
        assert response.json() == {"success": True}
        self.record(mode, name, distinct)

    @rule(mode=MODES, rows=st.lists(st.tuples(NAMES, st.integers(0, 6), st.booleans()),
                                    min_size=1, max_size=6))  # fmt: skip
    def batch(self, mode: str, rows: list[tuple[str, int, bool]]) -> None:
        body = [
            {"event": name, "distinctId": f"{mode}-{n}", "email": "ann@example.com"}
            if valid
            else {"event": name, "email": "ann@example.com"}  # no distinctId: invalid_event
            for name, n, valid in rows
        ]
        response = self.env.batch(body, token=self.token(mode))
        failed = sum(1 for *_x, valid in rows if not valid)
        assert response.status_code == (207 if failed else 200)
        assert response.json()["failed"] == failed
        for name, n, valid in rows:
            if valid:
                self.record(mode, name, f"{mode}-{n}")

    @rule(mode=MODES, who=IDENTITY, city=st.sampled_from(["Reno", None, ""]))
    def identify(self, mode: str, who: dict, city: str | None) -> None:
        response = self.env.identify(self.token(mode), userProperties={"city": city}, **who)
        assert response.json() == {"success": True}

    @rule(mode=MODES, name=NAMES, n=st.integers(0, 6))
    def webhook(self, mode: str, name: str, n: int) -> None:
        tokens = self.env.admin("GET", "/sources/src_webhook/tokens")
        url = tokens["ingestUrl"] if mode == "live" else tokens["testIngestUrl"]
        path = url.split("8403", 1)[1]
        body = {"event": name, "email": "ann@example.com", "distinctId": f"wh-{mode}-{n}"}
        assert self.env.client.post(path, json=body).json() == {"success": True}
        self.record(mode, name, f"wh-{mode}-{n}")

    @rule()
    def rotate(self) -> None:
        self.retired += [self.env.token, self.env.test_token]
        self.env.admin("POST", "/sources/src_demo/rotate")
        self.env.refresh_credentials()

    @rule(seconds=st.sampled_from([1, 60, 3600]))
    def later(self, seconds: int) -> None:
        """Time passes (retries, delayed work): still nothing test-mode goes out."""
        self.env.clock.advance(seconds)
        self.env.settle()

    @precondition(lambda self: bool(self.retired))
    @rule(data=st.data())
    def retired_key_is_refused(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(self.retired))
        response = self.env.track(token, event="lead_created", email="ann@example.com")
        assert response.status_code == 401

    @invariant()
    def no_test_event_reaches_a_destination(self) -> None:
        events = {e["id"]: e for e in self.env.events()}
        for dispatch in self.env.dispatches():
            assert events[dispatch["event_id"]]["mode"] == "live"
        for delivery in self.env.admin("GET", "/webhooks/deliveries")["items"]:
            assert events[delivery["event_id"]]["mode"] == "live"
        for payload in self.env.received:
            assert payload["distinct_id"] not in self.test_ids
            assert not payload["distinct_id"].startswith(("test-", "wh-test-"))
        for event in events.values():
            if event["mode"] == "test":
                assert event["destinations"] == [] and "test" in event["tags"]

    @invariant()
    def every_allowed_live_event_reaches_each_destination_once(self) -> None:
        events = [e for e in self.env.events(mode="live") if e["event"] != "$identify"]
        live_ids = {e["distinct_id"] for e in events if not e["distinct_id"].startswith("ours_")}
        assert live_ids == self.live_allowed_ids
        anonymous = [e for e in events if e["distinct_id"].startswith("ours_")]
        assert len(anonymous) == self.anonymous_live_allowed
        by_id = {e["id"]: e for e in events}
        counts = Counter((d["event_id"], d["destination"]) for d in self.env.dispatches())
        expected = Counter((e["id"], dest) for e in events for dest in destinations_for(e["event"]))
        assert counts == expected
        http = Counter(p["distinct_id"] for p in self.env.received)
        assert http == Counter(
            by_id[event_id]["distinct_id"] for event_id, dest in expected if dest == "crm-hook"
        )


IngestMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ingest_state_machine = IngestMachine.TestCase
