"""Plan strategic partnerships and co-financing with mixed-integer optimization.

The library (SPEC §9): `load` a scenario workbook, change it with
`Scenario.with_settings` / `with_decisions`, `solve` it, read the `Result`.
Bad input raises `InputError`, whose `.problems` locate every mistake.
The data flows workbook -> scenario -> model -> solving -> checks -> reports
(README "Architecture"); the solving stage is `planner.solving`, so that
`planner.solve` stays the function.
"""

from planner.api import Result, check, load, solve
from planner.errors import InputError, Problem
from planner.scenario.data import Scenario

__all__ = ["InputError", "Problem", "Result", "Scenario", "check", "load", "solve"]
