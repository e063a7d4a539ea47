"""The drift report: per operation, per case and per recording, pass or fail, with a fidelity
score per vendor; written as markdown, JSON or JUnit XML, plus one summary line for CI logs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from .cases import CaseResult
    from .check import OperationResult


@dataclass
class DriftReport:
    vendor: str
    target: str
    operations: list[OperationResult] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    recordings: dict[str, list[str]] = field(default_factory=dict)
    date: str = field(default_factory=lambda: datetime.now(UTC).date().isoformat())

    @property
    def items(self) -> list[tuple[str, str, bool, list[str]]]:
        """(kind, name, passed, problems) for everything checked; skipped cases left out."""
        out = [("operation", o.operation, o.passed, o.failures) for o in self.operations]
        out += [("case", c.name, c.passed, c.problems) for c in self.cases if c.status != "skipped"]
        out += [("recording", n, not d, d) for n, d in self.recordings.items()]
        return out

    @property
    def failed(self) -> int:
        return sum(not ok for _k, _n, ok, _p in self.items)

    @property
    def fidelity(self) -> float:
        items = self.items
        return 100.0 * sum(ok for _k, _n, ok, _p in items) / len(items) if items else 100.0

    def summary(self) -> str:
        parts = []
        for kind, label in (
            ("operation", "operations"),
            ("case", "cases"),
            ("recording", "recordings"),
        ):
            got = [ok for k, _n, ok, _p in self.items if k == kind]
            if got:
                parts.append(f"{sum(got)}/{len(got)} {label}")
        skipped = sum(c.status == "skipped" for c in self.cases)
        if skipped:
            parts.append(f"{skipped} cases skipped (no sandbox admin)")
        verdict = "PASS" if not self.failed else f"FAIL ({self.failed})"
        return (
            f"{self.vendor}: {verdict} — {', '.join(parts)} — fidelity {self.fidelity:.0f}% — "
            f"verified against {self.target} on {self.date}"
        )

    # writers ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "target": self.target,
            "date": self.date,
            "fidelity": round(self.fidelity, 1),
            "passed": not self.failed,
            "operations": [
                {
                    "operation": o.operation,
                    "passed": o.passed,
                    "examples": o.examples,
                    "failures": o.failures,
                }
                for o in self.operations
            ],
            "cases": [
                {"case": c.name, "fact": c.fact, "status": c.status, "problems": c.problems}
                for c in self.cases
            ],
            "recordings": [
                {"recording": n, "passed": not d, "differences": d}
                for n, d in self.recordings.items()
            ],
        }

    def to_markdown(self) -> str:
        lines = [
            f"# Contract report: {self.vendor}",
            "",
            f"Verified against {self.target} on {self.date}. **Fidelity {self.fidelity:.0f}%.**",
            "",
            self.summary(),
            "",
        ]
        if self.operations:
            lines += [
                "## Spec (schemathesis)",
                "",
                "| operation | result | examples | failures |",
                "|---|---|---|---|",
            ]
            for o in self.operations:
                lines.append(
                    f"| `{o.operation}` | {'pass' if o.passed else '**FAIL**'} | {o.examples} | "
                    f"{_cell('; '.join(o.failures))} |"
                )
            lines.append("")
        if self.cases:
            lines += [
                "## Behavioural cases",
                "",
                "| case | fact | result | problems |",
                "|---|---|---|---|",
            ]
            for c in self.cases:
                mark = {"passed": "pass", "skipped": "skipped"}.get(c.status, "**FAIL**")
                lines.append(
                    f"| {c.name} | {_cell(c.fact)} | {mark} | {_cell('; '.join(c.problems))} |"
                )
            lines.append("")
        if self.recordings:
            lines += [
                "## Recordings replayed against the fake",
                "",
                "| recording | result | differences |",
                "|---|---|---|",
            ]
            for n, d in self.recordings.items():
                lines.append(f"| {n} | {'pass' if not d else '**FAIL**'} | {_cell('; '.join(d))} |")
            lines.append("")
        return "\n".join(lines)

    def to_junit(self) -> str:
        suite = ET.Element(
            "testsuite",
            name=f"contract.{self.vendor}",
            tests=str(len(self.items)),
            failures=str(self.failed),
            timestamp=self.date,
        )
        for kind, name, ok, problems in self.items:
            case = ET.SubElement(
                suite, "testcase", classname=f"contract.{self.vendor}.{kind}", name=name
            )
            if not ok:
                failure = ET.SubElement(
                    case, "failure", message=(problems[0] if problems else "failed")[:500]
                )
                failure.text = "\n".join(problems)
        return ET.tostring(suite, encoding="unicode")

    def write(self, path: Path) -> None:
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        elif path.suffix == ".xml":
            path.write_text(self.to_junit())
        else:
            path.write_text(self.to_markdown() + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:600]
