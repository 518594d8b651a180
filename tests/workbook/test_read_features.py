"""SPEC §2 reading rules: what a workbook may look like and what it means."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from workbooks import (
    Tables,
    cloned,
    full_tables,
    minimal_tables,
    set_cached_values,
    write_workbook,
)

from planner.errors import InputError
from planner.scenario.data import Coverage, Layer, Market, Offer, Scenario, Settings, eligible_pairs
from planner.workbook.validation import load_scenario


@pytest.fixture
def book(tmp_path: Path):
    """Write tables to a fresh workbook in the test's temporary folder."""
    count = iter(range(1000))

    def write(tables: Tables) -> Path:
        return write_workbook(tmp_path / f"scenario{next(count)}.xlsx", tables)

    return write


@pytest.fixture
def baseline(book) -> Scenario:
    return load_scenario(book(full_tables()))


def column(tables: Tables, sheet: str, name: str) -> int:
    return tables[sheet][0].index(name)


# --- names of sheets, columns and settings ---------------------------------------------------


@pytest.mark.parametrize(
    "header", ["Option ID", " option_id ", "OPTION_ID", "option  id", "Option_Id"]
)
def test_header_matching(book, baseline: Scenario, header: str) -> None:
    tables = full_tables()
    tables["Options"][0][0] = header
    tables["Coverage"][0][0] = header
    tables["Markets"][0][column(tables, "Markets", "required_layers")] = "Required Layers"
    assert load_scenario(book(tables)) == baseline


@pytest.mark.parametrize("name", ["CoFinancing", "cofinancing", " COFINANCING "])
def test_sheet_name_matching(book, baseline: Scenario, name: str) -> None:
    tables = full_tables()
    tables[name] = tables.pop("CoFinancing")
    tables["  markets"] = tables.pop("Markets")
    tables["PARTNERS"] = tables.pop("Partners")
    scenario = load_scenario(book(tables))
    assert scenario == baseline
    assert scenario.offers


@pytest.mark.parametrize("name", ["co financing", "Co_Financing"])
def test_sheet_name_with_a_space_between_words(book, baseline: Scenario, name: str) -> None:
    tables = full_tables()
    tables[name] = tables.pop("CoFinancing")
    assert load_scenario(book(tables)).offers == baseline.offers


def test_setting_names_match_like_headers(book) -> None:
    tables = minimal_tables()
    tables["Settings"][0] = [" Setting", "VALUE "]
    tables["Settings"][1][0] = "Budget"
    tables["Settings"][2][0] = " home country "
    tables["Settings"].append(["Min Average_Trust", 55])
    settings = load_scenario(book(tables)).settings
    assert (settings.budget, settings.home_country, settings.min_average_trust) == (
        100,
        "Norland",
        55,
    )


# --- values ----------------------------------------------------------------------------------


def test_ids_are_text(book) -> None:
    tables = minimal_tables()
    tables["Markets"][1][0] = 7  # number 7 -> "7"
    tables["Markets"][2][0] = " 8.0 "  # text stays text, trimmed
    tables["Partners"][1][0] = " P1 "
    tables["Options"][1][0] = 1.0  # a float that is whole -> "1"
    tables["Options"][2][0] = "2.5"  # text that looks like a fraction stays text
    tables["Coverage"][1][:2] = ["1", 7.0]
    tables["Coverage"][2][:2] = [" 2.5", "7"]
    tables["Coverage"][3][:2] = ["2.5", "8.0"]
    s = load_scenario(book(tables))
    assert [m.market_id for m in s.markets] == ["7", "8.0"]
    assert [p.partner_id for p in s.partners] == ["P1", "P2"]
    assert [o.option_id for o in s.options] == ["1", "2.5"]
    assert s.options[0].partner_id == "P1"
    assert s.options[0].name == "Cloud region"
    assert s.coverage == (
        Coverage("1", "7", 5.0),
        Coverage("2.5", "7", 3.0),
        Coverage("2.5", "8.0", 4.0),
    )


def test_ids_in_either_unicode_normal_form_match(book) -> None:
    """An id typed with a decomposed accent (NFD, as some Mac tools write it) is the same
    id as the one typed precomposed (NFC): they look alike and differ only in bytes."""
    composed, decomposed = "CAF\u00c9-1", "CAFE\u0301-1"
    tables = minimal_tables()
    tables["Options"][1][0] = composed
    tables["Coverage"][1][0] = decomposed
    tables["Partners"][1][0] = decomposed
    tables["Options"][1][1] = composed
    tables["Settings"][2][1] = "C\u00f4te d'Ivoire"  # names too: the partner is domestic
    tables["Partners"][1][2] = "Co\u0302te d'Ivoire"
    s = load_scenario(book(tables))
    assert s.partners[0].country == s.settings.home_country == "C\u00f4te d'Ivoire"
    assert [o.option_id for o in s.options] == ["CAF\u00c9-1", "O2"]
    assert s.coverage[0] == Coverage(composed, "M1", 5.0)
    assert s.partners[0].partner_id == composed
    assert s.with_decisions(must=[decomposed]).options[0].decision == "must"
    tables["Coverage"].append([decomposed, "M1", 1])
    with pytest.raises(InputError) as info:
        load_scenario(book(tables))
    assert [str(p) for p in info.value.problems] == [
        "sheet Coverage, row 5, column market_id: found 'M1'; expected each option_id and "
        "market_id pair only once (row 2 has the same)"
    ]


def test_numeric_text_is_a_number(book) -> None:
    tables = minimal_tables()
    tables["Options"][1][5] = "12.5"
    tables["Options"][2][5] = " 40 "
    tables["Coverage"][1][2] = "1e1"
    tables["Partners"][1][3] = "75"
    tables["Settings"][1][1] = "99.5"
    tables["Settings"].append(["plans", "3"])
    s = load_scenario(book(tables))
    assert [o.cost for o in s.options] == [12.5, 40.0]
    assert s.coverage[0].reach == 10.0
    assert s.partners[0].trust == 75.0
    assert (s.settings.budget, s.settings.plans) == (99.5, 3)
    assert isinstance(s.settings.plans, int)


def test_whole_number_written_as_float_is_an_integer(book) -> None:
    tables = minimal_tables()
    tables["Settings"].append(["plans", 3.0])
    tables["Settings"].append(["min_plan_difference", "2.0"])
    settings = load_scenario(book(tables)).settings
    assert (settings.plans, settings.min_plan_difference) == (3, 2)


def test_blank_rows_are_ignored_and_rows_keep_their_excel_numbers(book) -> None:
    tables = minimal_tables()
    base = load_scenario(book(tables))
    tables["Partners"].insert(2, [None, None, None, None])
    tables["Partners"].insert(2, ["", "  ", None, ""])
    tables["Settings"].insert(1, [None, None])
    assert load_scenario(book(tables)) == base
    tables["Partners"][4][3] = 500  # P2, now in Excel row 5
    with pytest.raises(InputError, match=r"^1 problem") as info:
        load_scenario(book(tables))
    assert str(info.value.problems[0]).startswith("sheet Partners, row 5, column trust: found 500")


def test_extra_columns_and_sheets_are_ignored(book, baseline: Scenario) -> None:
    tables = full_tables()
    for sheet in tables.values():
        sheet[0].insert(1, "notes")
        for row in sheet[1:]:
            row.insert(1, "a note; with * and = signs, 12")
        sheet[0].append(None)  # a column without header
        for row in sheet[1:]:
            row.append("unheaded")
    tables = {"About": [["This workbook"], ["=1+1"]], **tables, "Sources": [["x"], [True]]}
    assert load_scenario(book(tables)) == baseline


def test_defaults(book) -> None:
    tables = full_tables()
    markets = tables["Markets"]
    markets[1][column(tables, "Markets", "name")] = None
    markets[1][column(tables, "Markets", "weight")] = None
    for row in tables["Coverage"][1:]:
        row[2] = None
    offer = tables["CoFinancing"][1]
    for name in ("financier", "fee", "min_eligible_spend", "regions", "kinds", "layers"):
        offer[column(tables, "CoFinancing", name)] = None
    tables["Layers"][2][1:] = [None, None]
    tables["Options"][1][2] = None
    s = load_scenario(book(tables))
    assert s.markets[0] == Market("M1", "M1", "East Africa", 1.0, 10.0, ("cloud",))
    assert s.options[0].name == "O1"
    assert s.options[1].kind is None and s.options[1].decision is None
    assert {c.reach for c in s.coverage} == {0.0}
    assert s.offers == (Offer("C1", "C1", 0.5, 20.0, 0.0, 0.0, None, None, None, None),)
    assert s.layers[1] == Layer("model", 0.0, 1.0)
    assert s.settings == Settings(budget=100.0, home_country="Norland")


def test_settings_defaults_equal_the_schema(book) -> None:
    settings = load_scenario(book(minimal_tables())).settings
    assert settings == Settings(
        budget=100.0,
        home_country="Norland",
        currency="USD m",
        reach_unit="people (m)",
        min_partner_trust=0.0,
        min_average_trust=None,
        max_foreign_share=1.0,
        max_country_share=1.0,
        max_cofinance_share=0.8,
        plans=5,
        min_plan_difference=1,
        time_limit_s=60.0,
        mip_gap=0.0,
    )


def test_star_in_required_layers_is_every_layer_of_the_layers_sheet(book) -> None:
    tables = full_tables()
    tables["Layers"].append(["compute", 0, 1])  # listed, though no option supplies it
    tables["Markets"][2][5] = "*"
    s = load_scenario(book(tables))
    assert s.markets[1].required_layers == ("cloud", "compute", "model", "skills")


def test_star_in_required_layers_is_every_layer_of_options_without_layers_sheet(book) -> None:
    tables = minimal_tables()
    tables["Markets"][2][5] = " * "
    s = load_scenario(book(tables))
    assert s.markets[1].required_layers == ("cloud", "model")


def test_lists_are_trimmed_sorted_and_deduplicated(book) -> None:
    tables = full_tables()
    tables["Markets"][1][5] = " Skills ;cloud;; CLOUD "
    tables["CoFinancing"][1][6] = "West Africa; east  africa"
    s = load_scenario(book(tables))
    assert s.markets[0].required_layers == ("cloud", "skills")
    assert s.offers[0].regions == ("east africa", "west africa")


def test_names_and_words_compare_case_insensitively(book) -> None:
    tables = full_tables()
    tables["Options"][1][3] = " CLOUD "
    tables["Options"][1][4] = "Joint  Development"
    tables["Options"][2][6] = " Never "
    tables["Options"][3][6] = "MUST"
    tables["Layers"][1][0] = "Cloud"
    tables["Markets"][1][5] = "cLoUd"
    tables["CoFinancing"][1][6] = "EAST AFRICA"  # market region is written "East Africa"
    tables["CoFinancing"][1][7] = "JOINT development"
    tables["CoFinancing"][1][8] = "Cloud;MODEL"
    tables["CoFinancing"][1][9] = "Must"
    tables["Rules"][1][0] = "Requires"
    tables["Partners"][2][2] = "NORLAND"  # home_country is written "Norland"
    s = load_scenario(book(tables))
    o1, o2, o3 = s.options
    assert (o1.layer, o1.kind, o2.decision, o3.decision) == (
        "cloud",
        "joint development",
        "never",
        "must",
    )
    assert s.layers[0].layer == "cloud"
    assert s.markets[0].required_layers == ("cloud",)
    offer = s.offers[0]
    assert (offer.regions, offer.kinds, offer.layers, offer.decision) == (
        ("east africa",),
        ("joint development",),
        ("cloud", "model"),
        "must",
    )
    assert s.rules[0].rule == "requires"
    assert ("C1", "O1") in eligible_pairs(s)
    assert not any(s.is_foreign(p) for p in s.partners)
    assert s.partners[1].country == "NORLAND"  # kept as written, for reports


# --- scenarios and overrides -----------------------------------------------------------------


def test_scenario_overrides_settings(book) -> None:
    path = book(full_tables())
    base = load_scenario(path)
    high = load_scenario(path, scenario="high")
    assert high.name == "high" and base.name == "base"
    assert (base.settings.budget, base.settings.min_average_trust) == (100, None)
    assert (high.settings.budget, high.settings.min_average_trust) == (200, 60)
    assert replace(high, name="base", settings=base.settings) == base
    assert load_scenario(path, scenario="base") == base


def test_blank_value_in_scenarios_resets_to_default(book) -> None:
    tables = full_tables()
    tables["Settings"] += [["min_average_trust", 70], ["currency", "EUR m"], ["plans", 2]]
    tables["Scenarios"] += [
        ["relaxed", "min_average_trust", None],
        ["relaxed", "currency", "  "],
        ["relaxed", "Plans", None],
    ]
    path = book(tables)
    base = load_scenario(path).settings
    relaxed = load_scenario(path, scenario="relaxed").settings
    assert (base.min_average_trust, base.currency, base.plans) == (70, "EUR m", 2)
    assert (relaxed.min_average_trust, relaxed.currency, relaxed.plans) == (None, "USD m", 5)


def test_set_is_applied_after_the_scenario(book) -> None:
    path = book(full_tables())
    s = load_scenario(
        path, scenario="high", overrides=[("budget", "150"), ("Min Average Trust", "")]
    )
    assert (s.settings.budget, s.settings.min_average_trust) == (150, None)
    s = load_scenario(path, overrides=[("budget", "150"), ("budget", "160")])
    assert s.settings.budget == 160


def test_scenario_named_by_a_number(book) -> None:
    tables = full_tables()
    tables["Scenarios"].append([2030, "budget", 300])
    assert load_scenario(book(tables), scenario="2030").settings.budget == 300


# --- order and formulas ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_and_columns_in_any_order_give_an_equal_scenario(
    book, baseline: Scenario, seed: int
) -> None:
    rng = random.Random(seed)
    tables = cloned(full_tables())
    for name, rows in tables.items():
        body = rows[1:]
        rng.shuffle(body)
        order = list(range(len(rows[0])))
        rng.shuffle(order)
        tables[name] = [[row[i] for i in order] for row in [rows[0], *body]]
    names = list(tables)
    rng.shuffle(names)
    assert load_scenario(book({n: tables[n] for n in names})) == baseline


def test_formulas_are_read_by_their_cached_value(book) -> None:
    tables = minimal_tables()
    tables["Partners"][1][1] = '=UPPER("home cloud")'
    tables["Partners"][1][3] = "=70+10"
    tables["Options"][2][5] = "=SUM(1,2)"
    tables["Settings"][1][1] = "=50*2"
    path = book(tables)
    set_cached_values(path, "Partners", {"B2": "HOME CLOUD", "D2": 80})
    set_cached_values(path, "Options", {"F3": 3})
    set_cached_values(path, "Settings", {"B2": 100})
    s = load_scenario(path)
    assert (s.partners[0].name, s.partners[0].trust) == ("HOME CLOUD", 80.0)
    assert s.options[1].cost == 3.0
    assert s.settings.budget == 100.0


def test_formula_whose_cached_value_is_empty_text_is_blank(book) -> None:
    tables = minimal_tables()
    tables["Partners"][1][1] = '=IF(TRUE,"","x")'
    path = book(tables)
    set_cached_values(path, "Partners", {"B2": ""})
    assert load_scenario(path).partners[0].name == "P1"


def test_offer_naming_an_unknown_region_or_kind_is_a_warning_not_an_error(book) -> None:
    tables = full_tables()
    tables["CoFinancing"][1][6] = "Atlantis; East Africa"
    tables["CoFinancing"][1][7] = "Space Travel"
    s = load_scenario(book(tables))
    assert s.offers[0].regions == ("atlantis", "east africa")
    assert s.warnings == (
        "CoFinancing row 2: offer C1 names region 'atlantis', which no market has; "
        "the offer may be useless",
        "CoFinancing row 2: offer C1 names kind 'space travel', which no option has",
    )
