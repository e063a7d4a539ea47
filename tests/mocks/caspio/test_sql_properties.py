"""Property tests of the q.where translator ([C] caspio.md §9).

1. Hostile and generated ``q.where`` / ``q.select`` / ``q.orderBy`` strings are either answered
   (rows of the addressed table only) or refused with 400 SqlServerError /
   IncorrectQueryParameter, and afterwards every table, the schema and the other tenant are
   exactly as before.
2. For the supported grammar, the fake's filtering agrees with a reference evaluation in Python
   (SQL three-valued logic, case-insensitive strings) over the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import CaspioEnv

HOSTILE = [
    "1=1; DROP TABLE Patients",
    "1=1; DELETE FROM Patients",
    "1=1 --",
    "1=1 /* comment */",
    "Visits = 1 /*",
    "PK_ID IN (SELECT PK_ID FROM Appointments)",
    "EXISTS (SELECT * FROM sqlite_master)",
    "(SELECT count(*) FROM sqlite_master) > 0",
    "name IN (SELECT name FROM sqlite_master)",
    "1=1 UNION SELECT * FROM Appointments",
    "ATTACH DATABASE 'x.db' AS x",
    "1=1; ATTACH DATABASE ':memory:' AS x",
    "PRAGMA table_info(Patients)",
    "1=1; PRAGMA writable_schema=1",
    "FirstName = \u2018x\u2019",
    "FirstName = \u2019x\u2019 OR \u20191\u2019=\u20191",
    "FirstName = 'x' OR 'a'='a'",
    "FirstName = 'x'' OR 1=1 --'",
    "sqlite_version() = '3'",
    "load_extension('x')",
    "Appointments.Reason = 'x'",
    "main.Patients.Visits = 1",
    "[Patients].[Visits] = 1",
    "Visits = 1 GO DROP TABLE Patients",
    "EXEC xp_cmdshell 'dir'",
    "Visits = CAST('1' AS INT)",
    "Visits = 1 ORDER BY 1",
    "Visits = 1) OR (1=1",
    '"Visits" = 1',
    "Visits = 0x01",
    "randomblob(10) IS NOT NULL",
    "WAITFOR DELAY '0:0:5'",
    "FirstName LIKE '%' ESCAPE '\\'",
    "Visits = @p",
    "Visits = ?",
    "Visits = :x",
    "NULL",
    "",
    "   ",
    "PK_ID = 99999999999999999999999",
    "Visits < -99999999999999999999999",
    "PK_ID = 1" + "0" * 40,
    "Visits > 1e400",
]
FRAGMENTS = [
    "Visits",
    "PK_ID",
    "FirstName",
    "Active",
    "Notes",
    "sqlite_master",
    "Appointments",
    "=",
    "<>",
    "<",
    ">=",
    " AND ",
    " OR ",
    " NOT ",
    "(",
    ")",
    ";",
    "--",
    "/*",
    "*/",
    "'",
    "''",
    "N'",
    "1",
    "0",
    "'a'",
    "NULL",
    " IS ",
    " LIKE ",
    " IN ",
    " BETWEEN ",
    ",",
    "SELECT",
    "FROM",
    "DROP",
    "ATTACH",
    "PRAGMA",
    "\u2018",
    "\u2019",
    "\u02bc",
    "\uff07",
    "[",
    "]",
    '"',
    "GETDATE()",
    "*",
    "%",
    "\x00",
    "99999999999999999999999",
    "-9223372036854775809",
    "9" * 40,
    "1e400",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12).map("".join),
    st.text(max_size=40),
    st.builds(
        "{} {} {}".format,
        st.sampled_from(["PK_ID", "Visits", "Active"]),
        st.sampled_from(["=", "<", ">=", "<>"]),
        st.integers(-(10**45), 10**45),
    ),
)

ENV: CaspioEnv | None = None


@pytest.fixture(scope="module")
def shared() -> Any:
    global ENV
    ENV = CaspioEnv()
    ENV.admin(
        "POST", "/seed", json={"synthetic": {"patients": 5}}, headers={"X-Sandbox-Tenant": "other"}
    )
    fields = [
        {"Name": n, "Type": t}
        for n, t in [
            ("FirstName", "STRING"),
            ("Visits", "INTEGER"),
            ("Active", "YES/NO"),
            ("Notes", "TEXT"),
        ]
    ]
    assert (
        ENV.call("POST", "/tables", json={"Name": "Scratch", "Fields": fields}).status_code == 201
    )
    refill_scratch(ENV)
    yield ENV
    ENV.close()


def refill_scratch(env: CaspioEnv) -> None:
    state = env.backend.state()
    state.db.execute('DELETE FROM "Scratch"')
    for i in range(6):
        state.db.execute(
            'INSERT INTO "Scratch" (FirstName, Visits, Active, Notes) VALUES (?, ?, ?, ?)',
            (f"n{i}", i, i % 2, None if i % 3 else "note"),
        )


def snapshot(env: CaspioEnv) -> Any:
    out = {}
    for tenant in ("default", "other"):
        state = env.backend.state(tenant)
        schema = state.db.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY name"
        ).fetchall()
        dbs = state.db.execute("PRAGMA database_list").fetchall()
        tables = env.backend.dump_state(state)["tables"]
        tables.pop("Scratch", None)
        out[tenant] = (schema, dbs, tables)
    return out


@given(text=hostile_text, param=st.sampled_from(["q.where", "q.select", "q.orderBy", "q.groupBy"]))
@settings(max_examples=200, deadline=None)
def test_hostile_clauses_are_answered_or_refused_and_change_nothing(
    shared: CaspioEnv, text: str, param: str
) -> None:
    env = shared
    before = snapshot(env)
    fields = {f["Name"] for f in env.call("GET", "/tables/Patients/fields").json()["Result"]}
    r = env.call("GET", "/tables/Patients/records", params={param: text})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["Code"] in ("SqlServerError", "IncorrectQueryParameter")
    elif param == "q.where":
        rows = r.json()["Result"]
        assert len(rows) <= 20 and all(set(row) <= fields | {"PK_ID"} for row in rows)
    if param == "q.where":
        # writes with the same text touch exactly the rows a GET selects, in the scratch table
        sel = env.call("GET", "/tables/Scratch/records", params={"q.where": text, "q.limit": 1000})
        for method in ("PUT", "DELETE"):
            w = env.call(
                method, "/tables/Scratch/records", params={"q.where": text}, json={"Notes": "x"}
            )
            if not text.strip():  # q.where is required for writes
                assert w.status_code == 400
                continue
            assert w.status_code == sel.status_code, (w.text, sel.text)
            if w.status_code == 200:
                assert w.json()["RecordsAffected"] == len(sel.json()["Result"])
        refill_scratch(env)
    assert snapshot(env) == before


ANSWERED = {
    "1=1 --": 20,  # a trailing comment is harmless text
    "1=1 /* comment */": 20,
    "FirstName = 'x' OR 'a'='a'": 20,  # a tautology over this table's own rows only
    "FirstName = 'x'' OR 1=1 --'": 0,  # the doubled quote keeps it one literal
    '"Visits" = 1': None,  # a quoted identifier is a column in T-SQL
    "": 20,  # no filter
    "   ": 20,
    "PK_ID = 99999999999999999999999": 0,  # beyond 64 bits: still a number (numeric(23))
    "Visits < -99999999999999999999999": 0,
}


@pytest.mark.parametrize("text", HOSTILE)
def test_each_hostile_example(shared: CaspioEnv, text: str) -> None:
    before = snapshot(shared)
    r = shared.call("GET", "/tables/Patients/records", params={"q.where": text})
    if text in ANSWERED:
        assert r.status_code == 200, r.text
        if ANSWERED[text] is not None:
            assert len(r.json()["Result"]) == ANSWERED[text]
    else:
        assert r.status_code == 400, (text, r.text)
        assert r.json()["Code"] == "SqlServerError"
    assert snapshot(shared) == before


# reference evaluation ---------------------------------------------------------------------------
REF_ROWS: list[dict[str, Any]] = [
    {"A": a, "B": b, "C": c, "D": d}
    for a, b, c, d in [
        (1, "ab", True, "2004-07-20T00:00:00"),
        (2, "Ab", False, "2004-07-20T09:30:00"),
        (None, "b", True, None),
        (3, None, None, "2004-07-19T23:59:59"),
        (-1, "aab", False, "2004-07-21T00:00:00"),
        (0, "", True, "1999-12-31T12:00:00"),
        (2, "ba", None, "2004-07-20T00:00:00"),
        (5, "B", False, None),
    ]
]
DAYS = ["2004-07-19", "2004-07-20", "2004-07-21", "1999-12-31"]

Pred = Callable[[dict[str, Any]], bool | None]
Leaf = tuple[str, Pred]


def _cmp(op: str, x: Any, y: Any) -> bool | None:
    if x is None or y is None:
        return None
    if isinstance(x, str):
        x, y = x.lower(), y.lower()
    return {"=": x == y, "<>": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def _day(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace(" ", "T"))


def _like(value: Any, pattern: str) -> bool | None:
    if value is None:
        return None
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _and(x: bool | None, y: bool | None) -> bool | None:
    if x is False or y is False:
        return False
    return None if x is None or y is None else True


def _or(x: bool | None, y: bool | None) -> bool | None:
    if x is True or y is True:
        return True
    return None if x is None or y is None else False


ints = st.integers(-2, 6)
# [C] §5.5 'YYYY-MM-DD' (and date-times, with 'T' or a space) compare as dates
dates = st.builds(
    "{}{}".format,
    st.sampled_from(DAYS),
    st.sampled_from(["", "T00:00:00", " 09:30", "T09:30:00", "T23:59:59", "T12:00:00.5"]),
)
strs = st.text(alphabet="abAB", max_size=3)
ops = st.sampled_from(["=", "<>", "<", ">", "<=", ">="])


@st.composite
def leaf(draw: st.DrawFn) -> Leaf:
    kind = draw(
        st.sampled_from(["int", "str", "bool", "null", "in", "between", "like", "date", "dates"])
    )
    if kind == "int":
        op, v = draw(ops), draw(ints)
        return f"A {op} {v}", lambda r, op=op, v=v: _cmp(op, r["A"], v)
    if kind == "str":
        op, v = draw(ops), draw(strs)
        return f"B {op} '{v}'", lambda r, op=op, v=v: _cmp(op, r["B"], v)
    if kind == "date":
        op, v = draw(ops), draw(dates)
        return f"D {op} '{v}'", lambda r, op=op, v=v: _cmp(op, _day(r["D"]), _day(v))
    if kind == "dates":
        lo, hi = sorted([draw(dates), draw(dates)], key=_day)
        if draw(st.booleans()):
            return f"D BETWEEN '{lo}' AND '{hi}'", lambda r, lo=lo, hi=hi: _and(
                _cmp(">=", _day(r["D"]), _day(lo)), _cmp("<=", _day(r["D"]), _day(hi))
            )

        def in_pred(r: dict[str, Any], vals: tuple[str, str] = (lo, hi)) -> bool | None:
            return None if r["D"] is None else _day(r["D"]) in {_day(v) for v in vals}

        return f"D IN ('{lo}', '{hi}')", in_pred
    if kind == "bool":
        v = draw(st.sampled_from([0, 1]))
        return f"C = {v}", lambda r, v=v: None if r["C"] is None else int(r["C"]) == v
    if kind == "null":
        col, neg = draw(st.sampled_from("ABC")), draw(st.booleans())
        text = f"{col} IS {'NOT ' if neg else ''}NULL"
        return text, lambda r, col=col, neg=neg: (r[col] is None) != neg
    if kind == "in":
        vals = draw(st.lists(ints, min_size=1, max_size=4))

        def pred(r: dict[str, Any], vals: list[int] = vals) -> bool | None:
            return None if r["A"] is None else r["A"] in vals

        return f"A IN ({', '.join(map(str, vals))})", pred
    if kind == "between":
        lo, hi = sorted([draw(ints), draw(ints)])
        return f"A BETWEEN {lo} AND {hi}", lambda r, lo=lo, hi=hi: _and(
            _cmp(">=", r["A"], lo), _cmp("<=", r["A"], hi)
        )
    pattern = draw(st.text(alphabet="ab%_", min_size=1, max_size=4))
    return f"B LIKE '{pattern}'", lambda r, p=pattern: _like(r["B"], p)


def combine(children: st.SearchStrategy[Leaf]) -> st.SearchStrategy[Leaf]:
    def build(op: str, x: Leaf, y: Leaf) -> Leaf:
        if op == "NOT":
            return f"NOT ({x[0]})", lambda r: None if x[1](r) is None else not x[1](r)
        fn = _and if op == "AND" else _or
        return f"({x[0]}) {op} ({y[0]})", lambda r: fn(x[1](r), y[1](r))

    return st.builds(build, st.sampled_from(["AND", "OR", "NOT"]), children, children)


@pytest.fixture(scope="module")
def ref_env() -> Any:
    env = CaspioEnv()
    fields = [
        {"Name": "A", "Type": "INTEGER"},
        {"Name": "B", "Type": "STRING"},
        {"Name": "C", "Type": "YES/NO"},
        {"Name": "D", "Type": "DATE/TIME"},
    ]
    assert env.call("POST", "/tables", json={"Name": "Ref", "Fields": fields}).status_code == 201
    for row in REF_ROWS:
        assert env.call("POST", "/tables/Ref/records", json=row).status_code == 201
    yield env
    env.close()


@given(st.recursive(leaf(), combine, max_leaves=6))
@settings(max_examples=150, deadline=None)
def test_filtering_agrees_with_a_reference_evaluation(ref_env: CaspioEnv, expr: Leaf) -> None:
    text, pred = expr
    got = [r["PK_ID"] for r in ref_env.records("Ref", **{"q.where": text})]
    want = [i for i, row in enumerate(REF_ROWS, 1) if pred(row) is True]
    assert got == want, text


def test_dates_in_where_compare_as_dates(ref_env: CaspioEnv) -> None:
    """[C] §5.5: ``'YYYY-MM-DD'`` is accepted in where; it means midnight of that day."""

    def ids(where: str) -> list[int]:
        return [r["PK_ID"] for r in ref_env.records("Ref", **{"q.where": where})]

    assert ids("D = '2004-07-20'") == [1, 7]
    assert ids("D <= '2004-07-20'") == [1, 4, 6, 7]
    assert ids("'2004-07-21' > D AND D >= N'2004-07-20'") == [1, 2, 7]
    r = ref_env.call("GET", "/tables/Ref/records", params={"q.where": "D = '20th July'"})
    assert r.status_code == 400 and r.json()["Code"] == "SqlServerError"
    assert "Conversion failed" in r.json()["Message"]
