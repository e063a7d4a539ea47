"""The base of every fake's model layer: tenants, seeding, export/import, persistence.

Like moto's backends, a vendor keeps its state and rules in a ``Backend`` subclass (its
``models.py``); the HTTP layer only translates. State is kept per **tenant** and a tenant is found
from the credential a request carries, so parallel tests on one server never see each other's
data. Resetting one tenant rebuilds only that tenant's seeded state.

With ``--data-dir`` the state is durable (durable.py): a vendor part that changes its state calls
``changed(state, section, key)``, and ``flush()`` (called by the kernel's middleware as each
answer starts) writes those entities in one transaction. Without a data dir ``changed`` returns
at once and nothing is written.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from careflow.limits import BODY_LIMIT

from .durable import WHOLE, Entity, EntityStore, document_of, sections_of
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
    # Sections of ``dump_state()`` kept on disk one item at a time (dicts keyed by id); every
    # other section is one entity (durable.py).
    collections: ClassVar[frozenset[str]] = frozenset()
    # The largest request body the vendor takes (DESIGN.md: 10 MiB, or less where the vendor
    # documents less); larger ones are a 413 in ``input_error``'s shape.
    body_limit: ClassVar[int] = BODY_LIMIT

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self._states: dict[str, S] = {}
        self._credentials: dict[str, str] = {}
        self._lock = threading.RLock()
        # durability (durable.py): None without a data dir
        self.durable: EntityStore | None = None
        self._tenant_of: dict[int, str] = {}  # id(state) → tenant
        self._dirty: dict[tuple[str, str, Any], Any] = {}  # (tenant, section, key) → state
        self._replaced: dict[str, Any] = {}  # tenant → state written whole (None: dropped)
        # _marks guards the two dicts above (a leaf lock: nothing is taken while it is held);
        # _flushing puts flushes in one order. A flush never holds the backend's lock, so a
        # part that holds its state's lock may bind a credential meanwhile (no lock cycle).
        self._marks = threading.Lock()
        self._flushing = threading.Lock()

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

    def input_error(
        self, status: int, message: str, resource: str = "", part: str = "body"
    ) -> tuple[Any, dict[str, str]]:
        """The vendor's answer to input the stack refuses (careflow.limits: 400 for a body or
        query (``part``) no route could take, 408 for a body that never arrived, 413 for one
        over ``body_limit``), and the 500 of an unexpected error."""
        return self.error_body(status, message, resource)

    # durability hooks (durable.py); the defaults fit a dataclass state whose dump_state()
    # sections are its attributes, collections being dicts keyed by id ----------------------
    def entities(self, state: S) -> Iterable[Entity]:
        """A whole tenant's state as entities."""
        return sections_of(self.dump_state(state), self.collections)

    def assemble(self, tenant: str, entities: Iterable[Entity]) -> S:
        """A tenant's state from its stored entities (the inverse of ``entities``)."""
        return self.load_state(tenant, document_of(entities))

    def entity_value(self, state: S, section: str, key: Any) -> tuple[bool, Any]:
        """``(present, value)`` of one entity in the live state, as ``entities`` stores it."""
        value = getattr(state, section)
        if key is WHOLE:
            return True, value
        return (True, value[key]) if key in value else (False, None)

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

    def _install(self, tenant: str, state: S, *, stored: bool = False) -> None:
        with self._lock:
            self._drop_credentials(tenant)
            old = self._states.get(tenant)
            if old is not None:
                self._tenant_of.pop(id(old), None)
            self._states[tenant] = state
            self._tenant_of[id(state)] = tenant
            for key in self.credential_keys(state):
                self._credentials[key] = tenant
            if self.durable is not None and not stored:
                with self._marks:
                    self._replaced[tenant] = state

    def _drop_credentials(self, tenant: str) -> None:
        for key in [k for k, t in self._credentials.items() if t == tenant]:
            del self._credentials[key]

    def reset(self, tenant: str | None = None) -> None:
        """Back to the seeded state: one tenant, or (None) every tenant."""
        with self._lock:
            if tenant is None:
                if self.durable is not None:
                    with self._marks:
                        self._replaced.update(dict.fromkeys(self._states))
                self._states.clear()
                self._credentials.clear()
                self._tenant_of.clear()
                self.state(DEFAULT_TENANT)
            else:
                self._install(tenant, self.new_state(tenant, self.synthetic_for(tenant)))

    def drop_tenant(self, tenant: str) -> bool:
        with self._lock:
            if tenant not in self._states or tenant == DEFAULT_TENANT:
                return False
            self._drop_credentials(tenant)
            self._tenant_of.pop(id(self._states[tenant]), None)
            del self._states[tenant]
            if self.durable is not None:
                with self._marks:
                    self._replaced[tenant] = None
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
            state = self.state(tenant)
            added = self.seed_state(tenant, state, body)
            self.changed_all(state)
            return added

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

    # persistence (durable.py) ---------------------------------------------------------------
    def changed(self, state: S, section: str, key: Any = WHOLE) -> None:
        """A vendor part changed one entity of ``state`` (a section, or one item of a
        collection): the next ``flush()`` writes its value as it is then."""
        if self.durable is None:
            return
        tenant = self._tenant_of.get(id(state))
        if tenant is not None:
            with self._marks:
                self._dirty[(tenant, section, tuple(key) if isinstance(key, list) else key)] = state

    def changed_all(self, state: S) -> None:
        """Write the whole tenant of ``state`` at the next flush (admin writes, seeds)."""
        if self.durable is None:
            return
        tenant = self._tenant_of.get(id(state))
        if tenant is not None:
            with self._marks:
                self._replaced[tenant] = state

    def changed_tenant(self, tenant: str) -> None:
        """Write ``tenant`` whole at the next flush, if it exists."""
        state = self._states.get(tenant)
        if self.durable is not None and state is not None:
            with self._marks:
                self._replaced[tenant] = state

    def flush(self) -> None:
        """Write what changed since the last flush, in one transaction (no-op in memory)."""
        if self.durable is None or not (self._dirty or self._replaced):
            return
        with self._flushing:
            with self._marks:
                replaced, self._replaced = self._replaced, {}
                dirty, self._dirty = self._dirty, {}
            try:
                whole = {
                    tenant: (list(self.entities(state)) if state is not None else None)
                    for tenant, state in replaced.items()
                }
                changes = []
                for (tenant, section, key), state in dirty.items():
                    if tenant in replaced or self._states.get(tenant) is not state:
                        continue  # written whole, or replaced since
                    present, value = self.entity_value(state, section, key)
                    changes.append((tenant, section, key, value, present))
                self.durable.apply(whole, changes)
            except BaseException:
                # not written: kept for the next flush (the answer is a 500 meanwhile)
                with self._marks:
                    self._replaced = {**replaced, **self._replaced}
                    self._dirty = {**dirty, **self._dirty}
                raise

    def open_store(self, data_dir: Path) -> None:
        """Load every tenant from ``<data_dir>/<service>.sqlite3`` (or, once, from the JSON file
        of earlier versions, which is then removed: it held secrets in clear)."""
        self.durable = EntityStore(data_dir / f"{self.service}.sqlite3")
        if self.durable.is_empty() and (data_dir / f"{self.service}.json").exists():
            self.load(data_dir)  # installs every tenant: written whole at the flush below
            self.flush()
            self.remove_legacy(data_dir)
            return
        for tenant in self.durable.tenants():
            self._install(tenant, self.assemble(tenant, self.durable.entities(tenant)), stored=True)

    def remove_legacy(self, data_dir: Path) -> None:
        (data_dir / f"{self.service}.json").unlink(missing_ok=True)

    def close_store(self) -> None:
        if self.durable is not None:
            self.flush()
            self.durable.close()
            self.durable = None

    # the JSON file of earlier versions, read once to migrate ---------------------------------
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
