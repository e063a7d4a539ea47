"""The ``q.where`` / ``q.select`` / ``q.groupBy`` / ``q.orderBy`` translator.

[C] caspio.md §9: the clauses are T-SQL text. The fake never pastes them: each is parsed with
sqlglot (T-SQL dialect), the tree is walked against an allow-list (the table's own columns,
comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, literals, a few scalar functions, the
aggregates) and rendered to SQLite text whose only identifiers are the table's real column names
and whose every literal is a bound parameter. Anything else raises :class:`SqlRefused`
(a 400 ``SqlServerError``, [I] §9 "Reject anything else").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .sqltext import SqlRefused, quote

MAX_CLAUSE = 2047  # [C] §5.1: the request URI is at most 2,047 characters
INT64 = 1 << 63  # SQLite binds integers as 64-bit
MAX_PRECISION = 38  # SQL Server's numeric: at most 38 digits (error 1007)


PARSED_KEPT = 1024  # parsed clause texts kept (clients repeat the same few q.where texts)


@lru_cache(maxsize=PARSED_KEPT)
def _parse_tsql(sql: str) -> tuple[exp.Expression | None, ...]:
    """sqlglot's parse of one clause text, cached by text: a tree is only ever read after this
    (rendering walks it), so one parse serves every request that sends the same text. A text
    that does not parse raises each time (errors are not cached)."""
    return tuple(sqlglot.parse(sql, read="tsql"))


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
        coerce: Callable[[str, Any], Any] = lambda _column, value: value,
    ) -> None:
        self.columns = columns
        self.forbidden = forbidden
        self.now = now
        # a string literal compared with a column is bound as ``coerce(column, value)``: the
        # model converts it to the column's stored form (dates, [C] §5.5) or raises SqlRefused
        self.coerce = coerce

    # public ------------------------------------------------------------------------------
    def where(self, text: str) -> Rendered:
        select = self._parse(f"SELECT 1 WHERE {text}", text, allowed={"expressions", "where"})
        condition = select.args["where"].this
        _check_condition(condition)
        out = Rendered("")
        out.sql = self._render(condition, out.params, aggregates=False)
        return out

    def select(
        self, text: str, *, star: list[str], group: str | None = None
    ) -> tuple[Rendered, list[str]]:
        """The select list rendered, and the output names of its items (``*`` expands to the
        ``star`` columns). With ``group`` (the q.groupBy text) or an aggregate in the list,
        every bare column must be grouped, as SQL Server requires (error 8120)."""
        select = self._parse(f"SELECT {text}", text, allowed={"expressions"})
        items = [i.this if isinstance(i, exp.Alias) else i for i in select.expressions]
        if group is not None or any(i.find(*AGGREGATES) for i in items):
            self._check_grouping(items, star, group)
        out = Rendered("")
        parts, names = [], []
        for item in select.expressions:
            alias = None
            if isinstance(item, exp.Alias):
                alias, item = item.alias, item.this
            if isinstance(item, exp.Star):
                parts.append(", ".join(quote(c) for c in star))
                names.extend(star)
                continue
            rendered = self._render(item, out.params, aggregates=True)
            name = alias or (self._column(item) if isinstance(item, exp.Column) else None)
            name = name or f"Expr{len(names) + 1}"
            parts.append(f"{rendered} AS {quote(name)}")
            names.append(name)
        out.sql = ", ".join(parts)
        return out, names

    def group_by(self, text: str) -> Rendered:
        out = Rendered("")
        out.sql = ", ".join(
            self._render(e, out.params, aggregates=False) for e in self._group_items(text)
        )
        return out

    def _group_items(self, text: str) -> list[exp.Expression]:
        select = self._parse(f"SELECT 1 GROUP BY {text}", text, allowed={"expressions", "group"})
        return list(select.args["group"].expressions)

    def _check_grouping(
        self, items: list[exp.Expression], star: list[str], group: str | None
    ) -> None:
        keys = self._group_items(group) if group is not None else []
        grouped_sql = {k.sql("tsql").lower() for k in keys}
        grouped = {self._column(k).lower() for k in keys if isinstance(k, exp.Column)}
        for item in items:
            if isinstance(item, exp.Star):
                bare = list(star)
            elif item.sql("tsql").lower() in grouped_sql:
                continue
            else:
                bare = [
                    self._column(c)
                    for c in item.find_all(exp.Column)
                    if not isinstance(c.this, exp.Star) and not _in_aggregate(c, item)
                ]
            for name in bare:
                if name.lower() not in grouped:
                    raise SqlRefused(
                        f"Column '{name}' is invalid in the select list because it is not "
                        "contained in either an aggregate function or the GROUP BY clause."
                    )

    def order_by(
        self, text: str, *, aliases: frozenset[str] = frozenset(), width: int = 0
    ) -> Rendered:
        """``width`` is the number of select-list items: ``ORDER BY 2`` names the second, as
        in T-SQL; any other constant is refused (SQL Server error 408)."""
        select = self._parse(f"SELECT 1 ORDER BY {text}", text, allowed={"expressions", "order"})
        out = Rendered("")
        parts = []
        for position, ordered in enumerate(select.args["order"].expressions, 1):
            target = ordered.this
            if isinstance(target, exp.Column) and target.name.lower() in aliases:
                rendered = quote(target.name)
            elif isinstance(target, exp.Literal) and not target.is_string and target.is_int:
                n = int(str(target.this))
                if not 1 <= n <= width:
                    raise SqlRefused(
                        f"The ORDER BY position number {n} is out of range of the number of "
                        "items in the select list."
                    )
                rendered = str(n)  # a validated ordinal: SQLite reads it as T-SQL does
            elif isinstance(target, CONSTANTS) or (
                isinstance(target, exp.Neg) and isinstance(target.this, exp.Literal)
            ):
                raise SqlRefused(
                    "A constant expression was encountered in the ORDER BY list, "
                    f"position {position}."
                )
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
            statements = _parse_tsql(sql)
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

    def _operand(
        self, node: exp.Expression, other: exp.Expression, params: list[Any], aggregates: bool
    ) -> str:
        """``node`` compared with ``other``: a string literal against a column is coerced to
        that column's stored form."""
        if isinstance(node, exp.Literal | exp.National) and isinstance(other, exp.Column):
            value = _literal(node) if isinstance(node, exp.Literal) else str(node.this)
            if isinstance(value, str) and not isinstance(other.this, exp.Star):
                params.append(self.coerce(self._column(other), value))
                return "?"
        return self._render(node, params, aggregates=aggregates)

    def _render(self, node: exp.Expression, params: list[Any], *, aggregates: bool) -> str:
        r = lambda n: self._render(n, params, aggregates=aggregates)  # noqa: E731

        def vs(n: exp.Expression, other: exp.Expression) -> str:
            return self._operand(n, other, params, aggregates)

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
            left, right = node.this, node.expression
            return f"({vs(left, right)} {COMPARISONS[type(node)]} {vs(right, left)})"
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
            this, low, high = node.this, node.args["low"], node.args["high"]
            return f"({r(this)} BETWEEN {vs(low, this)} AND {vs(high, this)})"
        if isinstance(node, exp.In):
            if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
                raise SqlRefused("Subqueries are not supported by the sandbox.")
            items = node.expressions
            if not items:
                raise SqlRefused("Incorrect syntax near ')'.")
            return f"({r(node.this)} IN ({', '.join(vs(i, node.this) for i in items)}))"
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


CONSTANTS = (exp.Literal, exp.National, exp.Null, exp.Boolean)
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


def _in_aggregate(node: exp.Expression, top: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None and node is not top:
        if isinstance(parent, tuple(AGGREGATES)):
            return True
        node, parent = parent, parent.parent
    return False


def _literal(node: exp.Literal) -> Any:
    """A numeric literal as SQL Server reads it: exact up to 38 digits (bound as a REAL past
    SQLite's 64-bit integers), a float within 8 bytes, else SQL Server's range error."""
    if node.is_string:
        return str(node.this)
    text = str(node.this)
    try:
        n = int(text)
    except ValueError:
        pass
    else:
        if len(text.lstrip("0")) > MAX_PRECISION:
            raise SqlRefused(
                f"The number '{text[:40]}' is out of the range for numeric representation "
                "(maximum precision 38)."
            )
        return n if -INT64 <= n < INT64 else float(n)
    try:
        value = float(text)
    except ValueError:
        raise SqlRefused(f"Incorrect syntax near '{text[:40]}'.") from None
    if math.isinf(value) or math.isnan(value):
        raise SqlRefused(
            f"The floating point value '{text[:40]}' is out of the range of computer "
            "representation (8 bytes)."
        )
    return value


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
