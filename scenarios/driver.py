"""``StackDriver``: how scenarios (and demos) talk to a running stack — only over its HTTP APIs.

The same driver serves an ``InProcessStack`` (no sockets) and a stack started by ``careflow up``
(``StackDriver.remote(url)``), so a scenario that passes in-process passes against real servers.
It speaks each vendor's real API (WhatConverts Basic auth and form posts, Caspio OAuth client
credentials, Ours Privacy token-in-body) and the engine API of DESIGN.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx

CASPIO_API = "/integrations/rest/v3"


class DriverError(AssertionError):
    """A stack call that did not answer as the scenario needed."""


class StackDriver:
    def __init__(
        self,
        info: dict[str, Any],
        client: httpx.Client,
        *,
        settle: Callable[[], None] | None = None,
        label: str = "in-process",
    ) -> None:
        self.info = info
        self.client = client
        self._settle = settle
        self.label = label
        self._caspio_token: str | None = None
        self._ids = itertools.count(1)
        self.correlation_ids: list[str] = []
        self.calls = 0

    # construction --------------------------------------------------------------------------
    @classmethod
    def in_process(cls, stack: Any) -> StackDriver:
        return cls(stack.info(), stack.client(), settle=lambda: stack.run(stack.settle()))

    @classmethod
    def remote(cls, engine_url: str) -> StackDriver:
        client = httpx.Client(timeout=30)
        response = client.get(f"{engine_url.rstrip('/')}/__sandbox/stack")
        if response.status_code != 200:
            raise DriverError(
                f"{engine_url} did not serve /__sandbox/stack ({response.status_code}): "
                "is it the engine URL of `careflow up`?"
            )
        return cls(response.json(), client, label=engine_url)

    def reset_all(self) -> None:
        """Seeded state on every fake, empty engine (a running stack is shared by scenarios)."""
        self.admin("engine", "POST", "/reset")
        self.reset_fakes()

    def reset_fakes(self) -> None:
        for service in ("whatconverts", "caspio", "ours"):
            self.admin(service, "POST", "/reset")
        self._caspio_token = None

    def url(self, service: str) -> str:
        return self.info[service]["url"]

    def creds(self, service: str) -> dict[str, Any]:
        return self.info[service]

    # raw calls -----------------------------------------------------------------------------
    def new_correlation_id(self, prefix: str = "scn") -> str:
        cid = f"{prefix}-{next(self._ids):04d}"
        self.correlation_ids.append(cid)
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
        self.calls += 1
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
            for service in ("whatconverts", "caspio", "ours", "engine"):
                self.call(service, "POST", "/__sandbox/settle")

    # WhatConverts --------------------------------------------------------------------------
    def wc_auth(self, key: str = "profile") -> tuple[str, str]:
        c = self.creds("whatconverts")
        if key == "master":
            return c["master_token"], c["master_secret"]
        return c["api_token"], c["api_secret"]

    def create_lead(self, fields: dict[str, Any], cid: str | None = None) -> dict[str, Any]:
        data = {"profile_id": self.creds("whatconverts")["profile_id"], **fields}
        form = _bracketed(data)
        response = self.call(
            "whatconverts",
            "POST",
            "/api/v1/leads",
            data=form,
            auth=self.wc_auth(),
            correlation_id=cid,
            expect=200,
        )
        return response.json()

    def update_lead(self, lead_id: int, fields: dict[str, Any], cid: str | None = None) -> Any:
        return self.call(
            "whatconverts",
            "POST",
            f"/api/v1/leads/{lead_id}",
            data=_bracketed(fields),
            auth=self.wc_auth(),
            correlation_id=cid,
        )

    def get_lead(self, lead_id: int) -> dict[str, Any]:
        body = self.call(
            "whatconverts", "GET", f"/api/v1/leads/{lead_id}", auth=self.wc_auth(), expect=200
        ).json()
        return body["leads"][0] if "leads" in body else body

    # Caspio --------------------------------------------------------------------------------
    def caspio_token(self, refresh: bool = False) -> str:
        if self._caspio_token is None or refresh:
            c = self.creds("caspio")
            response = self.call(
                "caspio",
                "POST",
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": c["client_id"],
                    "client_secret": c["client_secret"],
                },
                expect=200,
            )
            self._caspio_token = response.json()["access_token"]
        return self._caspio_token

    def caspio(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.caspio_token()}", **kwargs.pop("headers", {})}
        response = self.call("caspio", method, f"{CASPIO_API}{path}", headers=headers, **kwargs)
        if response.status_code == 401:
            headers["Authorization"] = f"Bearer {self.caspio_token(refresh=True)}"
            response = self.call("caspio", method, f"{CASPIO_API}{path}", headers=headers, **kwargs)
        return response

    def caspio_rows(self, table: str, where: str | None = None) -> list[dict[str, Any]]:
        params = {"q.where": where} if where else {}
        params["q.limit"] = "1000"
        response = self.caspio("GET", f"/tables/{table}/records", params=params)
        if response.status_code != 200:
            raise DriverError(f"Caspio GET {table} records: {response.status_code} {response.text}")
        return response.json()["Result"]

    # Ours ----------------------------------------------------------------------------------
    def ours_token(self, key: str = "live") -> str:
        c = self.creds("ours")
        return c["test_token"] if key == "test" else c["token"]

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
        params = {k: v for k, v in {"workflow_id": workflow_id, "status": status}.items() if v}
        return self.engine("GET", "/api/runs", params=params, expect=200).json()["items"]


def _bracketed(data: dict[str, Any]) -> dict[str, Any]:
    """WhatConverts form encoding: nested maps as ``additional_fields[Name]=value``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                out[f"{key}[{inner}]"] = v
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif value is not None:
            out[key] = value
    return out
