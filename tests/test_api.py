"""The library of SPEC §9: load, checked variants, solve, results as plain data.

What must hold for notebooks, the what-if engine and the web service to rely on
it: a variant made in code is the variant made in the workbook; scenarios and
results survive pickling; solves in other processes give the answers of solves
made one after another; `to_dict()` is the plans.json of the command line; bad
input raises (never exits) with every problem located.
"""

from __future__ import annotations

import json
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from workbooks import cloned, full_tables, minimal_tables, write_workbook

import planner
import planner.api
from planner.cli import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inputs" / "example.xlsx"

#: Generous: every solve here must be proven, so the answers cannot depend on timing.
TIME_LIMIT = 60


def _plans_only(doc: dict[str, Any]) -> dict[str, Any]:
    """A plans.json document without its `run` section (which names the file solved)."""
    return {k: v for k, v in doc.items() if k != "run"}


def _json(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(doc))


@pytest.fixture(scope="module")
def example() -> planner.Scenario:
    return planner.load(EXAMPLE)


def test_planner_solve_stays_the_function_once_the_solving_stage_is_loaded() -> None:
    """A subpackage named like the function would replace it on import (hence `solving`)."""
    import planner.solving.ranking

    assert callable(planner.solve) and planner.solve is planner.api.solve


def test_load_gives_the_scenario_with_its_source(example: planner.Scenario) -> None:
    assert example.name == "base"
    assert example.source is not None and example.source.workbook == str(EXAMPLE)
    assert len(example.source.sha256) == 64
    high = planner.load(EXAMPLE, scenario="high_budget", settings={"plans": 2})
    assert high.settings.budget == 200 and high.settings.plans == 2
    assert high.options == example.options


def test_a_variant_made_in_code_equals_the_variant_made_in_the_workbook(tmp_path: Path) -> None:
    tables = full_tables()
    base = planner.load(write_workbook(tmp_path / "base.xlsx", tables))
    in_code = base.with_settings(budget=55, max_foreign_share="0.6").with_decisions(
        must=["O1"], never=["O2"]
    )

    changed = cloned(tables)
    for row in changed["Settings"][1:]:
        if row[0] == "budget":
            row[1] = 55
    changed["Settings"].append(["max_foreign_share", 0.6])
    header = changed["Options"][0]
    for row in changed["Options"][1:]:
        if row[0] in ("O1", "O2"):
            row[header.index("decision")] = "must" if row[0] == "O1" else "never"
    in_workbook = planner.load(write_workbook(tmp_path / "changed.xlsx", changed))

    assert in_code == in_workbook
    solved_code = planner.solve(in_code, plans=3, time_limit=TIME_LIMIT, threads=1)
    solved_workbook = planner.solve(in_workbook, plans=3, time_limit=TIME_LIMIT, threads=1)
    assert solved_code.status == "optimal"
    assert _plans_only(solved_code.to_dict()) == _plans_only(solved_workbook.to_dict())


def test_variants_are_new_copies_and_leave_the_original_alone(
    example: planner.Scenario,
) -> None:
    budget = example.settings.budget
    option = example.options[0].option_id
    variant = example.with_settings(budget=budget + 1).with_decisions(never=[option])
    assert example.settings.budget == budget and variant.settings.budget == budget + 1
    assert example.options[0].decision != "never"
    assert variant.options[0].decision == "never"
    assert variant.with_decisions(free=[option]).options[0].decision is None
    off = example.with_settings(min_average_trust=None)
    assert off.settings.min_average_trust is None


def test_with_settings_out_of_range_names_the_setting(example: planner.Scenario) -> None:
    with pytest.raises(planner.InputError) as caught:
        example.with_settings(max_foreign_share=1.5, plans=0, colour="red")
    problems = caught.value.problems
    assert {p.column for p in problems} == {"max_foreign_share", "plans", "colour"}
    report = caught.value.report()
    assert "with_settings() argument max_foreign_share: found 1.5; expected a number" in report
    assert "from 0 to 1" in report
    assert "with_settings() argument colour" in report and "one of the settings" in report


def test_with_decisions_refuses_unknown_and_contradictory_ids(
    example: planner.Scenario,
) -> None:
    known = example.options[0].option_id
    with pytest.raises(planner.InputError) as caught:
        example.with_decisions(must=[known, "NO-SUCH"], never=[known])
    report = caught.value.report()
    assert "argument must: found 'NO-SUCH'; expected the id of an option" in report
    assert f"argument never: found '{known}'; expected an id not also given in must" in report
    offer = example.offers[0].offer_id
    assert example.with_decisions(must=[offer]).offers[0].decision == "must"


def test_solve_checks_its_own_arguments(example: planner.Scenario) -> None:
    with pytest.raises(planner.InputError) as caught:
        planner.solve(example, plans=0, time_limit=-1, threads=0)
    assert {p.column for p in caught.value.problems} == {"plans", "time_limit_s", "threads"}
    assert all(p.sheet == "solve()" for p in caught.value.problems)


def test_load_of_a_broken_workbook_raises_every_problem_and_never_exits(tmp_path: Path) -> None:
    tables = minimal_tables()
    tables["Settings"][1][1] = -5  # budget below 0
    tables["Partners"][1][3] = 140  # trust above 100
    tables["Coverage"].append(["O9", "M1", 1])  # unknown option
    path = write_workbook(tmp_path / "broken.xlsx", tables)
    with pytest.raises(planner.InputError) as caught:
        planner.load(path, settings={"max_foreign_share": 2})
    where = {(p.sheet, p.column) for p in caught.value.problems}
    assert ("Settings", "value") in where
    assert ("Partners", "trust") in where
    assert ("Coverage", "option_id") in where
    assert ("load()", "max_foreign_share") in where
    with pytest.raises(planner.InputError) as missing:
        planner.load(tmp_path / "no-such.xlsx")
    assert missing.value.problems


def test_scenarios_and_results_pickle(example: planner.Scenario) -> None:
    variant = example.with_settings(budget=120)
    again = pickle.loads(pickle.dumps(variant))
    assert again == variant and again.source == variant.source
    result = planner.solve(variant, plans=2, time_limit=TIME_LIMIT, threads=1)
    back = pickle.loads(pickle.dumps(result))
    assert back == result
    assert back.to_dict() == result.to_dict()
    assert back.plans[0].weighted_reach == result.plans[0].weighted_reach


def test_results_are_plain_values_and_a_frame(example: planner.Scenario) -> None:
    result = planner.solve(example, plans=3, time_limit=TIME_LIMIT, threads=1)
    assert result.status == "optimal" and isinstance(result.status, str)
    best = result.plans[0]
    assert isinstance(best.weighted_reach, float) and isinstance(best.options, tuple)
    frame = result.frame()
    assert list(frame.index) == [p.rank for p in result.plans]
    assert frame.loc[1, "weighted_reach"] == best.weighted_reach
    assert frame.loc[1, "net_spend"] == best.net_spend
    assert frame.loc[1, "options"] == tuple(sorted(best.options))
    assert frame.loc[1, "n_options"] == len(best.options)
    assert (frame["weighted_reach"].diff().dropna() <= 1e-6).all()  # ranked best first


def test_to_dict_is_the_command_lines_plans_json(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["solve", "--no-explain", str(EXAMPLE), "--plans", "2", "--time-limit", str(TIME_LIMIT)]
    ran = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    written = json.loads((out / "plans.json").read_text(encoding="utf-8"))
    loaded = planner.load(EXAMPLE, settings={"plans": 2, "time_limit_s": TIME_LIMIT})
    result = planner.solve(loaded, threads=1)
    assert _json(result.to_dict()) == written


def _variants(example: planner.Scenario) -> list[planner.Scenario]:
    first = example.options[0].option_id
    return [
        example,
        example.with_settings(budget=example.settings.budget * 0.6),
        example.with_settings(max_foreign_share=0.3, min_average_trust=None),
        example.with_decisions(never=[first]),
    ]


def test_solves_in_a_process_pool_equal_solves_one_after_another(
    example: planner.Scenario,
) -> None:
    variants = _variants(example)
    sequential = [planner.solve(v, plans=2, time_limit=TIME_LIMIT, threads=1) for v in variants]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        futures = [pool.submit(planner.solve, v, 2, TIME_LIMIT, 1) for v in variants]
        parallel = [f.result(timeout=300) for f in futures]
    for one, other in zip(sequential, parallel, strict=True):
        assert one.status == "optimal"
        assert one.to_dict() == other.to_dict()
    assert len({json.dumps(r.to_dict()["plans"], sort_keys=True) for r in sequential}) > 1


# -- progress (planner.api.Progress) --------------------------------------------------


def _long_scenario() -> planner.Scenario:
    """2,000 options whose plan 1 takes seconds (proving least net spend at its reach)."""
    from scenario_builders import random_scenario

    return random_scenario(5, n_options=2000, n_markets=40, n_offers=4)


def test_progress_reports_within_a_long_rank_before_its_plan_is_kept() -> None:
    import planner.solving.ranking as ranking

    events: list[planner.api.ProgressEvent] = []
    result = planner.solve(_long_scenario(), plans=1, time_limit=6, progress=events.append)
    assert len(result.plans) == 1
    stages = [e.stage for e in events]
    assert stages[0] == "begin" and stages[-1] == "kept" and stages.count("kept") == 1
    within = events[1:-1]
    assert len(within) >= 2, stages  # rank 1 takes seconds: several reports, not one
    assert {e.stage for e in within} <= {"reach", "tie-break"}
    for before, e in zip(events, within, strict=False):
        assert (e.rank, e.plans_asked, e.plans_kept) == (1, 1, 0)
        assert e.weighted_reach is None or e.bound is None or e.weighted_reach <= e.bound
        assert e.elapsed_s - before.elapsed_s >= ranking.PROGRESS_INTERVAL - 1e-9  # throttled
    plan = result.plans[0]
    assert (events[-1].rank, events[-1].weighted_reach, events[-1].plans_kept) == (
        1,
        plan.weighted_reach,
        1,
    )
    assert any(
        e.weighted_reach is not None and abs(e.weighted_reach - plan.weighted_reach) < 1e-6
        for e in within
    )
    elapsed = [e.elapsed_s for e in events]
    assert elapsed == sorted(elapsed)


@pytest.mark.parametrize("fails_at", ["begin", "reach"])
def test_a_progress_callback_that_raises_leaves_the_plans_unchanged(
    fails_at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raising at a rank's start (the ranking loop) or while HiGHS works (the wait loop):
    the callback is not called again, a warning says so, and every plan is as without it
    (all proven, so timing cannot change them)."""
    from scenario_builders import random_scenario

    import planner.solving.ranking as ranking

    sc = random_scenario(6101, n_options=400, n_markets=80, n_offers=6, plans=3)
    quiet = planner.solve(sc, time_limit=TIME_LIMIT)
    monkeypatch.setattr(ranking, "PROGRESS_INTERVAL", 0.0)  # a report at every wait tick
    calls: list[str] = []

    def progress(event: planner.api.ProgressEvent) -> None:
        calls.append(event.stage)
        if event.stage == fails_at:
            raise ValueError("display gone")

    with pytest.warns(RuntimeWarning, match="ValueError: display gone"):
        result = planner.solve(sc, time_limit=TIME_LIMIT, progress=progress)
    assert calls[-1] == fails_at and calls.count(fails_at) == 1
    assert result.status == quiet.status == "optimal"
    assert result.plans == quiet.plans
