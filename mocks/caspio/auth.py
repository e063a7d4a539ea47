"""Web services profiles and their OAuth tokens ([C] caspio.md §1, §2, §10)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import BadBody, NoPrivileges
from .state import Profile

if TYPE_CHECKING:
    from .models import CaspioBackend

ACCESS_TTL = 86399  # [C] §2: expires_in 86399 (24 h)
REFRESH_TTL = timedelta(days=365)  # [C] §2: refresh token valid 1 year
REFRESH_IDLE = timedelta(days=60)  # [C] §2: ... but only 60 days if it is never used


class Auth:
    """Profiles (client id and secret, permissions) and the access and refresh tokens they get.

    Every credential it issues is bound to its tenant in the backend, so a request's token
    finds its tenant's state."""

    def __init__(self, backend: CaspioBackend) -> None:
        self.backend = backend

    def add_profile(
        self, tenant: str, name: str, *, all_objects: bool = True, can_create: bool = True
    ) -> Profile:
        state = self.backend.state(tenant)
        with state.lock:
            if name in state.profiles:
                raise BadBody(f"A profile named '{name}' already exists.")
            syn = self.backend.synthetic_for(tenant)
            n = state.next_id()
            profile = Profile(
                name,
                client_id=syn.token(f"client-id-{n}"),
                client_secret=syn.token(f"client-secret-{n}", length=48),
                all_objects=all_objects,
                can_create=can_create,
            )
            state.profiles[name] = profile
            self.backend.bind_credential(profile.client_id, tenant)
            return profile

    def delete_profile(self, tenant: str, name: str) -> bool:
        """Deleting a profile invalidates its tokens (its webhooks stay: orphans)."""
        state = self.backend.state(tenant)
        with state.lock:
            profile = state.profiles.pop(name, None)
            if profile is None:
                return False
            self.backend.unbind_credential(profile.client_id)
            for store in (state.tokens, state.refresh):
                for tok in [t for t, v in store.items() if v["profile"] == name]:
                    del store[tok]
                    self.backend.unbind_credential(tok)
            return True

    def issue_token(
        self, tenant: str, profile: Profile, chain_expires: datetime | None = None
    ) -> dict[str, Any]:
        """A new access token and refresh token. ``chain_expires``: the one-year end of the
        refresh token a refresh grant spent, which the new refresh token keeps ([?] caspio.md
        §2: whether a refresh starts a new year is undocumented; the fake keeps the first
        grant's year, the stricter reading); either way a refresh token lapses 60 days after
        it was issued unless it is used ([C] §2)."""
        state = self.backend.state(tenant)
        syn = self.backend.synthetic_for(tenant)
        with state.lock:
            n = state.next_id()
            access = syn.token(f"access-{n}", length=160)
            # [O] §2: 64 hex characters; derived from the seeded generator (reproducible)
            refresh = hashlib.sha256(syn.token(f"refresh-{n}", length=48).encode()).hexdigest()
            now = self._now()
            state.tokens[access] = {
                "profile": profile.name,
                "expires": (now + timedelta(seconds=ACCESS_TTL)).isoformat(),
            }
            state.refresh[refresh] = {
                "profile": profile.name,
                "expires": (chain_expires or now + REFRESH_TTL).isoformat(),
                "unused_until": (now + REFRESH_IDLE).isoformat(),
            }
            self.backend.bind_credential(access, tenant)
        return {
            "access_token": access,
            "token_type": "bearer",  # [C] §2 lowercase
            "expires_in": ACCESS_TTL,
            "refresh_token": refresh,
        }

    def profile_for_client(self, client_id: str, secret: str) -> tuple[str, Profile] | None:
        tenant = self.backend.tenant_for(client_id)
        if tenant is None:
            return None
        for p in self.backend.state(tenant).profiles.values():
            if p.client_id == client_id and p.client_secret == secret:
                return tenant, p
        return None

    def use_refresh(
        self, token: str, client_id: str | None
    ) -> tuple[str, Profile, datetime] | None:
        """The tenant, profile and one-year end of a live refresh token, which is spent
        ([I] §2: a refresh issues a new refresh token); None when unknown, past its year, or
        never used for 60 days ([C] §2), all on the virtual clock."""
        for tenant in self.backend.tenants():
            state = self.backend.state(tenant)
            grant = state.refresh.get(token)
            if grant is None:
                continue
            profile = state.profiles.get(grant["profile"])
            now = self._now()
            expires = datetime.fromisoformat(grant["expires"])
            # a grant stored before the 60-day rule: its window counts from its issue
            idle = grant.get("unused_until") or (expires - REFRESH_TTL + REFRESH_IDLE).isoformat()
            if profile is None or expires <= now or datetime.fromisoformat(idle) <= now:
                return None
            if client_id and client_id != profile.client_id:
                return None
            del state.refresh[token]
            return tenant, profile, expires
        return None

    def authenticate(self, access_token: str) -> tuple[str, Profile] | None:
        """The tenant and profile of a live bearer token, else None (→ 401)."""
        tenant = self.backend.tenant_for(access_token)
        if tenant is None:
            return None
        state = self.backend.state(tenant)
        grant = state.tokens.get(access_token)
        if grant is None:
            return None
        if datetime.fromisoformat(grant["expires"]) <= self._now():
            return None  # [C] §2: after expiry 401
        profile = state.profiles.get(grant["profile"])
        if profile is None:
            return None
        return tenant, profile

    @staticmethod
    def require(profile: Profile, *, create: bool = False) -> None:
        """[C] §10: the profile's two permissions gate object access and creation."""
        if not profile.all_objects:
            raise NoPrivileges("Not enough privileges to perform requested operation")
        if create and not profile.can_create:
            raise NoPrivileges("Not enough privileges to perform requested operation")

    def _now(self) -> datetime:
        return self.backend.kernel.clock.now()
