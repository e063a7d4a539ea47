"""The seeded tenant (the "Keragon demo" profile, a Patients intake table and an Appointments
table with synthetic rows) and ``POST /__sandbox/seed`` bodies. Deterministic for a seed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careflow.mocks.kernel import Synthetic

from .errors import CaspioError
from .state import Profile

if TYPE_CHECKING:
    from .models import CaspioBackend
    from .state import CaspioState

DEMO_PROFILE = "Keragon demo"
PATIENT_FIELDS: list[dict[str, Any]] = [
    {"Name": "Patient_ID", "Type": "AUTONUMBER", "Unique": True, "Label": "Patient ID"},
    {"Name": "Name", "Type": "STRING", "Label": "Full name"},
    {"Name": "FirstName", "Type": "STRING", "Label": "First name"},
    {"Name": "LastName", "Type": "STRING", "Label": "Last name"},
    {"Name": "Email", "Type": "STRING", "Label": "Email"},
    {"Name": "Phone", "Type": "STRING", "Label": "Phone"},
    {"Name": "DOB", "Type": "DATE/TIME", "Label": "Date of birth"},
    {"Name": "City", "Type": "STRING"},
    {"Name": "State", "Type": "STRING"},
    {"Name": "Intake_Status", "Type": "STRING", "Label": "Intake status"},
    {"Name": "Source", "Type": "STRING", "Label": "Lead source"},
    {"Name": "Visits", "Type": "INTEGER"},
    {"Name": "Balance", "Type": "CURRENCY"},
    {"Name": "Active", "Type": "YES/NO"},
    {"Name": "Notes", "Type": "TEXT"},
    {"Name": "Created", "Type": "TIMESTAMP", "OnInsert": True, "TimeZone": "UTC"},
]
APPOINTMENT_FIELDS: list[dict[str, Any]] = [
    {"Name": "Patient_ID", "Type": "INTEGER"},
    {"Name": "Starts_At", "Type": "DATE/TIME"},
    {"Name": "Reason", "Type": "STRING"},
    {"Name": "Confirmed", "Type": "YES/NO"},
]
SOURCES = ["Website", "Referral", "Walk-in"]
STATUSES = ["New", "Contacted", "Scheduled", "Completed"]
REASONS = ["Consultation", "Follow-up", "Annual physical", "Lab review"]


def seed_tenant(backend: CaspioBackend, state: CaspioState, syn: Synthetic) -> None:
    state.profiles[DEMO_PROFILE] = Profile(
        DEMO_PROFILE,
        client_id=syn.token("client-id"),
        client_secret=syn.token("client-secret", length=48),
    )
    patients = backend.create_table(state, "Patients", PATIENT_FIELDS, note="Patient intake")
    appointments = backend.create_table(state, "Appointments", APPOINTMENT_FIELDS)
    add_patients(backend, state, syn, 20, fire=False)
    rnd = syn.for_("appointments").random
    for i in range(10):
        row = {
            "Patient_ID": rnd.randint(1, 20),
            "Starts_At": f"2026-01-{rnd.randint(2, 28):02d}T{rnd.randint(8, 16):02d}:00:00",
            "Reason": rnd.choice(REASONS),
            "Confirmed": i % 2 == 0,
        }
        backend.records.insert_unannounced(state, appointments, row)
    del patients


def patient_row(syn: Synthetic) -> dict[str, Any]:
    p = syn.person()
    rnd = syn.random
    return {
        "Name": p["name"],
        "FirstName": p["first_name"],
        "LastName": p["last_name"],
        "Email": p["email"],
        "Phone": p["phone"],
        "DOB": f"{rnd.randint(1940, 2010)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        "T00:00:00",
        "City": p["city"],
        "State": p["state"],
        "Intake_Status": rnd.choice(STATUSES),
        "Source": rnd.choice(SOURCES),
        "Visits": rnd.randint(0, 12),
        "Balance": round(rnd.uniform(0, 500), 2),
        "Active": rnd.random() < 0.7,
        "Notes": "Synthetic test patient",
    }


def add_patients(
    backend: CaspioBackend,
    state: CaspioState,
    syn: Synthetic,
    n: int,
    *,
    fire: bool,
    tenant: str = "default",
) -> int:
    table = state.table("Patients")
    for _ in range(n):
        if fire:
            backend.insert(tenant, state, table, patient_row(syn), source="Datasheet")
        else:
            backend.records.insert_unannounced(state, table, patient_row(syn))
    return n


def seed_body(
    backend: CaspioBackend,
    state: CaspioState,
    body: dict[str, Any],
    syn: Synthetic,
    tenant: str = "default",
) -> dict[str, Any]:
    """``{"synthetic": {"patients": n}}``, ``{"tables": {Name: {"fields": [...], "rows": [...]}}}``,
    ``{"profiles": [{"name": ...}]}``, ``{"webhooks": [{Name, OutgoingUrls, events: [...]}]}``.
    Rows added here fire table webhooks as a Datasheet change would."""
    check_seed_body(body)
    summary: dict[str, Any] = {}
    try:
        count = (body.get("synthetic") or {}).get("patients")
        if count:
            gen = syn.for_(f"seed-{state.next_id()}")
            summary["patients"] = add_patients(
                backend, state, gen, int(count), fire=True, tenant=tenant
            )
        for name, spec in (body.get("tables") or {}).items():
            if name.lower() not in state.tables:
                backend.create_table(state, name, spec.get("fields", []), note=spec.get("note", ""))
            table = state.table(name)
            for row in spec.get("rows", []):
                backend.insert(tenant, state, table, row, source="Datasheet")
            summary.setdefault("tables", {})[table.name] = len(spec.get("rows", []))
        for p in body.get("profiles") or []:
            prof = backend.add_profile(
                tenant,
                p["name"],
                all_objects=p.get("all_objects", True),
                can_create=p.get("can_create", True),
            )
            summary.setdefault("profiles", []).append(prof.name)
        for w in body.get("webhooks") or []:
            hook = backend.hooks.create(state, None, {k: v for k, v in w.items() if k != "events"})
            for ev in w.get("events") or []:
                backend.hooks.add_event(state, None, hook["Id"], ev)
            summary.setdefault("webhooks", []).append(hook["Id"])
    except CaspioError as exc:
        raise ValueError(exc.message) from None
    return summary


def check_seed_body(body: dict[str, Any]) -> None:
    """The shape of a seed body, checked before anything is added; ValueError (→ 422) says
    what is wrong."""

    def objects(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ValueError(f"{where} must be a list of objects")
        return value

    synthetic = body.get("synthetic") or {}
    if not isinstance(synthetic, dict):
        raise ValueError("'synthetic' must be an object like {\"patients\": 5}")
    count = synthetic.get("patients", 0)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
        raise ValueError("'synthetic.patients' must be an integer from 0 to 10000")
    tables = body.get("tables") or {}
    if not isinstance(tables, dict):
        raise ValueError("'tables' must be an object: {TableName: {fields: [...], rows: [...]}}")
    for name, spec in tables.items():
        if not isinstance(spec, dict):
            raise ValueError(
                f"'tables.{name}' must be an object with 'fields' and/or 'rows' lists, "
                f"not {type(spec).__name__}"
            )
        objects(spec.get("fields", []), f"'tables.{name}.fields'")
        objects(spec.get("rows", []), f"'tables.{name}.rows'")
        if not isinstance(spec.get("note", ""), str):
            raise ValueError(f"'tables.{name}.note' must be a string")
    for p in objects(body.get("profiles") or [], "'profiles'"):
        if not isinstance(p.get("name"), str) or not p["name"]:
            raise ValueError("each profile needs a 'name'")
    for w in objects(body.get("webhooks") or [], "'webhooks'"):
        objects(w.get("events") or [], "'webhooks[].events'")
