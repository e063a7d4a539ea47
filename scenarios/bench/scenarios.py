"""The built-in scenarios end to end, in-process: one stack, each scenario from a clean reset."""

from __future__ import annotations

import time

from . import BenchContext, Measure, benchmark


@benchmark("scenarios.builtin")
def builtin(ctx: BenchContext) -> list[Measure]:
    """Every built-in scenario (fakes + engine + expectations), as `careflow run` does."""
    from careflow.scenarios.driver import StackDriver
    from careflow.scenarios.format import builtin_scenarios, load_scenario
    from careflow.scenarios.runner import ScenarioRunner
    from careflow.scenarios.stack import InProcessStack

    scenarios = [load_scenario(p) for p in builtin_scenarios()]
    rounds = ctx.n(3, 1)
    started = time.perf_counter()
    with InProcessStack(seed=0) as stack:
        boot = time.perf_counter() - started
        runner = ScenarioRunner(StackDriver.in_process(stack))
        best = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            results = [runner.run(s) for s in scenarios]
            best = min(best, time.perf_counter() - t0)
            failed = [r.scenario.name for r in results if not r.passed]
            if failed:
                raise RuntimeError(f"scenarios failed: {', '.join(failed)}")
    return [
        Measure(f"all {len(scenarios)} built-in scenarios", best, "s", note="goal < 2 s"),
        Measure("per scenario", best / len(scenarios) * 1000, "ms"),
        Measure("in-process stack start", boot * 1000, "ms"),
    ]
