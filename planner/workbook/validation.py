"""Turn a workbook's raw cells into a validated `Scenario`, or say everything wrong with it.

Every check here is driven by `planner.scenario.schema`; every problem is collected (not
raised at the first one) so a planner fixes the workbook in one pass. The
conversion loops are written for speed: a scenario with 250,000 rows must be
read and validated in a few seconds.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.errors import InputError, Problem
from planner.scenario.data import (
    Coverage,
    Layer,
    Market,
    Offer,
    Option,
    Partner,
    Resource,
    Rule,
    Scenario,
    Settings,
    Usage,
    canonical_name,
)
from planner.scenario.schema import (
    SETTING_BY_KEY,
    SETTINGS,
    SHEETS,
    Column,
    Kind,
    Sheet,
    canonical_header,
)
from planner.scenario.values import (
    CONVERTERS,
    BadValue,
    convert_value,
    in_range,
    is_blank,
    nfc,
)
from planner.workbook.cell_changes import (
    CELL_FORM,
    BadCellName,
    CellChange,
    CellTargets,
    Placed,
    Target,
    is_cell_name,
    name_problem,
    parse_cell,
    relocated,
    value_problem,
)
from planner.workbook.reader import RawSheet, RawWorkbook, column_letter, read_workbook

BASE = "base"
_BLANK = object()
"""A setting value that was wrong and has been reported."""
_REPORTED = object()
"""A cell already reported (a formula without a cached value)."""


@dataclass(frozen=True, slots=True)
class _Missing:
    """A blank required setting: an error only if no later override fills it."""

    sheet: str
    row: int | None


def _fast_column(col: Column, cells: list[object]) -> list[object] | None:
    """Whole-column conversion when every cell is of the plain expected type.

    Large scenarios are almost entirely such columns; None sends the column to
    the cell-by-cell path, which finds and reports whatever is unusual.
    """
    types = set(map(type, cells))
    if not cells:
        return []
    if col.kind is Kind.ID or col.kind is Kind.TEXT:
        if types == {str}:
            out = [v.strip() for v in cells]  # type: ignore[attr-defined]
            if all(out):
                return out if all(map(str.isascii, out)) else list(map(nfc, out))
        return None
    if col.kind is Kind.NAME:
        if types == {str}:
            out = [" ".join(v.split()) for v in cells]  # type: ignore[attr-defined]
            if all(out):
                return out if all(map(str.isascii, out)) else list(map(nfc, out))
        return None
    if col.kind is Kind.NUMBER and types <= {float, int}:
        numbers = [float(v) for v in cells]  # type: ignore[arg-type]
        if not all(map(math.isfinite, numbers)):
            return None
        low, high = min(numbers), max(numbers)
        if not (in_range(col, low) and in_range(col, high)):
            return None
        return numbers  # type: ignore[return-value]
    return None


@dataclass(slots=True)
class _Table:
    """A sheet's rows converted by its schema: row numbers and one list per column."""

    sheet: Sheet
    name: str
    rows: list[int]
    values: dict[str, list[object]]


class _Checker:
    """Collects problems while turning raw sheets into tables."""

    def __init__(self, raw: RawWorkbook) -> None:
        self.raw = raw
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def add(
        self,
        sheet: str | None,
        row: int | None,
        column: str | None,
        value: object,
        expected: str,
        found: bool = True,
    ) -> None:
        self.problems.append(Problem(sheet, row, column, value, expected, found))

    def table(self, sheet: Sheet, judged_later: tuple[str, ...] = ()) -> _Table | None:
        """Convert a sheet's rows by its schema; None when it is absent or unreadable.

        Columns named in `judged_later` keep their cells as found (blank as None),
        for a rule that depends on the row (a scenario's value, by its setting).
        """
        raw = self.raw.sheets.get(canonical_header(sheet.name))
        if raw is None:
            if sheet.required:
                self.add(
                    sheet.name,
                    None,
                    None,
                    None,
                    f"a sheet named {sheet.name} (it is required)",
                    found=False,
                )
            return None
        index = self._header_index(sheet, raw)
        if index is None:
            return None
        return self._convert_rows(sheet, raw, index, judged_later)

    def _header_index(self, sheet: Sheet, raw: RawSheet) -> dict[str, int] | None:
        known = {canonical_header(c.name): c.name for c in sheet.columns}
        index: dict[str, int] = {}
        for i, header in enumerate(raw.headers):
            if is_blank(header) or not isinstance(header, str):
                continue
            name = known.get(canonical_header(header))
            if name is None:
                continue  # extra columns (notes, sources) are allowed
            if name in index:
                self.add(
                    raw.name,
                    1,
                    raw.letter(i),
                    header,
                    f"the column {name} only once (it is also column {raw.letter(index[name])})",
                )
                continue
            index[name] = i
        ok = True
        for col in sheet.columns:
            if col.required and col.name not in index:
                self.add(
                    raw.name,
                    1,
                    None,
                    None,
                    f"a column headed {col.name} in row 1 (it is required)",
                    found=False,
                )
                ok = False
        return index if ok else None

    def _convert_rows(
        self, sheet: Sheet, raw: RawSheet, index: dict[str, int], judged_later: tuple[str, ...]
    ) -> _Table:
        rows = [r for r, _ in raw.rows]
        values: dict[str, list[object]] = {}
        for col in sheet.columns:
            i = index.get(col.name)
            if i is None:
                values[col.name] = [col.default] * len(rows)
                continue
            cells = [row[i] for _, row in raw.rows]  # rows are padded to the header's width
            if col.name in judged_later:
                values[col.name] = self._as_found(raw, rows, cells, i, col.name)
                continue
            fast = _fast_column(col, cells)
            values[col.name] = (
                fast if fast is not None else self._slow_column(col, raw, rows, cells, i)
            )
        # Formulas without a cached value outside the data area calamine returned.
        if raw.uncached_formulas:
            kept, used = set(rows), {i: name for name, i in index.items()}
            for excel_row, i in sorted(raw.uncached_formulas):
                if i in used and excel_row not in kept:
                    self._formula(raw.name, excel_row, i, used[i])
        for col in sheet.columns:  # e.g. a blank name takes the row's id
            if col.default_from is not None:
                ids = values[col.default_from]
                values[col.name] = [
                    ids[k] if v is None else v for k, v in enumerate(values[col.name])
                ]
        return _Table(sheet, raw.name, rows, values)

    def _slow_column(
        self, col: Column, raw: RawSheet, rows: list[int], cells: list[object], i: int
    ) -> list[object]:
        """Cell by cell, for columns with blanks, text numbers or mistakes."""
        convert = CONVERTERS[col.kind]
        formulas = raw.uncached_formulas
        out: list[object] = []
        for excel_row, value in zip(rows, cells, strict=True):
            if is_blank(value):
                if formulas and (excel_row, i) in formulas:
                    self._formula(raw.name, excel_row, i, col.name)
                elif col.required:
                    self.add(
                        raw.name,
                        excel_row,
                        col.name,
                        value,
                        f"{col.expected()} (this column is required)",
                    )
                out.append(col.default)
                continue
            try:
                converted = convert(value)
                if not in_range(col, converted):
                    raise BadValue
            except BadValue:
                self.add(raw.name, excel_row, col.name, value, col.expected())
                converted = col.default
            out.append(converted)
        return out

    def _as_found(
        self, raw: RawSheet, rows: list[int], cells: list[object], i: int, name: str
    ) -> list[object]:
        """Cells as found, blank as None; a formula without a cached value is reported."""
        out: list[object] = []
        for excel_row, value in zip(rows, cells, strict=True):
            if not is_blank(value):
                out.append(value)
            elif (excel_row, i) in raw.uncached_formulas:
                self._formula(raw.name, excel_row, i, name)
                out.append(_REPORTED)
            else:
                out.append(None)
        return out

    def _formula(self, sheet: str, row: int, col: int, name: str | None = None) -> None:
        self.add(
            sheet,
            row if row else None,
            name or (column_letter(col) if col >= 0 else None),
            None,
            "a value, found a formula with no cached value; open and save the workbook "
            "in Excel (or type the value)",
            found=False,
        )

    def unique(self, table: _Table, columns: Sequence[str]) -> list[bool]:
        """Flag rows whose key repeats an earlier row's; report each repeat once."""
        cols = [table.values[c] for c in columns]
        keys = list(zip(*cols, strict=True)) if len(cols) > 1 else cols[0]
        if (
            len(set(keys)) == len(keys)
            and None not in keys
            and all(None not in k for k in keys if type(k) is tuple)
        ):
            return [True] * len(keys)
        seen: dict[tuple[object, ...], int] = {}
        keep: list[bool] = []
        for i in range(len(table.rows)):
            key = tuple(col[i] for col in cols)
            if any(k is None for k in key):
                keep.append(False)
                continue
            first = seen.setdefault(key, i)
            if first != i:
                what = (
                    f"each {columns[0]} only once"
                    if len(columns) == 1
                    else f"each {' and '.join(columns)} pair only once"
                )
                self.add(
                    table.name,
                    table.rows[i],
                    columns[-1],
                    key[-1],
                    f"{what} (row {table.rows[first]} has the same)",
                )
                keep.append(False)
            else:
                keep.append(True)
        return keep


def _settings_rows(checker: _Checker) -> dict[str, tuple[object, str, int | None]]:
    """Setting key -> (raw value, sheet, row) from the Settings sheet."""
    out: dict[str, tuple[object, str, int | None]] = {}
    raw = checker.raw.sheets.get("settings")
    if raw is None:
        checker.add(
            "Settings", None, None, None, "a sheet named Settings (it is required)", found=False
        )
        return out
    sheet = SHEETS[0]
    index = checker._header_index(sheet, raw)
    if index is None:
        return out
    si, vi = index["setting"], index.get("value")
    for excel_row, cells in raw.rows:
        name = cells[si] if si < len(cells) else ""
        value = cells[vi] if vi is not None and vi < len(cells) else ""
        if vi is not None and (excel_row, vi) in raw.uncached_formulas:
            checker._formula(raw.name, excel_row, vi, "value")
            value = _REPORTED
        if is_blank(name):
            checker.add(
                raw.name,
                excel_row,
                "setting",
                name,
                "the name of a setting (a value is given without one)",
            )
            continue
        key = canonical_header(str(name))
        if key not in SETTING_BY_KEY:
            checker.add(raw.name, excel_row, "setting", name, _known_settings())
            continue
        if key in out:
            checker.add(
                raw.name,
                excel_row,
                "setting",
                name,
                f"each setting once (row {out[key][2]} sets it too)",
            )
            continue
        out[key] = (value, raw.name, excel_row)
    return out


def _known_settings() -> str:
    return "one of the settings " + ", ".join(s.name for s in SETTINGS)


def _known_names(name: object) -> str:
    """What a name must be where a cell change is accepted as well as a setting; the cell
    form is shown when the name looks like an attempt at one (`Options.cost`)."""
    if "." in str(name):
        return f"{_known_settings()}, or {CELL_FORM}"
    return _known_settings()


Entry = tuple[object, str, int | None]
"""A setting's raw value and where it was given: (value, sheet or origin, row)."""


@dataclass(slots=True)
class _ScenarioRows:
    """The Scenarios sheet, read: each scenario's settings and cell changes.

    Keys are scenario names casefolded (they match case-insensitively, like
    setting names); `spelled` keeps the first spelling for messages.
    """

    settings: dict[str, dict[str, Entry]]
    cells: dict[str, list[CellChange]]
    spelled: dict[str, str]


def _scenario_overrides(checker: _Checker) -> _ScenarioRows:
    """Every row of the Scenarios sheet checked, chosen scenario or not: names, settings,
    values of settings, the form of cell names (their rows are looked up later)."""
    # A value is judged by the setting it overrides, as on the Settings sheet.
    table = checker.table(next(s for s in SHEETS if s.name == "Scenarios"), ("value",))
    found = _ScenarioRows({}, {}, {})
    if table is None:
        return found
    first_change: dict[tuple[str, tuple[object, ...]], int] = {}
    columns = (table.values["scenario"], table.values["setting"], table.values["value"])
    for i, (name, setting, value) in enumerate(zip(*columns, strict=True)):
        if name is None or setting is None:
            continue
        row = table.rows[i]
        if str(name).casefold() == BASE:
            checker.add(
                table.name,
                row,
                "scenario",
                name,
                "a scenario name other than base (base is the Settings sheet alone)",
            )
            continue
        # Named on the sheet, the scenario exists, even if its rows are all mistakes:
        # choosing it reports those, not "no such scenario" besides.
        scenario = str(name).casefold()
        found.spelled.setdefault(scenario, str(name))
        chosen = found.settings.setdefault(scenario, {})
        key = canonical_header(str(setting))
        if key not in SETTING_BY_KEY and not is_cell_name(str(setting)):
            checker.add(table.name, row, "setting", setting, _known_names(setting))
            continue
        if key not in SETTING_BY_KEY:
            try:
                cell = parse_cell(str(setting))
            except BadCellName as exc:
                checker.problems.append(name_problem(table.name, row, setting, exc.expected))
                continue
            identity = (scenario, (cell.sheet.name, cell.key, cell.column.name))
            if identity in first_change:
                checker.add(
                    table.name,
                    row,
                    "setting",
                    setting,
                    f"each cell once per scenario (row {first_change[identity]} changes it too)",
                )
                continue
            first_change[identity] = row
            if value is not _REPORTED:  # a formula without a cached value: reported
                change = CellChange(cell, value, table.name, row, str(setting))
                found.cells.setdefault(scenario, []).append(change)
            continue
        if key in chosen:
            checker.add(
                table.name,
                row,
                "setting",
                setting,
                f"each setting once per scenario (row {chosen[key][2]} sets it too)",
            )
            continue
        chosen[key] = (value, table.name, row)
    return found


def scenario_names(raw: RawWorkbook) -> tuple[str, ...]:
    """The scenarios of the Scenarios sheet, each as first spelled, sorted; problems of the
    sheet are left for `check_workbook` to report."""
    return tuple(sorted(_scenario_overrides(_Checker(raw)).spelled.values()))


def parse_set_options(pairs: Sequence[str]) -> list[tuple[str, str]]:
    """`--set SETTING=VALUE` strings as pairs; malformed ones are usage errors."""
    problems = []
    out = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            problems.append(Problem("--set", None, None, pair, "SETTING=VALUE"))
            continue
        out.append((name.strip(), value.strip()))
    if problems:
        raise InputError(problems)
    return out


def _setting(checker: _Checker, key: str, entry: tuple[object, str, int | None]) -> object:
    """A setting's value, its default when blank, or _BLANK after reporting a problem."""
    spec = SETTING_BY_KEY[key]
    value, sheet, row = entry
    if value is _REPORTED:
        return _BLANK
    if spec.required and is_blank(value):
        return _Missing(sheet, row)
    try:
        return convert_value(spec, value)
    except BadValue:
        why = " (it is required)" if spec.required and is_blank(value) else ""
        if _outside_workbook(sheet):
            checker.add(sheet, row, spec.name, value, f"{spec.expected()}{why}")
        else:
            checker.add(sheet, row, "value", value, f"{spec.name}: {spec.expected()}{why}")
        return _BLANK


def _outside_workbook(sheet: str) -> bool:
    """Whether a problem's `sheet` is a command-line option (`--set`) or an API argument."""
    return sheet.startswith("--") or sheet.endswith("()")


@dataclass(slots=True)
class _CellChanges:
    """The cell changes of a call: those applied, in order (later ones win), and those
    only checked (other scenarios', so every problem shows in one run)."""

    applied: list[CellChange]
    checked: list[CellChange]


def _resolve_settings(
    checker: _Checker,
    scenario: str | None,
    overrides: Sequence[tuple[str, object]],
    origin: str = "--set",
) -> tuple[Settings | None, _CellChanges]:
    """Settings sheet, then the chosen scenario's overrides, then `overrides` (given as
    `origin`: `--set` or an API call); all values checked, chosen or not, so every
    problem shows in one run. Cell changes are gathered in the same order, for
    `check_workbook` to apply."""
    layered = {key: _setting(checker, key, entry) for key, entry in _settings_rows(checker).items()}
    rows = _scenario_overrides(checker)
    scenarios = {
        name: {key: _setting(checker, key, entry) for key, entry in entries.items()}
        for name, entries in rows.settings.items()
    }
    cells = _CellChanges([], [])
    chosen = None
    if scenario is not None and scenario.strip().casefold() != BASE:
        chosen = scenario.strip().casefold()
        if chosen not in scenarios:
            names = ", ".join(sorted(rows.spelled.values())) or "none (there is no Scenarios sheet)"
            checker.add(
                "--scenario",
                None,
                None,
                scenario,
                f"the name of a scenario in the Scenarios sheet: base or {names}",
            )
        else:
            layered.update(scenarios[chosen])
    for name, changes in rows.cells.items():
        (cells.applied if name == chosen else cells.checked).extend(changes)
    for name, text in overrides:
        name = str(name)
        key = canonical_header(name)
        if key in SETTING_BY_KEY:
            layered[key] = _setting(checker, key, (text, origin, None))
        elif not is_cell_name(name):
            checker.problems.append(name_problem(origin, None, name, _known_names(name)))
        else:
            try:
                cell = parse_cell(name)
            except BadCellName as exc:
                checker.problems.append(name_problem(origin, None, name.strip(), exc.expected))
                continue
            cells.applied.append(CellChange(cell, text, origin, None, name.strip()))
    values: dict[str, object] = {}
    for spec in SETTINGS:
        key = canonical_header(spec.name)
        if key not in layered:
            if spec.required:
                checker.add(
                    "Settings",
                    None,
                    "setting",
                    None,
                    f"a row setting {spec.name} (it is required)",
                    found=False,
                )
            continue
        value = layered[key]
        if isinstance(value, _Missing):
            where = spec.name if _outside_workbook(value.sheet) else "value"
            checker.add(
                value.sheet,
                value.row,
                where,
                None,
                f"{spec.name}: {spec.expected()} (it is required)",
            )
            value = _BLANK
        values[spec.name] = value
    if any(v is _BLANK for v in values.values()) or checker.problems:
        return None, cells
    return Settings(**values), cells  # type: ignore[arg-type]


def check_workbook(
    raw: RawWorkbook,
    scenario: str | None = None,
    overrides: Sequence[tuple[str, object]] = (),
    origin: str = "--set",
) -> Scenario:
    """The validated scenario, or InputError listing every problem found.

    `scenario` names a row group of the Scenarios sheet (None or "base": the
    Settings sheet alone); `overrides` are setting, value pairs applied last,
    located as `origin` in messages (`--set` on the command line, `load()` in
    the API).

    A setting name may also name a cell of another sheet, `Sheet[key].column`
    (SPEC §2): the chosen scenario's cell changes, then those of `overrides`, are
    written into a copy of the raw cells before the sheets are checked, so each
    new value is checked like the cell it replaces, and its problems are located
    where it was typed. Other scenarios' cell changes are checked too: that their
    row and column exist, and their value by its column's own rule.
    """
    checker = _Checker(raw)
    settings, cells = _resolve_settings(checker, scenario, overrides, origin)
    placed: Placed = {}
    if cells.applied or cells.checked:
        checker.raw, placed = _change_cells(checker, cells)
    spec = {s.name: s for s in SHEETS}
    tables = {
        name: checker.table(spec[name]) for name in spec if name not in ("Settings", "Scenarios")
    }
    # A sheet already reported as missing or unreadable must not make every reference
    # to it an error too: references into it are not checked (`None` below).
    broken = {
        name
        for name, table in tables.items()
        if table is None and (spec[name].required or canonical_header(name) in raw.sheets)
    }

    def known(name: str, ids: dict) -> dict | None:
        return None if name in broken else ids

    layers = _layers(checker, tables["Layers"])
    partners = _partners(checker, tables["Partners"])
    options = _options(checker, tables["Options"], known("Partners", partners), layers)
    option_layers = {o.layer for o in options.values() if o.layer is not None}
    if "Options" in broken and not layers:
        option_layers = None  # type: ignore[assignment]
    markets = _markets(checker, tables["Markets"], layers, option_layers)
    coverage = _coverage(
        checker, tables["Coverage"], known("Options", options), known("Markets", markets)
    )
    offers = _offers(checker, tables["CoFinancing"], layers, option_layers, markets, options)
    resources = _resources(checker, tables["Resources"])
    usage = _usage(
        checker, tables["Usage"], known("Options", options), known("Resources", resources)
    )
    rules = _rules(checker, tables["Rules"], known("Options", options))
    if checker.problems or settings is None:
        raise InputError(relocated(checker.problems, placed))
    return Scenario(
        name=BASE if scenario is None else scenario,
        settings=settings,
        markets=tuple(sorted(markets.values(), key=lambda m: m.market_id)),
        partners=tuple(sorted(partners.values(), key=lambda p: p.partner_id)),
        options=tuple(sorted(options.values(), key=lambda o: o.option_id)),
        coverage=tuple(coverage),  # sorted by (option_id, market_id) as built
        layers=tuple(sorted(layers.values(), key=lambda layer: layer.layer)),
        offers=tuple(sorted(offers.values(), key=lambda c: c.offer_id)),
        resources=tuple(sorted(resources.values(), key=lambda r: r.resource)),
        usage=tuple(usage),  # sorted by (option_id, resource) as built
        rules=tuple(sorted(rules, key=lambda r: (r.rule, r.option_id, r.other_option_id))),
        warnings=tuple(checker.warnings),
    )


def _change_cells(checker: _Checker, cells: _CellChanges) -> tuple[RawWorkbook, Placed]:
    """The raw workbook with the applied cell changes written in (a copy of the sheets they
    change), every change's row looked up.

    A change that is not written in (another scenario's, one overridden later, one
    whose row is unknown) has its value checked by its column's own rule instead.
    """
    targets = CellTargets(checker.raw)
    latest: dict[tuple[str, int, str], tuple[CellChange, Target]] = {}
    unwritten: list[CellChange] = []
    marked = [(change, True) for change in cells.applied]
    for change, applies in [*marked, *((change, False) for change in cells.checked)]:
        found = targets.locate(change)
        if isinstance(found, Problem):
            checker.problems.append(found)
        if not isinstance(found, Target) or not applies:
            unwritten.append(change)
            continue
        cell = (found.sheet, found.position, change.cell.column.name)
        if cell in latest:
            unwritten.append(latest[cell][0])
        latest[cell] = (change, found)
    for change in unwritten:
        problem = value_problem(change)
        if problem is not None:
            checker.problems.append(problem)
    return targets.apply(latest.values())


def _kept(checker: _Checker, table: _Table) -> list[int]:
    """Indices of rows with a unique, non-blank key (duplicates are reported)."""
    if not table.sheet.key:
        return list(range(len(table.rows)))
    keep = checker.unique(table, table.sheet.key)
    return [i for i, ok in enumerate(keep) if ok]


def _columns(table: _Table, names: Sequence[str], kept: list[int]) -> list[list[object]]:
    if len(kept) == len(table.rows):
        return [table.values[n] for n in names]
    return [[table.values[n][i] for i in kept] for n in names]


def _keyed_rows(checker: _Checker, table: _Table | None) -> Iterable[tuple[int, dict]]:
    """Rows as dicts, for the small sheets where clarity beats speed."""
    if table is None:
        return
    names = [c.name for c in table.sheet.columns]
    columns = [table.values[n] for n in names]
    for i in _kept(checker, table):
        yield i, dict(zip(names, (col[i] for col in columns), strict=True))


def _check_refs(
    checker: _Checker, table: _Table, column: str, known: Iterable[str] | None, expected: str
) -> set[object]:
    """Report values of `column` not in `known`; returns the unknown values.

    `known` is None when the referenced sheet is itself broken (already reported).
    """
    if known is None:
        return set()
    values = table.values[column]
    unknown = set(values) - set(known) - {None}
    if unknown:
        for i, value in enumerate(values):
            if value in unknown:
                checker.add(table.name, table.rows[i], column, value, expected)
    return unknown


def _layers(checker: _Checker, table: _Table | None) -> dict[str, Layer]:
    out = {}
    for _, r in _keyed_rows(checker, _canonical_key(table, "layer")):
        out[r["layer"]] = Layer(r["layer"], r["min_trust"], r["max_foreign_share"])
    return out


def _canonical_key(table: _Table | None, column: str) -> _Table | None:
    """Layer and kind names compare case-insensitively: canonicalise them once, here.

    Values are already whitespace-collapsed by the NAME conversion.
    """
    if table is not None:
        table.values[column] = [v.casefold() if type(v) is str else v for v in table.values[column]]
    return table


def _partners(checker: _Checker, table: _Table | None) -> dict[str, Partner]:
    return {
        r["partner_id"]: Partner(r["partner_id"], r["name"], r["country"], r["trust"])
        for _, r in _keyed_rows(checker, table)
    }


def _known_layer(layers: dict[str, Layer]) -> str:
    """What a layer name must be when a Layers sheet exists (the list of layers)."""
    return f"a layer listed in the Layers sheet ({_first(sorted(layers))})"


def _first(names: Sequence[object], shown: int = 12) -> str:
    """A list for a message, cut short: a scenario may name thousands."""
    return ", ".join(map(str, names[:shown])) + (" …" if len(names) > shown else "")


def _supplied_by_options(option_layers: set[str]) -> str:
    """The hint after an unsupplied layer name: what the options do supply (typo or not)."""
    if not option_layers:
        return "no option has a layer"
    return f"the layers of Options are {_first(sorted(option_layers))}"


_OPTION_FIELDS = ("option_id", "partner_id", "name", "layer", "kind", "cost", "decision")


def _options(
    checker: _Checker,
    table: _Table | None,
    partners: dict[str, Partner] | None,
    layers: dict[str, Layer],
) -> dict[str, Option]:
    if table is None:
        return {}
    _canonical_key(_canonical_key(table, "layer"), "kind")
    _check_refs(checker, table, "partner_id", partners, "the id of a partner in the Partners sheet")
    if layers:
        _check_refs(checker, table, "layer", layers, _known_layer(layers))
    columns = _columns(table, _OPTION_FIELDS, _kept(checker, table))
    return {row[0]: Option(*row) for row in zip(*columns, strict=True)}


def _markets(
    checker: _Checker,
    table: _Table | None,
    layers: dict[str, Layer],
    option_layers: set[str] | None,
) -> dict[str, Market]:
    """Markets; `option_layers` is None when the layers in use cannot be known.

    With a Layers sheet a required layer must be listed there (an input error
    otherwise). Without one, a required layer no option supplies is a warning,
    one per layer name: the Markets sheet may be shared by scenarios, and one
    without options of that layer simply cannot reach those markets (SPEC §2).
    """
    out: dict[str, Market] = {}
    known = set(layers) if layers else (option_layers or set())
    unknowable = not layers and option_layers is None
    unsupplied: dict[str, list[tuple[int, str]]] = {}
    for i, r in _keyed_rows(checker, table):
        assert table is not None
        required = r["required_layers"]
        if required is None:  # * means every layer
            required = tuple(sorted(known))
        elif not unknowable:
            for name in required:
                if name in known:
                    continue
                if layers:
                    checker.add(
                        table.name, table.rows[i], "required_layers", name, _known_layer(layers)
                    )
                else:
                    unsupplied.setdefault(name, []).append((table.rows[i], r["market_id"]))
        out[r["market_id"]] = Market(
            r["market_id"], r["name"], r["region"], r["weight"], r["addressable"], required
        )
    for name, where in sorted(unsupplied.items()):
        assert table is not None and option_layers is not None
        rows, ids = [w[0] for w in where], [w[1] for w in where]
        plural = len(where) > 1
        checker.warnings.append(
            f"{table.name} row{'s' if plural else ''} {_first(rows)} (required_layers): "
            f"no option supplies layer {name!r}, so market{'s' if plural else ''} "
            f"{_first(ids)} {'are' if plural else 'is'} unreachable "
            f"({_supplied_by_options(option_layers)})"
        )
    return out


def _coverage(
    checker: _Checker,
    table: _Table | None,
    options: dict[str, Option] | None,
    markets: dict[str, Market] | None,
) -> list[Coverage]:
    if table is None:
        return []
    bad_options = _check_refs(
        checker, table, "option_id", options, "the id of an option in the Options sheet"
    )
    bad_markets = _check_refs(
        checker, table, "market_id", markets, "the id of a market in the Markets sheet"
    )
    columns = _columns(table, ("option_id", "market_id", "reach"), _kept(checker, table))
    rows: Iterable[tuple[object, ...]] = zip(*columns, strict=True)
    if bad_options or bad_markets:
        rows = (r for r in rows if r[0] not in bad_options and r[1] not in bad_markets)
    return list(map(Coverage._make, sorted(rows)))


def _offers(
    checker: _Checker,
    table: _Table | None,
    layers: dict[str, Layer],
    option_layers: set[str] | None,
    markets: dict[str, Market],
    options: dict[str, Option],
) -> dict[str, Offer]:
    out: dict[str, Offer] = {}
    known_layers = set(layers) if layers else option_layers
    # Blank or unreadable cells are None here (already reported): skip them.
    known_regions = {canonical_name(m.region) for m in markets.values() if m.region}
    known_kinds = {o.kind for o in options.values() if o.kind}
    for i, r in _keyed_rows(checker, table):
        assert table is not None
        named = r["layers"] or ()
        unknown = [n for n in named if known_layers is not None and n not in known_layers]
        if unknown and layers:
            for name in unknown:
                checker.add(table.name, table.rows[i], "layers", name, _known_layer(layers))
        elif unknown:  # no Layers sheet: the CoFinancing sheet may be shared (SPEC §2)
            assert option_layers is not None
            consequence = (
                "its layer filter matches no option, so the offer is useless"
                if len(unknown) == len(named)
                else "that part of its layer filter matches no option"
            )
            checker.warnings.append(
                f"{table.name} row {table.rows[i]} (layers): offer {r['offer_id']} names "
                f"layer{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}, "
                f"which no option supplies; {consequence} "
                f"({_supplied_by_options(option_layers)})"
            )
        for name in r["regions"] or ():
            if name not in known_regions:
                checker.warnings.append(
                    f"CoFinancing row {table.rows[i]}: offer {r['offer_id']} names region "
                    f"{name!r}, which no market has; the offer may be useless"
                )
        for name in r["kinds"] or ():
            if name not in known_kinds:
                checker.warnings.append(
                    f"CoFinancing row {table.rows[i]}: offer {r['offer_id']} names kind "
                    f"{name!r}, which no option has"
                )
        out[r["offer_id"]] = Offer(
            r["offer_id"],
            r["financier"],
            r["share"],
            r["cap"],
            r["fee"],
            r["min_eligible_spend"],
            r["regions"],
            r["kinds"],
            r["layers"],
            r["decision"],
        )
    return out


def _resources(checker: _Checker, table: _Table | None) -> dict[str, Resource]:
    return {
        r["resource"]: Resource(r["resource"], r["capacity"])
        for _, r in _keyed_rows(checker, table)
    }


def _usage(
    checker: _Checker,
    table: _Table | None,
    options: dict[str, Option] | None,
    resources: dict[str, Resource] | None,
) -> list[Usage]:
    if table is None:
        return []
    bad_options = _check_refs(
        checker, table, "option_id", options, "the id of an option in the Options sheet"
    )
    bad_resources = _check_refs(
        checker, table, "resource", resources, "a resource listed in the Resources sheet"
    )
    columns = _columns(table, ("option_id", "resource", "amount"), _kept(checker, table))
    rows = sorted(zip(*columns, strict=True))
    return [
        Usage._make(row)
        for row in rows
        if row[0] not in bad_options and row[1] not in bad_resources
    ]


def _rules(
    checker: _Checker, table: _Table | None, options: dict[str, Option] | None
) -> list[Rule]:
    out = []
    for i, r in _keyed_rows(checker, table):
        assert table is not None
        ok = r["rule"] is not None
        for column in ("option_id", "other_option_id"):
            if r[column] is not None and options is not None and r[column] not in options:
                checker.add(
                    table.name,
                    table.rows[i],
                    column,
                    r[column],
                    "the id of an option in the Options sheet",
                )
                ok = False
        if r["option_id"] is not None and r["option_id"] == r["other_option_id"]:
            checker.add(
                table.name,
                table.rows[i],
                "other_option_id",
                r["other_option_id"],
                "an option other than option_id (a rule links two options)",
            )
            ok = False
        if ok and r["option_id"] is not None and r["other_option_id"] is not None:
            out.append(Rule(r["rule"], r["option_id"], r["other_option_id"]))
    return out


def load_scenario(
    path: str | Path,
    scenario: str | None = None,
    overrides: Sequence[tuple[str, object]] = (),
    origin: str = "--set",
) -> Scenario:
    """Read and validate in one call: the workbook's scenario, or InputError.

    The process's garbage collector is left alone: a library must not switch
    process-wide state under its caller's other threads. A command that owns the
    process may wrap the call in `without_cyclic_gc()` to read large workbooks faster.
    """
    return check_workbook(read_workbook(path), scenario, overrides, origin)


@contextlib.contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector while hundreds of thousands of cells become objects.

    Reading builds only acyclic data (lists, strings, tuples), yet every few
    hundred allocations trigger a collection that walks them all again: measured
    on 250,000 rows, 3.0 s with the collector against 1.8 s without.

    The switch is process-wide, so only the process's owner may use this: the
    command line around `load_scenario`, a benchmark script, an application that
    knows no other thread relies on the collector meanwhile. Library code does not.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
