import pytest

from engine.model import WorkflowInvalid, load_workflow, parse_text

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
