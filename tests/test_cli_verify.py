"""`planner verify RUN [WORKBOOK]`: every plan of a run folder re-checked without a solver,
each broken limit named with by how much; exit 0 when all hold, 2 otherwise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inputs" / "example.xlsx"


def run(args: list[object]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "run"
    code, _, stderr = run(
        ["solve", "--no-explain", EXAMPLE, "--plans", "3", "--time-limit", "30", "--out", out]
    )
    assert code == 0, stderr
    return out


@pytest.fixture
def copy(solved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(solved, tmp_path / "run"))


def test_an_untouched_run_holds(solved: Path) -> None:
    code, stdout, stderr = run(["verify", solved])
    assert code == 0, stderr
    assert "All 3 plan(s) hold." in stdout
    code, stdout, _ = run(["verify", solved, EXAMPLE])  # the workbook and the run's settings
    assert code == 0 and "All 3 plan(s) hold." in stdout


def test_a_hand_edited_plan_over_budget_is_caught_with_by_how_much(copy: Path) -> None:
    path = copy / "plans.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    plan = doc["plans"][0]
    assert "CMP-06" not in plan["options"]  # cost 40 in the example
    plan["options"] = sorted([*plan["options"], "CMP-06"])
    path.write_text(json.dumps(doc), encoding="utf-8")
    net = plan["net_spend"] + 40
    budget = doc["settings"]["budget"]
    code, stdout, stderr = run(["verify", copy])
    assert code == 2
    assert (
        f"plan 1: budget exceeded by {net - budget:g} (net spend {net:g}, budget {budget:g})"
        in (stdout.splitlines())
    )
    # the figures written no longer match the plan's options
    assert f"plan 1: reported net_spend {plan['net_spend']:g} differs from recomputed {net:g}" in (
        stdout
    )
    assert "plan 2: every limit holds" in stdout and "plan 3: every limit holds" in stdout
    assert "1 of 3 plan(s) do not hold." in stderr
    # against the workbook too
    code, stdout, _ = run(["verify", copy, EXAMPLE])
    assert code == 2 and f"plan 1: budget exceeded by {net - budget:g}" in stdout


def test_a_hand_edited_segment_figure_is_caught(copy: Path) -> None:
    path = copy / "plans.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    offer = doc["plans"][0]["segments"]["offers"][0]
    offer["used"] = offer["cap"] + 1  # more than its cap: the co-financing rows say otherwise
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, stdout, stderr = run(["verify", copy])
    assert code == 2
    drawn = sum(c["amount"] for c in doc["plans"][0]["cofinancing"] if c["offer"] == offer["offer"])
    assert (
        f"plan 1: reported segments.offers[{offer['offer']}].used {offer['cap'] + 1:g} differs "
        f"from recomputed {drawn:g}"
    ) in stdout
    assert "1 of 3 plan(s) do not hold." in stderr


def test_a_cofinancing_amount_above_the_cap_is_named(copy: Path) -> None:
    path = copy / "plans.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    scenario = json.loads((copy / "scenario.json").read_text(encoding="utf-8"))
    caps = {o["offer_id"]: o["cap"] for o in scenario["sheets"]["CoFinancing"]}
    plan = next(p for p in doc["plans"] if p["cofinancing"])
    row = plan["cofinancing"][0]
    total = sum(c["amount"] for c in plan["cofinancing"] if c["offer"] == row["offer"])
    row["amount"] += caps[row["offer"]] - total + 5
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, stdout, _ = run(["verify", copy])
    assert code == 2
    assert f"offer {row['offer']}: cap exceeded by 5 (" in stdout


def test_not_a_run_and_broken_json_are_located_input_errors(copy: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = run(["verify", empty])
    assert code == 2
    assert f"{empty}: not a run folder (no plans.json" in stderr
    (copy / "plans.json").write_text("{not json", encoding="utf-8")
    code, _, stderr = run(["verify", copy])
    assert code == 2
    assert f"{copy / 'plans.json'}: not valid JSON (line 1, column 2" in stderr


def test_a_hand_edited_plan_of_the_wrong_shape_is_located(copy: Path) -> None:
    path = copy / "plans.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["plans"][1]["options"] = "APP-02"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, _, stderr = run(["verify", copy])
    assert code == 2
    assert f"{path} plans[1].options: expected a list of ids (texts)" in stderr


def test_a_run_without_scenario_json_needs_its_workbook(copy: Path) -> None:
    (copy / "scenario.json").unlink()
    code, _, stderr = run(["verify", copy])
    assert code == 2
    assert "has no scenario.json" in stderr and "WORKBOOK" in stderr
    code, stdout, _ = run(["verify", copy, EXAMPLE])
    assert code == 0 and "All 3 plan(s) hold." in stdout


@pytest.mark.parametrize("seed", range(6))
def test_violations_agree_with_the_solvers_own_check(seed: int) -> None:
    """On random plans of random scenarios, a limit is named exactly when `check_plan`
    (which guards every solve) finds the plan invalid."""
    import random

    from scenario_builders import random_scenario

    from planner.checks.verify import check_plan, make_plan
    from planner.checks.violations import plan_violations, reported_mismatches
    from planner.plan import CoFinancing

    scenario = random_scenario(seed, n_options=8, n_offers=2)
    rng = random.Random(seed)
    ids = [o.option_id for o in scenario.options]
    cost = {o.option_id: o.cost for o in scenario.options}
    for _ in range(40):
        chosen = rng.sample(ids, rng.randint(0, len(ids)))
        offers = [c.offer_id for c in scenario.offers if rng.random() < 0.5]
        paid = [
            CoFinancing(c, o, rng.choice([0.0, 1.0, 5.0]) * (cost[o] > 0))
            for c in offers
            for o in chosen
            if rng.random() < 0.3
        ]
        plan = make_plan(scenario, 1, chosen, offers, paid, bound=0, proven_optimal=True, gap=0)
        found = plan_violations(scenario, chosen, offers, paid)
        assert bool(found) == bool(check_plan(scenario, plan)), (found, check_plan(scenario, plan))
        assert all(v.message for v in found)
        assert reported_mismatches(scenario, chosen, offers, paid, {"weighted_reach": -1.0})


def test_another_workbook_is_named_and_a_run_without_plans_has_nothing_to_check(
    copy: Path, tmp_path: Path
) -> None:
    import openpyxl

    other = tmp_path / "other.xlsx"
    book = openpyxl.load_workbook(EXAMPLE)
    book["Markets"]["A1"].comment = None  # saved again: same data, other bytes
    book.save(other)
    code, stdout, stderr = run(["verify", copy, other])
    assert code == 0, stdout
    assert f"warning: {other} is not the workbook the run was solved from" in stderr
    doc = json.loads((copy / "plans.json").read_text(encoding="utf-8"))
    doc["plans"], doc["status"] = [], "infeasible"
    (copy / "plans.json").write_text(json.dumps(doc), encoding="utf-8")
    code, stdout, _ = run(["verify", copy])
    assert code == 0 and "nothing to check" in stdout
