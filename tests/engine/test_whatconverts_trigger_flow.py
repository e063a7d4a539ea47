"""Updated Lead → Update Lead through the in-process stack: the workflow's own edit bumps the
lead's last_updated (a delay makes sure it lands on a later second than the quote), yet it runs
once, whether the update arrives by poll or by webhook."""

import pytest

from careflow.mocks.kernel import VirtualClock
from careflow.scenarios import InProcessStack


@pytest.fixture
def stack():
    clock = VirtualClock("2026-03-02T09:00:00Z", frozen=True)
    with InProcessStack(clock=clock) as s:
        yield s


@pytest.mark.parametrize("webhook", [False, True])
def test_own_update_lead_edit_does_not_retrigger_the_workflow(stack, webhook):
    wc = stack.info()["whatconverts"]
    auth = (wc["api_token"], wc["api_secret"])
    creds = {k: wc[k] for k in ("url", "api_token", "api_secret")}
    with stack.client("engine") as api, stack.client("whatconverts", auth=auth) as vendor:
        api.post("/api/authentications", json={"name": "wc", "app": "whatconverts",
                                               "credentials": creds})  # fmt: skip
        workflow = api.post(
            "/api/workflows",
            json={
                "name": "Quotes",
                "trigger": {"app": "whatconverts", "event": "updated_lead", "auth": "wc",
                            "params": {"profile_id": wc["profile_id"]}},
                "steps": [{"id": "wait", "app": "logic", "action": "delay_for",
                           "params": {"amount": 30, "unit": "seconds"}},
                          {"id": "mark", "app": "whatconverts", "action": "update_lead",
                           "auth": "wc", "params": {"profile_id": wc["profile_id"],
                                                    "lead_id": "{{ trigger.lead_id }}",
                                                    "sales_value": "{{ trigger.quote_value }}"}}],
            },
        ).json()  # fmt: skip
        lead = vendor.post(
            "/api/v1/leads",
            data={"profile_id": wc["profile_id"], "lead_type": "web_form",
                  "send_notification": "false", "contact_name": "Pat"},
        ).json()  # fmt: skip
        stack.clock.advance(30)
        assert api.post(f"/api/workflows/{workflow['id']}/activate").status_code == 200
        if webhook:
            hook = {"profile_id": wc["profile_id"], "triggers": ["update"],
                    "url": f"{stack.info()['engine']['url']}/hooks/{workflow['id']}"}  # fmt: skip
            assert vendor.post("/__sandbox/webhooks", json=hook).status_code == 201
        stack.clock.advance(30)
        edited = vendor.post(
            f"/api/v1/leads/{lead['lead_id']}",
            data={"profile_id": wc["profile_id"], "quote_value": "450"},
        )
        assert edited.status_code == 200
        for _ in range(7):  # seven polls
            stack.run(stack.settle())
            stack.clock.advance(61)
        stack.run(stack.settle())
        runs = api.get("/api/runs", params={"workflow_id": workflow["id"]}).json()["items"]
        assert [r["status"] for r in runs] == ["Completed"]
