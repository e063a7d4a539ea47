"""Running scenarios for ``careflow run`` and ``careflow demo``: which files, on which stack
(in-process, served on real ports for the run, or a running stack at ``--url``), and what is
printed and written afterwards (timelines, summary, ``--junit``, ``--report``, ``--json``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from .format import Scenario
    from .runner import ScenarioResult

__all__ = ["StackUnreachable", "execute", "remote_driver", "scenario_paths"]


class StackUnreachable(RuntimeError):
    """``--url`` does not lead to a running stack's engine."""


def remote_driver(url: str, verify: Any = True) -> Any:
    """A driver for the stack whose engine is at ``url``, or a StackUnreachable saying why."""
    import httpx

    from .driver import DriverError, StackDriver

    try:
        return StackDriver.remote(url, verify=verify)
    except (DriverError, httpx.HTTPError, OSError) as exc:
        raise StackUnreachable(
            f"no careflow stack answers at {url} ({exc}). Start one with `careflow up` and pass "
            "the engine's URL (the info file's engine.url, e.g. http://127.0.0.1:8400)."
        ) from None


def scenario_paths(name: str) -> list[Path]:
    """A scenario file, every ``*.yaml``/``*.yml`` under a folder, or a built-in scenario by
    file name (with or without ``.yaml``)."""
    from .format import builtin_dir

    path = Path(name)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        if not found:
            raise FileNotFoundError(f"{name}: a folder with no scenario file (*.yaml) in it")
        return found
    for candidate in (builtin_dir() / name, builtin_dir() / f"{name}.yaml"):
        if candidate.is_file():
            return [candidate]
    raise FileNotFoundError(
        f"{name}: no such scenario file, folder or built-in scenario "
        "(`careflow scenarios` lists the built-in ones)"
    )


def execute(
    scenarios: list[Scenario],
    console: Console,
    *,
    url: str | None = None,
    seed: int = 0,
    data_dir: Path | None = None,
    quiet: bool = False,
    follow: str | None = None,
    shared: bool = True,
    verify: Any = True,
    title: str = "scenarios",
) -> list[ScenarioResult]:
    """Run ``scenarios`` and print each; in-process unless ``url`` names a running stack.

    ``shared`` says the stack at ``url`` is someone else's (``careflow run --url``): the user is
    told each scenario resets it, its clock is put back afterwards, and workflows are left
    inactive. A stack served for this run (``demo``, ``run --port``) is not shared."""
    from .driver import StackDriver
    from .report import print_result, summary_table
    from .runner import ScenarioRunner
    from .stack import InProcessStack

    results = []
    stacks: dict[int, InProcessStack] = {}  # in-process: one stack per seed, reset per scenario
    restore_clock = None
    if url and shared:
        console.print(
            f"note: each scenario resets the stack at {url} (engine runs and workflows, fake "
            "data, faults) and sets its clock; the clock is put back afterwards.",
            style="yellow",
            soft_wrap=True,
            markup=False,
        )
        restore_clock = _clock_restorer(remote_driver(url, verify))
    try:
        for scenario in scenarios:
            if url:
                driver = remote_driver(url, verify)
            else:
                wanted = scenario.seed or seed
                if wanted not in stacks:
                    stacks[wanted] = InProcessStack(seed=wanted, data_dir=data_dir).__enter__()
                driver = StackDriver.in_process(stacks[wanted])
            runner = ScenarioRunner(driver, leave_active=not (url and shared))
            results.append(runner.run(scenario))
            print_result(console, results[-1], quiet=quiet, follow=follow)
    finally:
        for stack in stacks.values():
            stack.__exit__(None, None, None)
        if restore_clock is not None:
            restore_clock()
    console.print(summary_table(results, title))
    return results


def _clock_restorer(driver: Any) -> Callable[[], None]:
    """Put a shared stack's clock back as it was: frozen where it stood, or running on."""
    import time

    from careflow.mocks.kernel import format_instant, parse_instant

    before, started = driver.clock(), time.monotonic()

    def restore() -> None:
        moment = parse_instant(before["now"])
        if not before["frozen"]:
            moment += timedelta(seconds=time.monotonic() - started)
        driver.move_clock(frozen=before["frozen"], set=format_instant(moment))

    return restore
