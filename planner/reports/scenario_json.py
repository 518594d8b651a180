"""scenario.json: the scenario a run solved, as loaded and validated (SPEC §7).

Every run folder keeps it, so `planner compare` and `planner verify` never need
the original workbook: every row of every sheet after defaults (sheet and column
names as in the workbook), in the scenario's own order (the reader's code-point
order of keys), the effective settings, the scenario's name and the workbook it
was read from. `scenario_from_document` rebuilds a `Scenario` equal to the one
written.

JSON has no infinity: a float that is not finite is written as the text "inf",
"-inf" or "nan" and read back by the column's type. Lists of names (`*` kept as
null) are JSON arrays and come back as tuples.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

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
    Source,
    Usage,
)

SCHEMA = "partnership-scenario/1"

#: (sheet name in the workbook, Scenario attribute, row type), in the workbook's order.
SHEETS: tuple[tuple[str, str, type], ...] = (
    ("Markets", "markets", Market),
    ("Partners", "partners", Partner),
    ("Options", "options", Option),
    ("Coverage", "coverage", Coverage),
    ("Layers", "layers", Layer),
    ("CoFinancing", "offers", Offer),
    ("Resources", "resources", Resource),
    ("Usage", "usage", Usage),
    ("Rules", "rules", Rule),
)

#: Columns holding numbers, by row type: the only ones whose text "inf" is a float.
_FLOAT_COLUMNS: dict[type, frozenset[str]] = {
    Settings: frozenset(
        {
            "budget",
            "min_partner_trust",
            "min_average_trust",
            "max_foreign_share",
            "max_country_share",
            "max_cofinance_share",
            "time_limit_s",
            "mip_gap",
        }
    ),
    Market: frozenset({"weight", "addressable"}),
    Partner: frozenset({"trust"}),
    Option: frozenset({"cost"}),
    Coverage: frozenset({"reach"}),
    Layer: frozenset({"min_trust", "max_foreign_share"}),
    Offer: frozenset({"share", "cap", "fee", "min_eligible_spend"}),
    Resource: frozenset({"capacity"}),
    Usage: frozenset({"amount"}),
    Rule: frozenset(),
}


class ScenarioDocumentError(ValueError):
    """A scenario.json that is not one this version reads (says what and where)."""


def _column_names(row_type: type) -> tuple[str, ...]:
    if hasattr(row_type, "_fields"):  # a NamedTuple row (Coverage, Usage)
        return tuple(row_type._fields)
    return tuple(f.name for f in fields(row_type))


def _encode(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: object, is_float: bool) -> object:
    if isinstance(value, list):
        return tuple(_decode(v, False) for v in value)
    if is_float and isinstance(value, str):
        if value not in ("inf", "-inf", "nan"):
            raise ScenarioDocumentError(f"{value!r} is not a number")
        return float(value)
    if is_float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _row(row: object, columns: tuple[str, ...]) -> dict[str, object]:
    return {name: _encode(getattr(row, name)) for name in columns}


def scenario_document(scenario: Scenario) -> dict[str, Any]:
    """scenario.json as plain JSON-ready data (see the module's docstring)."""
    source = scenario.source
    sheets = {}
    for sheet, attribute, row_type in SHEETS:
        columns = _column_names(row_type)
        sheets[sheet] = [_row(row, columns) for row in getattr(scenario, attribute)]
    return {
        "schema": SCHEMA,
        "scenario": scenario.name,
        "source": None
        if source is None
        else {"workbook": source.workbook, "sha256": source.sha256},
        "settings": _row(scenario.settings, _column_names(Settings)),
        "sheets": sheets,
        "warnings": list(scenario.warnings),
    }


def _build(row_type: type, data: object, where: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioDocumentError(f"{where}: expected an object, found {type(data).__name__}")
    columns = _column_names(row_type)
    unknown = sorted(set(data) - set(columns))
    if unknown:
        raise ScenarioDocumentError(f"{where}: unknown columns {', '.join(unknown)}")
    floats = _FLOAT_COLUMNS[row_type]
    values = {k: _decode(v, k in floats) for k, v in data.items()}
    try:
        return row_type(**values)
    except TypeError as exc:
        raise ScenarioDocumentError(f"{where}: {exc}") from None


def scenario_from_document(doc: object) -> Scenario:
    """The `Scenario` a scenario.json document holds, equal to the one written.

    Raises `ScenarioDocumentError` for a document of another schema or shape.
    """
    if not isinstance(doc, dict):
        raise ScenarioDocumentError("a scenario document is a JSON object")
    if doc.get("schema") != SCHEMA:
        raise ScenarioDocumentError(f"schema {doc.get('schema')!r}; this version reads {SCHEMA!r}")
    sheets = doc.get("sheets")
    if not isinstance(sheets, dict) or not isinstance(doc.get("scenario"), str):
        raise ScenarioDocumentError("missing 'scenario' or 'sheets'")
    tables: dict[str, tuple[object, ...]] = {}
    for sheet, attribute, row_type in SHEETS:
        rows = sheets.get(sheet, [])
        if not isinstance(rows, list):
            raise ScenarioDocumentError(f"sheet {sheet}: expected a list of rows")
        tables[attribute] = tuple(
            _build(row_type, row, f"sheet {sheet} row {i + 1}") for i, row in enumerate(rows)
        )
    source = doc.get("source")
    if source is not None and not (
        isinstance(source, dict)
        and isinstance(source.get("workbook"), str)
        and isinstance(source.get("sha256"), str)
    ):
        raise ScenarioDocumentError("'source' must hold 'workbook' and 'sha256' texts")
    warnings = doc.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise ScenarioDocumentError("'warnings' must be a list of texts")
    return Scenario(
        name=doc["scenario"],
        settings=_build(Settings, doc.get("settings"), "settings"),
        warnings=tuple(warnings),
        source=None if source is None else Source(source["workbook"], source["sha256"]),
        **tables,  # type: ignore[arg-type]
    )
