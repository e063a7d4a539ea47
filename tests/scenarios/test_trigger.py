"""``careflow trigger``: one vendor event fired at a running stack with synthetic data, followed
by its correlation id; the events come from the vendor step modules' registry."""

from __future__ import annotations

import httpx
import pytest

from careflow.mocks import VENDORS
from careflow.mocks.kernel.synthetic import is_reserved_email
from careflow.scenarios.trigger import registry

from .cli_support import invoke, json_of

EVENTS = [
    "whatconverts.new_lead",
    "whatconverts.updated_lead",
    "caspio.record_insert",
    "caspio.record_update",
    "ours.track",
]


def test_triggers_are_registered_by_the_vendor_step_modules():
    found = registry()
    assert set(EVENTS) <= set(found)
    for name, item in found.items():
        vendor = name.split(".")[0]
        assert vendor in VENDORS and item.module == f"careflow.scenarios.steps.{vendor}"
        assert item.help, f"{name} says what it does"
    listed = json_of(invoke("trigger", "--json"))
    assert [e["event"] for e in listed] == list(found)


@pytest.mark.parametrize("event", EVENTS)
def test_each_event_reaches_the_stack_under_its_correlation_id(stack_info, event):
    engine = stack_info["engine"]["url"]
    result = invoke("trigger", event, "--url", engine, "--json")
    assert result.exit_code == 0, result.output
    fired = json_of(result)
    cid = fired["correlation_id"]
    assert fired["timeline_url"] == f"{engine}/ui/timeline/{cid}"
    vendor = event.split(".")[0]
    journal = httpx.get(
        f"{stack_info[vendor]['url']}/__sandbox/journal", params={"correlation_id": cid}
    ).json()["items"]
    assert journal and all(e["status"] < 400 for e in journal), journal
    for value in fired["result"].values():
        if isinstance(value, str) and "@" in value:
            assert is_reserved_email(value)  # synthetic data only


def test_trigger_prints_the_id_and_the_timeline_and_takes_fields(stack_info, tmp_path):
    info_file = tmp_path / "stack.json"
    info_file.write_text(httpx.get(f"{stack_info['engine']['url']}/__sandbox/stack").text)
    result = invoke(
        "trigger",
        "whatconverts.new_lead",
        "--info-file",
        str(info_file),
        "--field",
        "lead_type=web_form",
        "--field",
        "contact_name=Sam Example",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    cid = next(line.split(": ")[1] for line in lines if line.startswith("correlation id: "))
    assert f"timeline: {stack_info['engine']['url']}/ui/timeline/{cid}" in lines
    lead_id = lines[0].split("lead_id=")[1].split(",")[0]
    creds = stack_info["whatconverts"]
    lead = httpx.get(
        f"{creds['url']}/api/v1/leads/{lead_id}", auth=(creds["api_token"], creds["api_secret"])
    ).json()["leads"][0]
    assert (lead["lead_type"], lead["contact_name"]) == ("Web Form", "Sam Example")


def test_trigger_says_what_is_wrong_in_one_line(stack_info):
    unknown = invoke("trigger", "caspio.nope", "--url", stack_info["engine"]["url"])
    assert unknown.exit_code == 2 and "unknown event 'caspio.nope'" in unknown.output
    down = invoke("trigger", "ours.track", "--url", "http://127.0.0.1:9")
    assert down.exit_code == 1 and "no careflow stack answers at http://127.0.0.1:9" in down.output
    assert "Traceback" not in down.output
