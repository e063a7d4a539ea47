"""The WhatConverts fake as the rest of careflow sees it (``careflow.mocks.VENDORS``)."""

from __future__ import annotations

from typing import Any

from careflow.mocks.kernel.vendor import Credential, Vendor, basic_auth


def authenticate(kind: str, _client: Any, creds: dict[str, Any]) -> Credential:
    """[C] whatconverts.md §2: HTTP Basic with a profile key (``default``) or the agency's
    master key (``master``)."""
    if kind == "none":
        return Credential()
    if kind == "bad":
        return Credential(basic_auth(str(creds.get("api_token", "x")), "not-the-secret"))
    if kind == "master":
        return Credential(basic_auth(creds["master_token"], creds["master_secret"]))
    return Credential(basic_auth(creds["api_token"], creds["api_secret"]))


VENDOR = Vendor(
    name="whatconverts",
    title="WhatConverts",
    package=__package__ or "careflow.mocks.whatconverts",
    prefix="/api/v1",
    port_offset=1,
    real_hosts=("app.whatconverts.com",),  # [C] whatconverts.md §1
    credential_keys=("api_token", "api_secret", "master_token", "master_secret", "profile_id"),
    # [C] whatconverts.md §2, §5.4: creating a lead needs the profile it belongs to
    required_keys=("api_token", "api_secret", "profile_id"),
    authenticate=authenticate,
    # [O] whatconverts.md §2 (the 401 texts), [C] whatconverts.md §4 (error_message): the texts
    # clients match on
    value_keys=("success", "deleted", "error_message"),
    probe_path="/leads?leads_per_page=1",
)
