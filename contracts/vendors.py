"""The three vendors as the contract harness sees them: spec file, API prefix, credentials, and
how a request is authenticated. Everything vendor-specific in `contracts/` lives here."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import httpx
import yaml


@dataclass(frozen=True)
class Vendor:
    name: str
    spec_file: str
    prefix: str  # the spec's paths sit under {base_url}{prefix}
    credential_keys: tuple[str, ...]  # what --auth / CAREFLOW_<VENDOR>_<KEY> may give
    required_keys: tuple[str, ...]
    default_auth: str  # the auth kind of a generated case sent "with credentials"
    app_factory: str  # module of create_app()
    # paths whose bare `Name` keys are data (a person), when the vendor also names structure
    # with `Name`; None: every bare `Name` is treated as a person's (fail closed)
    record_paths: str | None = None
    # answer values verify compares (besides the spec's `const` properties): outcome codes
    value_keys: tuple[str, ...] = ()
    # other spellings of the spec's paths that the vendor serves: (prefix, spec prefix)
    path_aliases: tuple[tuple[str, str], ...] = ()
    # a cheap authenticated GET (under the prefix) that tells good credentials from bad
    probe_path: str | None = None

    def bare_name_is_person(self, path: str) -> bool:
        return self.record_paths is None or bool(re.search(self.record_paths, path))

    def spec_path(self, path: str) -> str:
        for alias, canonical in self.path_aliases:
            if path.startswith(alias):
                return canonical + path[len(alias) :]
        return path

    def spec(self) -> dict[str, Any]:
        return load_spec(self.spec_file)

    def create_app(self, **options: Any) -> Any:
        import importlib

        return importlib.import_module(self.app_factory).create_app(**options)


VENDORS: dict[str, Vendor] = {
    v.name: v
    for v in (
        Vendor(
            "whatconverts",
            "whatconverts.yaml",
            "/api/v1",
            ("api_token", "api_secret", "master_token", "master_secret", "profile_id"),
            # [C] whatconverts.md §4: creating a lead needs the profile it belongs to
            ("api_token", "api_secret", "profile_id"),
            "profile",
            "careflow.mocks.whatconverts",
            # whatconverts.md §2, §4 ([I]): the error_message texts clients match on
            value_keys=("success", "deleted", "error_message"),
            probe_path="/leads?leads_per_page=1",
        ),
        Vendor(
            "caspio",
            "caspio.yaml",
            "",
            ("client_id", "client_secret"),
            ("client_id", "client_secret"),
            "bearer",
            "careflow.mocks.caspio",
            # [C] caspio.md §4.1, §8.1: tables, fields and webhooks carry their own `Name`;
            # only record rows (§5: …/records) hold people's data
            record_paths=r"/records(/|$)",
            # [C] caspio.md §2 token_type/expires_in; §6.1-6.2 the error envelope's Code
            value_keys=("Code", "token_type", "expires_in", "error"),
            # [C] caspio.md §1: /rest/v2 serves the same operations as /integrations/rest/v3
            path_aliases=(("/rest/v2/", "/integrations/rest/v3/"),),
            probe_path="/integrations/rest/v3/tables",
        ),
        Vendor(
            "ours",
            "ours.yaml",
            "/api/v1",
            ("token", "test_token"),
            ("token",),
            "live",
            "careflow.mocks.ours",
            value_keys=("success", "code"),  # no probe: Ours has no read call to try a key on
        ),
    )
}


def vendor(name: str) -> Vendor:
    try:
        return VENDORS[name]
    except KeyError:
        raise ValueError(f"unknown vendor {name!r}: one of {', '.join(VENDORS)}") from None


@cache
def load_spec(filename: str) -> dict[str, Any]:
    return yaml.safe_load(resources.files("careflow.contracts").joinpath(filename).read_text())


def credentials_from(
    v: Vendor, given: dict[str, str], environ: dict[str, str] | None = None
) -> dict[str, str]:
    """Options first, then ``CAREFLOW_<VENDOR>_<KEY>`` environment variables."""
    env = os.environ if environ is None else environ
    out = {
        k: env[f"CAREFLOW_{v.name.upper()}_{k.upper()}"]
        for k in v.credential_keys
        if f"CAREFLOW_{v.name.upper()}_{k.upper()}" in env
    }
    out.update({k: val for k, val in given.items() if val})
    unknown = set(out) - set(v.credential_keys)
    if unknown:
        raise ValueError(
            f"{v.name} takes credentials {', '.join(v.credential_keys)}; not {', '.join(unknown)}"
        )
    missing = [k for k in v.required_keys if k not in out]
    if missing:
        names = ", ".join(f"--auth {k}=… or CAREFLOW_{v.name.upper()}_{k.upper()}" for k in missing)
        raise ValueError(f"{v.name} needs credentials: {names}")
    return out


def mask(value: str) -> str:
    return value[:4] + "…" if len(value) > 8 else "…"


# authentication ------------------------------------------------------------------------------
Auth = Callable[[httpx.Client, dict[str, Any]], "Credential"]


@dataclass
class Credential:
    """What to add to a request: headers, and fields merged into a JSON body."""

    headers: dict[str, str]
    body: dict[str, Any]


def _basic(token: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{token}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def authenticate(v: Vendor, kind: str, client: httpx.Client, creds: dict[str, Any]) -> Credential:
    """The credential of ``kind`` (vendor-specific names; ``none`` and ``bad`` everywhere)."""
    if kind == "none":
        return Credential({}, {})
    if v.name == "whatconverts":
        if kind == "bad":
            return Credential(_basic(str(creds.get("api_token", "x")), "not-the-secret"), {})
        if kind == "master":
            return Credential(_basic(creds["master_token"], creds["master_secret"]), {})
        return Credential(_basic(creds["api_token"], creds["api_secret"]), {})
    if v.name == "caspio":
        if kind == "bad":
            return Credential({"Authorization": "Bearer not-a-token"}, {})
        return Credential({"Authorization": f"Bearer {caspio_token(client, creds)}"}, {})
    if kind == "bad":
        return Credential({}, {"token": "not-a-token"})
    key = creds["test_token"] if kind == "test" else creds["token"]
    return Credential({}, {"token": key})


def caspio_token(client: httpx.Client, creds: dict[str, Any]) -> str:
    cached = creds.get("_access_token")
    if cached:
        return str(cached)
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    if response.status_code != 200:
        raise ValueError(f"Caspio refused the client credentials ({response.status_code})")
    creds["_access_token"] = response.json()["access_token"]
    return str(creds["_access_token"])


def probe(v: Vendor, client: httpx.Client, creds: dict[str, Any]) -> None:
    """Fail early with a clear reason when the target refuses the credentials (httpx errors,
    e.g. a closed port, propagate for the caller to name)."""
    credential = authenticate(v, v.default_auth, client, creds)
    if v.probe_path is None:
        return
    response = client.get(v.prefix + v.probe_path, headers=credential.headers)
    if response.status_code in (401, 403):
        raise ValueError(f"{v.name} refused the credentials ({response.status_code})")
