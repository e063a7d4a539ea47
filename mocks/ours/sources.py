"""Sources and their keys: create, update, rotate, and find the source and mode of a token
([C] ours-privacy.md §1, §7, §8, §11)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel import format_instant

from .state import SOURCE_TYPES, OursState, Source

if TYPE_CHECKING:
    from .models import OursBackend


class Sources:
    """The sources of one backend. Each live and test token is bound to its tenant, so a
    request's token finds its tenant's state."""

    def __init__(self, backend: OursBackend) -> None:
        self.backend = backend

    def new_token(self, tenant: str, state: OursState, *parts: object) -> str:
        return self.backend.synthetic_for(tenant).token("source-key", *parts, length=64)

    def check_source(
        self, state: OursState, data: dict[str, Any], ids: set[str], tokens: set[str]
    ) -> None:
        """Refuse a bad source document; changes nothing. ``ids``/``tokens`` collect what the
        same request creates (so one seed cannot issue a token or id twice)."""
        if not isinstance(data, dict):
            raise ValueError("a source must be an object")
        kind = str(data.get("type", "HTTPApiSource"))
        if kind not in SOURCE_TYPES:
            raise ValueError(f"source type must be one of {SOURCE_TYPES}")
        if data.get("status", "Active") not in ("Active", "Disabled"):
            raise ValueError("status must be Active or Disabled")
        if data.get("id"):
            source_id = str(data["id"])
            if source_id in state.sources or source_id in ids:
                raise ValueError(f"source {source_id!r} exists")
            ids.add(source_id)
        if data.get("token"):
            token = str(data["token"])
            self.backend.check_credentials([token])
            if (
                self.backend.tenant_for(token) is not None
                or token in state.by_token
                or token in tokens
            ):
                raise ValueError("that token is already issued")
            tokens.add(token)

    def create(self, tenant: str, state: OursState, data: dict[str, Any]) -> Source:
        with state.lock:
            self.check_source(state, data, set(), set())
            kind = str(data.get("type", "HTTPApiSource"))
            source_id = str(data.get("id") or state.next_id("src"))
            while source_id in state.sources:  # a generated id skips ids given explicitly
                source_id = state.next_id("src")
            token = str(data.get("token") or self.new_token(tenant, state, source_id))
            if token in state.by_token or self.backend.tenant_for(token) is not None:
                raise ValueError("that token is already issued")
            source = Source(
                id=source_id,
                name=str(data.get("name") or f"{kind} source"),
                token=token,
                type=kind,
                status=str(data.get("status", "Active")),
                is_published=bool(data.get("isPublished", True)),
                created_at=format_instant(self.backend.kernel.clock.now()),
                field_map=dict(data.get("fieldMap") or {}),
            )
            state.sources[source.id] = source
            self.bind(tenant, state, source)
            return source

    def update(self, state: OursState, source: Source, data: dict[str, Any]) -> Source:
        with state.lock:
            if "status" in data:
                if data["status"] not in ("Active", "Disabled"):
                    raise ValueError("status must be Active or Disabled")
                source.status = data["status"]
            if "isPublished" in data:
                source.is_published = bool(data["isPublished"])
            if "name" in data:
                source.name = str(data["name"])
            if "fieldMap" in data:
                source.field_map = dict(data["fieldMap"] or {})
            return source

    def rotate(self, tenant: str, state: OursState, source: Source) -> Source:
        """[I] §8 rotation = regenerate: the old live and test keys stop at once (no grace)."""
        with state.lock:
            for old in (source.token, source.test_token):
                state.by_token.pop(old, None)
                self.backend.unbind_credential(old)
            source.rotations += 1
            source.token = self.new_token(tenant, state, source.id, "rotation", source.rotations)
            self.bind(tenant, state, source)
            return source

    def bind(self, tenant: str, state: OursState, source: Source) -> None:
        for token, mode in ((source.token, "live"), (source.test_token, "test")):
            state.by_token[token] = (source.id, mode)
            self.backend.bind_credential(token, tenant)

    def resolve(self, state: OursState, token: str) -> tuple[Source, str] | None:
        found = state.by_token.get(token)
        if found is None:
            return None
        return state.sources[found[0]], found[1]
