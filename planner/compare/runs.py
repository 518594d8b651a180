"""A run folder of `planner solve`, read back: its plans.json and its scenario.json.

`planner compare` and `planner verify` read runs, never workbooks (SPEC §7): a
folder that is not a run, a file that is not JSON or a document of another
schema is a located input error (exit 2). A run made before scenario.json
existed is read with `scenario = None` and `why_no_scenario` saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.errors import InputError, Problem
from planner.plan import CoFinancing
from planner.reports.plans_json import SCHEMA as PLANS_SCHEMA
from planner.reports.scenario_json import (
    SCHEMA as SCENARIO_SCHEMA,
)
from planner.reports.scenario_json import (
    ScenarioDocumentError,
    scenario_from_document,
)
from planner.scenario.data import Scenario


@dataclass(frozen=True)
class Run:
    folder: Path
    plans: dict[str, Any]
    """The plans.json document."""
    scenario: Scenario | None
    """scenario.json's scenario; None when the run folder has none."""
    why_no_scenario: str = ""


@dataclass(frozen=True)
class PlanDecisions:
    """What a plans.json plan decided (options, offers, co-financing), as read."""

    rank: object
    options: tuple[str, ...]
    offers: tuple[str, ...]
    cofinancing: tuple[CoFinancing, ...]


def number(value: object) -> float | None:
    """A number read from a run's JSON, or None (true and false are not numbers, though
    Python counts them as ints)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def problem(message: str) -> Problem:
    """A located problem with a file or folder (the message names it)."""
    return Problem(None, None, None, None, message, found=False)


def read_json(path: Path) -> object:
    """A JSON file's document, or `InputError` naming the file and what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([problem(f"{path}: cannot be read ({exc.strerror or exc})")]) from None
    except UnicodeDecodeError:
        raise InputError([problem(f"{path}: not UTF-8 text, so not JSON")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [problem(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")]
        ) from None


def read_run(folder: Path) -> Run:
    """The run in `folder`; `InputError` when it is not a run folder this version reads."""
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is a file"
        raise InputError([problem(f"{folder}: not a run folder ({what})")])
    plans_path = folder / "plans.json"
    if not plans_path.is_file():
        raise InputError(
            [problem(f"{folder}: not a run folder (no plans.json; planner solve writes one)")]
        )
    plans = read_json(plans_path)
    if not isinstance(plans, dict) or not isinstance(plans.get("plans"), list):
        raise InputError([problem(f"{plans_path}: not a plans document (no list of plans)")])
    if plans.get("schema") != PLANS_SCHEMA:
        raise InputError(
            [
                problem(
                    f"{plans_path}: schema {plans.get('schema')!r}; this version reads "
                    f"{PLANS_SCHEMA!r}"
                )
            ]
        )
    scenario_path = folder / "scenario.json"
    if not scenario_path.is_file():
        return Run(
            folder,
            plans,
            None,
            f"{folder} has no scenario.json (made before runs kept their scenario)",
        )
    doc = read_json(scenario_path)
    if isinstance(doc, dict) and doc.get("schema") != SCENARIO_SCHEMA:
        raise InputError(
            [
                problem(
                    f"{scenario_path}: schema {doc.get('schema')!r}; this version reads "
                    f"{SCENARIO_SCHEMA!r}"
                )
            ]
        )
    try:
        scenario = scenario_from_document(doc)
    except ScenarioDocumentError as exc:
        raise InputError([problem(f"{scenario_path}: {exc}")]) from None
    return Run(folder, plans, scenario)


def plan_decisions(path: Path, index: int, plan: object) -> PlanDecisions:
    """The decisions of plans.json's `plans[index]`; `InputError` naming the field that
    cannot be read (a plan edited by hand may be anything)."""
    where = f"{path} plans[{index}]"
    if not isinstance(plan, dict):
        raise InputError([problem(f"{where}: not an object")])
    problems = []
    ids: dict[str, tuple[str, ...]] = {}
    for name in ("options", "offers"):
        value = plan.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(problem(f"{where}.{name}: expected a list of ids (texts)"))
            value = []
        ids[name] = tuple(value)
    paid = []
    rows = plan.get("cofinancing", [])
    if not isinstance(rows, list):
        problems.append(problem(f"{where}.cofinancing: expected a list"))
        rows = []
    for j, row in enumerate(rows):
        if not (
            isinstance(row, dict)
            and isinstance(row.get("offer"), str)
            and isinstance(row.get("option"), str)
            and isinstance(row.get("amount"), int | float)
            and not isinstance(row.get("amount"), bool)
        ):
            problems.append(
                problem(
                    f"{where}.cofinancing[{j}]: expected an object with offer, option (texts) "
                    "and amount (a number)"
                )
            )
            continue
        paid.append(CoFinancing(row["offer"], row["option"], float(row["amount"])))
    if problems:
        raise InputError(problems)
    return PlanDecisions(plan.get("rank", index + 1), ids["options"], ids["offers"], tuple(paid))
