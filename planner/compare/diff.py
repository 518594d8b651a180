"""What differs between two scenarios: settings and input rows (SPEC §7 `settings`, `rows`).

Rows are matched by their sheet's key (SPEC §2: the row's id, or id pair; a Rules
row is its own key), so the order of rows in the workbooks never shows as a
difference. A row in both whose columns differ gives one entry per column; a row
in one only gives one entry, its whole row on its side and `column` null. Values
are as scenario.json holds them (`inf` as text, lists as lists).

Each difference also knows how to apply itself alone to the first scenario
(`Difference.apply`), for the effects of `planner.compare.effects`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from planner.reports.scenario_json import SHEETS, scenario_document
from planner.scenario.data import Scenario
from planner.scenario.schema import SHEETS as SCHEMA_SHEETS

#: Key columns of each sheet scenario.json holds (Rules: the whole row).
KEYS: dict[str, tuple[str, ...]] = {sheet.name: sheet.key for sheet in SCHEMA_SHEETS}

#: Where each sheet's rows live on a Scenario, and their type.
ATTRIBUTE = {sheet: (attribute, row_type) for sheet, attribute, row_type in SHEETS}


@dataclass(frozen=True)
class Difference:
    """One differing setting (`sheet` None) or input row column (`column` None: the row
    is on one side only)."""

    sheet: str | None
    key: str | tuple[str, ...] | None
    column: str | None
    a: Any
    b: Any

    def record(self) -> dict[str, Any]:
        """The SPEC §7 entry: `{"setting", "a", "b"}` or `{"sheet", "key", "column", "a", "b"}`."""
        if self.sheet is None:
            return {"setting": self.column, "a": self.a, "b": self.b}
        key = list(self.key) if isinstance(self.key, tuple) else self.key
        return {"sheet": self.sheet, "key": key, "column": self.column, "a": self.a, "b": self.b}

    def label(self) -> str:
        """How people read it: `budget: 120 → 150`, `Options[APP-02].cost: 9 → 12`,
        `Coverage[APP-02, M3] added`."""
        if self.sheet is None:
            return f"{self.column}: {_show(self.a)} → {_show(self.b)}"
        key = ", ".join(self.key) if isinstance(self.key, tuple) else self.key
        where = f"{self.sheet}[{key}]"
        if self.column is None:
            return f"{where} {'added' if self.a is None else 'removed'}"
        return f"{where}.{self.column}: {_show(self.a)} → {_show(self.b)}"

    def size(self) -> float | None:
        """|b − a| for a number changed; None for anything else (text, a row added)."""
        a, b = _number(self.a), _number(self.b)
        if a is None or b is None:
            return None
        if math.isinf(a) and math.isinf(b) and a == b:
            return 0.0
        return abs(b - a)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if value in ("inf", "-inf"):
        return float(str(value))
    return None


def _show(value: object) -> str:
    if value is None:
        return "blank"
    if isinstance(value, float):
        return f"{value:.15g}"  # every digit a workbook can hold: 1234567 → 1234568 shows
    if isinstance(value, list):
        return ";".join(str(v) for v in value) if value else "(none)"
    return str(value)


def _sort_key(key: str | tuple[str, ...]) -> tuple[str, ...]:
    return (key,) if isinstance(key, str) else key


def _key(sheet: str, row: dict[str, Any]) -> str | tuple[str, ...]:
    columns = KEYS.get(sheet) or tuple(row)
    values = tuple(str(row[c]) for c in columns)
    return values[0] if len(values) == 1 else values


def setting_differences(a: Scenario, b: Scenario) -> list[Difference]:
    """Each setting whose effective value differs, in the Settings table's order."""
    doc_a, doc_b = scenario_document(a)["settings"], scenario_document(b)["settings"]
    return [
        Difference(None, None, name, doc_a[name], doc_b[name])
        for name in doc_a
        if doc_a[name] != doc_b[name]
    ]


def row_differences(a: Scenario, b: Scenario) -> list[Difference]:
    """Each input row added, removed or changed (per column), by sheet then key."""
    sheets_a, sheets_b = scenario_document(a)["sheets"], scenario_document(b)["sheets"]
    out: list[Difference] = []
    for sheet, _, _ in SHEETS:
        rows_a = {_key(sheet, r): r for r in sheets_a[sheet]}
        rows_b = {_key(sheet, r): r for r in sheets_b[sheet]}
        keyed = KEYS.get(sheet) or ()
        for key in sorted(rows_a.keys() | rows_b.keys(), key=_sort_key):
            row_a, row_b = rows_a.get(key), rows_b.get(key)
            if row_a is None or row_b is None:
                out.append(Difference(sheet, key, None, row_a, row_b))
                continue
            for column in row_a:
                if column not in keyed and row_a[column] != row_b[column]:
                    out.append(Difference(sheet, key, column, row_a[column], row_b[column]))
    return out


def apply_difference(scenario: Scenario, diff: Difference, b: Scenario) -> Scenario:
    """`scenario` (the first run's) with `diff` alone applied, its values taken from `b`.

    A setting goes through `with_settings` (checked as a Settings cell); a row is
    replaced, added or removed in the scenario's tuple. Raises `InputError` when
    the setting's value is refused.
    """
    if diff.sheet is None:
        column = str(diff.column)
        return scenario.with_settings(**{column: getattr(b.settings, column)})
    attribute, _ = ATTRIBUTE[diff.sheet]
    rows_a = list(getattr(scenario, attribute))
    rows_b = list(getattr(b, attribute))
    columns = KEYS.get(diff.sheet) or ()

    def key_of(row: object) -> str | tuple[str, ...]:
        names = columns or _row_columns(row)
        values = tuple(str(getattr(row, c)) for c in names)
        return values[0] if len(values) == 1 else values

    if diff.column is None and diff.a is None:  # added in b
        rows = [*rows_a, next(r for r in rows_b if key_of(r) == diff.key)]
        rows.sort(key=lambda r: _sort_key(key_of(r)))
    elif diff.column is None:  # removed in b
        rows = [r for r in rows_a if key_of(r) != diff.key]
    else:
        source = next(r for r in rows_b if key_of(r) == diff.key)
        value = getattr(source, diff.column)
        rows = [_replace(r, diff.column, value) if key_of(r) == diff.key else r for r in rows_a]
    return dataclasses.replace(scenario, **{attribute: tuple(rows)})  # type: ignore[arg-type]


def _row_columns(row: object) -> tuple[str, ...]:
    if hasattr(row, "_fields"):
        return tuple(row._fields)
    return tuple(f.name for f in dataclasses.fields(row))  # type: ignore[arg-type]


def _replace(row: Any, column: str, value: object) -> Any:
    if hasattr(row, "_replace"):  # a NamedTuple row
        return row._replace(**{column: value})
    return dataclasses.replace(row, **{column: value})


def dangling(scenario: Scenario) -> str | None:
    """What a variant refers to that it does not hold (an option's partner, a Coverage
    row's option), or None: a row added or removed alone may leave such a reference."""
    options = {o.option_id for o in scenario.options}
    markets = {m.market_id for m in scenario.markets}
    partners = {p.partner_id for p in scenario.partners}
    resources = {r.resource for r in scenario.resources}
    for o in scenario.options:
        if o.partner_id not in partners:
            return f"option {o.option_id} names partner {o.partner_id}, which it lacks"
    for row in scenario.coverage:
        if row.option_id not in options or row.market_id not in markets:
            return f"a Coverage row names {row.option_id}/{row.market_id}, which it lacks"
    for use in scenario.usage:
        if use.option_id not in options or use.resource not in resources:
            return f"a Usage row names {use.option_id}/{use.resource}, which it lacks"
    for rule in scenario.rules:
        if rule.option_id not in options or rule.other_option_id not in options:
            return f"a rule names {rule.option_id}/{rule.other_option_id}, which it lacks"
    return None
