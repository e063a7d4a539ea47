"""The careflow pytest plugin (entry point ``pytest11``), loaded into every pytest run.

Fixtures: ``careflow_stack`` (the whole stack, a ``StackHandle``) and one per service —
``engine`` and one per registered vendor (``whatconverts``, ``caspio``, ``ours``), each a
``ServiceHandle`` (``careflow.scenarios.handles``) — in-process by default (no sockets; URLs
``http://{service}.careflow.localhost``, the engine's ``https://``), or as real servers on free
loopback ports with ``@pytest.mark.careflow(mode="server")`` or ``--careflow-mode=server``.
Every test starts from the seeded state on a real-time clock. ``careflow_intercept``
(``intercept_fixture``) routes the vendors' real hosts to the same in-process stack. The
marker's options are checked: a misspelt one (``mdoe=``) or a bad value is an error of that
test.

Strict by default, like respx: a test fails when it sent a request that no fake could serve
(unknown route) or tried to reach a host outside the stack — in its call phase, as soon as the
test function returns (``pytest_runtest_call`` below), with each call and the closest known
routes. Opt out per test with ``@pytest.mark.careflow_allow_unmatched``.

Scenario files (YAML under a ``scenarios/`` folder) are collected as tests when asked for:
``--careflow-scenarios`` or ``careflow_scenarios = true`` in the pytest ini.

Cheap on purpose: importing this module imports neither FastAPI, httpx nor YAML, the fakes nor
the engine (``tests/scenarios/test_pytest_plugin.py`` checks it). They are imported by
``careflow.scenarios.fixtures`` when a test uses a careflow fixture, and by the scenario items
when scenario collection is on.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from careflow.mocks import VENDORS  # names only: no vendor package is imported

if TYPE_CHECKING:
    from .fixtures import Stacks
    from .handles import ServiceHandle, StackHandle

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
    default = config.getini("careflow_mode")
    if default not in MODES:
        raise pytest.UsageError(
            f"careflow_mode = {default!r} in the pytest ini: it must be one of "
            f"{', '.join(map(repr, MODES))}"
        )


# marker options ------------------------------------------------------------------------------

OPTIONS = {"mode": "'inprocess' or 'server'", "seed": "a whole number ≥ 0"}


class MarkerError(Exception):
    """A ``careflow`` marker with an unknown option or a bad value."""


def careflow_options(node: pytest.Item) -> dict[str, Any]:
    """The ``careflow`` markers' options for ``node``, the closest marker winning per key
    (a test's ``seed=`` keeps its module's ``mode=``); ``MarkerError`` names a bad one."""
    valid = "; the options are " + ", ".join(f"{k} ({v})" for k, v in OPTIONS.items())
    options: dict[str, Any] = {}
    for marker in node.iter_markers("careflow"):
        if marker.args:
            raise MarkerError(
                f"@pytest.mark.careflow takes keyword options only, not {marker.args!r}{valid}"
            )
        for key, value in marker.kwargs.items():
            if key not in OPTIONS:
                near = difflib.get_close_matches(key, OPTIONS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise MarkerError(
                    f"@pytest.mark.careflow({key}=...): unknown option {key!r}{hint}{valid}"
                )
            if key == "mode" and value not in MODES:
                raise MarkerError(
                    f"@pytest.mark.careflow(mode={value!r}): mode must be {OPTIONS['mode']}"
                )
            if key == "seed" and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise MarkerError(
                    f"@pytest.mark.careflow(seed={value!r}): seed must be {OPTIONS['seed']}"
                )
            options.setdefault(key, value)
    for marker in node.iter_markers("careflow_allow_unmatched"):
        if marker.args or marker.kwargs:
            raise MarkerError("@pytest.mark.careflow_allow_unmatched takes no arguments")
    return options


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A misspelt marker option is an error of the test, before anything runs."""
    try:
        careflow_options(item)
    except MarkerError as exc:
        pytest.fail(str(exc), pytrace=False)


def _mode(request: pytest.FixtureRequest) -> tuple[str, int]:
    """The test's (mode, seed): the marker, else ``--careflow-mode``, else the ini. A test
    using ``careflow_intercept`` runs in-process (interception answers in this process)."""
    options = careflow_options(request.node)  # type: ignore[arg-type]
    seed = int(options.get("seed", 0))
    if "careflow_intercept" in request.fixturenames:
        if options.get("mode") == "server":
            pytest.fail(
                "careflow_intercept answers the vendors in-process, so it cannot be combined "
                "with @pytest.mark.careflow(mode='server'): drop one of the two (code under "
                "interception needs no sockets)",
                pytrace=False,
            )
        return "inprocess", seed
    mode = (
        options.get("mode")
        or request.config.getoption("--careflow-mode")
        or request.config.getini("careflow_mode")
    )
    return mode, seed


# checks made when the test function returns ---------------------------------------------------

Check = Callable[[], list[str]]
CHECKS = pytest.StashKey[list[Check]]()


def add_check(node: Any, check: Check) -> None:
    """Register ``check`` (returns problem paragraphs) to run when ``node``'s test function
    returns: a problem fails that test in its call phase, not at teardown."""
    node.stash.setdefault(CHECKS, []).append(check)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        result = yield
    except BaseException:
        problems = [p for check in item.stash.get(CHECKS, []) for p in check()]
        if problems:
            item.add_report_section("call", "careflow", "\n\n".join(problems))
        raise
    problems = [p for check in item.stash.get(CHECKS, []) for p in check()]
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
    return result


# fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def careflow_block_remote(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Fail any request to a host that is not loopback (e.g. a real vendor API): httpx requests
    by URL, and every other client (urllib, requests, raw sockets) at ``connect``. A blocked
    call fails the test even if the code under test caught the error; a test that means to
    provoke one empties the list it gets from this fixture. Hosts that ``careflow_intercept``
    answers in-process pass."""
    from .fixtures import block_remote

    blocked = block_remote(monkeypatch)

    def check() -> list[str]:
        if not blocked:
            return []
        return [
            "careflow: the test tried to reach hosts outside the stack (blocked):\n"
            + "\n".join(f"  - {call}" for call in blocked)
            + "\n(point clients at the sandbox fixtures' .url, or use careflow_intercept)"
        ]

    add_check(request.node, check)
    return blocked


@pytest.fixture(scope="session")
def _careflow_stacks() -> Iterator[Stacks]:
    from .fixtures import Stacks

    stacks = Stacks()
    yield stacks
    stacks.close()


@pytest.fixture
def careflow_stack(
    request: pytest.FixtureRequest, _careflow_stacks: Stacks, careflow_block_remote: list[str]
) -> StackHandle:
    """The whole sandbox, seeded and on a real-time clock, for one test."""
    mode, seed = _mode(request)
    handle = _careflow_stacks.get(mode, seed)
    handle.reset()
    if not request.node.get_closest_marker("careflow_allow_unmatched"):

        def check() -> list[str]:
            problems = handle.unmatched_report()
            if not problems:
                return []
            return [
                "careflow: requests that no fake could serve:\n"
                + "\n".join(problems)
                + "\n(mark the test with @pytest.mark.careflow_allow_unmatched if intended)"
            ]

        add_check(request.node, check)
    return handle


def _service_fixture(name: str) -> Callable[..., Any]:
    def service(careflow_stack: StackHandle) -> ServiceHandle:
        return careflow_stack[name]

    service.__name__ = name
    service.__doc__ = (
        f"The {name} service of the careflow stack (a ServiceHandle): .url, .credentials, "
        ".client(), .async_client(), .verify(), .fault(), .journal(), .freeze(), .advance(), "
        ".settle(), .state(), .seed()."
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
