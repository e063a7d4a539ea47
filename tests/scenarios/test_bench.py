"""`careflow bench --quick` runs every registered benchmark and prints ratios to bare Starlette
(figures themselves are for the README and closing notes, never asserted as timings)."""

from __future__ import annotations

from typer.testing import CliRunner

from scenarios.bench import discover
from scenarios.cli import app


def test_every_issue_benchmark_is_registered():
    assert {
        "whatconverts.list_2500",
        "whatconverts.create",
        "caspio.get_1000",
        "caspio.insert",
        "scenarios.builtin",
    } <= set(discover())


def test_quick_bench_runs_and_reports_baselines():
    result = CliRunner().invoke(
        app,
        ["bench", "--quick", "--only", "whatconverts", "--only", "scenarios"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "GET 2,500 leads" in result.output and "POST a lead" in result.output
    assert "x " in result.output or "x│" in result.output  # a ratio column was filled
    assert "built-in" in result.output and "scenarios" in result.output
