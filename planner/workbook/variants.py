"""A workbook read once, validated for many variants: sweeps and scenario batches (SPEC §8).

A sweep asks for the same workbook under dozens of settings; reading the file
again for each point would cost more than many of the solves. `open_workbook`
reads it once; `Workbook.load` then gives exactly what `planner.load` would for
the same arguments (the same `Scenario`, the same `InputError` problems), only
cheaper:

- plain settings only: each scenario is validated once, and the settings are
  applied to the validated scenario through `changed_settings`, the rule
  `with_settings` uses, which judges a value exactly as `--set` does;
- cell changes (`Options[APP-02].cost`): the raw cells are validated again with the
  change written in, as SPEC §2 asks (a changed cell is checked like the cell it
  replaces, and may break references that only the whole workbook can judge).

Whenever the cheap path would report a problem, or the scenario itself is bad
input, the full validation runs instead, so the problems are those of
`planner.load` word for word, all of them at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from planner.errors import InputError
from planner.scenario.changes import changed_settings
from planner.scenario.data import Scenario, Source
from planner.scenario.schema import SETTING_BY_KEY, canonical_header
from planner.workbook.fingerprint import file_sha256
from planner.workbook.reader import RawWorkbook, read_workbook
from planner.workbook.validation import BASE, check_workbook, scenario_names


class Workbook:
    """A workbook read once, validated for many variants (sweeps, scenario batches)."""

    def __init__(self, path: str | Path, raw: RawWorkbook, sha256: str) -> None:
        self.path = Path(path)
        self.sha256 = sha256
        self.scenario_names: tuple[str, ...] = scenario_names(raw)
        """Names of the Scenarios sheet, as first spelled, sorted."""
        self._raw = raw
        self._source = Source(str(path), sha256)  # as `planner.load` names it: as given
        self._validated: dict[str, Scenario | InputError] = {}

    def __repr__(self) -> str:
        return f"Workbook({str(self.path)!r}, sha256={self.sha256[:12]}…)"

    def load(
        self,
        scenario: str | None = None,
        settings: Sequence[tuple[str, object]] | Mapping[str, object] = (),
        origin: str = "load()",
    ) -> Scenario:
        """The validated scenario, as `planner.load(path, scenario, settings, origin=origin)`
        gives it (`source` included); raises `InputError` with every problem.

        `settings` are applied after the scenario's own, later pairs winning; names
        are settings or cells (`Sheet[key].column`), located as `origin` in messages.
        """
        pairs = list(settings.items()) if isinstance(settings, Mapping) else list(settings)
        if all(canonical_header(str(name)) in SETTING_BY_KEY for name, _ in pairs):
            quick = self._with_settings(scenario, pairs, origin)
            if quick is not None:
                return quick
        loaded = check_workbook(self._raw, scenario, pairs, origin)
        return dataclasses.replace(loaded, source=self._source)

    def _with_settings(
        self, scenario: str | None, pairs: list[tuple[str, object]], origin: str
    ) -> Scenario | None:
        """The scenario validated once, with plain settings applied; None when either step
        finds a problem (the full validation then reports it, with every other)."""
        base = self._scenario(scenario)
        if isinstance(base, InputError):
            return None
        settings = base.settings
        try:
            for name, value in pairs:  # one at a time: later pairs win, every value is checked
                settings = changed_settings(settings, {str(name): value}, origin)
        except InputError:
            return None
        return dataclasses.replace(
            base,
            name=BASE if scenario is None else scenario,
            settings=settings,
            source=self._source,
        )

    def _scenario(self, scenario: str | None) -> Scenario | InputError:
        """The named scenario without further settings, validated once per name."""
        key = BASE if scenario is None else scenario.strip().casefold()
        if key not in self._validated:
            try:
                self._validated[key] = check_workbook(self._raw, scenario)
            except InputError as exc:
                self._validated[key] = exc
        return self._validated[key]


def open_workbook(path: str | Path) -> Workbook:
    """Read a workbook once for many variants; raises InputError when it cannot be read.

    Its problems as a scenario are not judged here but by each `Workbook.load`, as
    `planner.load` judges them: a batch may want the scenarios that are valid.
    """
    raw = read_workbook(path)
    return Workbook(path, raw, file_sha256(Path(path)))
