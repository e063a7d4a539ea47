"""[C] caspio.md §1: /rest/v2 answers as v3. The routes exist once (the kernel routes the v2
spelling as v3); what the client sees and the journal keep the spelling it used."""

from __future__ import annotations

from .conftest import CaspioEnv


def test_v2_is_routed_once_and_answered_in_its_own_spelling(env: CaspioEnv) -> None:
    headers = {"Authorization": f"Bearer {env.token}"}
    created = env.client.post(
        "/rest/v2/tables/Patients/records", json={"FirstName": "Ada"}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.headers["Location"].startswith("/rest/v2/tables/Patients/records/")
    missing = env.client.get("/rest/v2/tables/Nope/records", headers=headers)
    assert missing.status_code == 404 and "/rest/v2/tables/Nope" in missing.json()["Resource"]
    entry = env.admin("GET", "/journal", params={"path": "/rest/v2"})["items"][0]
    assert entry["path"] == "/rest/v2/tables/Patients/records"
    assert entry["route"] == "/rest/v2/tables/{table}/records"
    paths = [getattr(r, "path", "") for r in env.app.routes]
    assert not [p for p in paths if p.startswith("/rest/v2")]  # no second copy of the routes
