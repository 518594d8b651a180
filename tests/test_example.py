"""The bundled example workbook: valid in every scenario, realistic in size, reproducible."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl
import pytest

from planner.scenario.data import Scenario, canonical_name
from planner.scenario.schema import SETTING_BY_KEY, canonical_header
from planner.workbook.reader import RawWorkbook, read_workbook
from planner.workbook.validation import check_workbook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inputs" / "example.xlsx"
BUILDER = ROOT / "inputs" / "build_example.py"
LAYERS = {"compute", "cloud", "model", "application", "skills"}


def _load_builder() -> ModuleType:
    """inputs/ is not a package: load the script by path, as `python inputs/...` runs it."""
    spec = importlib.util.spec_from_file_location("build_example", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    return _load_builder()


@pytest.fixture(scope="module")
def raw() -> RawWorkbook:
    return read_workbook(EXAMPLE)


@pytest.fixture(scope="module")
def base(raw: RawWorkbook) -> Scenario:
    return check_workbook(raw)


def _scenario_names(raw: RawWorkbook) -> set[str]:
    sheet = raw.sheets["scenarios"]
    column = [canonical_header(str(h)) for h in sheet.headers].index("scenario")
    return {str(cells[column]).strip() for _, cells in sheet.rows}


def test_base_scenario_is_valid_without_warnings(base: Scenario) -> None:
    assert base.name == "base"
    assert base.warnings == ()
    assert base.settings.home_country == "Norland"
    assert base.settings.currency == "USD m"
    assert base.settings.reach_unit == "people (m)"


def test_every_scenario_of_the_scenarios_sheet_is_valid(
    raw: RawWorkbook, base: Scenario, builder: ModuleType
) -> None:
    names = _scenario_names(raw)
    assert names == set(builder.SCENARIOS)
    assert len(names) >= 4
    for name in sorted(names):
        scenario = check_workbook(raw, scenario=name)
        overrides: dict[str, Any] = {
            key: SETTING_BY_KEY[canonical_header(key)].default if value is None else value
            for key, value in builder.SCENARIOS[name].items()
        }
        assert scenario.settings == replace(base.settings, **overrides), name
        assert scenario.options == base.options


def test_size_and_variety(base: Scenario) -> None:
    assert 10 <= len(base.markets) <= 14
    assert len({canonical_name(m.region) for m in base.markets}) >= 5
    assert any(m.required_layers for m in base.markets)
    assert any(m.weight > 1 for m in base.markets)

    assert 20 <= len(base.partners) <= 30
    foreign = [p for p in base.partners if base.is_foreign(p)]
    assert foreign
    assert len(foreign) < len(base.partners)

    assert 50 <= len(base.options) <= 70
    assert {o.layer for o in base.options} == LAYERS
    assert {o.kind for o in base.options} == {
        "joint development",
        "coordinated deployment",
        "capacity building",
    }
    assert any(c.reach == 0 for c in base.coverage)

    assert len(base.offers) >= 3
    assert base.resources
    assert base.usage
    assert {r.rule for r in base.rules} == {"requires", "excludes"}
    assert {layer.layer for layer in base.layers} == LAYERS


def test_trust_limits_screen_some_partners_out(base: Scenario) -> None:
    """The example shows both screens of SPEC §3 rule 9 at work."""
    trust = {p.partner_id: p.trust for p in base.partners}
    floor = base.settings.min_partner_trust
    layer_floor = {layer.layer: layer.min_trust for layer in base.layers}
    assert any(trust[o.partner_id] < floor for o in base.options)
    assert any(floor <= trust[o.partner_id] < layer_floor[o.layer] for o in base.options), (
        "some option should pass min_partner_trust but fail its layer's min_trust"
    )


def test_budget_forces_choices(base: Scenario) -> None:
    """Not everything fits: even with every offer paying its cap the budget binds."""
    gross = sum(o.cost for o in base.options)
    assert gross > base.settings.budget + sum(c.cap for c in base.offers)


def test_about_sheet_says_illustrative() -> None:
    wb = openpyxl.load_workbook(EXAMPLE, read_only=True)
    try:
        assert wb.sheetnames[0] == "About"
        text = " ".join(str(v) for row in wb["About"].iter_rows(values_only=True) for v in row if v)
    finally:
        wb.close()
    for phrase in ("ILLUSTRATIVE", "fictional", "USD m", "people (m)"):
        assert phrase in text


def test_committed_example_equals_the_one_built_in_code(
    base: Scenario, builder: ModuleType
) -> None:
    assert base == builder.build_example()


def test_rebuilding_gives_an_equal_scenario(
    tmp_path: Path, base: Scenario, builder: ModuleType
) -> None:
    out = tmp_path / "example.xlsx"
    written = builder.write_example(out)
    rebuilt_raw = read_workbook(out)
    assert check_workbook(rebuilt_raw) == base == written
    assert _scenario_names(rebuilt_raw) == set(builder.SCENARIOS)
    assert builder.main([str(tmp_path / "again.xlsx")]) == 0
    assert check_workbook(read_workbook(tmp_path / "again.xlsx")) == base
