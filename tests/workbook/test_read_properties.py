"""Properties of reading: any valid scenario survives write → read, and any single
corruption of a valid workbook is bad input (exit 2, located), never a traceback."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_builders import sorted_scenario
from workbooks import Tables, cloned, full_tables, write_workbook

from planner.cli import cli
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
from planner.scenario.schema import SETTING_BY_KEY, SHEETS, Column, Kind, canonical_header
from planner.workbook.validation import load_scenario
from planner.workbook.writer import write_scenario

PROFILE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- random valid scenarios ------------------------------------------------------------------

ID_CHARS = string.ascii_letters + string.digits + "-_.#/"
ids = st.one_of(
    st.text(ID_CHARS, min_size=1, max_size=6).filter(lambda s: not s.startswith("_x")),
    st.integers(0, 10**6).map(str),  # ids that look like numbers stay text
    st.sampled_from(["007", "7.0", "1e3", "-1", "TRUE", "=A1", "+44", "@home"]),
)
names = (
    st.text(
        string.ascii_letters + string.digits + " .,;:*'&()=+-@éü–",
        min_size=1,
        max_size=16,
    )
    .map(str.strip)
    .filter(lambda s: s != "")
)
formula_like = st.builds(lambda c, s: c + s, st.sampled_from("=+-@"), names)
display = st.one_of(names, formula_like)
word = st.from_regex(r"[a-z]{1,7}", fullmatch=True)
category = st.builds(lambda a, b: f"{a} {b}" if b else a, word, st.one_of(st.just(""), word))
place = st.from_regex(r"[A-Z][a-z]{0,7}( [A-Z][a-z]{1,7})?", fullmatch=True)


def amount(lo: float = 0.0, hi: float = 1e7, exclude_lo: bool = False) -> st.SearchStrategy[float]:
    """Numbers as Excel holds them (15 significant digits), within the column's range."""
    floats = st.floats(lo, hi, exclude_min=exclude_lo, allow_nan=False, allow_infinity=False)
    rounded = floats.map(lambda x: float(f"{x:.15g}")).filter(
        lambda x: (x > lo if exclude_lo else x >= lo) and x <= hi
    )
    whole = st.integers(int(lo) + (1 if exclude_lo else 0), int(min(hi, 10**6))).map(float)
    return st.one_of(rounded, whole) if hi >= 1 + lo else rounded


def subset(items: list[str]) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(items), unique=True).map(lambda x: tuple(sorted(x)))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    layer_pool = draw(st.lists(category, min_size=1, max_size=3, unique=True))
    kind_pool = draw(st.lists(category, min_size=0, max_size=2, unique=True))
    partner_ids = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    partners = [
        Partner(pid, draw(display), draw(place), draw(amount(0, 100))) for pid in partner_ids
    ]
    option_ids = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    options = [
        Option(
            oid,
            draw(st.sampled_from(partner_ids)),
            draw(display),
            draw(st.sampled_from(layer_pool)),
            draw(st.one_of(st.none(), st.sampled_from(kind_pool))) if kind_pool else None,
            draw(amount()),
            draw(st.sampled_from([None, "must", "never"])),
        )
        for oid in option_ids
    ]
    with_layers = draw(st.booleans())
    known_layers = sorted(layer_pool if with_layers else {o.layer for o in options})
    layers = (
        [Layer(name, draw(amount(0, 100)), draw(amount(0, 1))) for name in layer_pool]
        if with_layers
        else []
    )
    market_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    markets = [
        Market(
            mid,
            draw(display),
            draw(place),
            draw(amount()),
            draw(amount(0, 1e6, exclude_lo=True)),
            draw(subset(known_layers)),
        )
        for mid in market_ids
    ]
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(option_ids), st.sampled_from(market_ids)),
            unique=True,
            max_size=8,
        )
    )
    coverage = [Coverage(o, m, draw(amount())) for o, m in pairs]
    regions = sorted({canonical_name(m.region) for m in markets})
    offer_ids = draw(st.lists(ids, max_size=2, unique=True))
    offers = [
        Offer(
            cid,
            draw(display),
            draw(amount(0, 1, exclude_lo=True)),
            draw(amount()),
            draw(amount()),
            draw(amount()),
            draw(st.one_of(st.none(), subset(regions).filter(bool))),
            draw(st.one_of(st.none(), subset(kind_pool).filter(bool))) if kind_pool else None,
            draw(st.one_of(st.none(), subset(known_layers).filter(bool))),
            draw(st.sampled_from([None, "must", "never"])),
        )
        for cid in offer_ids
    ]
    resource_ids = draw(st.lists(ids, max_size=2, unique=True))
    resources = [Resource(r, draw(amount())) for r in resource_ids]
    usage = []
    if resource_ids:
        used = draw(
            st.lists(
                st.tuples(st.sampled_from(option_ids), st.sampled_from(resource_ids)),
                unique=True,
                max_size=4,
            )
        )
        usage = [Usage(o, r, draw(amount())) for o, r in used]
    rules = []
    if len(option_ids) > 1:
        linked = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["requires", "excludes"]),
                    st.sampled_from(option_ids),
                    st.sampled_from(option_ids),
                ).filter(lambda r: r[1] != r[2]),
                max_size=3,
                unique=True,
            )
        )
        rules = [Rule(*r) for r in linked]
    settings_ = Settings(
        budget=draw(amount()),
        home_country=draw(place),
        currency=draw(display),
        reach_unit=draw(display),
        min_partner_trust=draw(amount(0, 100)),
        min_average_trust=draw(st.one_of(st.none(), amount(0, 100))),
        max_foreign_share=draw(amount(0, 1)),
        max_country_share=draw(amount(0, 1)),
        max_cofinance_share=draw(amount(0, 1)),
        plans=draw(st.integers(1, 20)),
        min_plan_difference=draw(st.integers(1, 5)),
        time_limit_s=draw(amount(0, 3600, exclude_lo=True)),
        mip_gap=draw(amount(0, 1)),
    )
    return sorted_scenario(
        Scenario(
            name="base",
            settings=settings_,
            markets=tuple(markets),
            partners=tuple(partners),
            options=tuple(options),
            coverage=tuple(coverage),
            layers=tuple(layers),
            offers=tuple(offers),
            resources=tuple(resources),
            usage=tuple(usage),
            rules=tuple(rules),
        )
    )


@PROFILE
@given(scenario=scenarios())
def test_written_scenario_reads_back_equal(
    tmp_path_factory: pytest.TempPathFactory, scenario: Scenario
) -> None:
    path = tmp_path_factory.mktemp("roundtrip") / "scenario.xlsx"
    write_scenario(path, scenario)
    assert load_scenario(path) == scenario


def test_numbers_round_trip_to_16_significant_digits(tmp_path: Path) -> None:
    """Workbooks carry numbers to 16 significant digits (openpyxl's format; Excel itself
    keeps 15), so a float needing 17 comes back within one unit of the 16th digit."""
    scenario = _one_option_scenario(cost=0.1 + 0.2)
    write_scenario(tmp_path / "s.xlsx", scenario)
    cost = load_scenario(tmp_path / "s.xlsx").options[0].cost
    assert cost == pytest.approx(0.1 + 0.2, rel=1e-15)
    assert cost == 0.3


def test_text_that_looks_like_an_xml_escape_reads_back_equal(tmp_path: Path) -> None:
    scenario = _one_option_scenario(name="Plan _x0041_")
    write_scenario(tmp_path / "s.xlsx", scenario)
    assert load_scenario(tmp_path / "s.xlsx").options[0].name == "Plan _x0041_"


def _one_option_scenario(cost: float = 10.0, name: str = "Option") -> Scenario:
    return Scenario(
        name="base",
        settings=Settings(budget=100.0, home_country="Norland"),
        markets=(Market("M1", "M1", "Asia", 1.0, 10.0),),
        partners=(Partner("P1", "P1", "Norland", 50.0),),
        options=(Option("O1", "P1", name, "cloud", None, cost),),
        coverage=(Coverage("O1", "M1", 1.0),),
    )


# --- random corruptions through the command line -------------------------------------------


def corruption_tables() -> Tables:
    """A valid workbook using every sheet, and settings of every kind."""
    tables = full_tables()
    tables["Settings"] += [
        ["currency", "EUR m"],
        ["min_partner_trust", 10],
        ["min_average_trust", 20],
        ["max_foreign_share", 0.9],
        ["plans", 3],
        ["time_limit_s", 30],
        ["mip_gap", 0.01],
    ]
    return tables


BAD_TYPE: dict[Kind, object] = {
    Kind.ID: True,
    Kind.TEXT: True,
    Kind.NAME: False,
    Kind.NUMBER: "lots",
    Kind.INTEGER: 2.5,
    Kind.LIST: "*; cloud",
    Kind.DECISION: "maybe",
    Kind.RULE: "implies",
}

KNOWN_CRASHES: set[tuple[str, str]] = set()
"""Cells whose corruption once crashed validation; empty since they are fixed."""


def _out_of_range(col: Column) -> list[object]:
    out: list[object] = []
    if col.lo is not None:
        out.append(col.lo if col.lo_strict else col.lo - 1)
    if col.hi is not None:  # above it (+0.5 is no change to 1e150: ten times it then)
        out.append(col.hi + 0.5 if col.hi + 0.5 > col.hi else col.hi * 10)
    return out


def catalogue() -> list[tuple[str, str, int, int | None, object]]:
    """(what, sheet, table row, column index or None for a duplicated row, new value)."""
    tables = corruption_tables()
    out: list[tuple[str, str, int, int | None, object]] = []
    for sheet in SHEETS:
        rows = tables[sheet.name]
        header = rows[0]
        for r in range(1, len(rows)):
            if sheet.key:
                out.append(("duplicated row", sheet.name, r, None, None))
            if sheet.name == "Settings":
                spec = SETTING_BY_KEY[canonical_header(str(rows[r][0]))]
                out.append(("wrong type", sheet.name, r, 1, BAD_TYPE[spec.kind]))
                out.append(("unknown setting", sheet.name, r, 0, "colour"))
                out += [("out of range", sheet.name, r, 1, v) for v in _out_of_range(spec)]
                if spec.required:
                    out.append(("blank required", sheet.name, r, 1, None))
                continue
            for col in sheet.columns:
                if (sheet.name, col.name) in KNOWN_CRASHES:
                    continue
                j = header.index(col.name)
                if sheet.name == "Scenarios" and col.name == "value":
                    spec = SETTING_BY_KEY[canonical_header(str(rows[r][1]))]
                    out.append(("wrong type", sheet.name, r, j, BAD_TYPE[spec.kind]))
                    out += [("out of range", sheet.name, r, j, v) for v in _out_of_range(spec)]
                    continue
                out.append(("wrong type", sheet.name, r, j, BAD_TYPE[col.kind]))
                if col.required:
                    out.append(("blank required", sheet.name, r, j, None))
                out += [("out of range", sheet.name, r, j, v) for v in _out_of_range(col)]
                if col.refers_to or (sheet.name == "Options" and col.name == "layer"):
                    out.append(("unknown reference", sheet.name, r, j, "ZZ-unknown"))
                if sheet.name == "Scenarios" and col.name == "scenario":
                    out.append(("reserved name", sheet.name, r, j, "BASE"))
                if sheet.name == "Scenarios" and col.name == "setting":
                    out.append(("unknown setting", sheet.name, r, j, "colour"))
    return out


CATALOGUE = catalogue()


def test_catalogue_covers_every_sheet_and_kind_of_mistake() -> None:
    assert {c[1] for c in CATALOGUE} == {s.name for s in SHEETS}
    assert {c[0] for c in CATALOGUE} == {
        "wrong type",
        "blank required",
        "out of range",
        "unknown reference",
        "duplicated row",
        "unknown setting",
        "reserved name",
    }


def corrupt(tables: Tables, chosen: list[tuple[str, str, int, int | None, object]]) -> list[str]:
    """Apply the corruptions; return where each must be reported ("sheet S, row N")."""
    where = []
    for _, sheet, r, j, _value in chosen:
        rows = tables[sheet]
        if j is None:
            rows.append(list(rows[r]))
            where.append(f"sheet {sheet}, row {len(rows)}")
    for _, sheet, r, j, value in chosen:
        if j is not None:
            tables[sheet][r][j] = value
            where.append(f"sheet {sheet}, row {r + 1}")
    return where


@PROFILE
@given(
    chosen=st.lists(
        st.sampled_from(CATALOGUE), min_size=1, max_size=3, unique_by=lambda c: (c[1], c[2])
    )
)
def test_any_corruption_exits_2_with_located_messages(
    tmp_path_factory: pytest.TempPathFactory, chosen: list
) -> None:
    tables = cloned(corruption_tables())
    where = corrupt(tables, chosen)
    path = write_workbook(tmp_path_factory.mktemp("corrupt") / "scenario.xlsx", tables)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, (chosen, result.output)
    assert "Traceback" not in result.output
    assert re.match(r"Input errors \(\d+\), nothing was written:\n", result.stderr)
    for place_ in where:
        assert place_ + "," in result.stderr, (chosen, place_, result.stderr)


def test_the_uncorrupted_workbook_is_valid(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "scenario.xlsx", corruption_tables())
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
