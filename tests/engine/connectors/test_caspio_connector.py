import pytest

from careflow.engine.connectors import StepError
from careflow.engine.connectors.base import Params
from careflow.engine.connectors.caspio import (
    CreateRecord,
    DeleteRecords,
    GetFields,
    GetRecords,
    GetRecordsParams,
    GetTables,
    RecordInsert,
    RecordParams,
    TableParams,
    TableTriggerParams,
    UpdateParams,
    UpdateRecords,
    UpsertRecord,
    WhereParams,
    _call,
    _rows,
    _tokens,
)


@pytest.fixture(autouse=True)
def fresh_tokens():
    _tokens.clear()


def meter(h):
    return h.run(h.http.get("http://127.0.0.1:8402/__sandbox/meter")).json()["used"]


def test_every_action_against_the_fake_and_the_meter(harness):
    h = harness("caspio")
    ctx = h.context("caspio")
    before = meter(h)
    assert "Patients" in h.run(GetTables().run(ctx, Params()))["tables"]
    fields = h.run(GetFields().run(ctx, TableParams(table="Patients")))["fields"]
    assert "Email" in {f["Name"] for f in fields}
    created = h.run(
        CreateRecord().run(
            ctx,
            RecordParams(table="Patients", record={"Name": "Ada Test", "Email": "ada@example.com"}),
        )
    )
    assert created["Email"] == "ada@example.com" and "PK_ID" in created
    got = h.run(
        GetRecords().run(ctx, GetRecordsParams(table="Patients", where="Email='ada@example.com'"))
    )
    assert got["count"] == 1
    updated = h.run(
        UpdateRecords().run(
            ctx,
            UpdateParams(
                table="Patients", where="Email='ada@example.com'", record={"Phone": "+16175550100"}
            ),
        )
    )
    assert updated["records_affected"] == 1
    up = h.run(
        UpsertRecord().run(
            ctx,
            UpdateParams(
                table="Patients", where="Email='ada@example.com'", record={"Name": "Ada Two"}
            ),
        )
    )
    assert up["action"] == "updated"
    ins = h.run(
        UpsertRecord().run(
            ctx,
            UpdateParams(
                table="Patients",
                where="Email='new@example.com'",
                record={"Name": "New One", "Email": "new@example.com"},
            ),
        )
    )
    assert ins["action"] == "inserted"
    gone = h.run(
        DeleteRecords().run(ctx, WhereParams(table="Patients", where="Email='ada@example.com'"))
    )
    assert gone["records_affected"] == 1
    assert ctx.usage["caspio_calls"] == meter(h) - before  # the step reports what it used


def test_where_is_required_for_update_and_delete():
    assert [p.field for p in UpdateRecords.check({"table": "Patients", "record": {}})] == ["where"]
    assert [p.field for p in DeleteRecords.check({"table": "Patients"})] == ["where"]


def test_sql_errors_fail_without_retry(harness):
    h = harness("caspio")
    ctx = h.context("caspio")
    with pytest.raises(StepError) as err:
        h.run(GetRecords().run(ctx, GetRecordsParams(table="Patients", where="Nope = 1")))
    assert err.value.status == 400 and not err.value.retryable
    assert "Invalid column name" in str(err.value)


def test_trigger_lifecycle_creates_names_and_recreates_the_webhook(harness):
    h = harness("caspio")
    ctx = h.context("caspio", workflow_id="wf-9", workflow_name="Intake")
    trigger, params = RecordInsert(), TableTriggerParams(table="Patients")
    h.run(trigger.activate(ctx, params))
    hooks = _rows(h.run(_call(ctx, "GET", "/outgoingWebhooks")))
    assert [h_["Name"] for h_ in hooks] == ["Keragon demo"]
    assert ctx.state["secret"]
    # a second workflow on the same profile gets a suffixed name
    ctx2 = h.context("caspio", workflow_id="wf-10", workflow_name="Second")
    h.run(trigger.activate(ctx2, params))
    assert ctx2.state["webhook_name"] == "Keragon demo - Second"
    h.run(trigger.deactivate(ctx, params))
    assert "webhook_id" not in ctx.state
    h.run(trigger.activate(ctx, params))
    assert ctx.state["webhook_name"] == "Keragon demo"


def test_webhook_is_named_after_the_profile_without_a_profile_name_credential(harness):
    h = harness("caspio")
    creds = {k: v for k, v in h.credentials("caspio").items() if k != "profile_name"}
    profile = h.credentials("caspio")["profile_name"]
    trigger, params = RecordInsert(), TableTriggerParams(table="Patients")
    ctx = h.context("caspio", credentials=creds, workflow_id="wf-1", workflow_name="One")
    h.run(trigger.activate(ctx, params))
    ctx2 = h.context("caspio", credentials=creds, workflow_id="wf-2", workflow_name="Two")
    h.run(trigger.activate(ctx2, params))
    hooks = _rows(h.run(_call(ctx, "GET", "/outgoingWebhooks")))
    assert sorted(x["Name"] for x in hooks) == [profile, f"{profile} - Two"]
    assert ctx.state["profile_name"] == profile == ctx.state["webhook_name"]
    # reactivation uses the name it learned, without a rename
    h.run(trigger.deactivate(ctx, params))
    h.run(trigger.activate(ctx, params))
    assert ctx.state["webhook_name"] == profile


def test_incoming_message_must_carry_the_webhook_secret(harness):
    h = harness("caspio")
    ctx = h.context("caspio")
    trigger, params = RecordInsert(), TableTriggerParams(table="Patients")
    ctx.state.update(secret="s3cret", webhook_id="wh1")
    message = {
        "secret": "s3cret",
        "webhookId": "wh1",
        "eventType": "table.recordInsert",
        "objectName": "Patients",
        "messageId": "m1",
        "data": [{"PK_ID": 1, "Name": "A"}],
    }
    (record,) = trigger.receive(ctx, params, message, {})
    assert record["Name"] == "A" and record["_message"]["messageId"] == "m1"
    assert "secret" not in record["_message"]
    unsigned = {k: v for k, v in message.items() if k != "secret"}
    for bad in ({**message, "secret": "forged"}, unsigned, {**message, "webhookId": "wh2"}):
        with pytest.raises(StepError) as err:
            trigger.receive(ctx, params, bad, {})
        assert err.value.status == 401
    # nothing stored to verify against: refused, not waved through
    with pytest.raises(StepError) as err:
        trigger.receive(h.context("caspio"), params, message, {})
    assert err.value.status == 401
    assert trigger.receive(ctx, params, {**message, "eventType": "table.recordUpdate"}, {}) == []
