"""Records: query parameters, writes, value formats and errors ([C] caspio.md §5, §6, §9)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careflow.mocks.caspio.values import convert

from .conftest import CaspioEnv

YES = ("true", "yes", "1")


def get(env: CaspioEnv, **params: object):
    return env.call("GET", "/tables/Patients/records", params=params)


def test_default_limit_and_pk_id_order(env: CaspioEnv) -> None:
    env.admin("POST", "/seed", json={"synthetic": {"patients": 130}})
    rows = env.records()
    assert len(rows) == 100 and [r["PK_ID"] for r in rows] == list(range(1, 101))
    assert len(env.records(**{"q.limit": 1000})) == 150


@pytest.mark.parametrize(
    "params",
    [
        {"q.limit": 0},
        {"q.limit": 1001},
        {"q.limit": "x"},
        {"q.pageSize": 4},
        {"q.pageSize": 1001},
        {"q.sort": "Name"},
        {"q.getPaginationInfo": "maybe"},
    ],
)
def test_bad_query_parameters(env: CaspioEnv, params: dict) -> None:
    r = get(env, **params)
    assert r.status_code == 400 and r.json()["Code"] == "IncorrectQueryParameter"


def test_limit_one_works_and_paging_ignores_limit(env: CaspioEnv) -> None:
    assert len(env.records(**{"q.limit": 1})) == 1
    rows = env.records(**{"q.limit": 2, "q.pageNumber": 1})  # default page size 25
    assert len(rows) == 20
    page = get(env, **{"q.pageSize": 5, "q.pageNumber": 4, "q.getPaginationInfo": "true"}).json()
    assert [r["PK_ID"] for r in page["Result"]] == [16, 17, 18, 19, 20]
    assert page["Pagination"] == {"TotalCount": 20, "PageNumber": 4, "PageSize": 5}


def test_select_where_order_and_unprefixed_names(env: CaspioEnv) -> None:
    rows = env.records(
        **{"select": "PK_ID, Visits", "where": "Visits >= 10", "orderBy": "Visits DESC, PK_ID"}
    )
    assert rows and all(set(r) == {"PK_ID", "Visits"} and r["Visits"] >= 10 for r in rows)
    assert [r["Visits"] for r in rows] == sorted((r["Visits"] for r in rows), reverse=True)


def test_group_by_with_aggregates(env: CaspioEnv) -> None:
    rows = env.records(
        **{
            "q.select": "Active, COUNT(*) AS n, MAX(Visits) AS top",
            "q.groupBy": "Active",
            "q.orderBy": "Active",
        }
    )
    assert [r["Active"] for r in rows] == [False, True]
    assert sum(r["n"] for r in rows) == 20


def test_value_formats(env: CaspioEnv) -> None:
    r = env.call(
        "POST",
        "/tables/Patients/records",
        params={"response": "rows"},
        json={
            "FirstName": "O'Brien",
            "DOB": "2001-05-06",
            "Active": True,
            "Visits": 2,
            "Balance": 10,
        },
    )
    row = r.json()["Result"][0]
    assert r.status_code == 201
    assert row["DOB"] == "2001-05-06T00:00:00" and row["Active"] is True and row["Balance"] == 10
    assert row["Created"] == "2026-01-01T12:00:00" and row["Patient_ID"] == row["PK_ID"]
    found = env.records(
        **{"q.where": "FirstName = 'o''brien' AND DOB >= '2001-01-01' AND Active = 1"}
    )
    assert [x["PK_ID"] for x in found] == [row["PK_ID"]]


MISMATCHES = [
    {"Visits": 1.5},
    {"Visits": "3.5"},
    {"Visits": "3.0"},
    {"Visits": "three"},
    {"Visits": ""},
    {"Balance": "1e3"},
    {"Balance": "1,000"},
    {"Balance": "NaN"},
    {"Active": "maybe"},
    {"Active": 2},
    {"DOB": "not a date"},
    {"Balance": True},
    {"FirstName": True},
    {"FirstName": ["a"]},
    {"FirstName": "x" * 256},
    {"FirstName": 10**300},
]


def test_type_mismatch_is_refused(env: CaspioEnv) -> None:
    """Values that do not convert are refused, on insert and on update, and change nothing."""
    for body in MISMATCHES:
        r = env.call("POST", "/tables/Patients/records", json=body)
        assert r.status_code == 400, body
        # an integer of more than 40 digits is refused by the stack's input limits before any
        # field is looked at (careflow.limits), as IncorrectBodyParameter too
        message = r.json()["Message"]
        assert "doesn't match the data type" in message or "too large" in message, body
        put = env.call("PUT", "/tables/Patients/records", params={"q.where": "PK_ID=1"}, json=body)
        assert put.status_code == 400 and put.json()["Code"] == "IncorrectBodyParameter", body
    assert len(env.records()) == 20


def test_post_without_rows_is_empty_201_with_location(env: CaspioEnv) -> None:
    r = env.call("POST", "/tables/Patients/records", json={"FirstName": "Zed"})
    assert r.status_code == 201 and r.content == b"" and r.headers["Location"].endswith("/21")


def test_post_refusals(env: CaspioEnv) -> None:
    arr = env.call("POST", "/tables/Patients/records", json=[{"FirstName": "A"}])
    assert arr.status_code == 400 and arr.json()["Code"] == "IncorrectBodyParameter"
    unk = env.call("POST", "/tables/Patients/records", json={"Design_Name": "x"})
    assert unk.status_code == 404 and unk.json()["Code"] == "FieldNotFound"
    assert "'Design_Name'" in unk.json()["Message"]
    ro = env.call("POST", "/tables/Patients/records", json={"Patient_ID": 5})
    assert ro.status_code == 400
    pk = env.call("POST", "/tables/Patients/records", json={"PK_ID": 5})
    assert pk.status_code == 400
    assert len(env.records()) == 20


def test_put_updates_all_matching(env: CaspioEnv) -> None:
    r = env.call(
        "PUT",
        "/tables/Patients/records",
        params={"q.where": "Active = 0", "response": "rows"},
        json={"Intake_Status": "Archived"},
    )
    body = r.json()
    assert r.status_code == 200 and body["RecordsAffected"] == len(body["Result"]) > 0
    assert all(x["Intake_Status"] == "Archived" for x in body["Result"])
    plain = env.call(
        "PUT", "/tables/Patients/records", params={"where": "PK_ID = 1"}, json={"Visits": 0}
    )
    assert plain.json() == {"RecordsAffected": 1, "Result": []}
    none = env.call(
        "PUT", "/tables/Patients/records", params={"q.where": "PK_ID = 999"}, json={"Visits": 1}
    )
    assert none.status_code == 200 and none.json()["RecordsAffected"] == 0


def test_put_and_delete_require_where(env: CaspioEnv) -> None:
    for method in ("PUT", "DELETE"):
        r = env.call(method, "/tables/Patients/records", json={"Visits": 1})
        assert r.status_code == 400 and r.json()["Code"] == "IncorrectQueryParameter"
    assert len(env.records()) == 20


def test_delete_all_matching(env: CaspioEnv) -> None:
    r = env.call("DELETE", "/tables/Patients/records", params={"q.where": "PK_ID IN (1, 2, 3)"})
    assert r.json() == {"RecordsAffected": 3}
    again = env.call("DELETE", "/tables/Patients/records", params={"q.where": "PK_ID IN (1, 2, 3)"})
    assert again.status_code == 200 and again.json() == {"RecordsAffected": 0}
    new = env.call("POST", "/tables/Patients/records", params={"response": "rows"}, json={})
    assert new.json()["Result"][0]["Patient_ID"] == 21  # autonumbers are never reused


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("Nope = 1", "Invalid column name 'Nope'."),
        ("Visits = ", "Incorrect syntax"),
        ("COUNT(*) > 1", "aggregate"),
        ("Visits = 1; DROP TABLE Patients", "Only one clause"),
    ],
)
def test_sql_errors(env: CaspioEnv, where: str, message: str) -> None:
    r = get(env, **{"q.where": where})
    assert r.status_code == 400 and r.json()["Code"] == "SqlServerError"
    assert message in r.json()["Message"]


def test_password_fields_are_skipped_and_unqueryable(env: CaspioEnv) -> None:
    env.call("POST", "/tables/Patients/fields", json={"Name": "Pw", "Type": "PASSWORD"})
    r = env.call(
        "POST", "/tables/Patients/records", params={"response": "rows"}, json={"Pw": "s3cret"}
    )
    assert "Pw" not in r.json()["Result"][0]
    assert get(env, **{"q.where": "Pw = 's3cret'"}).json()["Code"] == "SqlServerError"
    assert get(env, **{"q.select": "Pw"}).status_code == 400
    upd = env.call(
        "PUT", "/tables/Patients/records", params={"q.where": "PK_ID=1"}, json={"Pw": "x"}
    )
    assert upd.status_code == 400


def test_getdate_uses_the_virtual_clock(env: CaspioEnv) -> None:
    assert len(env.records(**{"q.where": "Created <= GetDate()"})) == 20
    env.call("POST", "/tables/Patients/records", json={"FirstName": "Later"})
    env.clock.set("2025-01-01T00:00:00Z")
    assert len(env.records(**{"q.where": "DOB < GETDATE()"})) >= 1


# --- string values, converted the way Caspio converts them (issue 17, item 1) ----------------
# Source: Pipedream's Caspio "Create Record" action
# (components/caspio/actions/create-record/create-record.mjs, source [S6] of caspio.md) declares
# every non-YES/NO field a string prop and turns only NUMBER values back into numbers, so
# INTEGER and CURRENCY values reach Caspio as numeric strings; Caspio's n8n node sends
# user-typed values as strings too.


def test_numeric_and_yes_no_strings_convert_on_insert(env: CaspioEnv) -> None:
    r = env.call(
        "POST",
        "/tables/Patients/records",
        params={"response": "rows"},
        json={"Visits": "3", "Balance": "12.5", "Active": "true", "City": 42, "Notes": 1.5},
    )
    assert r.status_code == 201, r.text
    row = r.json()["Result"][0]
    assert (row["Visits"], row["Balance"], row["Active"]) == (3, 12.5, True)
    assert (row["City"], row["Notes"]) == ("42", "1.5")
    assert env.records(**{"q.where": "Visits = 3 AND Balance = 12.5 AND City = '42'"})


def test_strings_convert_on_update_too(env: CaspioEnv) -> None:
    r = env.call(
        "PUT",
        "/tables/Patients/records",
        params={"q.where": "PK_ID = 1", "response": "rows"},
        json={"Visits": " 7 ", "Balance": "-0.25", "Active": "No", "State": 12},
    )
    assert r.status_code == 200, r.text
    row = r.json()["Result"][0]
    assert (row["Visits"], row["Balance"], row["Active"], row["State"]) == (7, -0.25, False, "12")


def test_a_refused_update_changes_nothing(env: CaspioEnv) -> None:
    before = env.records(**{"q.where": "PK_ID = 1"})
    r = env.call(
        "PUT",
        "/tables/Patients/records",
        params={"q.where": "PK_ID = 1"},
        json={"Visits": "8", "Balance": "twelve"},
    )
    assert r.status_code == 400 and r.json()["Code"] == "IncorrectBodyParameter"
    assert "Balance" in r.json()["Message"] and "Visits" not in r.json()["Message"]
    assert env.records(**{"q.where": "PK_ID = 1"}) == before


@given(
    visits=st.integers(min_value=-(2**62), max_value=2**62),
    balance=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    active=st.sampled_from(["true", "FALSE", " Yes ", "no", "1", "0", 1, 0, True, False]),
    text=st.one_of(st.integers(min_value=-(10**15), max_value=10**15), st.floats(-1e9, 1e9)),
)
@settings(max_examples=60, deadline=None)
def test_string_values_convert_to_what_they_spell(
    visits: int, balance: Decimal, active: object, text: float
) -> None:
    assert convert({"Type": "INTEGER"}, str(visits)) == visits
    assert convert({"Type": "CURRENCY"}, str(balance)) == float(balance)
    assert convert({"Type": "NUMBER"}, f"{float(balance):e}") == float(f"{float(balance):e}")
    assert convert({"Type": "YES/NO"}, active) == (str(active).strip().lower() in YES)
    assert float(convert({"Type": "TEXT"}, text)) == text  # a number's text spells it
