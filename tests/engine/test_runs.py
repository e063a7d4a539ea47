import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.engine.connectors.logic import OPS, Condition
from careflow.engine.core import Conflict

from .conftest import http_step


def test_templates_carry_trigger_and_step_outputs(h):
    wf = h.workflow(
        [
            http_step("first", json={"who": "{{ trigger.name }}"}),
            http_step("second", json={"n": "{{ steps.first.output.body.n }}"}),
        ]
    )
    h.fire(wf, {"name": "Ana"})
    run = h.last_run(wf)
    assert run["status"] == "Completed"
    assert [c["body"] for c in h.target.calls] == ['{"who":"Ana"}', '{"n":1}']
    assert run["steps"][1]["input"]["json"] == {"n": 1}


def test_missing_variable_fails_the_step_naming_it(h):
    wf = h.workflow([http_step(json={"x": "{{ trigger.nope }}"})])
    h.fire(wf, {"name": "Ana"})
    run = h.last_run(wf)
    assert run["status"] == "Failed"
    assert "nope" in run["steps"][0]["error"] and run["steps"][0]["attempts"] == 1
    assert h.target.calls == []


CASES = [
    ("is_true", True, None, True),
    ("is_true", "no", None, False),
    ("is_false", False, None, True),
    ("is_null", None, None, True),
    ("is_not_null", 0, None, True),
    ("is_empty", [], None, True),
    ("is_not_empty", "x", None, True),
    ("equals", "5", 5, True),
    ("does_not_equal", "a", "b", True),
    ("greater_than", 3, 2, True),
    ("greater_than_or_equal", 2, 2, True),
    ("less_than", 1, 2, True),
    ("less_than_or_equal", 3, 2, False),
    ("starts_with", "Phone Call", "Phone", True),
    ("does_not_start_with", "Web", "Phone", True),
    ("contains", "abc", "b", True),
    ("does_not_contain", ["a"], "b", True),
    ("ends_with", "x.pdf", ".pdf", True),
    ("does_not_end_with", "x.pdf", ".doc", True),
]


@pytest.mark.parametrize("op, value, other, expected", CASES)
def test_every_operator(op, value, other, expected):
    assert Condition(value=value, op=op, other=other).holds() is expected
    assert Condition(value=value, op=op.replace("_", " "), other=other).holds() is expected


def test_every_operator_is_covered():
    assert {c[0] for c in CASES} == set(OPS)


def test_continue_if_false_completes_the_run_and_skips_the_rest(h):
    wf = h.workflow(
        [
            {
                "id": "gate",
                "app": "logic",
                "action": "continue_if",
                "params": {"value": "{{ trigger.kind }}", "op": "equals", "other": "call"},
            },
            http_step(),
        ]
    )
    h.fire(wf, {"kind": "form"})
    run = h.last_run(wf)
    assert run["status"] == "Completed"
    assert [s["status"] for s in run["steps"]] == ["Completed", "Skipped"]
    assert h.target.calls == []


def test_branch_takes_the_matching_path_or_default(h):
    wf = h.workflow(
        [
            {
                "id": "route",
                "app": "logic",
                "action": "branch",
                "params": {
                    "paths": [
                        {
                            "name": "vip",
                            "if": {"value": "{{ trigger.tier }}", "op": "equals", "other": "vip"},
                            "steps": [http_step("vip_call", url="http://127.0.0.1/vip")],
                        }
                    ],
                    "default": [http_step("plain_call", url="http://127.0.0.1/plain")],
                },
            }
        ]
    )
    h.fire(wf, {"tier": "vip"})
    h.fire(wf, {"tier": "basic"})
    assert [c["path"] for c in h.target.calls] == ["/vip", "/plain"]
    assert [s["id"] for s in h.last_run(wf)["steps"]] == ["route", "plain_call"]


def test_delay_waits_on_the_virtual_clock(h):
    wf = h.workflow(
        [
            {
                "id": "wait",
                "app": "logic",
                "action": "delay_for",
                "params": {"amount": 10, "unit": "minutes"},
            },
            http_step(),
        ]
    )
    h.fire(wf, {})
    assert h.last_run(wf)["status"] == "Running" and h.target.calls == []
    h.advance(599)
    assert h.target.calls == []
    h.advance(1)
    assert h.last_run(wf)["status"] == "Completed" and len(h.target.calls) == 1


def test_failing_step_is_retried_with_backoff_then_completes(h):
    h.target.fail = 3
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    run = h.last_run(wf)
    assert (run["status"], run["steps"][0]["status"], run["steps"][0]["attempts"]) == (
        "Running",
        "Retrying",
        1,
    )
    waits = []
    while h.last_run(wf)["status"] == "Running":
        before = h.clock.now()
        wake = h.last_run(wf)["wake_at"]
        h.clock.set(wake)
        h.idle()
        waits.append((h.clock.now() - before).total_seconds())
    run = h.last_run(wf)
    assert run["status"] == "Completed" and run["steps"][0]["attempts"] == 4
    assert waits == sorted(waits) and waits[0] >= 2  # exponential backoff


def test_retry_after_is_honoured(h):
    h.target.fail, h.target.status, h.target.retry_after = 1, 429, "120"
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    h.advance(119)
    assert len(h.target.calls) == 1
    h.advance(1)
    assert len(h.target.calls) == 2 and h.last_run(wf)["status"] == "Completed"


def test_retry_after_as_an_http_date_is_honoured_on_the_virtual_clock(h):
    # the clock stands at 2026-03-02T09:00:00Z; the vendor asks to come back at 09:10
    h.target.fail, h.target.status = 1, 503
    h.target.retry_after = "Mon, 02 Mar 2026 09:10:00 GMT"
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    step = h.last_run(wf)["steps"][0]
    assert step["status"] == "Retrying" and step["next_attempt_at"] == "2026-03-02T09:10:00Z"
    h.advance(599)
    assert len(h.target.calls) == 1
    h.advance(1)
    assert len(h.target.calls) == 2 and h.last_run(wf)["status"] == "Completed"


@settings(max_examples=30, deadline=None)
@given(
    attempt=st.integers(1, 5),
    delay=st.integers(0, 3600),
)
def test_backoff_never_waits_less_than_an_http_date_retry_after(attempt, delay):
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    import httpx

    from careflow.engine.connectors.vendor_http import retry_after
    from careflow.engine.executor import backoff_seconds

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=delay), usegmt=True)
    parsed = retry_after(httpx.Response(429, headers={"Retry-After": header}))
    assert backoff_seconds(attempt, parsed, now) >= delay
    assert backoff_seconds(attempt, parsed, now) == backoff_seconds(attempt, float(delay))


def test_logic_errors_are_not_retried(h):
    step = {
        "id": "c",
        "app": "logic",
        "action": "continue_if",
        "params": {"value": "{{ trigger.v }}", "op": "greater_than", "other": 5},
    }
    wf = h.workflow([step])
    h.fire(wf, {"v": "abc"})
    run = h.last_run(wf)
    assert run["status"] == "Failed"
    assert run["steps"][0]["attempts"] == 1 and "not a number" in run["steps"][0]["error"]


def test_run_fails_after_five_retries(h):
    h.target.fail = 100
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    for _ in range(10):
        h.advance(600)
    run = h.last_run(wf)
    assert run["status"] == "Failed" and run["steps"][0]["attempts"] == 6
    assert len(h.target.calls) == 6


def test_client_errors_are_not_retried(h):
    h.target.fail, h.target.status = 1, 400
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    assert h.last_run(wf)["status"] == "Failed" and len(h.target.calls) == 1


def test_manual_retry_starts_at_the_failed_step_with_current_config(h):
    h.target.fail, h.target.status = 1, 400
    wf = h.workflow(
        [http_step("one", url="http://127.0.0.1/one"), http_step("two", url="http://127.0.0.1/two")]
    )
    h.target.fail = 0
    h.fire(wf, {})
    assert h.last_run(wf)["status"] == "Completed"
    h.target.fail = 1
    h.fire(wf, {"again": True})
    failed = h.last_run(wf)
    assert failed["status"] == "Failed" and failed["steps"][0]["status"] == "Failed"
    h.run(
        h.engine.update_workflow(
            wf,
            {
                "name": "t",
                "trigger": {"app": "webhook"},
                "steps": [
                    http_step("one", url="http://127.0.0.1/one-fixed"),
                    http_step("two", url="http://127.0.0.1/two"),
                ],
            },
        )
    )
    retried = h.engine.retry_run(failed["id"])
    h.idle()
    retried = h.engine.get_run(retried["id"])
    assert retried["retry_of"] == failed["id"] and retried["status"] == "Completed"
    assert [c["path"] for c in h.target.calls][-2:] == ["/one-fixed", "/two"]


def test_manual_retry_does_not_rerun_completed_steps(h):
    wf = h.workflow(
        [
            http_step("one", url="http://127.0.0.1/one"),
            http_step("two", url="http://127.0.0.1/two?fail"),
        ]
    )
    original = h.target.app

    class FailTwoOnce:
        failed = False

        async def __call__(self, scope, receive, send):
            if scope.get("query_string") == b"fail" and not self.failed:
                self.failed = True
                from starlette.responses import JSONResponse

                await JSONResponse({"error": "bad"}, 400)(scope, receive, send)
                return
            await original(scope, receive, send)

    import httpx

    h.engine.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=FailTwoOnce()))
    h.fire(wf, {})
    failed = h.last_run(wf)
    assert [s["status"] for s in failed["steps"]] == ["Completed", "Failed"]
    h.engine.retry_run(failed["id"])
    h.idle()
    assert h.last_run(wf)["status"] == "Completed"
    assert [c["path"] for c in h.target.calls] == ["/one", "/two"]  # one ran once only


def test_manual_retry_refused_after_structural_change(h):
    h.target.fail, h.target.status = 1, 400
    wf = h.workflow([http_step("one")])
    h.fire(wf, {})
    failed = h.last_run(wf)
    h.run(
        h.engine.update_workflow(
            wf,
            {
                "name": "t",
                "trigger": {"app": "webhook"},
                "steps": [http_step("one"), http_step("two")],
            },
        )
    )
    with pytest.raises(Conflict, match="added or removed"):
        h.engine.retry_run(failed["id"])


def test_cancel_a_waiting_run(h):
    wf = h.workflow(
        [
            {
                "id": "wait",
                "app": "logic",
                "action": "delay_for",
                "params": {"amount": 1, "unit": "hours"},
            },
            http_step(),
        ]
    )
    h.fire(wf, {})
    run = h.engine.cancel_run(h.last_run(wf)["id"])
    assert run["status"] == "Canceled"
    h.advance(7200)
    assert h.target.calls == []
    with pytest.raises(Conflict):
        h.engine.cancel_run(run["id"])


def test_run_data_older_than_seven_days_is_erased(h):
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    h.advance(7 * 86400 - 60)
    assert len(h.engine.list_runs(wf)) == 1
    h.advance(120)
    assert h.engine.list_runs(wf) == []


def test_idempotency_key_gives_one_run(h):
    wf = h.workflow([http_step()])
    assert len(h.fire(wf, {"a": 1}, key="evt-1")) == 1
    assert h.fire(wf, {"a": 1}, key="evt-1") == []
    assert len(h.engine.list_runs(wf)) == 1


def test_inactive_workflow_refuses_events(h):
    wf = h.workflow([http_step()], activate=False)
    with pytest.raises(Conflict, match="activate it first"):
        h.run(h.engine.receive_hook(wf, {}, {}))


def test_remote_hosts_are_refused_by_the_http_step(h):
    wf = h.workflow([http_step(url="https://api.example.org/x")])
    h.fire(wf, {})
    run = h.last_run(wf)
    assert run["status"] == "Failed" and "loopback" in run["steps"][0]["error"]
    assert h.target.calls == []


def test_audit_masks_secrets_and_phi(h):
    h.engine.create_authentication(
        "wc",
        "whatconverts",
        {
            "url": "http://127.0.0.1:8401",
            "api_token": "sbx_t",
            "api_secret": "sbx_s",
            "email": "owner@example.com",
        },
    )
    entry = h.engine.audit()[0]
    assert entry["action"] == "authentication.created"
    assert entry["detail"]["credentials"] == {
        "url": "http://127.0.0.1:8401",
        "api_token": "***",
        "api_secret": "***",
        "email": "***",
    }


def test_cancel_is_not_overwritten_by_a_step_failing_in_flight(h, monkeypatch):
    from careflow.engine.connectors import StepError
    from careflow.engine.connectors.http import Request

    async def cancel_then_fail(self, ctx, params):
        h.engine.cancel_run(ctx.run_id)
        raise StepError("target gone", retryable=False)

    monkeypatch.setattr(Request, "run", cancel_then_fail)
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    run = h.last_run(wf)
    assert run["status"] == "Canceled" and run["steps"][0]["error"] == "target gone"
    assert not [a for a in h.engine.audit() if a["action"] == "run.failed"]


def test_status_filter_ignores_case(h):
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    assert len(h.engine.list_runs(status="completed")) == 1
    assert h.engine.list_runs(status="COMPLETED") == h.engine.list_runs(status="Completed")


def test_failed_ours_step_still_says_which_key_it_used(h):
    h.engine.create_authentication(
        "ours", "ours", {"url": "http://127.0.0.1", "token": "live_t", "test_token": "test_t"}
    )
    h.target.fail, h.target.status = 1, 400
    step = {"id": "t", "app": "ours", "action": "track", "auth": "ours",
            "params": {"event": "e", "email": "a@b.c", "key": "test"}}  # fmt: skip
    wf = h.workflow([step])
    h.fire(wf, {})
    run = h.last_run(wf)
    assert run["status"] == "Failed" and run["steps"][0]["notes"] == {"key": "test"}


def test_automatic_retries_are_in_the_audit_log(h):
    h.target.fail = 2
    wf = h.workflow([http_step()])
    h.fire(wf, {})
    for _ in range(3):
        h.advance(600)
    assert h.last_run(wf)["status"] == "Completed"
    retries = [a for a in h.engine.audit() if a["action"] == "step.retry_scheduled"]
    assert [(a["detail"]["step"], a["detail"]["attempt"]) for a in retries] == [
        ("call", 1),
        ("call", 2),
    ]
