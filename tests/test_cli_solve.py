"""`planner solve` end to end: exit statuses, plans.json as SPEC §5, plans.xlsx for people.

Every plan written is re-checked here from the scenario data alone: weighted
reach, net spend and the budget are recomputed from the JSON and the workbook,
without the solver's numbers.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from planner.checks.verify import check_plan, evaluate_plan
from planner.cli import cli
from planner.plan import CoFinancing, Plan
from planner.scenario.data import Coverage, Market, Option, Partner, Scenario, Settings
from planner.workbook.validation import load_scenario
from planner.workbook.writer import write_scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inputs" / "example.xlsx"
TOL = 1e-6


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result.exit_code, result.stdout, result.stderr


def recompute(scenario: Scenario, plan: dict) -> tuple[float, float]:
    """Weighted reach and net spend of a plans.json plan, from the scenario data."""
    chosen = set(plan["options"])
    options = {o.option_id: o for o in scenario.options}
    offers = {c.offer_id: c for c in scenario.offers}
    total: dict[str, float] = {}
    layers: dict[str, set[str]] = {}
    for row in scenario.coverage:
        if row.option_id in chosen:
            total[row.market_id] = total.get(row.market_id, 0.0) + row.reach
            layers.setdefault(row.market_id, set()).add(options[row.option_id].layer)
    reach = 0.0
    for m in scenario.markets:
        if set(m.required_layers) <= layers.get(m.market_id, set()):
            reach += m.weight * min(m.addressable, total.get(m.market_id, 0.0))
    gross = sum(options[o].cost for o in chosen)
    drawn = sum(c["amount"] for c in plan["cofinancing"])
    fees = sum(offers[c].fee for c in plan["offers"])
    return reach, gross - drawn + fees


def as_plan(doc: dict) -> Plan:
    return Plan(
        rank=doc["rank"],
        options=tuple(doc["options"]),
        offers=tuple(doc["offers"]),
        cofinancing=tuple(
            CoFinancing(c["offer"], c["option"], c["amount"]) for c in doc["cofinancing"]
        ),
        weighted_reach=doc["weighted_reach"],
        net_spend=doc["net_spend"],
        gross_spend=doc["gross_spend"],
        cofinanced=doc["cofinanced"],
        fees=doc["fees"],
        average_trust=doc["average_trust"],
        foreign_share=doc["foreign_share"],
        markets=(),
        bound=doc["bound"],
        proven_optimal=doc["proven_optimal"],
    )


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("example")
    code, stdout, _ = run(["solve", "--no-explain", str(EXAMPLE), "--out", str(out)])
    return code, stdout, out


def test_example_solves_and_writes_both_files(example_run: tuple[int, str, Path]) -> None:
    code, stdout, out = example_run
    assert code == 0
    assert (out / "plans.json").is_file()
    assert (out / "plans.xlsx").is_file()
    assert "rank" in stdout and "Scenario base: optimal" in stdout
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging leftovers


def test_plans_json_follows_the_contract(example_run: tuple[int, str, Path]) -> None:
    _, _, out = example_run
    doc = json.loads((out / "plans.json").read_text())
    scenario = load_scenario(EXAMPLE)
    assert doc["schema"] == "partnership-plans/1"
    assert doc["scenario"] == "base"
    assert doc["status"] == "optimal"
    ceiling = sum(m.weight * m.addressable for m in scenario.markets)
    assert doc["max_weighted_reach"] == pytest.approx(ceiling)
    assert len(doc["plans"]) == scenario.settings.plans
    previous = None
    for k, plan in enumerate(doc["plans"], start=1):
        assert plan["rank"] == k
        for key in ("options", "offers"):
            assert plan[key] == sorted(plan[key])
        assert [m["market"] for m in plan["markets"]] == sorted(
            m.market_id for m in scenario.markets
        )
        reach, net = recompute(scenario, plan)
        assert plan["weighted_reach"] == pytest.approx(reach, rel=TOL, abs=TOL)
        assert plan["net_spend"] == pytest.approx(net, rel=TOL, abs=TOL)
        assert net <= scenario.settings.budget * (1 + TOL) + TOL
        assert plan["proven_optimal"] is True
        assert plan["bound"] >= plan["weighted_reach"] - TOL
        assert check_plan(scenario, as_plan(plan)) == []
        if previous is not None:
            assert plan["weighted_reach"] <= previous["weighted_reach"] + TOL
            assert not set(previous["options"]) <= set(plan["options"])
        previous = plan


def test_plans_xlsx_has_every_sheet(example_run: tuple[int, str, Path]) -> None:
    _, _, out = example_run
    wb = openpyxl.load_workbook(out / "plans.xlsx")
    assert wb.sheetnames == [
        "Summary",
        "Plans",
        "Markets",
        "CoFinancing",
        "Segments",
        "Screened",
        "Run",
    ]
    summary = wb["Summary"]
    assert summary["A2"].value == 1
    assert summary._charts, "the Summary sheet carries a chart of the plans"
    run_items = {r[0]: r[1] for r in wb["Run"].iter_rows(min_row=2, values_only=True)}
    assert len(run_items["workbook SHA-256"]) == 64
    assert run_items["setting budget"] == 120
    screened = [r[0] for r in wb["Screened"].iter_rows(min_row=2, values_only=True)]
    assert "CMP-08" in screened


@pytest.mark.parametrize(
    "scenario", ["tight_trust", "high_budget", "low_budget", "home_first", "no_trust_limits"]
)
def test_every_example_scenario_solves(scenario: str, tmp_path: Path) -> None:
    code, stdout, _ = run(
        [
            "solve",
            "--no-explain",
            str(EXAMPLE),
            "--scenario",
            scenario,
            "--plans",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0, stdout
    doc = json.loads((tmp_path / "plans.json").read_text())
    assert doc["scenario"] == scenario
    loaded = load_scenario(EXAMPLE, scenario, [("plans", "2")])
    for plan in doc["plans"]:
        assert check_plan(loaded, as_plan(plan)) == []


def tiny(**settings: object) -> Scenario:
    base = Scenario(
        name="base",
        settings=Settings(budget=9.0, home_country="Home"),
        markets=(Market("M1", '=HYPERLINK("x")', "East Africa", 1.0, 10.0),),
        partners=(Partner("P1", "+cmd", "Home", 90.0),),
        options=(
            Option("O1", "P1", "@risky", "cloud", None, 4.0),
            Option("O2", "P1", "-minus", "cloud", None, 6.0),
        ),
        coverage=(Coverage("O1", "M1", 3.0), Coverage("O2", "M1", 5.0)),
    )
    return replace(base, settings=replace(base.settings, **settings))


def test_names_that_look_like_formulas_stay_text(tmp_path: Path) -> None:
    book = tmp_path / "in.xlsx"
    write_scenario(book, tiny())
    code, _, _ = run(["solve", str(book), "--out", str(tmp_path / "out")])
    assert code == 0
    wb = openpyxl.load_workbook(tmp_path / "out" / "plans.xlsx")
    texts = [
        c
        for ws in wb
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value[:1] in "=+-@"
    ]
    assert {c.value for c in texts} >= {'=HYPERLINK("x")', "+cmd", "@risky", "-minus"}
    assert all(c.data_type == "s" for c in texts)


def test_infeasible_scenario_exits_3_with_a_diagnosis(tmp_path: Path) -> None:
    book = tmp_path / "in.xlsx"
    write_scenario(
        book, replace(tiny(), options=tuple(replace(o, decision="must") for o in tiny().options))
    )
    code, stdout, stderr = run(["solve", str(book), "--out", str(tmp_path / "out")])
    assert code == 3
    # The diagnosis is the run's answer: on stdout with the table, once, not on stderr too.
    diagnosis = (tmp_path / "out" / "diagnosis.txt").read_text().strip()
    assert stdout.count(diagnosis) == 1
    assert "budget" not in stderr
    doc = json.loads((tmp_path / "out" / "plans.json").read_text())
    assert doc["status"] == "infeasible" and doc["plans"] == []
    assert "budget" in (tmp_path / "out" / "diagnosis.txt").read_text()


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    book = tmp_path / "in.xlsx"
    write_scenario(book, tiny())
    out = tmp_path / "out"
    code, _, stderr = run(["solve", str(book), "--out", str(out), "--set", "plans=0"])
    assert code == 2
    assert "plans" in stderr and "Traceback" not in stderr
    assert not out.exists()


def test_fewer_plans_than_asked_is_said_plainly(tmp_path: Path) -> None:
    book = tmp_path / "in.xlsx"
    write_scenario(book, tiny(plans=5))
    code, stdout, _ = run(["solve", str(book), "--out", str(tmp_path / "out")])
    assert code == 0
    doc = json.loads((tmp_path / "out" / "plans.json").read_text())
    # Only {O1}, {O2} and (over budget) nothing else: two plans reach something.
    assert [p["options"] for p in doc["plans"]] == [["O2"], ["O1"]]
    assert "Only 2 of the 5 plans" in doc["message"]
    assert "Only 2 of the 5 plans" in stdout


def test_evaluate_plan_matches_recompute() -> None:
    scenario = tiny()
    metrics = evaluate_plan(scenario, ("O2",), (), ())
    assert metrics.weighted_reach == pytest.approx(5.0)


def test_the_time_limit_counts_loading_the_solver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SPEC: time_limit_s is the limit for the whole run, so the clock starts before the
    command loads its solver modules (made slow here), not when it begins reading."""
    import sys
    import time

    import planner.solving.ranking

    captured: dict[str, float] = {}
    real = planner.solving.ranking.rank_plans

    def spy(scenario, **kwargs):
        captured["started"] = kwargs["started"]
        return real(scenario, **kwargs)

    class SlowFinder:
        """Delays one of the modules `planner solve` imports when it runs."""

        @staticmethod
        def find_spec(name, path, target=None):
            if name == "planner.reports.terminal":
                time.sleep(0.3)
            return None

    monkeypatch.setattr(planner.solving.ranking, "rank_plans", spy)
    monkeypatch.delitem(sys.modules, "planner.reports.terminal")
    monkeypatch.setattr(sys, "meta_path", [SlowFinder(), *sys.meta_path])
    before = time.monotonic()
    code, _, _ = run(["solve", "--no-explain", str(EXAMPLE), "--out", str(tmp_path / "out")])
    assert code == 0
    assert captured["started"] - before < 0.2
