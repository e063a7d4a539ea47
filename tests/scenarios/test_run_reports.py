"""``careflow run --junit FILE --report FILE.html``: scenario results as a CI job shows test
results — one JUnit test case per scenario with its failures and timeline, and an HTML page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .cli_support import invoke, json_of
from .test_scenarios import FAILING


def test_junit_and_html_report_show_each_scenario_its_failures_and_timeline(tmp_path: Path):
    failing = tmp_path / "failing.yaml"
    failing.write_text(FAILING)
    junit, html = tmp_path / "scenarios.xml", tmp_path / "report.html"
    result = invoke(
        "run",
        str(failing),
        "wc_quote_marks_quotable",
        "--quiet",
        "--junit",
        str(junit),
        "--report",
        str(html),
        "--json",
    )
    assert result.exit_code == 1, result.output
    found = json_of(result)
    assert found["counts"] == {"scenarios": 2, "passed": 1, "failed": 1}
    assert f"JUnit XML written to {junit}" in result.stderr

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    bad, good = (
        cases["Expecting the wrong thing"],
        cases["WhatConverts quote added marks the lead quotable"],
    )
    assert bad.get("classname") == "careflow.failing" and bad.get("file") == str(failing)
    failure = bad.find("failure")
    assert failure is not None and failure.get("message", "").startswith("expect 1 (run)")
    assert "expected:" in (failure.text or "") and "actual:" in (failure.text or "")
    assert good.find("failure") is None
    out = good.findtext("system-out") or ""
    assert out.startswith("time") and "POST /api/v1/leads" in out  # the timeline, one per line

    page = html.read_text()
    assert "1 passed, 1 failed" in page and "<script" not in page
    assert "Expecting the wrong thing" in page and "expected" in page and "actual" in page
    assert "POST /api/v1/track" in page  # the failed scenario's timeline
    assert "&lt;" not in FAILING and "{{ trigger.email }}" not in page  # nothing unescaped
