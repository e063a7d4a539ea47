import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.engine.model import WorkflowInvalid, load_workflow, parse_text

from .conftest import http_step

YAML = """\
name: Bad one
trigger: {app: webhook}
steps:
  - id: ok
    app: logic
    action: continue_if
    params: {value: 1, op: equals, other: 1}
  - id: edit
    app: whatconverts
    action: update_lead
    auth: wc
    params: {profile_id: 101, lead_id: 5, lead_source: google}
  - id: nope
    app: caspio
    action: drop_table
"""


def test_errors_point_at_step_field_and_line():
    data, _node = parse_text(YAML)
    with pytest.raises(WorkflowInvalid) as err:
        load_workflow(data, YAML)
    problems = {tuple(p["loc"]): p for p in err.value.problems}
    fifth = problems[("steps", 1, "params", "lead_source")]
    assert "only quote value, sales value, lead page URL and quotable" in fifth["msg"]
    assert fifth["line"] == 12
    unknown = problems[("steps", 2, "action")]
    assert "unknown action caspio/drop_table" in unknown["msg"] and unknown["line"] == 15


def test_shape_errors_and_duplicate_ids():
    with pytest.raises(WorkflowInvalid) as err:
        load_workflow({"name": "x", "trigger": {"app": "webhook"}, "steps": []})
    assert err.value.problems[0]["loc"] == ["steps"]
    with pytest.raises(WorkflowInvalid, match="used twice"):
        load_workflow(
            {"name": "x", "trigger": {"app": "webhook"}, "steps": [http_step("a"), http_step("a")]}
        )
    with pytest.raises(WorkflowInvalid, match="unknown trigger"):
        load_workflow(
            {
                "name": "x",
                "trigger": {"app": "whatconverts", "event": "deleted_lead"},
                "steps": [http_step()],
            }
        )


def test_lifecycle_and_versions(h):
    wf = h.engine.create_workflow(
        {"name": "a", "trigger": {"app": "webhook"}, "steps": [http_step()]}
    )
    assert (wf["status"], wf["version"]) == ("draft", 1)
    assert h.run(h.engine.activate(wf["id"]))["status"] == "active"
    same_shape = {
        "name": "a2",
        "trigger": {"app": "webhook"},
        "steps": [http_step(url="http://127.0.0.1/other")],
    }
    assert h.run(h.engine.update_workflow(wf["id"], same_shape))["version"] == 1
    grown = {**same_shape, "steps": [http_step(), http_step("second")]}
    assert h.run(h.engine.update_workflow(wf["id"], grown))["version"] == 2
    assert h.run(h.engine.deactivate(wf["id"]))["status"] == "inactive"


def test_authentications_are_encrypted_at_rest_and_never_returned(tmp_path):
    from .conftest import Harness

    harness = Harness(tmp_path, data_dir=True)
    try:
        created = harness.engine.create_authentication(
            "ours", "ours", {"url": "http://127.0.0.1:8403", "token": "sbx_top_secret_value"}
        )
        assert created.keys() == {"id", "name", "app"}
        assert "sbx_top_secret_value" not in str(harness.engine.list_authentications())
        assert "sbx_top_secret_value" not in str(harness.engine.audit())
        assert harness.engine.credentials("ours")["token"] == "sbx_top_secret_value"
        harness.engine.store.db.execute("PRAGMA wal_checkpoint(FULL)")
    finally:
        harness.close()
    for path in (tmp_path / "engine").iterdir():
        assert b"sbx_top_secret_value" not in path.read_bytes(), path


def _problems(steps, trigger=None):
    try:
        load_workflow({"name": "x", "trigger": trigger or {"app": "webhook"}, "steps": steps})
    except WorkflowInvalid as err:
        return {tuple(p["loc"]): p["msg"] for p in err.problems}
    return {}


def test_plain_values_are_checked_at_save_and_point_at_step_and_field():
    cases = [
        ({"id": "c", "app": "logic", "action": "continue_if",
          "params": {"value": "{{ trigger.x }}", "op": "bogus", "other": 1}},
         ("steps", 0, "params", "op"), "unknown operator"),
        ({"id": "d", "app": "logic", "action": "delay_for",
          "params": {"amount": 1, "unit": "weeks"}},
         ("steps", 0, "params", "unit"), "'days'"),
        (http_step(method="FETCH"), ("steps", 0, "params", "method"), "'PATCH'"),
        ({"id": "b", "app": "logic", "action": "branch",
          "params": {"paths": [{"name": "p", "if": {"value": 1, "op": "bogus"}}]}},
         ("steps", 0, "params", "paths", 0, "if", "op"), "unknown operator"),
    ]  # fmt: skip
    for step, loc, text in cases:
        problems = _problems([step])
        assert loc in problems and text in problems[loc], (step, problems)


def test_webhook_trigger_takes_no_event_or_params():
    problems = _problems([http_step()], {"app": "webhook", "event": "zzz", "params": {"foo": 1}})
    assert set(problems) == {("trigger", "event"), ("trigger", "params", "foo")}


def test_trigger_param_values_are_checked_at_save():
    trigger = {"app": "whatconverts", "event": "new_lead", "params": {"profile_id": 1,
               "lead_type": "fax"}}  # fmt: skip
    assert ("trigger", "params", "lead_type") in _problems([http_step()], trigger)


def test_branch_default_steps_are_validated():
    branch = {
        "id": "b",
        "app": "logic",
        "action": "branch",
        "params": {
            "paths": [{"name": "p", "if": {"value": 1, "op": "equals", "other": 2}}],
            "default": [
                {"id": "d1", "app": "nope", "action": "zzz"},
                {"id": "u", "app": "whatconverts", "action": "update_lead", "auth": "wc",
                 "params": {"profile_id": 101, "lead_id": 5, "quotable": "yes",
                            "contact_name": "Hacked"}},
            ],
        },
    }  # fmt: skip
    problems = _problems([branch])
    assert "unknown action nope/zzz" in problems[("steps", 0, "params", "default", 0, "action")]
    fifth = problems[("steps", 0, "params", "default", 1, "params", "contact_name")]
    assert "only quote value" in fifth


OPS = ["equals", "does not equal", "greater_than", "is_null", "Contains", "gt"]


@settings(max_examples=40, deadline=None)
@given(
    op=st.one_of(st.sampled_from(OPS), st.text(min_size=1, max_size=12)),
    value=st.one_of(st.integers(), st.text(max_size=8), st.just("{{ trigger.v }}")),
)
def test_continue_if_is_refused_at_save_exactly_when_its_operator_is_unknown(op, value):
    from careflow.engine.connectors.logic import OPS as KNOWN
    from careflow.engine.connectors.logic import op_name

    step = {"id": "c", "app": "logic", "action": "continue_if",
            "params": {"value": value, "op": op, "other": 1}}  # fmt: skip
    problems = _problems([step])
    templated = "{{" in op or "{%" in op
    assert bool(problems) == (op_name(op) not in KNOWN and not templated), problems


def test_template_values_are_left_to_run_time():
    steps = [
        {"id": "d", "app": "logic", "action": "delay_for",
         "params": {"amount": "{{ trigger.n }}", "unit": "{{ trigger.unit }}"}},
        {"id": "u", "app": "whatconverts", "action": "update_lead", "auth": "wc",
         "params": {"profile_id": "{{ trigger.p }}", "lead_id": "{{ trigger.id }}",
                    "quotable": "{{ trigger.q }}"}},
    ]  # fmt: skip
    assert _problems(steps) == {}
