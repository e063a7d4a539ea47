"""The ``q.where`` / ``q.select`` / ``q.groupBy`` / ``q.orderBy`` translator.

[C] caspio.md §9: the clauses are T-SQL text. The fake never pastes them: each is parsed with
sqlglot (T-SQL dialect), the tree is walked against an allow-list (the table's own columns,
comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, literals, a few scalar functions, the
aggregates) and rendered to SQLite text whose only identifiers are the table's real column names
and whose every literal is a bound parameter. Anything else raises :class:`SqlRefused`
(a 400 ``SqlServerError``, [I] §9 "Reject anything else").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

MAX_CLAUSE = 2047  # [C] §5.1: the request URI is at most 2,047 characters


class SqlRefused(ValueError):
    """Text the fake will not run; the message reads like SQL Server's."""


COMPARISONS: dict[type[exp.Expression], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
ARITHMETIC: dict[type[exp.Expression], str] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
    exp.Mod: "%",
}
# T-SQL scalar functions real clients use → SQLite function name.
SCALARS = {
    "LOWER": "lower",
    "UPPER": "upper",
    "LEN": "length",
    "LTRIM": "ltrim",
    "RTRIM": "rtrim",
    "TRIM": "trim",
    "ABS": "abs",
    "ROUND": "round",
    "ISNULL": "ifnull",
    "COALESCE": "coalesce",
}
AGGREGATES: dict[type[exp.Expression], str] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Avg: "avg",
    exp.Min: "min",
    exp.Max: "max",
}


@dataclass
class Rendered:
    sql: str
    params: list[Any] = field(default_factory=list)


class Translator:
    """Renders clauses for one table. ``columns`` maps lower-case name → real name;
    ``forbidden`` are columns that may not appear (password fields, [C] §5.6)."""

    def __init__(
        self,
        columns: Mapping[str, str],
        *,
        forbidden: frozenset[str] = frozenset(),
        now: Callable[[], str] = lambda: "",
    ) -> None:
        self.columns = columns
        self.forbidden = forbidden
        self.now = now

    # public ------------------------------------------------------------------------------
    def where(self, text: str) -> Rendered:
        select = self._parse(f"SELECT 1 WHERE {text}", text, allowed={"expressions", "where"})
        condition = select.args["where"].this
        _check_condition(condition)
        out = Rendered("")
        out.sql = self._render(condition, out.params, aggregates=False)
        return out

    def select(self, text: str, *, star: str = "*") -> tuple[Rendered, list[str]]:
        """The select list rendered, and the output names of its items."""
        select = self._parse(f"SELECT {text}", text, allowed={"expressions"})
        out = Rendered("")
        parts, names = [], []
        for item in select.expressions:
            alias = None
            if isinstance(item, exp.Alias):
                alias, item = item.alias, item.this
            if isinstance(item, exp.Star):
                parts.append(star)
                names.append("*")
                continue
            rendered = self._render(item, out.params, aggregates=True)
            name = alias or (self._column(item) if isinstance(item, exp.Column) else None)
            name = name or f"Expr{len(names) + 1}"
            parts.append(f"{rendered} AS {quote(name)}")
            names.append(name)
        out.sql = ", ".join(parts)
        return out, names

    def group_by(self, text: str) -> Rendered:
        select = self._parse(f"SELECT 1 GROUP BY {text}", text, allowed={"expressions", "group"})
        out = Rendered("")
        out.sql = ", ".join(
            self._render(e, out.params, aggregates=False) for e in select.args["group"].expressions
        )
        return out

    def order_by(self, text: str, *, aliases: frozenset[str] = frozenset()) -> Rendered:
        select = self._parse(f"SELECT 1 ORDER BY {text}", text, allowed={"expressions", "order"})
        out = Rendered("")
        parts = []
        for ordered in select.args["order"].expressions:
            target = ordered.this
            if isinstance(target, exp.Column) and target.name.lower() in aliases:
                rendered = quote(target.name)
            else:
                rendered = self._render(target, out.params, aggregates=True)
            parts.append(f"{rendered} {'DESC' if ordered.args.get('desc') else 'ASC'}")
        out.sql = ", ".join(parts)
        return out

    # parsing -----------------------------------------------------------------------------
    def _parse(self, sql: str, text: str, *, allowed: set[str]) -> exp.Select:
        if len(text) > MAX_CLAUSE:
            raise SqlRefused("The query clause is too long.")
        if not text.strip():
            raise SqlRefused("Incorrect syntax near ''.")
        try:
            statements = sqlglot.parse(sql, read="tsql")
        except SqlglotError as exc:
            raise SqlRefused(f"Incorrect syntax near '{_near(text, exc)}'.") from None
        except (ValueError, TypeError, RecursionError, KeyError, IndexError):
            raise SqlRefused(f"Incorrect syntax near '{text[:40]}'.") from None
        if len(statements) != 1 or not isinstance(statements[0], exp.Select):
            raise SqlRefused("Incorrect syntax near ';'. Only one clause is allowed.")
        select = statements[0]
        extra = [
            k for k, v in select.args.items() if v not in (None, [], False) and k not in allowed
        ]
        if extra:
            raise SqlRefused(f"Incorrect syntax near '{text[:40]}'.")
        return select

    # rendering ---------------------------------------------------------------------------
    def _column(self, node: exp.Column) -> str:
        if node.table or node.args.get("db") or node.args.get("catalog"):
            raise SqlRefused(f"The multi-part identifier '{node.sql('tsql')}' could not be bound.")
        name = node.name
        real = self.columns.get(name.lower())
        if real is None:
            raise SqlRefused(f"Invalid column name '{name}'.")
        if real.lower() in self.forbidden:
            raise SqlRefused(f"Password field '{real}' cannot be used in a query.")
        return real

    def _render(self, node: exp.Expression, params: list[Any], *, aggregates: bool) -> str:
        r = lambda n: self._render(n, params, aggregates=aggregates)  # noqa: E731
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                raise SqlRefused("Incorrect syntax near '*'.")
            return quote(self._column(node))
        if isinstance(node, exp.Literal):
            params.append(_literal(node))
            return "?"
        if isinstance(node, exp.National):
            params.append(str(node.this))
            return "?"
        if isinstance(node, exp.Null):
            return "NULL"
        if isinstance(node, exp.Boolean):
            params.append(1 if node.this else 0)
            return "?"
        if isinstance(node, exp.Paren):
            return f"({r(node.this)})"
        if isinstance(node, exp.And | exp.Or):
            op = "AND" if isinstance(node, exp.And) else "OR"
            return f"({r(node.this)} {op} {r(node.expression)})"
        if isinstance(node, exp.Not):
            return f"(NOT {r(node.this)})"
        if isinstance(node, exp.Neg):
            return f"(-{r(node.this)})"
        if type(node) in COMPARISONS:
            return f"({r(node.this)} {COMPARISONS[type(node)]} {r(node.expression)})"
        if type(node) in ARITHMETIC:
            return f"({r(node.this)} {ARITHMETIC[type(node)]} {r(node.expression)})"
        if isinstance(node, exp.Like):
            return f"({r(node.this)} LIKE {r(node.expression)})"
        if isinstance(node, exp.Escape):
            raise SqlRefused("Incorrect syntax near 'ESCAPE'.")
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise SqlRefused("Incorrect syntax near 'IS'.")
            return f"({r(node.this)} IS NULL)"
        if isinstance(node, exp.Between):
            return f"({r(node.this)} BETWEEN {r(node.args['low'])} AND {r(node.args['high'])})"
        if isinstance(node, exp.In):
            if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
                raise SqlRefused("Subqueries are not supported by the sandbox.")
            items = node.expressions
            if not items:
                raise SqlRefused("Incorrect syntax near ')'.")
            return f"({r(node.this)} IN ({', '.join(r(i) for i in items)}))"
        if type(node) in AGGREGATES:
            if not aggregates:
                raise SqlRefused(
                    "An aggregate may not appear in the WHERE clause unless it is in a subquery."
                )
            inner = node.this
            if isinstance(inner, exp.Star):
                return "count(*)"
            distinct = ""
            if isinstance(inner, exp.Distinct):
                if len(inner.expressions) != 1:
                    raise SqlRefused("Incorrect syntax near 'DISTINCT'.")
                distinct, inner = "DISTINCT ", inner.expressions[0]
            inner_sql = self._render(inner, params, aggregates=False)
            return f"{AGGREGATES[type(node)]}({distinct}{inner_sql})"
        if isinstance(node, exp.CurrentTimestamp | exp.CurrentDate):
            params.append(self.now())
            return "?"
        if isinstance(node, exp.Lower | exp.Upper | exp.Length | exp.Abs | exp.Trim):
            name = {exp.Lower: "lower", exp.Upper: "upper", exp.Length: "length", exp.Abs: "abs"}
            fn = name.get(type(node), "trim")
            return f"{fn}({r(node.this)})"
        if isinstance(node, exp.Round):
            digits = node.args.get("decimals")
            return f"round({r(node.this)}{', ' + r(digits) if digits else ''})"
        if isinstance(node, exp.Coalesce):
            args = [node.this, *node.expressions]
            return f"coalesce({', '.join(r(a) for a in args)})"
        if isinstance(node, exp.Anonymous):
            fn = str(node.this).upper()
            if fn == "GETDATE" and not node.expressions:
                params.append(self.now())
                return "?"
            if fn in SCALARS and node.expressions:
                return f"{SCALARS[fn]}({', '.join(r(a) for a in node.expressions)})"
            raise SqlRefused(f"'{node.this}' is not a recognized built-in function name.")
        raise SqlRefused(f"Incorrect syntax near '{_short(node)}'.")


PREDICATES = (*COMPARISONS, exp.Like, exp.In, exp.Between, exp.Is)


def _check_condition(node: exp.Expression) -> None:
    """T-SQL wants a boolean condition where a WHERE (or AND/OR/NOT operand) is expected."""
    if isinstance(node, exp.Paren):
        return _check_condition(node.this)
    if isinstance(node, exp.And | exp.Or):
        _check_condition(node.this)
        return _check_condition(node.expression)
    if isinstance(node, exp.Not):
        return _check_condition(node.this)
    if not isinstance(node, PREDICATES):
        raise SqlRefused(
            "An expression of non-boolean type specified in a context where a condition is "
            f"expected, near '{_short(node)}'."
        )
    return None


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(node: exp.Literal) -> Any:
    if node.is_string:
        return str(node.this)
    text = str(node.this)
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise SqlRefused(f"Incorrect syntax near '{text[:40]}'.") from None


def _short(node: exp.Expression) -> str:
    try:
        return node.sql("tsql")[:40]
    except Exception:
        return type(node).__name__


def _near(text: str, exc: SqlglotError) -> str:
    errors = getattr(exc, "errors", None) or []
    if errors and errors[0].get("highlight"):
        return str(errors[0]["highlight"])[:40]
    return text[:40]
