"""The blank template: generated from the schema, and a hand-filled copy reads back."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from planner.errors import InputError
from planner.scenario.data import (
    Coverage,
    Layer,
    Market,
    Offer,
    Option,
    Partner,
    Rule,
    Scenario,
    Settings,
)
from planner.scenario.schema import SETTINGS, SHEETS
from planner.workbook.reader import read_workbook
from planner.workbook.template import INSTRUCTIONS, LAST_ROW, SETTINGS_EXTRA, write_template
from planner.workbook.validation import check_workbook


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per module: every test only reads it (the filled copy is saved apart)."""
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    write_template(path)
    return path


def _headers(ws: Worksheet) -> list[object]:
    return [c.value for c in ws[1] if c.value is not None]


def test_sheets_and_headers_equal_the_schema(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == [INSTRUCTIONS, *(s.name for s in SHEETS)]
    for sheet in SHEETS:
        ws = wb[sheet.name]
        expected = [c.name for c in sheet.columns]
        if sheet.name == "Settings":
            expected += list(SETTINGS_EXTRA)
        assert _headers(ws) == expected, sheet.name
        assert ws.freeze_panes == "A2"
        assert all(c.font.bold for c in ws[1] if c.value is not None)


def test_settings_sheet_lists_every_setting_with_blank_value(template: Path) -> None:
    ws = openpyxl.load_workbook(template)["Settings"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [s.name for s in SETTINGS]
    assert all(r[1] is None for r in rows)
    defaults = {r[0]: r[2] for r in rows}
    assert defaults["budget"] == "required"
    assert defaults["currency"] == "USD m"
    assert defaults["min_average_trust"] == "blank"
    assert defaults["max_cofinance_share"] == "0.8"


def test_instructions_mention_every_sheet_column_and_setting(template: Path) -> None:
    ws = openpyxl.load_workbook(template)[INSTRUCTIONS]
    rows = list(ws.iter_rows(values_only=True))
    described = {(r[0], r[1]) for r in rows if r[0] and r[1]}
    for sheet in SHEETS:
        for col in sheet.columns:
            assert (sheet.name, col.name) in described, (sheet.name, col.name)
    for spec in SETTINGS:
        assert ("Settings", spec.name) in described, spec.name
    by_name = {(r[0], r[1]): r for r in rows if r[0] and r[1]}
    share = by_name[("CoFinancing", "share")]
    assert share[2] == "required"
    assert share[3] == "a number greater than 0 and at most 1 (fraction)"
    assert by_name[("CoFinancing", "regions")][4] == "*"
    assert by_name[("Settings", "max_foreign_share")][4] == "1"
    text = " ".join(str(v) for r in rows for v in r if v)
    for phrase in ("underscores", "the id 7", "separated by ;", "* means all", "ignored"):
        assert phrase in text


def _validations(ws: Worksheet) -> dict[str, tuple[str, str]]:
    return {
        str(dv.sqref): (dv.formula1, dv.errorStyle or "stop")
        for dv in ws.data_validations.dataValidation
    }


def test_dropdowns(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    options = _validations(wb["Options"])
    assert options[f"G2:G{LAST_ROW}"] == ('"must,never"', "stop")
    assert options[f"D2:D{LAST_ROW}"] == (f"'Layers'!$A$2:$A${LAST_ROW}", "warning")
    assert _validations(wb["CoFinancing"])[f"J2:J{LAST_ROW}"] == ('"must,never"', "stop")
    assert _validations(wb["Rules"])[f"A2:A{LAST_ROW}"] == ('"requires,excludes"', "stop")
    # CoFinancing.layers is a list, so it has no single-choice dropdown.
    assert f"I2:I{LAST_ROW}" not in _validations(wb["CoFinancing"])


def test_number_formats(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    assert wb["Options"]["F2"].number_format == "#,##0.0#"  # cost
    assert wb["Options"]["A500"].number_format == "@"  # ids stay text
    assert wb["CoFinancing"]["C2"].number_format == "0%"  # share
    assert wb["Partners"]["D2"].number_format == "0"  # trust
    assert wb["Coverage"][f"C{LAST_ROW}"].number_format == "#,##0.0#"  # reach


def test_blank_template_asks_only_for_the_required_settings(template: Path) -> None:
    with pytest.raises(InputError) as info:
        check_workbook(read_workbook(template))
    assert info.value.report().splitlines() == [
        "sheet Settings, row 2, column value: found blank; "
        "expected budget: a number of at least 0 (it is required)",
        "sheet Settings, row 3, column value: found blank; "
        "expected home_country: a name (it is required)",
    ]


def _fill(ws: Worksheet, rows: list[list[object]]) -> None:
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            ws.cell(row=r, column=c).value = value


def test_template_filled_in_by_hand_reads_into_the_expected_scenario(
    template: Path, tmp_path: Path
) -> None:
    wb = openpyxl.load_workbook(template)
    settings = wb["Settings"]
    for row in settings.iter_rows(min_row=2):
        if row[0].value == "budget":
            row[1].value = 50
        elif row[0].value == "home_country":
            row[1].value = "Norland"
        elif row[0].value == "min_partner_trust":
            row[1].value = 40
    _fill(
        wb["Markets"],
        [
            ["KE", "Kenya", "East Africa", 2, 30, "cloud; Model"],
            ["ZM", None, "Southern Africa", None, 10, None],
        ],
    )
    _fill(wb["Partners"], [["P1", "Nordcloud", "Norland", 90], [7, None, "Sweden", 65]])
    _fill(
        wb["Options"],
        [
            ["O1", "P1", "Cloud region", "cloud", "Coordinated deployment", 20, None],
            ["O2", 7, None, "Model", "joint development", 15.5, "must"],
            ["O3", "P1", "Skills academy", "skills", None, 5, "never"],
        ],
    )
    _fill(
        wb["Coverage"],
        [["O1", "KE", 12], ["O2", "KE", 8], ["O2", "ZM", None], ["O3", "ZM", 3]],
    )
    _fill(wb["Layers"], [["cloud", 70, None], ["model", None, 0.6], ["skills", None, None]])
    _fill(
        wb["CoFinancing"],
        [["C1", "East Africa fund", 0.5, 10, 1, None, "East Africa", "*", "cloud; model", None]],
    )
    _fill(wb["Rules"], [["Requires", "O1", "O2"]])
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)

    scenario = check_workbook(read_workbook(filled))

    assert scenario == Scenario(
        name="base",
        settings=Settings(budget=50.0, home_country="Norland", min_partner_trust=40.0),
        markets=(
            Market("KE", "Kenya", "East Africa", 2.0, 30.0, ("cloud", "model")),
            Market("ZM", "ZM", "Southern Africa", 1.0, 10.0, ()),
        ),
        partners=(
            Partner("7", "7", "Sweden", 65.0),
            Partner("P1", "Nordcloud", "Norland", 90.0),
        ),
        options=(
            Option("O1", "P1", "Cloud region", "cloud", "coordinated deployment", 20.0),
            Option("O2", "7", "O2", "model", "joint development", 15.5, "must"),
            Option("O3", "P1", "Skills academy", "skills", None, 5.0, "never"),
        ),
        coverage=(
            Coverage("O1", "KE", 12.0),
            Coverage("O2", "KE", 8.0),
            Coverage("O2", "ZM", 0.0),
            Coverage("O3", "ZM", 3.0),
        ),
        layers=(Layer("cloud", 70.0, 1.0), Layer("model", 0.0, 0.6), Layer("skills", 0.0, 1.0)),
        offers=(
            Offer(
                "C1",
                "East Africa fund",
                0.5,
                10.0,
                1.0,
                0.0,
                ("east africa",),
                None,
                ("cloud", "model"),
            ),
        ),
        rules=(Rule("requires", "O1", "O2"),),
    )
    assert scenario.warnings == ()
