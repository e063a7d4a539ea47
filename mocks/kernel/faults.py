"""Fault injection rules: per route (method + path pattern), n times or with a seeded probability.

Besides the route, a fault may ask for more of the request: ``query`` and ``headers`` (objects
whose pairs must all be present), ``json`` (a subset of the JSON or form body). ``after: N``
lets the first N-1 matching calls through and faults the Nth onward (``times`` then counts the
faulted ones).

Kinds:
- ``error``: answer with ``status`` and ``body`` (the vendor's error shape when no body is given);
  a 429 carries ``Retry-After`` when ``retry_after`` is set.
- ``latency``: add ``latency_ms`` before the real answer. On a frozen clock the delay is virtual
  (the clock advances instead of anybody sleeping), so tests never wait.
- ``timeout``: the client sees a read timeout (in-process at once; over a socket after
  ``latency_ms``, default 30 s, the connection is closed without an answer).
- ``drop``: the connection is closed mid-answer (the client sees a protocol error).

A fault posted for a tenant (``X-Sandbox-Tenant`` header or ``"tenant"`` in the body) fires only on
requests whose credential belongs to that tenant, so parallel tests on one server keep their
faults to themselves; without one it fires for every tenant.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .matching import (
    NO_BODY,
    RequestView,
    compile_pattern,
    headers_diff,
    query_diff,
    subset_diff,
)

__all__ = ["Fault", "FaultKind", "FaultSpec", "FaultStore", "compile_pattern"]

FaultKind = Literal["error", "latency", "timeout", "drop"]


class FaultSpec(BaseModel):
    """The body of ``POST /__sandbox/faults``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: str = Field("*", description="HTTP method, or * for any")
    path: str = Field(
        ...,
        description="Path pattern: exact, with {param} segments, or * as a wildcard",
        min_length=1,
    )
    kind: FaultKind = "error"
    status: int | None = Field(None, ge=100, le=599)
    body: Any = None
    times: int | None = Field(None, ge=1, description="How many matching requests; null = all")
    probability: float | None = Field(None, ge=0.0, le=1.0)
    retry_after: int | None = Field(None, ge=0)
    latency_ms: int | None = Field(None, ge=0, le=600_000)
    tenant: str | None = Field(None, description="Only requests of this tenant (default: all)")
    query: dict[str, Any] | None = Field(
        None, description="Query pairs the request must carry (a list value: all of those)"
    )
    headers: dict[str, str | int] | None = Field(
        None, description="Headers the request must carry (names case-insensitive)"
    )
    json_body: Any = Field(
        None, alias="json", description="A subset of the request's JSON (or form) body"
    )
    after: int | None = Field(
        None, ge=1, description="Let the first after-1 matching calls through, fault the rest"
    )

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") and value != "*":
            raise ValueError("path must start with '/' (or be '*')")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> FaultSpec:
        if self.kind == "latency" and self.latency_ms is None:
            raise ValueError("a latency fault needs latency_ms (how long to delay)")
        if self.kind == "error" and self.status is not None and self.status < 400:
            raise ValueError(f"an error fault needs an error status (400-599), not {self.status}")
        if self.retry_after is not None and self.kind != "error":
            raise ValueError("retry_after only applies to kind 'error' (e.g. a 429)")
        return self


class Fault:
    def __init__(self, fault_id: int, spec: FaultSpec, seed: int) -> None:
        self.id = fault_id
        self.spec = spec
        self.remaining = spec.times
        self.hits = 0
        self.seen = 0  # matching calls, faulted or not (for ``after``)
        self._regex = compile_pattern(spec.path)
        self._random = random.Random(f"{seed}:{fault_id}")

    def matches(
        self,
        method: str,
        path: str,
        tenant_of: Callable[[], str | None],
        request: RequestView | None = None,
    ) -> bool:
        spec = self.spec
        if spec.method not in ("*", method.upper()):
            return False
        if self._regex.fullmatch(path) is None:
            return False
        if spec.query or spec.headers or spec.json_body is not None:
            if request is None:
                return False
            if spec.query and query_diff(spec.query, request):
                return False
            if spec.headers and headers_diff(spec.headers, request):
                return False
            if spec.json_body is not None and (
                request.document is NO_BODY or subset_diff(spec.json_body, request.document)
            ):
                return False
        return spec.tenant is None or tenant_of() == spec.tenant

    def fire(self) -> bool:
        """Decide whether this matching request is faulted (consumes ``times``); ``seen``
        already counts it."""
        if self.spec.after is not None and self.seen < self.spec.after:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.spec.probability is not None and self._random.random() >= self.spec.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.hits += 1
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.model_dump(by_alias=True),
            "remaining": self.remaining,
            "hits": self.hits,
            "seen": self.seen,
        }


class FaultStore:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._faults: dict[int, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: FaultSpec) -> Fault:
        with self._lock:
            fault = Fault(next(self._ids), spec, self.seed)
            self._faults[fault.id] = fault
        return fault

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            return self._faults.pop(fault_id, None) is not None

    def clear(self, tenant: str | None = None) -> int:
        """Drop every fault, or (``tenant``) only that tenant's; ids are never reused."""
        with self._lock:
            doomed = [f.id for f in self._faults.values() if tenant in (None, f.spec.tenant)]
            for fault_id in doomed:
                del self._faults[fault_id]
            return len(doomed)

    def items(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def active(self) -> bool:
        """Whether any rule is set (most requests meet none: they need not prepare a match)."""
        return bool(self._faults)

    def match(
        self,
        method: str,
        path: str,
        tenant_of: Callable[[], str | None] = lambda: None,
        request: RequestView | None = None,
    ) -> Fault | None:
        """The first rule that matches and fires for this request, if any. Every matching rule
        counts the call (``after``), even when an earlier one fires. ``tenant_of`` is called
        only for tenant-scoped rules (the middleware's is computed once per request);
        ``request`` is needed by rules on query, headers or body (without it they never match)."""
        if not self._faults:
            return None
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults.values():
                if fault.matches(method, path, tenant_of, request):
                    fault.seen += 1
                    if chosen is None and fault.fire():
                        chosen = fault
        return chosen
