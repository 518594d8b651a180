"""Write a scenario back as a workbook: the inverse of reading and validating it.

Used to build the bundled example, the benchmark's generated scenarios and
the round-trip tests (workbook → scenario → workbook → the same scenario).
Column order and names come from `planner.scenario.schema`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook

from planner.scenario.data import Scenario, Settings
from planner.scenario.schema import SETTINGS, SHEETS
from planner.xlsx_out import atomic_path, text_cell

Table = tuple[Sequence[str], Sequence[Sequence[object]]]


def _list_cell(names: tuple[str, ...] | None) -> str:
    return "*" if names is None else "; ".join(names)


def settings_rows(settings: Settings) -> list[list[object]]:
    """Settings as (setting, value) rows; an off min_average_trust is left blank."""
    return [[spec.name, getattr(settings, spec.name)] for spec in SETTINGS]


def scenario_tables(scenario: Scenario) -> dict[str, Table]:
    """Every sheet of the scenario, headed by the schema's column names."""
    headers = {sheet.name: [c.name for c in sheet.columns] for sheet in SHEETS}
    s = scenario
    tables: dict[str, Table] = {
        "Settings": (headers["Settings"], settings_rows(s.settings)),
        "Markets": (
            headers["Markets"],
            [
                [
                    m.market_id,
                    m.name,
                    m.region,
                    m.weight,
                    m.addressable,
                    "; ".join(m.required_layers),
                ]
                for m in s.markets
            ],
        ),
        "Partners": (
            headers["Partners"],
            [[p.partner_id, p.name, p.country, p.trust] for p in s.partners],
        ),
        "Options": (
            headers["Options"],
            [
                [o.option_id, o.partner_id, o.name, o.layer, o.kind, o.cost, o.decision]
                for o in s.options
            ],
        ),
        "Coverage": (
            headers["Coverage"],
            [[c.option_id, c.market_id, c.reach] for c in s.coverage],
        ),
    }
    if s.layers:
        tables["Layers"] = (
            headers["Layers"],
            [[x.layer, x.min_trust, x.max_foreign_share] for x in s.layers],
        )
    if s.offers:
        tables["CoFinancing"] = (
            headers["CoFinancing"],
            [
                [
                    c.offer_id,
                    c.financier,
                    c.share,
                    c.cap,
                    c.fee,
                    c.min_eligible_spend,
                    _list_cell(c.regions),
                    _list_cell(c.kinds),
                    _list_cell(c.layers),
                    c.decision,
                ]
                for c in s.offers
            ],
        )
    if s.resources:
        tables["Resources"] = (
            headers["Resources"],
            [[r.resource, r.capacity] for r in s.resources],
        )
    if s.usage:
        tables["Usage"] = (headers["Usage"], [[u.option_id, u.resource, u.amount] for u in s.usage])
    if s.rules:
        tables["Rules"] = (
            headers["Rules"],
            [[r.rule, r.option_id, r.other_option_id] for r in s.rules],
        )
    return tables


def scenarios_table(overrides: Mapping[str, Mapping[str, object]]) -> Table:
    """A Scenarios sheet from {scenario: {setting: value}} (None resets to the default)."""
    rows = [
        [name, setting, value]
        for name, settings in overrides.items()
        for setting, value in settings.items()
    ]
    return (["scenario", "setting", "value"], rows)


def write_tables(path: str | Path, tables: Mapping[str, Table]) -> None:
    """Write sheets of rows, atomically; strings are always text, never formulas."""
    path = Path(path)
    wb = Workbook(write_only=True)
    for name, (header, rows) in tables.items():
        ws = wb.create_sheet(name)
        ws.append([text_cell(ws, h) for h in header])
        for row in rows:
            ws.append([text_cell(ws, v) for v in row])
    with atomic_path(path) as tmp:
        wb.save(tmp)


def write_scenario(
    path: str | Path,
    scenario: Scenario,
    scenarios: Mapping[str, Mapping[str, object]] | None = None,
) -> None:
    """The scenario as a workbook that reads back to an equal scenario."""
    tables = scenario_tables(scenario)
    if scenarios:
        tables["Scenarios"] = scenarios_table(scenarios)
    write_tables(path, tables)
