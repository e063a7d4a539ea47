"""Scenario results as files a CI job shows: JSON (``--json``), JUnit XML (``--junit FILE``: one
test case per scenario, its failures and timeline) and a self-contained HTML report
(``--report FILE.html``: the summary, every failure with expected vs actual, every timeline).
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .report import describe, failure_text
from .runner import ScenarioResult
from .timeline import render_lines

TEMPLATE = "run_report.html"


def _plain(value: Any) -> Any:
    """A value as JSON can carry it (expected/actual may hold anything a check saw)."""
    return json.loads(json.dumps(value, default=str))


def result_data(result: ScenarioResult) -> dict[str, Any]:
    return {
        "name": result.scenario.name,
        "file": result.scenario.path,
        "passed": result.passed,
        "checks": result.checks,
        "seconds": round(result.seconds, 3),
        "failures": [
            {
                "where": f.where,
                "message": f.message,
                "expected": _plain(f.expected),
                "actual": _plain(f.actual),
            }
            for f in result.failures
        ],
        "timeline": [
            {
                "time": e.time,
                "correlation_id": e.correlation_id,
                "service": e.service,
                "kind": e.kind,
                "what": e.what.strip(),
                "status": e.status,
            }
            for e in result.timeline
        ],
    }


def to_json(results: list[ScenarioResult], **extra: Any) -> dict[str, Any]:
    """``careflow run --json``'s document."""
    return {
        "passed": all(r.passed for r in results),
        "counts": counts(results),
        **extra,
        "scenarios": [result_data(r) for r in results],
    }


def counts(results: list[ScenarioResult]) -> dict[str, int]:
    failed = sum(not r.passed for r in results)
    return {"scenarios": len(results), "passed": len(results) - failed, "failed": failed}


def _case_class(result: ScenarioResult) -> str:
    """JUnit's classname: the scenario file's stem (a CI UI groups cases by it)."""
    return f"careflow.{Path(result.scenario.path).stem}" if result.scenario.path else "careflow"


def to_junit(results: list[ScenarioResult], suite: str = "careflow scenarios") -> str:
    """JUnit XML: a ``testsuite`` with one ``testcase`` per scenario; a failed scenario's case
    has a ``failure`` (every failed expectation) and its timeline in ``system-out``."""
    n = counts(results)
    root = ET.Element(
        "testsuites", name=suite, tests=str(n["scenarios"]), failures=str(n["failed"])
    )
    total = sum(r.seconds for r in results)
    element = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(n["scenarios"]),
        failures=str(n["failed"]),
        errors="0",
        skipped="0",
        time=f"{total:.3f}",
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=socket.gethostname(),
    )
    for result in results:
        case = ET.SubElement(
            element,
            "testcase",
            classname=_case_class(result),
            name=result.scenario.name,
            time=f"{result.seconds:.3f}",
        )
        if result.scenario.path:
            case.set("file", result.scenario.path)
        if not result.passed:
            first = result.failures[0]
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{first.where}: {first.message}",
                type="ScenarioFailed",
            )
            failure.text = failure_text(result)
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(render_lines(result.timeline))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_html(results: list[ScenarioResult], title: str = "careflow scenarios") -> str:
    """A self-contained HTML page: no script, no remote asset."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template(TEMPLATE)
    scenarios = []
    for result in results:
        data = result_data(result)
        data["description"] = describe(result.scenario.description or "")
        data["failures"] = [
            {
                **f,
                "expected": json.dumps(f["expected"], indent=2, default=str),
                "actual": json.dumps(f["actual"], indent=2, default=str),
                "compare": orig.expected is not None,
            }
            for f, orig in zip(data["failures"], result.failures, strict=True)
        ]
        scenarios.append(data)
    return template.render(
        title=title,
        counts=counts(results),
        passed=all(r.passed for r in results),
        scenarios=scenarios,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_reports(
    results: list[ScenarioResult], *, junit: Path | None, report: Path | None
) -> list[str]:
    """Write the files asked for; return one line per file written."""
    said = []
    if junit is not None:
        junit.write_text(to_junit(results))
        said.append(f"JUnit XML written to {junit}")
    if report is not None:
        report.write_text(to_html(results))
        said.append(f"HTML report written to {report}")
    return said
