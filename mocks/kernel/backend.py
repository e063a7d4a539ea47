"""The base of every fake's model layer: tenants, seeding, export/import, persistence.

Like moto's backends, a vendor keeps its state and rules in a ``Backend`` subclass (its
``models.py``); the HTTP layer only translates. State is kept per **tenant** and a tenant is found
from the credential a request carries, so parallel tests on one server never see each other's
data. Resetting one tenant rebuilds only that tenant's seeded state.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from .guard import production_credential_reason
from .synthetic import Synthetic

S = TypeVar("S")

DEFAULT_TENANT = "default"


class CredentialRefused(ValueError):
    """A seeded or imported credential that looks like a real production key."""


class Backend(Generic[S]):
    """Per-tenant state for one vendor. Subclasses fill in the hooks marked below."""

    service: ClassVar[str] = "fake"
    # Extra field names this vendor marks as PHI (masked in the journal and delivery log).
    phi_fields: ClassVar[frozenset[str]] = frozenset()
    # The keys a seed body may hold, and those of its ``synthetic`` object: anything else is a
    # 422 naming it, never a seed that silently adds nothing.
    seed_keys: ClassVar[frozenset[str]] = frozenset({"synthetic"})
    synthetic_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self._states: dict[str, S] = {}
        self._credentials: dict[str, str] = {}
        self._lock = threading.RLock()

    # hooks for subclasses -------------------------------------------------------------------
    def new_state(self, tenant: str, synthetic: Synthetic) -> S:
        """A fresh, seeded state for ``tenant``. Must be deterministic for a given seed."""
        raise NotImplementedError

    def dump_state(self, state: S) -> dict[str, Any]:
        raise NotImplementedError

    def load_state(self, tenant: str, data: dict[str, Any]) -> S:
        raise NotImplementedError

    def seed_state(self, tenant: str, state: S, body: dict[str, Any]) -> dict[str, Any]:
        """Add data from a seed body; return a summary of what was added."""
        raise NotImplementedError

    def credentials_of(self, state: S) -> dict[str, Any]:
        """The demo credentials of a tenant, as the info file shows them (unmasked)."""
        return {}

    def credential_keys(self, state: S) -> list[str]:
        """Every credential value that identifies this tenant in a vendor request."""
        return []

    def error_body(
        self, status: int, message: str, resource: str = ""
    ) -> tuple[Any, dict[str, str]]:
        """The vendor's error body (and headers) for ``status`` — used by faults and 404s;
        ``resource`` is the request's URL, for vendors whose errors name it."""
        return {"error": message}, {}

    # tenants --------------------------------------------------------------------------------
    def synthetic_for(self, tenant: str) -> Synthetic:
        return Synthetic(self.kernel.seed, f"{self.service}/{tenant}")

    def state(self, tenant: str = DEFAULT_TENANT) -> S:
        with self._lock:
            if tenant not in self._states:
                self._install(tenant, self.new_state(tenant, self.synthetic_for(tenant)))
            return self._states[tenant]

    def tenants(self) -> list[str]:
        return list(self._states)

    def has_tenant(self, tenant: str) -> bool:
        return tenant in self._states

    def tenant_for(self, credential: str | None) -> str | None:
        """The tenant a credential belongs to, or None when the sandbox never issued it."""
        if not credential:
            return None
        return self._credentials.get(credential)

    def bind_credential(self, credential: str, tenant: str) -> None:
        """Make a newly issued credential (rotation, new key) resolve to ``tenant``."""
        with self._lock:
            self._credentials[credential] = tenant

    def unbind_credential(self, credential: str) -> None:
        with self._lock:
            self._credentials.pop(credential, None)

    def _install(self, tenant: str, state: S) -> None:
        with self._lock:
            self._drop_credentials(tenant)
            self._states[tenant] = state
            for key in self.credential_keys(state):
                self._credentials[key] = tenant

    def _drop_credentials(self, tenant: str) -> None:
        for key in [k for k, t in self._credentials.items() if t == tenant]:
            del self._credentials[key]

    def reset(self, tenant: str | None = None) -> None:
        """Back to the seeded state: one tenant, or (None) every tenant."""
        with self._lock:
            if tenant is None:
                self._states.clear()
                self._credentials.clear()
                self.state(DEFAULT_TENANT)
            else:
                self._install(tenant, self.new_state(tenant, self.synthetic_for(tenant)))

    def drop_tenant(self, tenant: str) -> bool:
        with self._lock:
            if tenant not in self._states or tenant == DEFAULT_TENANT:
                return False
            self._drop_credentials(tenant)
            del self._states[tenant]
            return True

    # export / import / seed -----------------------------------------------------------------
    def export_state(self, tenant: str = DEFAULT_TENANT) -> dict[str, Any]:
        with self._lock:
            return self.dump_state(self.state(tenant))

    def import_state(self, tenant: str, data: dict[str, Any]) -> None:
        state = self.load_state(tenant, data)
        self.check_credentials(self.credential_keys(state))
        self._install(tenant, state)

    def seed(self, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check_keys("seed body", body, self.seed_keys)
        if "synthetic" in body:
            synthetic = body["synthetic"]
            if not isinstance(synthetic, dict):
                raise ValueError("'synthetic' must be an object, e.g. {\"synthetic\": {...}}")
            self._check_keys("synthetic", synthetic, self.synthetic_keys)
        with self._lock:
            return self.seed_state(tenant, self.state(tenant), body)

    @staticmethod
    def _check_keys(what: str, body: dict[str, Any], allowed: frozenset[str]) -> None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValueError(
                f"{what}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"this fake takes {', '.join(sorted(allowed)) or 'none'}"
            )

    @staticmethod
    def check_credentials(values: list[str]) -> None:
        for value in values:
            reason = production_credential_reason(value)
            if reason:
                raise CredentialRefused(
                    f"refusing credential {value[:4]}…: {reason}. The sandbox only accepts "
                    "credentials it issued (they contain 'sbx'); never put a real key here."
                )

    # persistence ----------------------------------------------------------------------------
    def save(self, data_dir: Path) -> None:
        data = {tenant: self.dump_state(state) for tenant, state in self._states.items()}
        path = data_dir / f"{self.service}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, default=str))
        tmp.replace(path)

    def load(self, data_dir: Path) -> bool:
        path = data_dir / f"{self.service}.json"
        if not path.exists():
            return False
        data = json.loads(path.read_text())
        for tenant, state in data.items():
            self._install(tenant, self.load_state(tenant, state))
        return True
