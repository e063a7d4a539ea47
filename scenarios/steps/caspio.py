"""Caspio in scenarios: records through the REST API (OAuth client credentials, as the real
API takes them), outgoing webhooks, the web services profile, and the integration-call meter."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from ..driver import DriverError
from . import Outcome, StepContext, check, request_auth, step, trigger
from .base import Counted, Strict, count_ok, not_both, subset, want_count

if TYPE_CHECKING:
    import httpx

    from ..driver import StackDriver

NAME = "caspio"
API = "/integrations/rest/v3"
TOKEN = "caspio.token"  # the driver's session key of the cached access token


def token(d: StackDriver, refresh: bool = False) -> str:
    """An access token for the stack's demo client credentials (cached on the driver)."""
    if d.session.get(TOKEN) is None or refresh:
        c = d.creds(NAME)
        response = d.call(
            NAME,
            "POST",
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": c["client_id"],
                "client_secret": c["client_secret"],
            },
            expect=200,
        )
        d.session[TOKEN] = response.json()["access_token"]
    return d.session[TOKEN]  # type: ignore[no-any-return]


def call(d: StackDriver, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """``method`` ``{API}{path}`` with a bearer token, fetched again once on a 401."""
    headers = {"Authorization": f"Bearer {token(d)}", **kwargs.pop("headers", {})}
    response = d.call(NAME, method, f"{API}{path}", headers=headers, **kwargs)
    if response.status_code == 401:
        headers["Authorization"] = f"Bearer {token(d, refresh=True)}"
        response = d.call(NAME, method, f"{API}{path}", headers=headers, **kwargs)
    return response


def rows(d: StackDriver, table: str, where: str | None = None) -> list[dict[str, Any]]:
    params = {"q.where": where} if where else {}
    params["q.limit"] = "1000"
    response = call(d, "GET", f"/tables/{table}/records", params=params)
    if response.status_code != 200:
        raise DriverError(f"Caspio GET {table} records: {response.status_code} {response.text}")
    return response.json()["Result"]  # type: ignore[no-any-return]


def webhooks(d: StackDriver) -> list[dict[str, Any]]:
    body = call(d, "GET", "/outgoingWebhooks").json()
    return body.get("Result", body) if isinstance(body, dict) else body  # type: ignore[no-any-return]


def meter_used(d: StackDriver) -> int:
    body = d.admin(NAME, "GET", "/meter")
    return int(body.get("used", body.get("calls", 0)))


# steps -------------------------------------------------------------------------------------


@step("insert_record")
def insert_record(s: StepContext, p: dict[str, Any]) -> Any:
    """``table``, ``record``; saves the inserted row."""
    response = call(
        s.driver,
        "POST",
        f"/tables/{p['table']}/records",
        params={"response": "rows"},
        json=p["record"],
        correlation_id=s.cid,
    )
    if response.status_code != 201:
        raise DriverError(f"Caspio insert answered {response.status_code}: {response.text}")
    body = response.json() if response.content else {}
    return (body.get("Result") or [p["record"]])[0]


@step("update_records")
def update_records(s: StepContext, p: dict[str, Any]) -> Any:
    """``table``, ``where``, ``values``."""
    response = call(
        s.driver,
        "PUT",
        f"/tables/{p['table']}/records",
        params={"q.where": p["where"]},
        json=p["values"],
        correlation_id=s.cid,
    )
    if response.status_code != 200:
        raise DriverError(f"Caspio update answered {response.status_code}: {response.text}")
    return response.json()


@step("delete_records")
def delete_records(s: StepContext, p: dict[str, Any]) -> Any:
    """``table``, ``where``."""
    response = call(
        s.driver,
        "DELETE",
        f"/tables/{p['table']}/records",
        params={"q.where": p["where"]},
        correlation_id=s.cid,
    )
    return response.json() if response.content else None


@step("delete_caspio_webhook")
def delete_caspio_webhook(s: StepContext, p: dict[str, Any]) -> None:
    """Delete the outgoing webhooks named ``name`` (every one without it), as a user would."""
    for hook in webhooks(s.driver):
        if p.get("name") in (None, hook["Name"]):
            call(s.driver, "DELETE", f"/outgoingWebhooks/{hook['Id']}")


@step("delete_caspio_profile")
def delete_caspio_profile(s: StepContext, p: dict[str, Any]) -> None:
    """Delete the web services profile ``name`` (its webhooks stay, orphaned)."""
    s.driver.admin(NAME, "DELETE", f"/profiles/{p['name']}")
    s.driver.session.pop(TOKEN, None)


@step("cleanup_orphans")
def cleanup_orphans(s: StepContext, _p: dict[str, Any]) -> Any:
    # The profile is gone, so no API key can reach these webhooks any more; in Caspio they are
    # removed by hand, here through the fake's admin (as `careflow caspio orphans --clean` does).
    return s.driver.admin(NAME, "DELETE", "/orphans")


# expectations ------------------------------------------------------------------------------


class CaspioRowExpect(Strict):
    table: str
    where: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)


@check("caspio_row", model=CaspioRowExpect)
def caspio_row(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    found = rows(d, p["table"], p.get("where"))
    values = p.get("values", {})
    ok = any(subset(values, row) for row in found)
    return Outcome(ok, {"table": p["table"], "where": p.get("where"), "values": values}, found[:5])


class CaspioRowsExpect(Counted):
    table: str
    where: str | None = None


@check("caspio_rows", model=CaspioRowsExpect)
def caspio_rows(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    n = len(rows(d, p["table"], p.get("where")))
    return Outcome(count_ok(p, n), f"{want_count(p)} row(s)", f"{n} row(s)")


class CaspioWebhooksExpect(Counted):
    name: str | None = None
    name_contains: str | None = None


@check("caspio_webhooks", model=CaspioWebhooksExpect)
def caspio_webhooks(d: StackDriver, p: dict[str, Any], _ctx: dict[str, Any]) -> Outcome:
    hooks = webhooks(d)
    if "name" in p:
        hooks = [h for h in hooks if h.get("Name") == p["name"]]
    if "name_contains" in p:
        hooks = [h for h in hooks if p["name_contains"] in h.get("Name", "")]
    return Outcome(
        count_ok(p, len(hooks)),
        f"{want_count(p)} outgoing webhook(s) matching {p}",
        [h.get("Name") for h in hooks],
    )


class MeterExpect(Strict):
    rose_by: int | None = Field(None, ge=0)
    rose_at_least: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_bound(self) -> MeterExpect:
        return not_both(self, "rose_by", "rose_at_least")


def _meter_start(d: StackDriver, ctx: dict[str, Any]) -> None:
    ctx["meter_start"] = meter_used(d)


@check("meter", model=MeterExpect, before=_meter_start)
def meter(d: StackDriver, p: dict[str, Any], ctx: dict[str, Any]) -> Outcome:
    """How far the integration-call meter rose since the scenario's setup."""
    used = meter_used(d)
    start = ctx.get("meter_start", 0)
    rose = used - start
    if "rose_by" in p:
        ok, want = rose == p["rose_by"], f"meter rose by exactly {p['rose_by']}"
    else:
        ok, want = rose >= p.get("rose_at_least", 1), f"meter rose by ≥ {p.get('rose_at_least', 1)}"
    return Outcome(ok, want, f"rose by {rose} (from {start} to {used})")


# authentication ----------------------------------------------------------------------------


@request_auth(NAME)
def bearer(d: StackDriver, kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {token(d)}"


# careflow trigger ---------------------------------------------------------------------------

TRIGGER_TABLE = "Patients"  # the seeded intake table (mocks/caspio/seed.py)


def _patient(overrides: dict[str, Any]) -> dict[str, Any]:
    """A synthetic patient row (555-01xx phone, example.com/org email), new on every trigger."""
    from careflow.mocks.kernel import Synthetic

    person = Synthetic(seed=overrides.pop("seed", None) or secrets.randbits(32)).person()
    return {
        "Name": person["name"],
        "FirstName": person["first_name"],
        "LastName": person["last_name"],
        "Email": person["email"],
        "Phone": person["phone"],
        "City": person["city"],
        "State": person["state"],
        "Intake_Status": "New",
        "Source": "Website",
        "Notes": "Synthetic test patient (careflow trigger)",
    }


@trigger(f"{NAME}.record_insert")
def trigger_record_insert(s: StepContext, overrides: dict[str, Any]) -> dict[str, Any]:
    """A synthetic patient inserted in Patients (table=NAME for another table)."""
    table = overrides.pop("table", TRIGGER_TABLE)
    record = {**(_patient(overrides) if table == TRIGGER_TABLE else {}), **overrides}
    row = insert_record(s, {"table": table, "record": record})
    return {"table": table, **{k: row[k] for k in ("PK_ID", "Name", "Email") if k in row}}


@trigger(f"{NAME}.record_update")
def trigger_record_update(s: StepContext, overrides: dict[str, Any]) -> dict[str, Any]:
    """The newest Patients row moves to Intake_Status=Contacted (where=... picks rows)."""
    table = overrides.pop("table", TRIGGER_TABLE)
    where = overrides.pop("where", None)
    if where is None:
        if table != TRIGGER_TABLE:
            raise DriverError(f'say which {table} rows to update: where="<Caspio criteria>"')
        response = call(
            s.driver,
            "GET",
            f"/tables/{table}/records",
            params={"q.orderBy": "Patient_ID DESC", "q.limit": "1"},
        )
        newest = response.json().get("Result") or []
        if response.status_code != 200 or not newest:
            raise DriverError(f"no {table} row to update ({response.status_code})")
        where = f"Patient_ID = {newest[0]['Patient_ID']}"
    values = overrides or {"Intake_Status": "Contacted"}
    update_records(s, {"table": table, "where": where, "values": values})
    return {"table": table, "where": where, "values": values}
