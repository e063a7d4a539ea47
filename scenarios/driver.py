"""``StackDriver``: how scenarios (and demos) talk to a running stack — only over its HTTP APIs.

The same driver serves an ``InProcessStack`` (no sockets) and a stack started by ``careflow up``
(``StackDriver.remote(url)``), so a scenario that passes in-process passes against real servers.
It speaks the engine API of DESIGN.md and the fakes' ``/__sandbox/`` admin API; each vendor's
own API (WhatConverts Basic auth and form posts, Caspio OAuth, Ours token-in-body) is spoken by
that vendor's step module (``careflow.scenarios.steps.<vendor>``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx

from careflow.mocks import VENDORS


class DriverError(AssertionError):
    """A stack call that did not answer as the scenario needed."""


class StackDriver:
    def __init__(
        self,
        info: dict[str, Any],
        client: httpx.Client,
        *,
        settle: Callable[[], None] | None = None,
    ) -> None:
        self.info = info
        self.client = client
        self._settle = settle
        # what vendor step modules keep between calls (a Caspio access token); emptied when
        # the fakes are reset
        self.session: dict[str, Any] = {}
        self._ids = itertools.count(1)

    # construction --------------------------------------------------------------------------
    @classmethod
    def in_process(cls, stack: Any) -> StackDriver:
        return cls(stack.info(), stack.client(), settle=lambda: stack.run(stack.settle()))

    @classmethod
    def remote(cls, engine_url: str, verify: Any = True) -> StackDriver:
        """``verify``: what httpx trusts (``careflow up --tls``'s CA context, say)."""
        client = httpx.Client(timeout=30, verify=verify)
        response = client.get(f"{engine_url.rstrip('/')}/__sandbox/stack")
        if response.status_code != 200:
            raise DriverError(
                f"{engine_url} did not serve /__sandbox/stack ({response.status_code}): "
                "is it the engine URL of `careflow up`?"
            )
        return cls(response.json(), client)

    def reset_all(self) -> None:
        """Seeded state on every fake, empty engine (a running stack is shared by scenarios)."""
        self.admin("engine", "POST", "/reset")
        self.reset_fakes()

    def reset_fakes(self) -> None:
        for service in self.fakes:
            self.admin(service, "POST", "/reset")
        self.session.clear()

    @property
    def fakes(self) -> tuple[str, ...]:
        """The stack's fakes: the registered vendors (``careflow.mocks.VENDORS``) it serves."""
        return tuple(name for name in VENDORS if name in self.info)

    def url(self, service: str) -> str:
        return self.info[service]["url"]

    def creds(self, service: str) -> dict[str, Any]:
        return self.info[service]

    # raw calls -----------------------------------------------------------------------------
    def new_correlation_id(self, prefix: str = "scn") -> str:
        cid = f"{prefix}-{next(self._ids):04d}"
        return cid

    def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        correlation_id: str | None = None,
        expect: int | tuple[int, ...] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if correlation_id:
            headers.setdefault("X-Request-ID", correlation_id)
        response = self.client.request(
            method, f"{self.url(service)}{path}", headers=headers, **kwargs
        )
        if expect is not None:
            allowed = (expect,) if isinstance(expect, int) else expect
            if response.status_code not in allowed:
                raise DriverError(
                    f"{method} {service}{path} answered {response.status_code}, expected "
                    f"{' or '.join(map(str, allowed))}: {response.text[:500]}"
                )
        return response

    def admin(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(service, method, f"/__sandbox{path}", expect=(200, 201, 204), **kwargs)
        return response.json() if response.content else None

    # clock ---------------------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        return self.admin("engine", "GET", "/clock")

    def move_clock(self, **body: Any) -> dict[str, Any]:
        moved = self.admin("engine", "POST", "/clock", json=body)
        self.settle()
        return moved

    def settle(self) -> None:
        """Let background work finish (webhook attempts, pipelines, runs)."""
        if self._settle is not None:
            self._settle()
            return
        for _round in range(2):  # a real stack: fakes' deliveries, then the runs they start
            for service in (*self.fakes, "engine"):
                self.call(service, "POST", "/__sandbox/settle")

    # Engine --------------------------------------------------------------------------------
    def engine(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("engine", method, path, **kwargs)

    def create_authentication(self, name: str, app: str, credentials: dict[str, Any]) -> Any:
        return self.engine(
            "POST",
            "/api/authentications",
            json={"name": name, "app": app, "credentials": credentials},
            expect=(200, 201),
        ).json()

    def create_workflow(self, definition: dict[str, Any]) -> dict[str, Any]:
        return self.engine("POST", "/api/workflows", json=definition, expect=201).json()

    def workflow_action(self, workflow_id: Any, action: str) -> dict[str, Any]:
        return self.engine(
            "POST", f"/api/workflows/{workflow_id}/{action}", expect=(200, 201)
        ).json()

    def runs(self, workflow_id: Any | None = None, status: str | None = None) -> list[dict]:
        """Every matching run, newest first (all pages of ``GET /api/runs``)."""
        params = {k: v for k, v in {"workflow_id": workflow_id, "status": status}.items() if v}
        params["limit"] = 1000  # the largest page
        items: list[dict] = []
        while True:
            page = self.engine("GET", "/api/runs", params=params, expect=200).json()
            items += page["items"]
            if not page.get("next_cursor"):
                return items
            params["cursor"] = page["next_cursor"]
