"""The showcase scenario: the data `careflow demo --keep` leaves for the dashboard to show."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any


def showcase_path() -> Path:
    return Path(str(files("careflow.scenarios.dashboard") / "showcase.yaml"))


def run_showcase(engine_url: str) -> Any:
    """Run the showcase against the stack at ``engine_url``; return its ``ScenarioResult``."""
    from ..driver import StackDriver
    from ..format import load_scenario
    from ..runner import ScenarioRunner

    return ScenarioRunner(StackDriver.remote(engine_url)).run(load_scenario(showcase_path()))
