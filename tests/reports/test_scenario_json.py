"""scenario.json: every row after defaults and the settings, rebuilt into an equal Scenario."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from scenario_builders import random_scenario, tiny_scenario

import planner
from planner.reports.scenario_json import (
    SCHEMA,
    ScenarioDocumentError,
    scenario_document,
    scenario_from_document,
)
from planner.scenario.data import Offer

EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"


def round_trip(scenario: planner.Scenario) -> planner.Scenario:
    text = json.dumps(scenario_document(scenario))  # through text, as written
    return scenario_from_document(json.loads(text))


def test_example_round_trips_equal_with_its_source() -> None:
    loaded = planner.load(EXAMPLE, scenario="high_budget")
    back = round_trip(loaded)
    assert back == loaded
    assert back.source == loaded.source
    assert back.warnings == loaded.warnings
    doc = scenario_document(loaded)
    assert doc["schema"] == SCHEMA
    assert doc["scenario"] == "high_budget"
    assert doc["settings"]["budget"] == loaded.settings.budget
    assert len(doc["sheets"]["Options"]) == len(loaded.options)


@pytest.mark.parametrize("seed", range(12))
def test_random_scenarios_round_trip(seed: int) -> None:
    scenario = random_scenario(seed, n_options=10, n_offers=3)
    back = round_trip(scenario)
    assert back == scenario
    assert all(isinstance(o.regions, tuple | None) for o in back.offers)


def test_infinite_none_and_tuples_round_trip() -> None:
    base = tiny_scenario(budget=math.inf, min_average_trust=None)
    offer = Offer("C1", "Fund", 0.5, math.inf, 0.0, 0.0, ("east africa",), None, ("cloud", "model"))
    scenario = replace(base, offers=(offer,))
    text = json.dumps(scenario_document(scenario))
    assert "Infinity" not in text  # strict JSON
    back = scenario_from_document(json.loads(text))
    assert back == scenario
    assert back.settings.budget == math.inf and back.settings.min_average_trust is None
    assert back.offers[0].layers == ("cloud", "model") and back.offers[0].kinds is None


def test_document_of_another_schema_is_refused() -> None:
    doc = scenario_document(tiny_scenario())
    with pytest.raises(ScenarioDocumentError, match="partnership-scenario/1"):
        scenario_from_document({**doc, "schema": "partnership-scenario/9"})
    doc["sheets"]["Options"][0]["price"] = 3
    with pytest.raises(ScenarioDocumentError, match="sheet Options row 1: unknown columns price"):
        scenario_from_document(doc)


def test_every_run_folder_keeps_its_scenario(tmp_path: Path) -> None:
    scenario = tiny_scenario()
    result = planner.solve(scenario, plans=1, time_limit=20, threads=1)
    written = result.write(tmp_path)
    assert tmp_path / "scenario.json" in written
    doc = json.loads((tmp_path / "scenario.json").read_text(encoding="utf-8"))
    assert scenario_from_document(doc) == result.scenario


@pytest.mark.parametrize("seed", range(6))
def test_the_written_bytes_round_trip_every_float_exactly(seed: int) -> None:
    # scenario.json is written by orjson (compact): the same numbers as the standard
    # encoder's, to the last bit, infinities included.
    scenario = random_scenario(seed, n_options=10, n_offers=3)
    odd = [0.1 + 0.2, 1e-7, 1e16, 123456.789e-3, 5e-324, math.inf]
    options = tuple(replace(o, cost=odd[i % len(odd)]) for i, o in enumerate(scenario.options))
    scenario = replace(scenario, options=options)
    written = orjson.dumps(scenario_document(scenario))
    assert scenario_from_document(json.loads(written)) == scenario
    assert json.loads(written) == json.loads(json.dumps(scenario_document(scenario)))
