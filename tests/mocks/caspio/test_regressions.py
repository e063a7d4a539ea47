"""Inputs that once crashed the fake (5xx) or were answered unfaithfully: each now gets the
vendor's answer ([C] caspio.md §6.2 envelope) and a refused request changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import CaspioEnv

HUGE = "99999999999999999999999"


def _dump(env: CaspioEnv) -> Any:
    return env.backend.dump_state(env.backend.state())["tables"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_huge_integer_in_where_is_answered(env: CaspioEnv, method: str) -> None:
    before = _dump(env)
    for where, n in [(f"PK_ID = {HUGE}", 0), (f"PK_ID < {HUGE}", 20), (f"PK_ID > -{HUGE}", 20)]:
        r = env.call(
            method, "/tables/Patients/records", params={"q.where": where}, json={"Notes": "n"}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (len(body["Result"]) if method == "GET" else body["RecordsAffected"]) == n
        if method != "GET":
            break  # writes: only the no-match case, so the data stays as before
    assert _dump(env) == before


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("PK_ID = " + "9" * 39, "maximum precision 38"),
        ("Balance > 1e400", "out of the range of computer representation"),
    ],
)
def test_numbers_sql_server_cannot_hold_are_its_errors(
    env: CaspioEnv, where: str, message: str
) -> None:
    r = env.call("GET", "/tables/Patients/records", params={"q.where": where})
    assert r.status_code == 400 and r.json()["Code"] == "SqlServerError"
    assert message in r.json()["Message"]


@pytest.mark.parametrize("name", ["sqlite_sequence", "sqlite_master", "SQLITE_stat1", "sqlite_x"])
def test_table_names_reserved_by_the_storage_are_refused(env: CaspioEnv, name: str) -> None:
    before = env.backend.state().db.execute("SELECT name, sql FROM sqlite_master").fetchall()
    r = env.call("POST", "/tables", json={"Name": name, "Fields": []})
    assert r.status_code == 400 and r.json()["Code"] == "IncorrectBodyParameter"
    after = env.backend.state().db.execute("SELECT name, sql FROM sqlite_master").fetchall()
    assert after == before


def test_unique_fields_made_with_the_table_can_be_renamed_and_deleted(env: CaspioEnv) -> None:
    fields = [{"Name": "Code", "Type": "STRING", "Unique": True}, {"Name": "X", "Type": "TEXT"}]
    assert env.call("POST", "/tables", json={"Name": "U", "Fields": fields}).status_code == 201
    assert env.call("POST", "/tables/U/records", json={"Code": "a"}).status_code == 201
    dup = env.call("POST", "/tables/U/records", json={"Code": "a"})
    assert dup.status_code == 400 and dup.json()["Code"] == "SqlServerError"
    assert env.call("PUT", "/tables/U/fields/Code", json={"Name": "Key"}).status_code == 204
    assert env.call("POST", "/tables/U/records", json={"Key": "a"}).status_code == 400
    assert env.call("DELETE", "/tables/U/fields/Key").status_code == 204
    assert [f["Name"] for f in env.call("GET", "/tables/U/fields").json()["Result"]] == ["X"]
    # the seeded AUTONUMBER field (Unique: true at table creation) too
    assert env.call("DELETE", "/tables/Patients/fields/Patient_ID").status_code == 204


def test_a_field_can_be_renamed_by_case_only(env: CaspioEnv) -> None:
    r = env.call("PUT", "/tables/Patients/fields/Visits", json={"Name": "VISITS"})
    assert r.status_code == 204, r.text
    assert "VISITS" in [
        f["Name"] for f in env.call("GET", "/tables/Patients/fields").json()["Result"]
    ]
    assert "VISITS" in env.records(**{"q.limit": 1})[0]


@pytest.mark.parametrize(
    "body",
    [
        {"tables": {"Patients": [{"FirstName": "x"}]}},
        {"tables": {"Patients": {"rows": {"FirstName": "x"}}}},
        {"tables": ["Patients"]},
        {"synthetic": 5},
        {"synthetic": {"patients": "many"}},
        {"profiles": ["p"]},
        {"webhooks": [{"Name": "w", "OutgoingUrls": [], "events": "x"}]},
    ],
)
def test_malformed_seed_bodies_are_422_with_a_message(env: CaspioEnv, body: Any) -> None:
    before = _dump(env)
    r = env.client.post(f"{env.base_url}/__sandbox/seed", json=body)
    assert r.status_code == 422, r.text
    assert "must" in r.json()["detail"]
    assert _dump(env) == before


def test_refresh_tokens_are_64_hex_and_reproducible() -> None:
    a, b = CaspioEnv(seed=4), CaspioEnv(seed=4)
    try:
        ta, tb = a.get_token()["refresh_token"], b.get_token()["refresh_token"]
        assert ta == tb and len(ta) == 64 and int(ta, 16) and not ta.startswith("0" * 8)
        assert a.get_token()["refresh_token"] != ta
    finally:
        a.close()
        b.close()


def test_unknown_route_error_names_the_resource(env: CaspioEnv) -> None:
    r = env.call("GET", "/nope")
    assert r.status_code == 404 and r.json()["Code"] == "ObjectNotFound"
    assert r.json()["Resource"].endswith("/integrations/rest/v3/nope")


# grouping and ordering as SQL Server allows them ([C] §9; errors 8120, 108, 408) ----------------
def test_non_grouped_select_column_is_refused(env: CaspioEnv) -> None:
    for params in (
        {"q.select": "FirstName, COUNT(*) AS n", "q.groupBy": "Active"},
        {"q.select": "FirstName, COUNT(*) AS n"},
        {"q.groupBy": "Active"},  # the implicit * names every column
    ):
        r = env.call("GET", "/tables/Patients/records", params=params)
        assert r.status_code == 400 and r.json()["Code"] == "SqlServerError", params
        assert "not contained in either an aggregate function or the GROUP BY" in r.text
    ok = env.records(**{"q.select": "UPPER(City) AS c, COUNT(*) AS n", "q.groupBy": "UPPER(City)"})
    assert sum(r["n"] for r in ok) == 20


def test_order_by_ordinal_names_a_select_item(env: CaspioEnv) -> None:
    rows = env.records(**{"q.select": "PK_ID, Visits", "q.orderBy": "2 DESC, 1"})
    want = sorted(rows, key=lambda r: (-r["Visits"], r["PK_ID"]))
    assert rows == want and len(rows) == 20
    star = env.records(**{"q.orderBy": "1 DESC"})  # * → PK_ID first
    assert [r["PK_ID"] for r in star] == list(range(20, 0, -1))
    for text, message in [("3", "out of range"), ("0", "out of range"), ("'x'", "constant")]:
        r = env.call(
            "GET",
            "/tables/Patients/records",
            params={"q.select": "PK_ID, Visits", "q.orderBy": text},
        )
        assert r.status_code == 400 and message in r.json()["Message"], text


def test_an_injected_fault_is_a_caspio_envelope_naming_the_resource(env: CaspioEnv) -> None:
    env.admin("POST", "/faults", json={"path": "/integrations/rest/v3/tables", "status": 429})
    response = env.call("GET", "/tables")
    body = response.json()
    assert response.status_code == 429
    assert body["Code"] == "TooManyRequests" and body["Resource"].endswith("/rest/v3/tables")
    assert response.headers["X-Caspio-Request-ID"] == body["RequestId"]


@pytest.mark.parametrize(
    "params",
    [
        [("q.where", "PK_ID=-1"), ("q.where", "1=1")],
        [("q.where", "PK_ID=-1"), ("where", "1=1")],
        [("q.where", "PK_ID=-1"), ("Where", "1=1")],
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_clause_given_twice_is_refused_and_touches_nothing(
    env: CaspioEnv, method: str, params: list[tuple[str, str]]
) -> None:
    """Issue 15: ``DELETE …?q.where=PK_ID=-1&q.where=1=1`` deleted every row (the last value
    won). Two values for one clause are ambiguous: 400 IncorrectQueryParameter, nothing read or
    changed."""
    before = _dump(env)
    r = env.call(method, "/tables/Patients/records", params=params, json={"Notes": "n"})
    assert r.status_code == 400, r.text
    assert r.json()["Code"] == "IncorrectQueryParameter" and "more than once" in r.json()["Message"]
    assert _dump(env) == before


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("coalesce(FirstName) = 'a'", "The coalesce function requires"),
        ("abs(-9223372036854775807 - 1) = 1", "Arithmetic overflow"),
        ("count(*) > 1", "An aggregate may not appear in the WHERE clause"),
    ],
)
def test_sql_errors_speak_sql_server_not_sqlite(env: CaspioEnv, where: str, expected: str) -> None:
    """Issue 15: SQLite's text leaked through Caspio 400s; [C] caspio.md §6.2 SqlServerError
    carries SQL Server's own text."""
    r = env.call("GET", "/tables/Patients/records", params={"q.where": where})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["Code"] in ("SqlServerError", "IncorrectQueryParameter")
    if body["Code"] == "SqlServerError":
        assert body["Message"].startswith(expected), body["Message"]
    assert "coalesce()" not in body["Message"] and "misuse" not in body["Message"]
