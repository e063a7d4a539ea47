"""The vendors as the contract harness sees them: the descriptors of ``careflow.mocks.VENDORS``
(spec, API prefix, credential keys, how a request is authenticated), plus where credentials for
a live target come from. Nothing vendor-specific lives in ``contracts/``."""

from __future__ import annotations

import os
from typing import Any

import httpx

from careflow.mocks import VENDORS, Vendor
from careflow.mocks.kernel.vendor import Credential

__all__ = ["VENDORS", "Credential", "Vendor", "authenticate", "credentials_from", "vendor"]


def vendor(name: str) -> Vendor:
    return VENDORS.get_vendor(name)


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


def authenticate(v: Vendor, kind: str, client: httpx.Client, creds: dict[str, Any]) -> Credential:
    """The credential of ``kind`` (vendor-specific names; ``none`` and ``bad`` everywhere)."""
    return v.authenticate(kind, client, creds)


def probe(v: Vendor, client: httpx.Client, creds: dict[str, Any]) -> None:
    """Fail early with a clear reason when the target refuses the credentials (httpx errors,
    e.g. a closed port, propagate for the caller to name)."""
    credential = authenticate(v, v.default_auth, client, creds)
    if v.probe_path is None:
        return
    response = client.get(v.prefix + v.probe_path, headers=credential.headers)
    if response.status_code in (401, 403):
        raise ValueError(f"{v.name} refused the credentials ({response.status_code})")
