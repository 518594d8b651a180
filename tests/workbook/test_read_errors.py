"""SPEC §2 "Bad input": every mistake is located (sheet, Excel row, column, value)
and said with what was expected, all of them in one run, and nothing is written."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from workbooks import Tables, full_tables, minimal_tables, rewrite_members, write_workbook

import planner.workbook.reader as workbook_reader
from planner.cli import cli
from planner.errors import InputError, Problem
from planner.workbook.validation import load_scenario, parse_set_options

SETTINGS_LIST = (
    "one of the settings budget, home_country, currency, reach_unit, min_partner_trust, "
    "min_average_trust, max_foreign_share, max_country_share, max_cofinance_share, plans, "
    "min_plan_difference, time_limit_s, mip_gap, explain_time_s"
)


@pytest.fixture
def book(tmp_path: Path):
    """Write tables to a fresh workbook in the test's temporary folder."""

    def write(tables: Tables, name: str = "scenario.xlsx") -> Path:
        return write_workbook(tmp_path / name, tables)

    return write


def problems(path: Path, **kwargs: object) -> list[Problem]:
    with pytest.raises(InputError, match=r"^\d+ problem\(s\) in the input$") as info:
        load_scenario(path, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def the_problem(path: Path, match: str, **kwargs: object) -> Problem:
    """The one problem of a workbook with one mistake; its message must match `match` whole."""
    found = problems(path, **kwargs)
    assert [str(p) for p in found] == [str(found[0])], "expected exactly one problem"
    assert re.fullmatch(match, str(found[0])), str(found[0])
    return found[0]


def located(p: Problem, sheet: str | None, row: int | None, column: str | None) -> None:
    assert (p.sheet, p.row, p.column) == (sheet, row, column)


# --- the file itself ---------------------------------------------------------------------


def test_text_file_is_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("budget is 100\n", encoding="utf-8")
    p = the_problem(
        path, match=r"notes\.xlsx is not an \.xlsx workbook \(expected an Excel 2007\+ file\)"
    )
    located(p, None, None, None)


def test_csv_renamed_xlsx_is_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "markets.xlsx"
    path.write_text("market_id,region,addressable\nM1,East Africa,10\n", encoding="utf-8")
    the_problem(path, match=r"markets\.xlsx is not an \.xlsx workbook .*")


def test_empty_file_is_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    the_problem(path, match=r"empty\.xlsx is not an \.xlsx workbook .*")


def test_truncated_zip_is_damaged(book, tmp_path: Path) -> None:
    whole = book(minimal_tables()).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    the_problem(path, match=r"cut\.xlsx is a damaged \.xlsx workbook \(.+\)")


def test_zip_that_is_no_workbook_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    the_problem(path, match=r"archive\.xlsx is a damaged \.xlsx workbook \(missing part .+\)")


def test_encrypted_workbook_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "secret.xlsx"
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 4096)
    the_problem(
        path,
        match=r"secret\.xlsx is password-protected \(encrypted\) or an old \.xls workbook; "
        r"save it as an unprotected \.xlsx workbook",
    )


def test_missing_file_and_folder(tmp_path: Path) -> None:
    the_problem(tmp_path / "nowhere.xlsx", match=r"nowhere\.xlsx was not found")
    (tmp_path / "dir.xlsx").mkdir()
    the_problem(tmp_path / "dir.xlsx", match=r"dir\.xlsx is a folder, expected an \.xlsx workbook")


def test_workbook_unpacking_beyond_the_cap_is_refused(
    book, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = minimal_tables()
    for i in range(2000):  # compresses well, unpacks to far more than the cap below
        tables["Partners"].append([f"X{i}", f"Partner number {i}", "Norland", 50])
    path = book(tables)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(workbook_reader, "MAX_UNPACKED_BYTES", 100_000)
    the_problem(
        path,
        match=r"scenario\.xlsx unpacks to more than \d+ MB, far beyond any scenario workbook "
        r"\(or it is a decompression bomb\)",
    )


def test_no_sheet_is_parsed_before_its_part_passed_the_cap(
    book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parses start while later parts are checked; the part that breaks the cap never
    reaches the parser, and the refusal is the same as when nothing was parsed."""
    tables = minimal_tables()
    for i in range(2000):  # Partners, the largest part, is checked (and refused) first
        tables["Partners"].append([f"X{i}", f"Partner number {i}", "Norland", 50])
    path = book(tables)
    parsed: list[str] = []
    real = workbook_reader.python_calamine.CalamineWorkbook.from_path

    class Recording:
        def __init__(self, book_path: str) -> None:
            self.book = real(book_path)

        def get_sheet_by_name(self, name: str):
            parsed.append(name)
            return self.book.get_sheet_by_name(name)

    submitted: list[str] = []  # the order is the reader's; the order parses begin is the OS's

    class RecordingPool(workbook_reader.ThreadPoolExecutor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            submitted.append(args[0].name)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(
        workbook_reader.python_calamine.CalamineWorkbook, "from_path", Recording, raising=True
    )
    monkeypatch.setattr(workbook_reader, "ThreadPoolExecutor", RecordingPool)
    monkeypatch.setattr(workbook_reader, "MAX_UNPACKED_BYTES", 100_000)
    the_problem(path, match=r"scenario\.xlsx unpacks to more than .*")
    assert "Partners" not in parsed
    monkeypatch.setattr(workbook_reader, "MAX_UNPACKED_BYTES", 10_000_000)
    parsed.clear()
    submitted.clear()
    assert load_scenario(path).name == "base"
    assert submitted[0] == "Partners"  # the largest sheet's parse is handed out first
    assert sorted(parsed) == sorted(submitted)  # and every sheet handed out was parsed


def test_workbook_within_the_cap_is_read(book, monkeypatch: pytest.MonkeyPatch) -> None:
    path = book(minimal_tables())
    monkeypatch.setattr(workbook_reader, "MAX_UNPACKED_BYTES", 100_000)
    assert load_scenario(path).name == "base"


def test_cap_covers_every_part_read(book, monkeypatch: pytest.MonkeyPatch) -> None:
    path = book(minimal_tables())
    pad = b" " * 3_000_000  # 3 MB of whitespace: a few kB compressed
    rewrite_members(
        path,
        {
            "xl/workbook.xml": lambda x: x.replace(b"</workbook>", pad + b"</workbook>"),
            "xl/styles.xml": lambda x: x.replace(b"</styleSheet>", pad + b"</styleSheet>"),
        },
    )
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(workbook_reader, "MAX_UNPACKED_BYTES", 1_000_000)
    the_problem(path, match=r"scenario\.xlsx unpacks to more than .*")


def test_file_larger_than_any_scenario_is_refused(book, monkeypatch: pytest.MonkeyPatch) -> None:
    path = book(minimal_tables())
    monkeypatch.setattr(workbook_reader, "MAX_FILE_BYTES", 1000)
    the_problem(
        path,
        match=r"scenario\.xlsx is \d+ MB, far larger than any scenario workbook \(limit \d+ MB\)",
    )


# --- sheets and columns --------------------------------------------------------------------


def test_missing_required_sheet(book) -> None:
    tables = minimal_tables()
    del tables["Coverage"]
    p = the_problem(
        book(tables), match=r"sheet Coverage: a sheet named Coverage \(it is required\)"
    )
    located(p, "Coverage", None, None)


def test_missing_settings_sheet_is_named(book) -> None:
    tables = minimal_tables()
    del tables["Settings"]
    found = [str(p) for p in problems(book(tables))]
    assert "sheet Settings: a sheet named Settings (it is required)" in found


def test_missing_required_column(book) -> None:
    tables = minimal_tables()
    for row in tables["Coverage"]:
        del row[1]  # market_id
    p = the_problem(
        book(tables),
        match=r"sheet Coverage, row 1: a column headed market_id in row 1 \(it is required\)",
    )
    located(p, "Coverage", 1, None)


def test_missing_column_is_reported_once_not_as_unknown_references(book) -> None:
    tables = minimal_tables()
    for row in tables["Options"]:
        del row[5]  # cost
    the_problem(book(tables), match=r"sheet Options, row 1: a column headed cost in row 1 .*")


def test_two_sheets_with_the_same_name(book) -> None:
    tables = minimal_tables()
    tables["partners "] = [row[:] for row in tables["Partners"]]
    p = the_problem(
        book(tables),
        match=r"sheet partners : two sheets are named Partners \('Partners' and 'partners '\); "
        r"keep one",
    )
    located(p, "partners ", None, None)


def test_column_given_twice(book) -> None:
    tables = minimal_tables()
    tables["Partners"][0].append("Trust")
    for row in tables["Partners"][1:]:
        row.append(row[3])
    p = the_problem(
        book(tables),
        match=r"sheet Partners, row 1, column E: found 'Trust'; "
        r"expected the column trust only once \(it is also column D\)",
    )
    located(p, "Partners", 1, "E")


# --- cells ----------------------------------------------------------------------------------


def test_wrong_type(book) -> None:
    tables = minimal_tables()
    tables["Partners"][2][3] = "high"
    p = the_problem(
        book(tables),
        match=r"sheet Partners, row 3, column trust: found 'high'; expected a number from 0 to 100",
    )
    located(p, "Partners", 3, "trust")
    assert p.value == "high"


def test_date_in_a_number_column(book) -> None:
    tables = minimal_tables()
    tables["Options"][1][5] = dt.date(2024, 1, 5)
    the_problem(
        book(tables),
        match=r"sheet Options, row 2, column cost: found the date/time 2024-01-05.*; "
        r"expected a number of at least 0",
    )


def test_boolean_is_not_an_id(book) -> None:
    tables = minimal_tables()
    tables["Coverage"][3][1] = True
    the_problem(
        book(tables),
        match=r"sheet Coverage, row 4, column market_id: found TRUE; "
        r"expected an identifier \(text or whole number\)",
    )


@pytest.mark.parametrize(
    ("sheet", "row", "column", "value", "match"),
    [
        ("Partners", 2, "trust", 120, r"found 120; expected a number from 0 to 100"),
        ("Partners", 2, "trust", -1, r"found -1; expected a number from 0 to 100"),
        (
            "Markets",
            3,
            "addressable",
            0,
            r"found 0; expected a number greater than 0 and at most 1e\+150",
        ),
        ("Markets", 2, "weight", -2, r"found -2; expected a number from 0 to 1e\+150"),
        ("Markets", 2, "weight", 1e151, r"found 1e\+151; expected a number from 0 to 1e\+150"),
        ("Options", 3, "cost", -5, r"found -5; expected a number of at least 0"),
        ("Coverage", 2, "reach", -1, r"found -1; expected a number of at least 0"),
        ("CoFinancing", 2, "share", 0, r"found 0; expected a number greater than 0 and at most 1"),
        (
            "CoFinancing",
            2,
            "share",
            1.5,
            r"found 1.5; expected a number greater than 0 and at most 1",
        ),
        ("Layers", 3, "max_foreign_share", 2, r"found 2; expected a number from 0 to 1"),
        ("Resources", 2, "capacity", -1, r"found -1; expected a number of at least 0"),
        ("Usage", 3, "amount", "-0.5", r"found '-0.5'; expected a number of at least 0"),
    ],
)
def test_out_of_range_cell(
    book, sheet: str, row: int, column: str, value: object, match: str
) -> None:
    tables = full_tables()
    tables[sheet][row - 1][tables[sheet][0].index(column)] = value
    p = the_problem(book(tables), match=rf"sheet {sheet}, row {row}, column {column}: {match}")
    located(p, sheet, row, column)


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("budget", -1, "budget: a number of at least 0"),
        ("plans", 0, "plans: a whole number of at least 1"),
        ("plans", 2.5, "plans: a whole number of at least 1"),
        ("mip_gap", -0.1, "mip_gap: a number of at least 0"),
        ("time_limit_s", 0, "time_limit_s: a number greater than 0"),
        ("min_partner_trust", 101, "min_partner_trust: a number from 0 to 100"),
        ("max_foreign_share", "1.2", "max_foreign_share: a number from 0 to 1"),
    ],
)
def test_setting_out_of_range(book, setting: str, value: object, expected: str) -> None:
    tables = minimal_tables()
    names = [row[0] for row in tables["Settings"]]
    if setting in names:
        tables["Settings"][names.index(setting)][1] = value
    else:
        tables["Settings"].append([setting, value])
    row = [r[0] for r in tables["Settings"]].index(setting) + 1
    shown = f"'{value}'" if isinstance(value, str) else f"{value:g}"
    p = the_problem(
        book(tables),
        match=rf"sheet Settings, row {row}, column value: found {re.escape(shown)}; "
        rf"expected {re.escape(expected)}",
    )
    located(p, "Settings", row, "value")


@pytest.mark.parametrize(
    ("sheet", "row", "column", "expected"),
    [
        ("Partners", 3, "country", "a name"),
        ("Partners", 2, "trust", "a number from 0 to 100"),
        ("Options", 2, "layer", "a name"),
        ("Options", 3, "cost", "a number of at least 0"),
        ("Markets", 2, "addressable", "a number greater than 0 and at most 1e\\+150"),
        ("Coverage", 3, "market_id", "an identifier \\(text or whole number\\)"),
        ("CoFinancing", 2, "cap", "a number of at least 0"),
        ("Resources", 2, "capacity", "a number of at least 0"),
        ("Usage", 2, "amount", "a number of at least 0"),
        ("Rules", 2, "rule", "requires or excludes"),
        ("Scenarios", 2, "setting", "text"),
    ],
)
def test_blank_required_cell(book, sheet: str, row: int, column: str, expected: str) -> None:
    tables = full_tables()
    tables[sheet][row - 1][tables[sheet][0].index(column)] = None
    found = problems(book(tables))
    first = found[0]
    assert re.fullmatch(
        rf"sheet {sheet}, row {row}, column {column}: found blank; "
        rf"expected {expected} \(this column is required\)",
        str(first),
    ), [str(p) for p in found]
    located(first, sheet, row, column)


@pytest.mark.parametrize(("value", "shown"), [(None, "blank"), (False, "FALSE")])
def test_blank_market_region_is_an_input_error(book, value: object, shown: str) -> None:
    tables = minimal_tables()
    tables["Markets"][2][2] = value
    p = the_problem(
        book(tables),
        match=rf"sheet Markets, row 3, column region: found {shown}; expected a name.*",
    )
    located(p, "Markets", 3, "region")


def test_blank_of_spaces_is_blank(book) -> None:
    tables = minimal_tables()
    tables["Partners"][1][2] = "   "
    the_problem(
        book(tables),
        match=r"sheet Partners, row 2, column country: found blank; "
        r"expected a name \(this column is required\)",
    )


def test_blank_required_setting(book) -> None:
    tables = minimal_tables()
    tables["Settings"][1][1] = None
    p = the_problem(
        book(tables),
        match=r"sheet Settings, row 2, column value: found blank; "
        r"expected budget: a number of at least 0 \(it is required\)",
    )
    located(p, "Settings", 2, "value")


def test_missing_required_setting_row(book) -> None:
    tables = minimal_tables()
    del tables["Settings"][2]  # home_country
    the_problem(
        book(tables),
        match=r"sheet Settings, column setting: a row setting home_country \(it is required\)",
    )


def test_setting_given_twice(book) -> None:
    tables = minimal_tables()
    tables["Settings"].append([" Budget ", 50])
    the_problem(
        book(tables),
        match=r"sheet Settings, row 4, column setting: found ' Budget '; "
        r"expected each setting once \(row 2 sets it too\)",
    )


def test_value_without_setting_name(book) -> None:
    tables = minimal_tables()
    tables["Settings"].append([None, 50])
    the_problem(
        book(tables),
        match=r"sheet Settings, row 4, column setting: found blank; "
        r"expected the name of a setting \(a value is given without one\)",
    )


@pytest.mark.parametrize("duplicate", ["P1", " P1 "])
def test_duplicate_id(book, duplicate: str) -> None:
    tables = minimal_tables()
    tables["Partners"].append([duplicate, "Again", "Norland", 60])
    p = the_problem(
        book(tables),
        match=r"sheet Partners, row 4, column partner_id: found 'P1'; "
        r"expected each partner_id only once \(row 2 has the same\)",
    )
    located(p, "Partners", 4, "partner_id")


@pytest.mark.parametrize(
    ("sheet", "row", "column", "index"),
    [
        ("Options", 2, "option_id", 0),
        ("Coverage", 3, "market_id", 1),
        ("Options", 3, "partner_id", 1),
    ],
)
def test_a_fraction_is_no_id(book, sheet: str, row: int, column: str, index: int) -> None:
    tables = minimal_tables()
    tables[sheet][row - 1][index] = 7.5
    found = problems(book(tables))
    assert (
        f"sheet {sheet}, row {row}, column {column}: found 7.5; "
        "expected an identifier (text or whole number)"
    ) in [str(p) for p in found]


def test_a_fraction_is_no_id_in_a_decision_either(book) -> None:
    scenario = load_scenario(book(minimal_tables()))
    with pytest.raises(InputError) as info:
        scenario.with_decisions(must=[7.5])
    assert [str(p) for p in info.value.problems] == [
        "with_decisions() argument must: found 7.5; expected an option or offer id"
    ]


def test_number_and_text_of_the_same_id_are_duplicates(book) -> None:
    tables = minimal_tables()
    tables["Markets"].append([7, None, "Asia", 1, 5, None])
    tables["Markets"].append(["7", None, "Asia", 1, 5, None])
    the_problem(
        book(tables),
        match=r"sheet Markets, row 5, column market_id: found '7'; "
        r"expected each market_id only once \(row 4 has the same\)",
    )


def test_duplicate_coverage_pair(book) -> None:
    tables = minimal_tables()
    tables["Coverage"].append(["O1", "M1", 9])
    p = the_problem(
        book(tables),
        match=r"sheet Coverage, row 5, column market_id: found 'M1'; "
        r"expected each option_id and market_id pair only once \(row 2 has the same\)",
    )
    located(p, "Coverage", 5, "market_id")


def test_duplicate_usage_pair(book) -> None:
    tables = full_tables()
    tables["Usage"].append(["O2", "staff", 1])
    the_problem(
        book(tables),
        match=r"sheet Usage, row 4, column resource: found 'staff'; "
        r"expected each option_id and resource pair only once \(row 3 has the same\)",
    )


def test_duplicate_layer_compares_case_insensitively(book) -> None:
    tables = full_tables()
    tables["Layers"].append(["Cloud", 10, 1])
    the_problem(
        book(tables),
        match=r"sheet Layers, row 5, column layer: found 'cloud'; "
        r"expected each layer only once \(row 2 has the same\)",
    )


@pytest.mark.parametrize(
    ("sheet", "row", "column", "value", "expected"),
    [
        ("Options", 3, "partner_id", "P9", "the id of a partner in the Partners sheet"),
        ("Coverage", 2, "option_id", "O9", "the id of an option in the Options sheet"),
        ("Coverage", 4, "market_id", "M9", "the id of a market in the Markets sheet"),
        ("Usage", 2, "resource", "lawyers", "a resource listed in the Resources sheet"),
        ("Usage", 3, "option_id", "O9", "the id of an option in the Options sheet"),
        ("Rules", 2, "option_id", "O9", "the id of an option in the Options sheet"),
        ("Rules", 2, "other_option_id", "O9", "the id of an option in the Options sheet"),
    ],
)
def test_reference_to_unknown_id(
    book, sheet: str, row: int, column: str, value: str, expected: str
) -> None:
    tables = full_tables()
    tables[sheet][row - 1][tables[sheet][0].index(column)] = value
    p = the_problem(
        book(tables),
        match=rf"sheet {sheet}, row {row}, column {column}: found '{value}'; expected {expected}",
    )
    located(p, sheet, row, column)
    assert p.value == value


def test_ids_are_compared_exactly_not_case_insensitively(book) -> None:
    tables = minimal_tables()
    tables["Coverage"][1][0] = "o1"
    the_problem(
        book(tables),
        match=r"sheet Coverage, row 2, column option_id: found 'o1'; "
        r"expected the id of an option in the Options sheet",
    )


LAYERS_KNOWN = r"a layer listed in the Layers sheet \(cloud, model, skills\)"


def test_unknown_layer_of_an_option(book) -> None:
    tables = full_tables()
    tables["Options"][2][3] = "Compute"
    the_problem(
        book(tables),
        match=rf"sheet Options, row 3, column layer: found 'compute'; expected {LAYERS_KNOWN}",
    )


def test_unknown_required_layer(book) -> None:
    tables = full_tables()
    tables["Markets"][1][5] = "cloud; compute"
    the_problem(
        book(tables),
        match=rf"sheet Markets, row 2, column required_layers: found 'compute'; "
        rf"expected {LAYERS_KNOWN}",
    )


def test_unknown_layer_of_an_offer(book) -> None:
    tables = full_tables()
    tables["CoFinancing"][1][8] = "cloud; chips"
    the_problem(
        book(tables),
        match=rf"sheet CoFinancing, row 2, column layers: found 'chips'; expected {LAYERS_KNOWN}",
    )


def test_unknown_setting_in_settings(book) -> None:
    tables = minimal_tables()
    tables["Settings"].append(["discount rate", 0.1])
    p = the_problem(
        book(tables),
        match=rf"sheet Settings, row 4, column setting: found 'discount rate'; "
        rf"expected {SETTINGS_LIST}",
    )
    located(p, "Settings", 4, "setting")


def test_unknown_setting_in_scenarios(book) -> None:
    tables = full_tables()
    tables["Scenarios"].append(["high", "discount", 0.1])
    the_problem(
        book(tables),
        match=rf"sheet Scenarios, row 4, column setting: found 'discount'; "
        rf"expected {SETTINGS_LIST}",
    )


def test_unknown_setting_on_the_command_line(book) -> None:
    p = the_problem(
        book(minimal_tables()),
        overrides=[("discount", "0.1")],
        match=rf"command line --set: found 'discount'; expected {SETTINGS_LIST}",
    )
    assert p.sheet == "--set"


def test_bad_value_on_the_command_line(book) -> None:
    the_problem(
        book(minimal_tables()),
        overrides=[("budget", "lots")],
        match=r"command line --set budget: found 'lots'; expected a number of at least 0",
    )


def test_malformed_set_option() -> None:
    with pytest.raises(InputError, match=r"^1 problem\(s\)") as info:
        parse_set_options(["budget=10", "budget", "=5"][1:2])
    assert (
        str(info.value.problems[0]) == "command line --set: found 'budget'; expected SETTING=VALUE"
    )
    with pytest.raises(InputError, match=r"^1 problem\(s\)"):
        parse_set_options(["=5"])
    assert parse_set_options([" budget = 10 "]) == [("budget", "10")]


def test_unknown_scenario(book) -> None:
    the_problem(
        book(full_tables()),
        scenario="highest",
        match=r"command line --scenario: found 'highest'; "
        r"expected the name of a scenario in the Scenarios sheet: base or high",
    )


def test_unknown_scenario_without_scenarios_sheet(book) -> None:
    the_problem(
        book(minimal_tables()),
        scenario="high",
        match=r"command line --scenario: found 'high'; expected the name of a scenario in the "
        r"Scenarios sheet: base or none \(there is no Scenarios sheet\)",
    )


def test_base_is_a_reserved_scenario_name(book) -> None:
    tables = full_tables()
    tables["Scenarios"].append(["Base", "budget", 10])
    p = the_problem(
        book(tables),
        match=r"sheet Scenarios, row 4, column scenario: found 'Base'; expected a scenario name "
        r"other than base \(base is the Settings sheet alone\)",
    )
    located(p, "Scenarios", 4, "scenario")


def test_bad_value_in_a_scenario_not_chosen_is_still_reported(book) -> None:
    tables = full_tables()
    tables["Scenarios"].append(["other", "plans", 0])
    the_problem(
        book(tables),
        match=r"sheet Scenarios, row 4, column value: found 0; "
        r"expected plans: a whole number of at least 1",
    )


def test_formula_without_cached_value(book) -> None:
    tables = minimal_tables()
    tables["Partners"][1][3] = "=70+10"
    p = the_problem(
        book(tables),
        match=r"sheet Partners, row 2, column trust: a value, found a formula with no cached "
        r"value; open and save the workbook in Excel \(or type the value\)",
    )
    located(p, "Partners", 2, "trust")


def test_formula_without_cached_value_in_settings(book) -> None:
    tables = minimal_tables()
    tables["Settings"][2][1] = "=50*2"
    found = [str(p) for p in problems(book(tables))]
    assert (
        "sheet Settings, row 3, column value: a value, found a formula with no cached value; "
        "open and save the workbook in Excel (or type the value)"
    ) in found


def test_formula_in_settings_is_reported_once(book) -> None:
    tables = minimal_tables()
    tables["Settings"][2][1] = "=50*2"
    the_problem(
        book(tables),
        match=r"sheet Settings, row 3, column value: a value, found a formula with no .*",
    )


def test_formula_without_cached_value_alone_in_its_row(book) -> None:
    tables = minimal_tables()
    tables["Partners"].append([None, None, None, "=1+1"])
    the_problem(
        book(tables),
        match=r"sheet Partners, row 4, column trust: a value, found a formula with no .*",
    )


def test_formula_in_an_ignored_column_is_ignored(book) -> None:
    tables = minimal_tables()
    tables["Partners"][0].append("notes")
    tables["Partners"][1].append("=1+1")
    assert load_scenario(book(tables)).partners[0].trust == 80


def test_decision_must_be_must_or_never(book) -> None:
    tables = minimal_tables()
    tables["Options"][1][6] = "maybe"
    the_problem(
        book(tables),
        match=r"sheet Options, row 2, column decision: found 'maybe'; "
        r"expected blank, must or never",
    )


def test_offer_decision_must_be_must_or_never(book) -> None:
    tables = full_tables()
    tables["CoFinancing"][1][9] = "yes"
    the_problem(
        book(tables),
        match=r"sheet CoFinancing, row 2, column decision: found 'yes'; "
        r"expected blank, must or never",
    )


def test_rule_must_be_requires_or_excludes(book) -> None:
    tables = full_tables()
    tables["Rules"][1][0] = "implies"
    the_problem(
        book(tables),
        match=r"sheet Rules, row 2, column rule: found 'implies'; expected requires or excludes",
    )


def test_rule_linking_an_option_to_itself(book) -> None:
    tables = full_tables()
    tables["Rules"].append(["excludes", "O2", " O2"])
    p = the_problem(
        book(tables),
        match=r"sheet Rules, row 3, column other_option_id: found 'O2'; "
        r"expected an option other than option_id \(a rule links two options\)",
    )
    located(p, "Rules", 3, "other_option_id")


@pytest.mark.parametrize(
    ("column", "index", "value"),
    [("regions", 6, "*; East Africa"), ("kinds", 7, "capacity building;*"), ("layers", 8, ";")],
)
def test_list_mixing_star_with_names(book, column: str, index: int, value: str) -> None:
    tables = full_tables()
    tables["CoFinancing"][1][index] = value
    the_problem(
        book(tables),
        match=rf"sheet CoFinancing, row 2, column {column}: found '{re.escape(value)}'; "
        r"expected a ;-separated list of names, or \*",
    )


def test_required_layers_mixing_star_with_names(book) -> None:
    tables = minimal_tables()
    tables["Markets"][1][5] = "cloud; *"
    the_problem(
        book(tables),
        match=r"sheet Markets, row 2, column required_layers: found 'cloud; \*'; "
        r"expected a ;-separated list of names, or \*",
    )


# --- all at once ----------------------------------------------------------------------------


def test_every_mistake_is_reported_in_one_run(book) -> None:
    tables = full_tables()
    tables["Settings"][1][1] = "lots"  # wrong type
    tables["Settings"].append(["discount", 1])  # unknown setting
    tables["Markets"][2][4] = 0  # out of range
    tables["Partners"][1][2] = None  # blank required
    tables["Partners"].append(["P2", "Copy", "Canada", 50])  # duplicate id
    tables["Options"][1][6] = "maybe"  # decision
    tables["Options"][2][3] = "compute"  # unknown layer
    tables["Coverage"].append(["O1", "M1", 1])  # duplicate pair
    tables["Coverage"][3][1] = "M9"  # unknown market
    tables["Usage"][1][1] = "lawyers"  # unknown resource
    tables["Rules"].append(["implies", "O1", "O2"])  # rule word
    tables["Rules"].append(["requires", "O2", "O2"])  # self link
    tables["CoFinancing"][1][2] = 0  # out of range
    tables["Scenarios"].append(["base", "budget", 1])  # reserved name
    tables["Partners"][2][3] = "=70"  # formula without cached value
    found = problems(book(tables), scenario="nope", overrides=[("colour", "red")])
    messages = [str(p) for p in found]
    assert len(found) == 17, "\n".join(messages)
    for where in [
        "sheet Settings, row 2, column value",
        "sheet Settings, row 4, column setting",
        "sheet Markets, row 3, column addressable",
        "sheet Partners, row 2, column country",
        "sheet Partners, row 4, column partner_id",
        "sheet Partners, row 3, column trust",
        "sheet Options, row 2, column decision",
        "sheet Options, row 3, column layer",
        "sheet Coverage, row 6, column market_id",
        "sheet Coverage, row 4, column market_id",
        "sheet Usage, row 2, column resource",
        "sheet Rules, row 3, column rule",
        "sheet Rules, row 4, column other_option_id",
        "sheet CoFinancing, row 2, column share",
        "sheet Scenarios, row 4, column scenario",
        "command line --scenario",
        "command line --set",
    ]:
        assert sum(m.startswith(where + ":") for m in messages) == 1, (where, messages)
    # Sorted by sheet and row, so the report reads top to bottom.
    assert found == sorted(found, key=Problem.sort_key)


def test_report_caps_long_lists(book) -> None:
    tables = minimal_tables()
    for i in range(30):
        tables["Partners"].append([f"X{i}", None, "Norland", 500])
    with pytest.raises(InputError, match=r"^30 problem\(s\) in the input$") as info:
        load_scenario(book(tables))
    report = info.value.report(limit=10).splitlines()
    assert len(report) == 11
    assert report[-1] == "... and 20 more problems of the same kinds"


def test_bad_input_writes_nothing(book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = minimal_tables()
    tables["Partners"][1][3] = 120
    path = book(tables)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Input errors (1), nothing was written:\n")
    assert "sheet Partners, row 2, column trust: found 120" in result.stderr
    assert sorted(tmp_path.rglob("*")) == before
    assert result.stdout == ""


def test_problem_values_are_shown_briefly() -> None:
    long = "x" * 100
    text = str(Problem("Markets", 7, "name", long, "text"))
    assert text == f"sheet Markets, row 7, column name: found '{'x' * 57}...'; expected text"
    assert not io.StringIO(text).read().count("\n")
