"""The careflow pytest plugin (entry point ``pytest11``).

Fixtures: ``careflow_stack`` (the whole stack) and one per service — ``whatconverts``, ``caspio``,
``ours``, ``engine`` — in-process by default (no sockets), or as real servers on free loopback
ports with ``@pytest.mark.careflow(mode="server")`` or ``--careflow-mode=server``. Every test
starts from the seeded state on a real-time clock.

Strict by default, like respx: a test fails when it sent a request that no fake could serve
(unknown route) or tried to reach a host outside the stack; the failure lists each call and the
closest known routes. Opt out per test with ``@pytest.mark.careflow_allow_unmatched``.
"""

from __future__ import annotations

import difflib
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from careflow.mocks import VENDORS
from careflow.mocks.kernel import Kernel, is_loopback_host

from .stack import InProcessStack, Stack

MODES = ("inprocess", "server")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("careflow")
    group.addoption(
        "--careflow-mode",
        choices=MODES,
        default=None,
        help="Run careflow fixtures in-process (default) or as real servers on loopback.",
    )
    parser.addini("careflow_mode", "Default mode of the careflow fixtures", default="inprocess")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "careflow(mode='inprocess'|'server', seed=0): configure careflow fixtures"
    )
    config.addinivalue_line(
        "markers", "careflow_allow_unmatched: do not fail on requests no fake could serve"
    )


class ServiceHandle:
    """One service of the stack as a test sees it."""

    def __init__(self, stack: StackHandle, name: str) -> None:
        self.stack = stack
        self.name = name
        self.url = stack.urls[name]
        self.credentials: dict[str, Any] = {
            k: v for k, v in stack.info.get(name, {}).items() if k != "url"
        }

    @property
    def kernel(self) -> Kernel:
        return self.stack.stack.kernel(self.name)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A sync client with this service's URL as base (in-process or over a socket)."""
        return self.stack.client(self.name, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.client() as client:
            response = client.request(method, f"/__sandbox{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self.admin("POST", "/reset")

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self.admin("GET", "/journal", params=params)["items"]

    def fault(self, path: str, **spec: Any) -> dict[str, Any]:
        return self.admin("POST", "/faults", json={"path": path, **spec})

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.admin("POST", "/clock", json={"advance_seconds": seconds})


class StackHandle:
    """The whole stack for one test: URLs, credentials, clients, the shared clock."""

    def __init__(self, mode: str, stack: Stack, client_factory: Any) -> None:
        self.mode = mode
        self.stack = stack
        self.urls = dict(stack.urls)
        self.info = stack.info()
        self.clock = stack.clock
        self._client_factory = client_factory
        self.services = {name: ServiceHandle(self, name) for name in ("engine", *stack.fakes)}

    def client(self, name: str | None = None, **kwargs: Any) -> httpx.Client:
        return self._client_factory(name, **kwargs)

    def __getitem__(self, name: str) -> ServiceHandle:
        return self.services[name]

    def unmatched(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for name in self.stack.fakes:
            for entry in self.stack.kernel(name).journal.items():
                if not entry.get("matched", True) and entry.get("fault") is None:
                    out.append((name, entry))
        return out

    def known_routes(self, name: str) -> list[str]:
        """The vendor's documented operations (its spec), as ``METHOD path``."""
        return VENDORS[name].routes()


class RemoteCallBlocked(AssertionError):
    pass


@pytest.fixture
def careflow_block_remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any request to a host that is not loopback (e.g. a real vendor API): httpx requests
    by URL, and every other client (urllib, requests, raw sockets) at ``connect``. A blocked
    call fails the test even if the code under test caught the error; a test that means to
    provoke one empties the list it gets from this fixture."""
    blocked: list[str] = []
    real_sync = httpx.HTTPTransport.handle_request
    real_async = httpx.AsyncHTTPTransport.handle_async_request
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(what: str, host: str) -> RemoteCallBlocked:
        blocked.append(what)
        return RemoteCallBlocked(
            f"careflow blocked a request to {host}: tests may only reach the "
            "sandbox on loopback. Point your client at the fixture's .url instead."
        )

    def check(request: httpx.Request) -> None:
        if not is_loopback_host(request.url.host):
            raise refuse(f"{request.method} {request.url}", request.url.host)

    def check_address(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            if not is_loopback_host(host):
                raise refuse(f"connect {host}:{address[1]}", host)

    def sync_handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        check(request)
        return real_sync(self, request)

    async def async_handle(
        self: httpx.AsyncHTTPTransport, request: httpx.Request
    ) -> httpx.Response:
        check(request)
        return await real_async(self, request)

    def connect(self: socket.socket, address: Any) -> None:
        check_address(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check_address(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", sync_handle)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", async_handle)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
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


class _Stacks:
    """Session cache: one stack per (mode, seed), reset between tests."""

    def __init__(self) -> None:
        self.stacks: dict[tuple[str, int], Any] = {}

    def get(self, mode: str, seed: int) -> StackHandle:
        key = (mode, seed)
        if key not in self.stacks:
            self.stacks[key] = self._start(mode, seed)
        return self.stacks[key][0]

    def _start(self, mode: str, seed: int) -> tuple[StackHandle, Any]:
        if mode == "inprocess":
            stack = InProcessStack(seed=seed)
            return StackHandle(mode, stack, stack.client), stack
        from .server import StackServer, bind_sockets, urls_of

        sockets = bind_sockets("127.0.0.1", 0)
        served = Stack(urls=urls_of("127.0.0.1", sockets), seed=seed)
        server = StackServer(served, sockets)
        server.start_in_thread()

        def client(name: str | None = None, **kwargs: Any) -> httpx.Client:
            return httpx.Client(base_url=served.urls[name] if name else "", **kwargs)

        return StackHandle(mode, served, client), server

    def close(self) -> None:
        for _handle, runner in self.stacks.values():
            if isinstance(runner, InProcessStack):
                runner.close()
            else:
                runner.stop_thread()
        self.stacks.clear()


@pytest.fixture(scope="session")
def _careflow_stacks() -> Iterator[_Stacks]:
    stacks = _Stacks()
    yield stacks
    stacks.close()


@pytest.fixture
def careflow_stack(
    request: pytest.FixtureRequest, _careflow_stacks: _Stacks, careflow_block_remote: list[str]
) -> Iterator[StackHandle]:
    """The whole sandbox, seeded and on a real-time clock, for one test."""
    mode, seed = _mode(request)
    handle = _careflow_stacks.get(mode, seed)
    handle.clock.reset()
    for service in handle.services:
        handle[service].reset()
    yield handle
    if request.node.get_closest_marker("careflow_allow_unmatched"):
        return
    problems = []
    for name, entry in handle.unmatched():
        wanted = f"{entry['method']} {entry['path']}"
        near = difflib.get_close_matches(wanted, handle.known_routes(name), n=3, cutoff=0.4)
        hint = f"; closest: {', '.join(near)}" if near else "; it serves no such route"
        problems.append(f"  - {name}: {wanted} → {entry['status']}{hint}")
    if problems:
        pytest.fail(
            "careflow: requests that no fake could serve:\n"
            + "\n".join(problems)
            + "\n(mark the test with @pytest.mark.careflow_allow_unmatched if intended)",
            pytrace=False,
        )


@pytest.fixture
def whatconverts(careflow_stack: StackHandle) -> ServiceHandle:
    return careflow_stack["whatconverts"]


@pytest.fixture
def caspio(careflow_stack: StackHandle) -> ServiceHandle:
    return careflow_stack["caspio"]


@pytest.fixture
def ours(careflow_stack: StackHandle) -> ServiceHandle:
    return careflow_stack["ours"]


@pytest.fixture
def engine(careflow_stack: StackHandle) -> ServiceHandle:
    return careflow_stack["engine"]


# scenario files as tests ---------------------------------------------------------------------


def _looks_like_scenario(path: Any) -> bool:
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


def pytest_collect_file(parent: pytest.Collector, file_path: Any) -> pytest.Collector | None:
    """YAML scenario files under a ``scenarios/`` folder are collected as tests."""
    if _looks_like_scenario(file_path):
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
