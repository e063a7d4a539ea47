"""The Ours Privacy fake as the rest of careflow sees it (``careflow.mocks.VENDORS``)."""

from __future__ import annotations

from typing import Any

from careflow.mocks.kernel.vendor import Credential, Vendor


def authenticate(kind: str, _client: Any, creds: dict[str, Any]) -> Credential:
    """[C] ours-privacy.md §1: the source key travels as ``token`` in the JSON body; ``test``
    is the source's Test Mode key."""
    if kind == "none":
        return Credential()
    if kind == "bad":
        return Credential(body={"token": "not-a-token"})
    return Credential(body={"token": creds["test_token"] if kind == "test" else creds["token"]})


VENDOR = Vendor(
    name="ours",
    title="Ours Privacy",
    package=__package__ or "careflow.mocks.ours",
    prefix="/api/v1",
    port_offset=3,
    # [C] ours-privacy.md §1: the Ingest API's host, and the other hosts seen in its SDKs
    real_hosts=("api.oursprivacy.com", "api-eu.oursprivacy.com", "dev-api.oursprivacy.com"),
    credential_keys=("token", "test_token"),
    required_keys=("token",),
    authenticate=authenticate,
    default_auth="live",
    value_keys=("success", "code"),  # no probe: Ours has no read call to try a key on
)
