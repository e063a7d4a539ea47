"""Outgoing webhooks: management rules ([C] caspio.md §8.1), messages ([C] §8.2), delivery log
and redelivery (kernel sender), orphans after a profile deletion."""

from __future__ import annotations

from .conftest import HOOK_URL, CaspioEnv

INSERT = {"EventType": "table.recordInsert", "ObjectName": "Patients"}
UPDATE = {"EventType": "table.recordUpdate", "ObjectName": "Patients"}
DELETE = {"EventType": "table.recordDelete", "ObjectName": "Patients"}


def test_create_returns_id_and_secret_once(env: CaspioEnv) -> None:
    hook = env.webhook([])
    assert len(hook["Id"]) == 6 and hook["Id"].isalnum() and hook["Secret"]
    assert hook["CreatedBy"] == "Keragon demo" and hook["CallThrottling"] > 0
    listed = env.call("GET", "/outgoingWebhooks").json()
    assert [h["Id"] for h in listed] == [hook["Id"]] and "Secret" not in listed[0]
    one = env.call("GET", f"/outgoingWebhooks/{hook['Id']}").json()
    assert one["Events"] == 0 and "Secret" not in one


def test_validation_rules(env: CaspioEnv) -> None:
    env.webhook([], name="Keragon demo")
    cases = [
        {"OutgoingUrls": ["https://hooks.example.com/a"]},  # no Name
        {"Name": "x"},  # no URLs
        {"Name": "x", "OutgoingUrls": ["http://hooks.example.com/a"]},  # not HTTPS
        {"Name": "x", "OutgoingUrls": [HOOK_URL]},  # URL already used
        {"Name": "keragon DEMO", "OutgoingUrls": ["https://hooks.example.com/b"]},  # name taken
        {"Name": "x", "OutgoingUrls": ["https://hooks.example.com/c"], "CallThrottling": 0},
    ]
    for body in cases:
        r = env.call("POST", "/outgoingWebhooks", json=body)
        assert r.status_code == 400 and r.json()["Code"] == "IncorrectBodyParameter", body
    ok = env.call(
        "POST",
        "/outgoingWebhooks",
        json={"Name": "Keragon demo - Intake", "OutgoingUrls": ["https://hooks.example.com/b"]},
    )
    assert ok.status_code == 201


def test_event_rules(env: CaspioEnv) -> None:
    hook = env.webhook([INSERT])
    path = f"/outgoingWebhooks/{hook['Id']}/events"
    bad = [
        INSERT,
        {"EventType": "table.recordWhatever", "ObjectName": "Patients"},
        {"EventType": "table.recordInsert", "ObjectName": "Nope"},
        {**INSERT, "ObjectFields": ["Visits"]},
        {**UPDATE, "ObjectFields": ["Nope"]},
        {**UPDATE, "EventSources": ["Email"]},
    ]
    for body in bad:
        assert env.call("POST", path, json=body).status_code == 400, body
    a = env.call("POST", path, json={**UPDATE, "ObjectFields": ["Visits"]})
    b = env.call("POST", path, json={**UPDATE, "ObjectFields": ["Notes"]})
    assert a.status_code == b.status_code == 201
    assert env.call("POST", path, json={**UPDATE, "ObjectFields": ["visits"]}).status_code == 400
    events = env.call("GET", path).json()
    assert [e["Type"] for e in events] == [
        "table.recordInsert",
        "table.recordUpdate",
        "table.recordUpdate",
    ]
    ev = env.call("GET", f"{path}/{a.json()['Id']}").json()
    assert ev["ObjectFields"] == ["Visits"] and ev["Status"] == "Active"
    assert env.call("DELETE", f"{path}/{a.json()['Id']}").status_code == 204
    assert env.call("GET", f"{path}/{a.json()['Id']}").status_code == 404


def test_insert_message_shape(env: CaspioEnv) -> None:
    hook = env.webhook([INSERT])
    env.call("POST", "/tables/Patients/records", json={"FirstName": "Ann", "Active": True})
    env.settle()
    (msg,) = env.received
    assert set(msg) == {
        "eventId",
        "messageId",
        "webhookId",
        "accountId",
        "secret",
        "eventDate",
        "eventType",
        "objectName",
        "data",
    }
    assert msg["webhookId"] == hook["Id"] and msg["secret"] == hook["Secret"]
    assert msg["eventType"] == "table.recordInsert" and msg["objectName"] == "Patients"
    assert msg["eventDate"] == "2026-01-01T12:00:00" and len(msg["messageId"]) == 36
    assert msg["data"][0]["PK_ID"] == 21 and msg["data"][0]["FirstName"] == "Ann"


def test_update_fires_only_on_a_changed_watched_value(env: CaspioEnv) -> None:
    env.webhook([{**UPDATE, "ObjectFields": ["Visits"]}])
    where = {"q.where": "PK_ID = 1"}
    visits = env.records(**where)[0]["Visits"]
    env.call("PUT", "/tables/Patients/records", params=where, json={"Visits": visits})  # same value
    env.call(
        "PUT", "/tables/Patients/records", params=where, json={"Notes": "changed"}
    )  # not watched
    env.call("PUT", "/tables/Patients/records", params=where, json={"Visits": visits + 1})
    env.settle()
    assert [m["data"][0]["Visits"] for m in env.received] == [visits + 1]


def test_bulk_update_and_delete_send_one_message_per_record(env: CaspioEnv) -> None:
    env.webhook([UPDATE, DELETE])
    env.call(
        "PUT", "/tables/Patients/records", params={"q.where": "PK_ID <= 3"}, json={"Notes": "n"}
    )
    env.call("DELETE", "/tables/Patients/records", params={"q.where": "PK_ID <= 2"})
    env.settle()
    kinds = [(m["eventType"], m["data"][0]["PK_ID"]) for m in env.received]
    assert kinds == [
        ("table.recordUpdate", 1),
        ("table.recordUpdate", 2),
        ("table.recordUpdate", 3),
        ("table.recordDelete", 1),
        ("table.recordDelete", 2),
    ]


def test_event_sources_and_disabled_webhooks(env: CaspioEnv) -> None:
    hook = env.webhook([{**INSERT, "EventSources": ["DataPages"]}])
    env.call("POST", "/tables/Patients/records", json={})  # a REST change: not a listed source
    env.admin("POST", "/seed", json={"synthetic": {"patients": 1}})  # Datasheet: not listed either
    env.settle()
    assert env.received == []
    env.call("PUT", f"/outgoingWebhooks/{hook['Id']}", json={"Enabled": False})
    events = env.call("GET", f"/outgoingWebhooks/{hook['Id']}/events").json()
    assert events[0]["Status"] == "Inactive"


def test_admin_seed_rows_fire_webhooks(env: CaspioEnv) -> None:
    env.webhook([INSERT])
    env.admin("POST", "/seed", json={"synthetic": {"patients": 2}})
    env.settle()
    assert len(env.received) == 2


def test_failed_delivery_is_retried_logged_and_redeliverable(env: CaspioEnv) -> None:
    env.webhook([INSERT])
    env.hook_status = 500
    env.call("POST", "/tables/Patients/records", json={})
    env.settle()
    (delivery,) = env.admin("GET", "/webhooks/deliveries")["items"]
    assert delivery["attempts"] >= 1 and delivery["webhookId"]
    assert delivery["payload"]["secret"] == "***"
    env.hook_status = 200
    env.admin("POST", f"/webhooks/deliveries/{delivery['id']}/redeliver")
    env.settle()
    assert env.admin("GET", "/webhooks/deliveries")["items"][0]["status"] == "delivered"


def test_webhook_put_and_delete(env: CaspioEnv) -> None:
    hook = env.webhook([INSERT])
    r = env.call(
        "PUT", f"/outgoingWebhooks/{hook['Id']}", json={"Description": "d", "CallThrottling": 5}
    )
    assert r.status_code == 200 and r.json()["CallThrottling"] == 5
    assert env.call("PUT", f"/outgoingWebhooks/{hook['Id']}", json={}).status_code == 400
    assert env.call("DELETE", f"/outgoingWebhooks/{hook['Id']}").status_code == 204
    assert env.call("DELETE", f"/outgoingWebhooks/{hook['Id']}").status_code == 404
    env.call("POST", "/tables/Patients/records", json={})
    env.settle()
    assert env.received == []


def test_orphans_after_profile_deletion(env: CaspioEnv) -> None:
    env.webhook([INSERT], name="Keragon demo")
    assert env.admin("GET", "/orphans") == {"count": 0, "items": []}
    env.admin("DELETE", "/profiles/Keragon demo")
    orphans = env.admin("GET", "/orphans")
    assert orphans["count"] == 1 and orphans["items"][0]["CreatedBy"] == "Keragon demo"
    env.admin("DELETE", "/orphans")
    assert env.admin("GET", "/orphans")["count"] == 0


def test_call_throttling_paces_deliveries_per_second_on_the_virtual_clock(
    env: CaspioEnv,
) -> None:
    """[C] §8.4: CallThrottling is the most calls per second; extra messages wait in queue."""
    hook = env.webhook([UPDATE])
    env.call("PUT", f"/outgoingWebhooks/{hook['Id']}", json={"CallThrottling": 2})
    r = env.call(
        "PUT", "/tables/Patients/records", params={"q.where": "PK_ID <= 5"}, json={"Notes": "p"}
    )
    assert r.json()["RecordsAffected"] == 5
    env.settle()
    seen = [len(env.received)]
    items = env.admin("GET", "/webhooks/deliveries")["items"]
    waiting = sorted(d["next_attempt_at"] for d in items if d["status"] == "pending")
    assert waiting == ["2026-01-01T12:00:01Z"] * 2 + ["2026-01-01T12:00:02Z"]
    for _ in range(2):
        env.admin("POST", "/clock", json={"advance_seconds": 1})
        env.settle()
        seen.append(len(env.received))
    assert seen == [2, 4, 5]
    assert [m["data"][0]["PK_ID"] for m in env.received] == [1, 2, 3, 4, 5]
    assert {m["eventDate"] for m in env.received} == {"2026-01-01T12:00:00"}  # made at once
    # a later change in a fresh second goes out at once again
    env.call(
        "PUT", "/tables/Patients/records", params={"q.where": "PK_ID = 6"}, json={"Notes": "q"}
    )
    env.settle()
    assert len(env.received) == 6


# --- CustomPayloadTemplate ([C] caspio.md §8.1, §8.2; issue 17 item 4) -----------------------
# Source: Caspio's own n8n trigger (source [S2] of caspio.md, CaspioTrigger.node.ts
# buildCustomPayloadTemplate) registers this kind of template and reads the delivered JSON by
# its keys (body.secret, body.webhookId, body.messageId, body.eventId).
N8N_TEMPLATE = (
    "{'secret': '[@out-hook:secret]', 'webhookId': '[@out-hook:webhookId]', "
    "'messageId': '[@out-hook:messageId]', 'eventId': '[@out-hook:eventId]', "
    "'callId': '[@out-hook:callId]', 'accountId': '[@out-hook:accountId]', "
    "'eventDate': '[@out-hook:eventDate]', 'eventType': '[@out-hook:eventType]', "
    "'objectName': '[@out-hook:objectName]', "
    "'data': [{'PK_ID': '[@field:PK_ID]', 'FirstName': '[@field:FirstName]', "
    "'Visits': '[@field:Visits]', 'Active': '[@field:Active]', 'Notes': '[@field:Notes]'}]}"
)


def test_custom_payload_template_makes_the_body(env: CaspioEnv) -> None:
    hook = env.webhook([{**INSERT, "CustomPayloadTemplate": N8N_TEMPLATE}])
    ev = env.call("GET", f"/outgoingWebhooks/{hook['Id']}/events").json()[0]
    assert ev["CustomPayloadTemplate"] == N8N_TEMPLATE
    r = env.call(
        "POST",
        "/tables/Patients/records",
        params={"response": "rows"},
        json={"FirstName": 'Ann "Nan" O\'Neil', "Visits": 3, "Active": True},
    )
    pk = r.json()["Result"][0]["PK_ID"]
    env.settle()
    (msg,) = env.received
    # what n8n's webhook() checks: the secret, its webhook id, a message id and an event id
    assert msg["secret"] == hook["Secret"] and msg["webhookId"] == hook["Id"]
    assert msg["eventId"] == ev["Id"] and msg["messageId"] and msg["callId"]
    assert msg["callId"] != msg["messageId"]
    assert msg["eventType"] == "table.recordInsert" and msg["objectName"] == "Patients"
    assert msg["eventDate"] == "2026-01-01T12:00:00"
    # placeholders inside quotes are text; a missing value is empty
    assert msg["data"] == [
        {
            "PK_ID": str(pk),
            "FirstName": 'Ann "Nan" O\'Neil',
            "Visits": "3",
            "Active": "true",
            "Notes": "",
        }
    ]


def test_placeholders_outside_quotes_are_json_values(env: CaspioEnv) -> None:
    template = (
        "{'type': [@out-hook:eventType], 'row': {'id': [@field:PK_ID], 'visits': [@field:visits],"
        " 'active': [@field:Active], 'notes': [@field:Notes]}, 'note': \"it's [@field:City]\"}"
    )
    env.webhook([{**UPDATE, "CustomPayloadTemplate": template}])
    env.call(
        "PUT",
        "/tables/Patients/records",
        params={"q.where": "PK_ID = 1"},
        json={"Visits": 42, "Active": False, "City": "Reno", "Notes": None},
    )
    env.settle()
    (msg,) = env.received
    assert msg == {
        "type": "table.recordUpdate",
        "row": {"id": 1, "visits": 42, "active": False, "notes": None},
        "note": "it's Reno",
    }


def test_templates_that_cannot_work_are_refused(env: CaspioEnv) -> None:
    env.call("POST", "/tables/Patients/fields", json={"Name": "Pw", "Type": "PASSWORD"})
    hook = env.webhook([])
    path = f"/outgoingWebhooks/{hook['Id']}/events"
    bad = {
        "{'x': '[@out-hook:nope]'}": "[@out-hook:nope]",  # unknown message property
        "{'x': '[@record:Name]'}": "[@record:Name]",  # unknown kind
        "{'x': '[@field:Nope]'}": "Nope",  # no such field
        "{'x': '[@field:Pw]'}": "password",  # never in a payload (§8.2)
        "{'x': [@field:Name]": "JSON",  # not JSON once rendered
        "eventType=[@out-hook:eventType]": "JSON",
    }
    for template, said in bad.items():
        r = env.call("POST", path, json={**INSERT, "CustomPayloadTemplate": template})
        assert r.status_code == 400 and r.json()["Code"] == "IncorrectBodyParameter", template
        assert said in r.json()["Message"], (template, r.json()["Message"])
    assert env.call("GET", path).json() == []
