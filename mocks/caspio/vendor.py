"""The Caspio fake as the rest of careflow sees it (``careflow.mocks.VENDORS``). Facts:
docs/vendors/caspio.md."""

from __future__ import annotations

from typing import Any

from careflow.mocks.kernel.vendor import Credential, Vendor


def authenticate(kind: str, client: Any, creds: dict[str, Any]) -> Credential:
    """[C] caspio.md §2: client credentials exchanged at ``/oauth/token`` for a Bearer token
    (cached in ``creds`` for the rest of the check)."""
    if kind == "none":
        return Credential()
    if kind == "bad":
        return Credential({"Authorization": "Bearer not-a-token"})
    return Credential({"Authorization": f"Bearer {access_token(client, creds)}"})


def access_token(client: Any, creds: dict[str, Any]) -> str:
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


VENDOR = Vendor(
    name="caspio",
    title="Caspio",
    package=__package__ or "careflow.mocks.caspio",
    prefix="",
    port_offset=2,
    # [C] caspio.md §1: the Integration URL is an account host, e.g. c1abc123.caspio.com
    real_hosts=("*.caspio.com",),
    credential_keys=("client_id", "client_secret"),
    required_keys=("client_id", "client_secret"),
    authenticate=authenticate,
    default_auth="bearer",
    # [C] caspio.md §1: /rest/v2 serves the same operations as /integrations/rest/v3
    path_aliases=(("/rest/v2/", "/integrations/rest/v3/"),),
    # [C] caspio.md §4.1, §8.1: tables, fields and webhooks carry their own `Name`; only record
    # rows (caspio.md §5: …/records) hold people's data
    record_paths=r"/records(/|$)",
    # [C] caspio.md §2 token_type/expires_in; §6.1-6.2 the error envelope's Code
    value_keys=("Code", "token_type", "expires_in", "error"),
    probe_path="/integrations/rest/v3/tables",
)
