"""`careflow bench --quick` runs every registered benchmark and prints ratios to bare Starlette
(figures themselves are for the README and closing notes, never asserted as timings)."""

from __future__ import annotations

import re

from rich.console import Console
from typer.testing import CliRunner

from careflow.scenarios.bench import discover, run_benchmarks
from careflow.scenarios.cli import app


def test_every_issue_benchmark_is_registered():
    assert {
        "whatconverts.list_2500",
        "whatconverts.create",
        "caspio.get_1000",
        "caspio.insert",
        "scenarios.builtin",
    } <= set(discover())


def test_quick_bench_runs_and_reports_baselines():
    console = Console(width=250, record=True)
    code = run_benchmarks(console, only=["whatconverts", "scenarios"], quick=True)
    output = console.export_text()
    assert code == 0, output
    assert "GET 2,500 leads" in output and "POST a lead" in output
    assert re.search(r"\d+\.\d\dx", output)  # a ratio to the bare baseline
    assert "all 9 built-in scenarios" in output


def test_bench_command_exists():
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0 and "--quick" in result.output


def test_benchmark_modules_are_generic_or_one_per_registered_vendor():
    import pkgutil

    from careflow.mocks import VENDORS
    from careflow.scenarios import bench

    found = {m.name for m in pkgutil.iter_modules(bench.__path__)}
    assert found <= {*bench.GENERIC, *VENDORS}, "a benchmark module no vendor registers"
    assert set(bench.modules()) == found
    assert {name.split(".")[0] for name in discover()} >= set(VENDORS)
