"""Print scenario results: timeline, expected vs actual, and a summary table."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.pretty import Pretty
from rich.table import Table

from .runner import ScenarioResult
from .timeline import render_lines


def describe(description: str, first_paragraph: bool = False) -> str:
    """A scenario's description as flowing text (YAML block text keeps its line breaks)."""
    paragraphs = [" ".join(p.split()) for p in description.strip().split("\n\n")]
    return paragraphs[0] if first_paragraph else "\n\n".join(paragraphs)


def failure_text(result: ScenarioResult) -> str:
    """Plain-text failure message (pytest and CI logs)."""
    lines = [f"scenario {result.scenario.name!r} failed ({result.scenario.path}):"]
    for failure in result.failures:
        lines.append(f"- {failure.where}: {failure.message}")
        if failure.expected is not None:
            lines.append(f"    expected: {failure.expected!r}")
            lines.append(f"    actual:   {failure.actual!r}")
    lines.append("timeline up to the failure:")
    for event in result.timeline:
        lines.append("  " + " | ".join(event.row(short=False)))
    return "\n".join(lines)


def print_result(
    console: Console, result: ScenarioResult, *, quiet: bool = False, follow: str | None = None
) -> None:
    """Heading, description and timeline; with ``quiet`` only failures are printed."""
    if quiet and result.passed:
        return
    mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
    console.rule(f"{mark} {escape(result.scenario.name)}")
    if result.scenario.description:
        # YAML block text keeps its line breaks; let the terminal wrap whole paragraphs.
        console.print(describe(result.scenario.description), style="dim", markup=False)
    if not quiet or not result.passed:
        title = f"timeline of {follow}" if follow else "timeline (virtual time)"
        console.print(title, style="bold", markup=False)
        for line in render_lines(result.timeline, follow=follow):
            console.print(line, soft_wrap=True, markup=False)
    for failure in result.failures:
        console.print(f"✗ {failure.where}: {failure.message}", style="red", markup=False)
        if failure.expected is not None:
            grid = Table.grid(padding=(0, 2))
            grid.add_row("[bold]expected[/bold]", Pretty(failure.expected))
            grid.add_row("[bold]actual[/bold]", Pretty(failure.actual))
            console.print(grid)


def summary_table(results: list[ScenarioResult], title: str = "scenarios") -> Table:
    table = Table(title=title)
    table.add_column("scenario")  # long names wrap between words
    for column in ("result", "checks", "wall time"):
        table.add_column(column, no_wrap=True)
    for r in results:
        table.add_row(
            escape(r.scenario.name),
            "[green]passed[/green]" if r.passed else "[red]failed[/red]",
            str(r.checks),
            f"{r.seconds * 1000:.0f} ms",
        )
    return table
