"""Cell changes, SPEC §2: `Sheet[key].column` wherever a setting name is accepted.

A change must mean exactly what the same edit made by hand in Excel means, so
most tests compare with the example workbook edited with openpyxl; and its
problems must be located where the user typed it (the Scenarios row, `--set`,
the `load()` argument), never at the cell it replaces.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from workbooks import full_tables, minimal_tables, write_workbook

import planner
from planner.cli import cli
from planner.errors import InputError, Problem
from planner.scenario.data import Scenario
from planner.workbook import validation
from planner.workbook.cell_changes import CellChange, CellTargets, parse_cell
from planner.workbook.reader import read_workbook
from planner.workbook.validation import check_workbook, load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inputs" / "example.xlsx"

#: The examples SPEC §2 names, with ids the example workbook really has (its East African
#: offer is C-EU-OPENWEIGHT; APP-02 operates in Ethiopia, ET): name, value, and the
#: hand edit it stands for (sheet, the key columns' values, column).
SPEC_EXAMPLES = [
    ("Layers[model].max_foreign_share", 0, ("Layers", {"layer": "model"}, "max_foreign_share")),
    ("Options[APP-02].cost", 5, ("Options", {"option_id": "APP-02"}, "cost")),
    ("Options[APP-02].decision", "must", ("Options", {"option_id": "APP-02"}, "decision")),
    (
        "CoFinancing[C-EU-OPENWEIGHT].decision",
        "never",
        ("CoFinancing", {"offer_id": "C-EU-OPENWEIGHT"}, "decision"),
    ),
    (
        "CoFinancing[C-EU-OPENWEIGHT].cap",
        20,
        ("CoFinancing", {"offer_id": "C-EU-OPENWEIGHT"}, "cap"),
    ),
    (
        "Coverage[APP-02,ET].reach",
        9,
        ("Coverage", {"option_id": "APP-02", "market_id": "ET"}, "reach"),
    ),
]


@pytest.fixture(scope="module")
def base() -> Scenario:
    return planner.load(EXAMPLE)


def hand_edited(
    path: Path, sheet: str, key: Mapping[str, object], column: str, value: object
) -> Path:
    """The example with one cell typed over, as a user edits it in Excel."""
    wb = openpyxl.load_workbook(EXAMPLE)
    ws = wb[sheet]
    headers = [c.value for c in ws[1]]
    if column not in headers:
        ws.cell(row=1, column=len(headers) + 1, value=column)
        headers.append(column)
    rows = [
        r
        for r in range(2, ws.max_row + 1)
        if all(ws.cell(r, headers.index(k) + 1).value == v for k, v in key.items())
    ]
    assert len(rows) == 1, (sheet, key)
    ws.cell(rows[0], headers.index(column) + 1, value=value)
    wb.save(path)
    return path


def with_scenario_rows(path: Path, rows: Sequence[Sequence[object]]) -> tuple[Path, int]:
    """The example with rows appended to its Scenarios sheet; returns the first row's number."""
    wb = openpyxl.load_workbook(EXAMPLE)
    ws = wb["Scenarios"]
    first = ws.max_row + 1
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path, first


def differences(a: Scenario, b: Scenario) -> list[tuple[str, object, object]]:
    """(field, record of a, record of b) for every record that differs."""
    out: list[tuple[str, object, object]] = []
    for f in dataclasses.fields(Scenario):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if not f.compare or x == y:
            continue
        if isinstance(x, tuple) and isinstance(y, tuple) and len(x) == len(y):
            out += [(f.name, p, q) for p, q in zip(x, y, strict=True) if p != q]
        else:
            out.append((f.name, x, y))
    return out


def problems_of(call: Callable[[], object]) -> list[Problem]:
    with pytest.raises(InputError) as info:
        call()
    return info.value.problems


@pytest.mark.parametrize(
    ("name", "value", "edit"), SPEC_EXAMPLES, ids=[e[0] for e in SPEC_EXAMPLES]
)
def test_a_change_is_the_same_edit_made_by_hand(
    tmp_path: Path, base: Scenario, name: str, value: object, edit: tuple
) -> None:
    sheet, key, column = edit
    by_hand = planner.load(hand_edited(tmp_path / "hand.xlsx", sheet, key, column, value))
    assert by_hand != base  # the edit changes something, so the comparison means something

    as_setting = planner.load(EXAMPLE, settings={name: value})
    assert as_setting == by_hand

    path, _ = with_scenario_rows(tmp_path / "row.xlsx", [["what_if", name, value]])
    in_scenario = planner.load(path, scenario="what_if")
    assert in_scenario.name == "what_if"
    assert dataclasses.replace(in_scenario, name="base") == by_hand
    assert planner.load(path) == base  # the base scenario is the Settings sheet alone


@pytest.mark.parametrize(
    ("name", "value", "edit"), SPEC_EXAMPLES, ids=[e[0] for e in SPEC_EXAMPLES]
)
def test_a_change_changes_exactly_that_field(
    base: Scenario, name: str, value: object, edit: tuple
) -> None:
    _, _, column = edit
    changed = planner.load(EXAMPLE, settings={name: value})
    [(collection, before, after)] = differences(base, changed)
    new = float(value) if isinstance(value, int) else value
    assert getattr(before, column) != new
    assert with_field(before, column, new) == after
    assert collection == {"Layers": "layers", "CoFinancing": "offers"}.get(edit[0], edit[0].lower())


def with_field(record: object, column: str, value: object) -> object:
    """A record (a dataclass, or a named tuple such as Coverage) with one field changed."""
    if dataclasses.is_dataclass(record):
        return dataclasses.replace(record, **{column: value})  # type: ignore[type-var]
    return record._replace(**{column: value})  # type: ignore[attr-defined]


def test_names_match_like_headers_and_ids_like_ids(base: Scenario) -> None:
    expected = planner.load(EXAMPLE, settings={"Options[APP-02].cost": 5})
    for name in (
        " options [ APP-02 ] . Cost ",
        "OPTIONS[APP-02].cost",
        "Options[APP-02]. cost",
    ):
        assert planner.load(EXAMPLE, settings={name: "5"}) == expected, name
    layers = planner.load(EXAMPLE, settings={"layers[ Model ].Max Foreign Share": 0})
    assert {x.layer: x.max_foreign_share for x in layers.layers}["model"] == 0
    offers = planner.load(EXAMPLE, settings={"co_financing[C-EU-OPENWEIGHT].DECISION": "Never"})
    assert {c.offer_id: c.decision for c in offers.offers}["C-EU-OPENWEIGHT"] == "never"
    # An id is compared exactly after trimming: the case of an id matters.
    [problem] = problems_of(lambda: planner.load(EXAMPLE, settings={"Options[app-02].cost": 5}))
    assert "no row of Options has option_id app-02" in problem.expected


def test_a_numeric_id_is_named_as_text(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Options"][1][0] = 7  # the number 7 is the id "7"
    tables["Coverage"][1][0] = 7
    path = write_workbook(tmp_path / "s.xlsx", tables)
    changed = load_scenario(
        path, overrides=[("Options[7].cost", 12), ("Coverage[ 7 ,M1].reach", 1)]
    )
    assert {o.option_id: o.cost for o in changed.options}["7"] == 12
    assert [c.reach for c in changed.coverage if c.option_id == "7"] == [1]


def test_pair_keyed_sheets_take_both_ids(base: Scenario) -> None:
    staff = "partnership staff (FTE)"
    changed = planner.load(EXAMPLE, settings={f"Usage[APP-02, {staff}].amount": 7})
    [(collection, before, after)] = differences(base, changed)
    assert collection == "usage" and before.amount == 2 and after.amount == 7  # type: ignore[attr-defined]


def test_a_column_the_sheet_lacks_is_added(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Options"] = [row[:6] for row in tables["Options"]]  # no decision column
    path = write_workbook(tmp_path / "s.xlsx", tables)
    changed = load_scenario(path, overrides=[("Options[O1].decision", "must")])
    assert {o.option_id: o.decision for o in changed.options} == {"O1": "must", "O2": None}
    tables["Options"][0].append("decision")
    tables["Options"][1].append("must")
    assert changed == load_scenario(write_workbook(tmp_path / "hand.xlsx", tables))


def test_a_blank_value_is_a_blank_cell(tmp_path: Path) -> None:
    tables = full_tables()
    tables["Scenarios"].append(["plain", "Options[O1].kind", None])
    path = write_workbook(tmp_path / "s.xlsx", tables)
    assert {o.option_id: o.kind for o in load_scenario(path, "plain").options}["O1"] is None
    tables["Scenarios"].append(["no_cost", "Options[O1].cost", None])
    path = write_workbook(tmp_path / "s.xlsx", tables)
    [problem] = problems_of(lambda: load_scenario(path, "no_cost"))
    assert (problem.sheet, problem.row, problem.column) == ("Scenarios", 5, "value")
    assert problem.expected == "Options[O1].cost: a number of at least 0 (this column is required)"


def test_a_change_replaces_a_formula_without_cached_value(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Options"][1][5] = "=10+20"  # saved by a script: no cached value
    path = write_workbook(tmp_path / "s.xlsx", tables)
    with pytest.raises(InputError, match="1 problem"):
        load_scenario(path)
    assert {
        o.option_id: o.cost
        for o in load_scenario(path, overrides=[("Options[O1].cost", 30)]).options
    }["O1"] == 30


def test_overrides_come_after_the_scenarios_changes(tmp_path: Path) -> None:
    path, _ = with_scenario_rows(tmp_path / "s.xlsx", [["what_if", "Options[APP-02].cost", 5]])
    changed = planner.load(path, "what_if", settings={"Options[APP-02].cost": 6})
    assert {o.option_id: o.cost for o in changed.options}["APP-02"] == 6
    later = load_scenario(
        path, overrides=[("Options[APP-02].cost", 6), ("options[APP-02].COST", 7)]
    )
    assert {o.option_id: o.cost for o in later.options}["APP-02"] == 7


# --- where problems are located --------------------------------------------------------


def test_a_bad_value_is_located_at_the_scenarios_row(tmp_path: Path) -> None:
    path, row = with_scenario_rows(tmp_path / "s.xlsx", [["what_if", "Options[APP-02].cost", -5]])
    [problem] = problems_of(lambda: planner.load(path, "what_if"))
    assert (problem.sheet, problem.row, problem.column, problem.value) == (
        "Scenarios",
        row,
        "value",
        -5,
    )
    assert str(problem) == (
        f"sheet Scenarios, row {row}, column value: found -5; "
        "expected Options[APP-02].cost: a number of at least 0"
    )


def test_a_bad_value_is_located_at_the_argument_or_the_option() -> None:
    [problem] = problems_of(
        lambda: planner.load(EXAMPLE, settings={"Options[APP-02].cost": "cheap"})
    )
    assert str(problem) == (
        "load() argument Options[APP-02].cost: found 'cheap'; expected a number of at least 0"
    )
    result = CliRunner().invoke(
        cli, ["validate", str(EXAMPLE), "--set", "Layers[model].max_foreign_share=2"]
    )
    assert result.exit_code == 2
    assert (
        "command line --set Layers[model].max_foreign_share: found '2'; "
        "expected a number from 0 to 1"
    ) in result.stderr
    assert "sheet Layers" not in result.stderr


def test_checks_that_need_other_rows_are_located_where_the_change_was_typed(
    tmp_path: Path,
) -> None:
    """A changed cell is checked like the cell it replaces: references and listed layers too."""
    path, row = with_scenario_rows(
        tmp_path / "s.xlsx",
        [
            ["what_if", "Options[APP-02].partner_id", "N-NOBODY"],
            ["what_if", "Options[APP-02].layer", "quantum"],
            ["what_if", "Markets[KE].required_layers", "cloud; telepathy"],
        ],
    )
    found = problems_of(lambda: planner.load(path, "what_if"))
    assert [(p.sheet, p.row, p.column) for p in found] == [
        ("Scenarios", row, "value"),
        ("Scenarios", row + 1, "value"),
        ("Scenarios", row + 2, "value"),
    ]
    assert found[0].expected == (
        "Options[APP-02].partner_id: the id of a partner in the Partners sheet"
    )
    assert found[1].value == "quantum"
    assert found[1].expected.startswith("Options[APP-02].layer: a layer listed in the Layers sheet")
    assert found[2].value == "telepathy"
    assert found[2].expected.startswith("Markets[KE].required_layers: a layer listed")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Offers[C-EU-OPENWEIGHT].cap", "a cell of one of the sheets Markets, Partners, Options"),
        (
            "Options[APP-99].cost",
            "a cell of a row that exists: no row of Options has option_id APP-99",
        ),
        (
            "Coverage[APP-02,KE].reach",
            "no row of Coverage has option_id APP-02 and market_id KE (a change replaces a cell; "
            "it does not add rows)",
        ),
        (
            "Options[APP-02].price",
            "a column of Options: partner_id, name, layer, kind, cost, decision",
        ),
        ("Options[APP-02].option_id", "a column other than option_id, which names the row"),
        (
            "Coverage[APP-02].reach",
            "both ids, comma-separated, as in Coverage[option_id,market_id]",
        ),
        ("Settings[budget].value", "a setting by its name alone"),
        ("Scenarios[high_budget].value", "a cell of a sheet other than Scenarios"),
        ("Rules[APP-01].rule", "rows of Rules have none, so they cannot be named"),
        ("Options[APP-02]cost", "a setting name, or a cell of another sheet as Sheet[key].column"),
        ("Options[].cost", "an identifier (text or whole number) for option_id"),
    ],
)
def test_a_bad_name_is_located_where_it_was_typed(tmp_path: Path, name: str, expected: str) -> None:
    path, row = with_scenario_rows(tmp_path / "s.xlsx", [["what_if", name, 1]])
    [problem] = problems_of(lambda: planner.load(path, "what_if"))
    assert (problem.sheet, problem.row, problem.column, problem.value) == (
        "Scenarios",
        row,
        "setting",
        name,
    )
    assert expected in problem.expected
    [problem] = problems_of(lambda: planner.load(EXAMPLE, settings={name: 1}))
    assert (problem.sheet, problem.row, problem.column) == ("load()", None, name)
    assert expected in problem.expected
    [problem] = problems_of(lambda: load_scenario(EXAMPLE, overrides=[(name, "1")]))
    assert (problem.sheet, problem.column, problem.value) == ("--set", None, name)


def test_a_sheet_the_workbook_lacks_has_no_rows_to_change(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "s.xlsx", minimal_tables())
    [problem] = problems_of(lambda: load_scenario(path, overrides=[("Layers[cloud].min_trust", 5)]))
    assert problem.expected == "a cell of a row that exists: the workbook has no Layers sheet"


def test_an_unknown_setting_name_says_cells_are_accepted_too() -> None:
    [problem] = problems_of(lambda: planner.load(EXAMPLE, settings={"Options.cost": 1}))
    assert problem.expected.startswith("one of the settings budget, ")
    assert problem.expected.endswith(
        "or a cell of another sheet as Sheet[key].column (e.g. Options[APP-02].cost)"
    )


def test_every_problem_at_once_with_the_other_sheets(tmp_path: Path) -> None:
    tables = full_tables()
    tables["Partners"][1][3] = 120  # a problem of the workbook itself
    tables["Scenarios"] += [
        ["what_if", "Options[O9].cost", 5],  # unknown key
        ["what_if", "Optons[O1].cost", 5],  # unknown sheet
        ["what_if", "Options[O1].colour", "red"],  # unknown column
        ["what_if", "Options[O2].cost", -1],  # bad value
        ["what_if", "Options[O2].partner_id", "P7"],  # unknown reference
        ["what_if", "budget", "lots"],  # a bad setting, as before
        ["what_if", "options[O2].Cost", 3],  # the same cell twice
    ]
    path = write_workbook(tmp_path / "s.xlsx", tables)
    found = problems_of(
        lambda: load_scenario(
            path, "what_if", overrides=[("Coverage[O1,M7].reach", 1)], origin="load()"
        )
    )
    assert [(p.sheet, p.row, p.column) for p in found] == [
        ("Partners", 2, "trust"),
        ("Scenarios", 4, "setting"),
        ("Scenarios", 5, "setting"),
        ("Scenarios", 6, "setting"),
        ("Scenarios", 7, "value"),
        ("Scenarios", 8, "value"),
        ("Scenarios", 9, "value"),
        ("Scenarios", 10, "setting"),
        ("load()", None, "Coverage[O1,M7].reach"),
    ]
    assert found[-2].expected == "each cell once per scenario (row 7 changes it too)"
    assert found[6].expected == "budget: a number of at least 0"


def test_other_scenarios_changes_are_checked_too(tmp_path: Path) -> None:
    """Names of every scenario are looked up and values judged by their column's own rule;
    what needs the other rows (a reference) is judged for the chosen scenario only."""
    tables = full_tables()
    tables["Scenarios"] += [
        ["other", "Options[O9].cost", 5],
        ["other", "Options[O1].cost", -1],
        ["other", "Options[O1].partner_id", "P7"],  # only judged when chosen
        ["fine", "Options[O1].cost", 1],
    ]
    path = write_workbook(tmp_path / "s.xlsx", tables)
    for scenario in (None, "high", "fine"):
        found = problems_of(functools.partial(load_scenario, path, scenario))
        assert [(p.sheet, p.row, p.column) for p in found] == [
            ("Scenarios", 4, "setting"),
            ("Scenarios", 5, "value"),
        ]
        assert found[1].expected == "Options[O1].cost: a number of at least 0"
    chosen = problems_of(lambda: load_scenario(path, "other"))
    assert [(p.row, p.column) for p in chosen] == [(4, "setting"), (5, "value"), (6, "value")]


def test_a_value_overridden_later_is_still_checked(tmp_path: Path) -> None:
    path, row = with_scenario_rows(tmp_path / "s.xlsx", [["what_if", "Options[APP-02].cost", -5]])
    [problem] = problems_of(
        lambda: planner.load(path, "what_if", settings={"Options[APP-02].cost": 5})
    )
    assert (problem.sheet, problem.row, problem.column) == ("Scenarios", row, "value")


def test_the_same_cell_in_two_scenarios_is_fine(tmp_path: Path) -> None:
    path, _ = with_scenario_rows(
        tmp_path / "s.xlsx",
        [["cheap", "Options[APP-02].cost", 1], ["dear", "Options[APP-02].cost", 50]],
    )
    costs = [
        {o.option_id: o.cost for o in planner.load(path, name).options}["APP-02"]
        for name in ("cheap", "Dear")
    ]
    assert costs == [1, 50]


def test_a_scenario_of_cell_changes_alone_is_a_scenario(tmp_path: Path) -> None:
    path, _ = with_scenario_rows(
        tmp_path / "s.xlsx", [["No_Foreign_Models", "Layers[model].max_foreign_share", 0]]
    )
    assert "No_Foreign_Models" in validation.scenario_names(read_workbook(path))
    assert planner.load(path, "no_foreign_models").layers != planner.load(path).layers


# --- cost: nothing copied without changes, little with a few ------------------------------


def test_without_changes_nothing_is_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("cell changes looked up without any")

    monkeypatch.setattr(validation, "CellTargets", refuse)
    raw = read_workbook(EXAMPLE)
    for name in ("high_budget", None):
        check_workbook(raw, name, [("budget", 10)])


def test_a_change_copies_only_its_sheet_and_row() -> None:
    raw = read_workbook(EXAMPLE)
    before = {key: (sheet.rows, list(sheet.rows)) for key, sheet in raw.sheets.items()}
    cell = parse_cell("Options[APP-02].cost")
    targets = CellTargets(raw)
    change = CellChange(cell, 5, "load()", None, "Options[APP-02].cost")
    target = targets.locate(change)
    changed, placed = targets.apply([(change, target)])  # type: ignore[list-item]
    assert [k for k in raw.sheets if changed.sheets[k] is not raw.sheets[k]] == ["options"]
    options, original = changed.sheets["options"], raw.sheets["options"]
    moved = [
        i for i, (a, b) in enumerate(zip(options.rows, original.rows, strict=True)) if a is not b
    ]
    assert len(moved) == 1 and options.rows[moved[0]][1][5] == 5
    assert list(placed) == [("Options", options.rows[moved[0]][0], "cost")]
    for key, (rows, items) in before.items():  # the workbook read is left as it was
        assert raw.sheets[key].rows is rows and rows == items
    assert check_workbook(raw) == planner.load(EXAMPLE)


def test_the_workbook_read_can_serve_many_variants() -> None:
    raw = read_workbook(EXAMPLE)
    base = check_workbook(raw)
    assert check_workbook(raw, overrides=[("Options[APP-02].cost", 5)]) != base
    assert check_workbook(raw) == base


def test_full_tables_stay_valid_with_cells_changed(tmp_path: Path) -> None:
    tables = full_tables()
    path = write_workbook(tmp_path / "s.xlsx", tables)
    changed = load_scenario(
        path,
        overrides=[
            ("Resources[staff].capacity", 9),
            ("Partners[P2].trust", 10),
            ("Markets[M2].weight", "3"),
            ("CoFinancing[C1].regions", "*"),
        ],
    )
    assert changed.resources[0].capacity == 9
    assert {p.partner_id: p.trust for p in changed.partners}["P2"] == 10
    assert {m.market_id: m.weight for m in changed.markets}["M2"] == 3
    assert changed.offers[0].regions is None
