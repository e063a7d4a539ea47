"""WhatConverts in scenarios: create and update leads (form posts with Basic auth, as the real
API takes them), the ``lead`` expectation, and the profile/master demo keys."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..driver import DriverError
from . import Outcome, StepContext, check, credentials, request_auth, step, trigger
from .base import Strict, subset

if TYPE_CHECKING:
    import httpx

    from ..driver import StackDriver

NAME = "whatconverts"


def auth(d: StackDriver, key: str = "profile") -> tuple[str, str]:
    """Basic auth of the stack's demo profile key, or its master (account) key."""
    c = d.creds(NAME)
    if key == "master":
        return c["master_token"], c["master_secret"]
    return c["api_token"], c["api_secret"]


def bracketed(data: dict[str, Any]) -> dict[str, Any]:
    """WhatConverts form encoding: nested maps as ``additional_fields[Name]=value``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for inner, v in value.items():
                out[f"{key}[{inner}]"] = v
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif value is not None:
            out[key] = value
    return out


def get_lead(d: StackDriver, lead_id: Any) -> dict[str, Any]:
    body = d.call(NAME, "GET", f"/api/v1/leads/{lead_id}", auth=auth(d), expect=200).json()
    return body["leads"][0] if "leads" in body else body


# steps -------------------------------------------------------------------------------------


@step("create_lead")
def create_lead(s: StepContext, fields: dict[str, Any]) -> Any:
    """A lead on the demo profile; the value is its fields (``additional_fields`` a map)."""
    d = s.driver
    data = {"profile_id": d.creds(NAME)["profile_id"], **fields}
    response = d.call(
        NAME,
        "POST",
        "/api/v1/leads",
        data=bracketed(data),
        auth=auth(d),
        correlation_id=s.cid,
        expect=200,
    )
    saved = response.json()
    s.touched_lead(saved.get("lead_id"))
    return saved


@step("update_lead")
def update_lead(s: StepContext, p: dict[str, Any]) -> Any:
    """Edit lead ``id``; ``status`` is what the API must answer (default 200)."""
    p = dict(p)
    lead_id = p.pop("id")
    s.touched_lead(lead_id)
    want = p.pop("status", 200)
    response: httpx.Response = s.driver.call(
        NAME,
        "POST",
        f"/api/v1/leads/{lead_id}",
        data=bracketed(p),
        auth=auth(s.driver),
        correlation_id=s.cid,
    )
    if response.status_code != want:
        raise DriverError(
            f"update_lead answered {response.status_code}, expected {want}: {response.text[:300]}"
        )
    return {"status": response.status_code, "body": response.json()}


# expectations ------------------------------------------------------------------------------


class LeadExpect(Strict):
    id: int | str = Field(..., description="A lead id, or a template such as {{ lead.lead_id }}")
    fields: dict[str, Any] = Field(default_factory=dict)


@check("lead", model=LeadExpect)
def lead(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    found = get_lead(d, p["id"])
    fields = p.get("fields", {})
    return Outcome(subset(fields, found), fields, {k: found.get(k) for k in fields})


# authentication ----------------------------------------------------------------------------


@credentials(NAME, keys=("profile", "master"))
def keys(base: dict[str, Any], key: str | None) -> dict[str, Any]:
    """``key: master`` authenticates with the account's master key."""
    if key == "master":
        return {**base, "api_token": base["master_token"], "api_secret": base["master_secret"]}
    return base


@request_auth(NAME)
def profile_auth(d: StackDriver, kwargs: dict[str, Any]) -> None:
    kwargs["auth"] = auth(d, "profile")


@request_auth(f"{NAME}_master")
def master_auth(d: StackDriver, kwargs: dict[str, Any]) -> None:
    kwargs["auth"] = auth(d, "master")


# careflow trigger ---------------------------------------------------------------------------


def _person(overrides: dict[str, Any]) -> dict[str, Any]:
    """A synthetic caller (555-01xx phone, example.com/org email), new on every trigger."""
    from careflow.mocks.kernel import Synthetic

    return Synthetic(seed=overrides.pop("seed", None) or secrets.randbits(32)).person()


@trigger(f"{NAME}.new_lead")
def trigger_new_lead(s: StepContext, overrides: dict[str, Any]) -> dict[str, Any]:
    """A new phone-call lead on the demo profile (what a new_lead trigger polls for)."""
    person = _person(overrides)
    fields = {
        "lead_type": "phone_call",
        "contact_name": person["name"],
        "email_address": person["email"],
        "phone_number": person["phone"],
        **overrides,
    }
    saved = create_lead(s, fields)
    return {
        "lead_id": saved.get("lead_id"),
        "note": "new_lead triggers poll every 60 s of the stack's clock; to hurry them: "
        'POST {engine}/__sandbox/clock {"advance_seconds": 60}',
    }


@trigger(f"{NAME}.updated_lead")
def trigger_updated_lead(s: StepContext, overrides: dict[str, Any]) -> dict[str, Any]:
    """A quote on the newest lead of the demo profile (id=N picks another lead)."""
    lead_id = overrides.pop("id", None) or overrides.pop("lead_id", None)
    if lead_id is None:
        page = s.driver.call(
            NAME, "GET", "/api/v1/leads", params={"leads_per_page": 1}, auth=auth(s.driver)
        ).json()
        if not page.get("leads"):
            raise DriverError("the demo profile has no lead to update: trigger new_lead first")
        lead_id = page["leads"][0]["lead_id"]
    values = {"quotable": "yes", "quote_value": secrets.choice((150, 250, 400, 900)), **overrides}
    update_lead(s, {"id": lead_id, **values})
    return {"lead_id": lead_id, **values}
