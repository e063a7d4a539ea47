"""The careflow pytest plugin (entry point ``pytest11``), loaded into every pytest run.

Fixtures: ``careflow_stack`` (the whole stack) and one per service — ``engine`` and one per
registered vendor (``whatconverts``, ``caspio``, ``ours``) — in-process by default (no sockets),
or as real servers on free loopback ports with ``@pytest.mark.careflow(mode="server")`` or
``--careflow-mode=server``. Every test starts from the seeded state on a real-time clock.

Strict by default, like respx: a test fails when it sent a request that no fake could serve
(unknown route) or tried to reach a host outside the stack; the failure lists each call and the
closest known routes. Opt out per test with ``@pytest.mark.careflow_allow_unmatched``.

Scenario files (YAML under a ``scenarios/`` folder) are collected as tests when asked for:
``--careflow-scenarios`` or ``careflow_scenarios = true`` in the pytest ini.

Cheap on purpose: importing this module imports neither FastAPI, httpx nor YAML, the fakes nor
the engine (``tests/scenarios/test_pytest_plugin.py`` checks it). They are imported by
``careflow.scenarios.fixtures`` when a test uses a careflow fixture, and by the scenario items
when scenario collection is on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from careflow.mocks import VENDORS  # names only: no vendor package is imported

if TYPE_CHECKING:
    from .fixtures import ServiceHandle, StackHandle, Stacks

MODES = ("inprocess", "server")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("careflow")
    group.addoption(
        "--careflow-mode",
        choices=MODES,
        default=None,
        help="Run careflow fixtures in-process (default) or as real servers on loopback.",
    )
    group.addoption(
        "--careflow-scenarios",
        action="store_true",
        default=None,
        help="Collect careflow scenario files (YAML under a scenarios/ folder) as tests.",
    )
    parser.addini("careflow_mode", "Default mode of the careflow fixtures", default="inprocess")
    parser.addini(
        "careflow_scenarios",
        "Collect careflow scenario files (YAML under a scenarios/ folder) as tests",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "careflow(mode='inprocess'|'server', seed=0): configure careflow fixtures"
    )
    config.addinivalue_line(
        "markers", "careflow_allow_unmatched: do not fail on requests no fake could serve"
    )


# fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def careflow_block_remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any request to a host that is not loopback (e.g. a real vendor API): httpx requests
    by URL, and every other client (urllib, requests, raw sockets) at ``connect``. A blocked
    call fails the test even if the code under test caught the error; a test that means to
    provoke one empties the list it gets from this fixture."""
    from .fixtures import block_remote

    blocked = block_remote(monkeypatch)
    yield blocked
    if blocked:
        pytest.fail(
            "careflow: the test tried to reach non-loopback hosts (blocked):\n"
            + "\n".join(f"  - {call}" for call in blocked)
            + "\n(point clients at the sandbox fixtures' .url)",
            pytrace=False,
        )


def _mode(request: pytest.FixtureRequest) -> tuple[str, int]:
    marker = request.node.get_closest_marker("careflow")
    mode = (
        (marker.kwargs.get("mode") if marker else None)
        or request.config.getoption("--careflow-mode")
        or request.config.getini("careflow_mode")
    )
    seed = int(marker.kwargs.get("seed", 0)) if marker else 0
    if mode not in MODES:
        raise pytest.UsageError(f"careflow mode must be one of {MODES}, not {mode!r}")
    return mode, seed


@pytest.fixture(scope="session")
def _careflow_stacks() -> Iterator[Stacks]:
    from .fixtures import Stacks

    stacks = Stacks()
    yield stacks
    stacks.close()


@pytest.fixture
def careflow_stack(
    request: pytest.FixtureRequest, _careflow_stacks: Stacks, careflow_block_remote: list[str]
) -> Iterator[StackHandle]:
    """The whole sandbox, seeded and on a real-time clock, for one test."""
    mode, seed = _mode(request)
    handle = _careflow_stacks.get(mode, seed)
    handle.reset()
    yield handle
    if request.node.get_closest_marker("careflow_allow_unmatched"):
        return
    problems = handle.unmatched_report()
    if problems:
        pytest.fail(
            "careflow: requests that no fake could serve:\n"
            + "\n".join(problems)
            + "\n(mark the test with @pytest.mark.careflow_allow_unmatched if intended)",
            pytrace=False,
        )


def _service_fixture(name: str) -> Callable[..., Any]:
    def service(careflow_stack: StackHandle) -> ServiceHandle:
        return careflow_stack[name]

    service.__name__ = name
    service.__doc__ = (
        f"The {name} service of the careflow stack: .url, .credentials, .client(), .admin(), "
        ".fault(), .journal(), .advance()."
    )
    return pytest.fixture(name=name)(service)


# one fixture per service: the engine and every registered vendor (iterating names imports none)
for _name in ("engine", *VENDORS):
    globals()[f"_careflow_service_{_name}"] = _service_fixture(_name)


# scenario files as tests (opt-in) ------------------------------------------------------------


def _collect_scenarios(config: pytest.Config) -> bool:
    return bool(config.getoption("careflow_scenarios") or config.getini("careflow_scenarios"))


def _looks_like_scenario(path: Path) -> bool:
    if path.suffix not in (".yaml", ".yml") or "scenarios" not in path.parts[:-1]:
        return False
    try:
        import yaml

        data = yaml.safe_load(path.read_text())
    except Exception:
        return False
    return (
        isinstance(data, dict)
        and "name" in data
        and "trigger" not in data
        and ("expect" in data or "steps" in data)
    )


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    """With ``--careflow-scenarios`` (or ``careflow_scenarios = true``), YAML scenario files
    under a ``scenarios/`` folder are collected as tests; otherwise no YAML file is read."""
    if _collect_scenarios(parent.config) and _looks_like_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from .format import load_scenario

        scenario = load_scenario(self.path)
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        from .driver import StackDriver
        from .report import failure_text
        from .runner import ScenarioFailed, ScenarioRunner
        from .stack import InProcessStack

        with InProcessStack(seed=self.scenario.seed) as stack:
            result = ScenarioRunner(StackDriver.in_process(stack)).run(self.scenario)
        if not result.passed:
            raise ScenarioFailed(failure_text(result))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        from .runner import ScenarioFailed

        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"scenario: {self.name}"


pytest_plugins = ["careflow.scenarios.intercept_fixture"]  # careflow_intercept
