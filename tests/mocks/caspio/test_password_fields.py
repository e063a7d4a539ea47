"""Password fields: ``GET/PUT/DELETE …/tables/{table}/passwordFields`` ([C] caspio.md §3, §5.6),
the only way to set or reset a password value, on the v3 path and the /rest/v2 alias (the v2
SDK calls ``/v2/tables/{t}/passwordFields``: source [S3] of caspio.md, ``src/index.js``)."""

from __future__ import annotations

import pytest

from careflow.mocks.caspio.values import password_matches

from .conftest import CaspioEnv

PREFIXES = ("/integrations/rest/v3", "/rest/v2")


def _stored(env: CaspioEnv, pk: int) -> str | None:
    row = env.backend.state().db.execute('SELECT "Pw" FROM "Patients" WHERE PK_ID = ?', (pk,))
    return row.fetchone()[0]


@pytest.fixture
def pw_env(env: CaspioEnv) -> CaspioEnv:
    for name in ("Pw", "Pin"):
        r = env.call("POST", "/tables/Patients/fields", json={"Name": name, "Type": "PASSWORD"})
        assert r.status_code == 201, r.text
    return env


@pytest.mark.parametrize("prefix", PREFIXES)
def test_list_set_and_reset(pw_env: CaspioEnv, prefix: str) -> None:
    env = pw_env
    auth = {"Authorization": f"Bearer {env.token}"}
    base = f"{prefix}/tables/patients/passwordFields"  # table names ignore case ([O] §1)
    listed = env.client.get(base, headers=auth)
    assert listed.status_code == 200 and listed.json() == {"Result": ["Pw", "Pin"]}

    where = {"q.where": "PK_ID <= 3"}
    put = env.client.put(f"{base}/pw", params=where, json={"Value": "n3w-S3cret"}, headers=auth)
    assert put.status_code == 200 and put.json() == {"RecordsAffected": 3}
    assert all(password_matches(_stored(env, pk), "n3w-S3cret") for pk in (1, 2, 3))
    assert _stored(env, 4) is None
    assert "n3w-S3cret" not in str(env.admin("GET", "/state"))  # never in clear, nor exported
    # still never returned by a read ([C] §5.6)
    assert "Pw" not in env.records(**{"q.where": "PK_ID = 1"})[0]

    reset = env.client.delete(f"{base}/Pw", params={"where": "PK_ID = 2"}, headers=auth)
    assert reset.status_code == 200 and reset.json() == {"RecordsAffected": 1}
    assert _stored(env, 2) is None and password_matches(_stored(env, 1), "n3w-S3cret")

    none = env.client.delete(f"{base}/Pw", params={"q.where": "PK_ID = 999"}, headers=auth)
    assert none.status_code == 200 and none.json() == {"RecordsAffected": 0}


def test_refusals_change_nothing(pw_env: CaspioEnv) -> None:
    env = pw_env
    base = "/tables/Patients/passwordFields"
    env.call("PUT", f"{base}/Pw", params={"q.where": "PK_ID = 1"}, json={"Value": "first"})
    cases = [
        ("PUT", f"{base}/Pw", {}, {"Value": "x"}, 400, "IncorrectQueryParameter"),  # no where
        ("DELETE", f"{base}/Pw", {}, None, 400, "IncorrectQueryParameter"),
        (
            "PUT",
            f"{base}/Pw",
            {"q.where": "PK_ID = 1"},
            {"Value": 5},
            400,
            "IncorrectBodyParameter",
        ),
        (
            "PUT",
            f"{base}/Pw",
            {"q.where": "PK_ID = 1"},
            {"value": "x"},
            400,
            "IncorrectBodyParameter",
        ),
        ("PUT", f"{base}/Pw", {"q.where": "Pw = 'first'"}, {"Value": "x"}, 400, "SqlServerError"),
        (
            "PUT",
            f"{base}/FirstName",
            {"q.where": "PK_ID = 1"},
            {"Value": "x"},
            404,
            "ObjectNotFound",
        ),
        ("DELETE", f"{base}/Nope", {"q.where": "PK_ID = 1"}, None, 404, "ObjectNotFound"),
        ("GET", "/tables/Nope/passwordFields", {}, None, 404, "ObjectNotFound"),
    ]
    for method, path, params, body, status, code in cases:
        r = env.call(method, path, params=params, json=body)
        assert (r.status_code, r.json()["Code"]) == (status, code), (method, path, params, body)
    assert password_matches(_stored(env, 1), "first")


def test_a_table_without_password_fields_lists_none(env: CaspioEnv) -> None:
    r = env.call("GET", "/tables/Appointments/passwordFields")
    assert r.status_code == 200 and r.json() == {"Result": []}
