"""Checked changes to a loaded scenario: new settings, forced decisions.

Why here and not in the workbook layer: a variant of a scenario (a what-if, an
explanation's re-solve, a notebook's experiment) must be judged exactly as the
workbook cell it stands for, without reading the workbook again. The rule for a
value (`planner.scenario.values`) and the schema are shared with the reader, so
`with_settings(budget=-1)` is refused with the words `--set budget=-1` or a
Settings cell of -1 would get.

Every problem of one call is reported at once (`InputError`), each located at
the argument that caused it (`with_settings() argument budget`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from planner.errors import InputError, Problem
from planner.scenario.schema import SETTING_BY_KEY, SETTINGS, canonical_header
from planner.scenario.values import BadValue, convert_value, is_blank, to_id

if TYPE_CHECKING:
    from planner.scenario.data import Decision, Scenario, Settings

#: Where problems of `Scenario.with_settings` and `with_decisions` are located.
WITH_SETTINGS = "with_settings()"
WITH_DECISIONS = "with_decisions()"


def known_settings() -> str:
    """What a setting name must be, in the words of an error message."""
    return "one of the settings " + ", ".join(s.name for s in SETTINGS)


def changed_settings(
    settings: Settings, changes: Mapping[str, object], origin: str = WITH_SETTINGS
) -> Settings:
    """`settings` with `changes` applied, every value checked like its Settings cell.

    Names match as in the workbook (case, spaces and underscores aside). A value
    of None or blank text resets the setting to its default, as a blank value on
    the Scenarios sheet does; a required setting cannot be reset.
    """
    problems: list[Problem] = []
    values: dict[str, object] = {}
    for name, value in changes.items():
        spec = SETTING_BY_KEY.get(canonical_header(str(name)))
        if spec is None:
            problems.append(Problem(origin, None, str(name), name, known_settings()))
            continue
        if spec.name in values:
            problems.append(Problem(origin, None, spec.name, value, "each setting once"))
            continue
        try:
            if spec.required and is_blank(value):
                raise BadValue
            values[spec.name] = convert_value(spec, value)
        except BadValue:
            why = " (it is required)" if spec.required and is_blank(value) else ""
            problems.append(Problem(origin, None, spec.name, value, f"{spec.expected()}{why}"))
    if problems:
        raise InputError(problems)
    return dataclasses.replace(settings, **values)  # type: ignore[arg-type]


def changed_decisions(
    scenario: Scenario,
    must: Iterable[object] = (),
    never: Iterable[object] = (),
    free: Iterable[object] = (),
) -> Scenario:
    """`scenario` with options and offers forced in (`must`), out (`never`) or freed.

    An id names an option or an offer (SPEC §3 rule 13 applies `must` and
    `never` to both). Ids are read like workbook ids (the number 7 is "7"). An
    unknown id, an id that names both an option and an offer, or one id given
    in two of the lists is an input error; contradictions with rules or trust floors are not
    (they make the scenario infeasible, SPEC §3, and the solve says why).
    """
    wanted: dict[str, Decision | None] = {}
    given_in: dict[str, str] = {}
    problems: list[Problem] = []
    option_ids = {o.option_id for o in scenario.options}
    offer_ids = {c.offer_id for c in scenario.offers}
    lists: tuple[tuple[str, Decision | None, Iterable[object]], ...] = (
        ("must", "must", must),
        ("never", "never", never),
        ("free", None, free),
    )
    for argument, decision, ids in lists:
        for raw in _as_list(ids):
            try:
                key = to_id(raw)
            except BadValue:
                key = ""
            expected = _id_expected(key, argument, given_in, option_ids, offer_ids)
            if expected:
                problems.append(Problem(WITH_DECISIONS, None, argument, raw, expected))
            elif key not in given_in:
                wanted[key] = decision
                given_in[key] = argument
    if problems:
        raise InputError(problems)
    return dataclasses.replace(
        scenario,
        options=tuple(
            dataclasses.replace(o, decision=wanted[o.option_id]) if o.option_id in wanted else o
            for o in scenario.options
        ),
        offers=tuple(
            dataclasses.replace(c, decision=wanted[c.offer_id]) if c.offer_id in wanted else c
            for c in scenario.offers
        ),
    )


def _id_expected(
    key: str, argument: str, given_in: dict[str, str], option_ids: set[str], offer_ids: set[str]
) -> str:
    """What `key`, given in `argument`, should have been; empty when it is fine (an id
    repeated in the same list is fine: it asks for the same decision again)."""
    if not key:
        return "an option or offer id"
    if key in given_in:
        if given_in[key] == argument:
            return ""
        return f"an id not also given in {given_in[key]} (one decision per id)"
    if key in option_ids and key in offer_ids:
        return (
            "an id that names an option or an offer, not both (change the "
            "Options or CoFinancing decision column instead)"
        )
    if key not in option_ids and key not in offer_ids:
        return "the id of an option (Options option_id) or an offer (CoFinancing offer_id)"
    return ""


def _as_list(ids: Iterable[object]) -> list[object]:
    """A single id given where a list is expected is taken as a list of one."""
    if isinstance(ids, str | int | float):
        return [ids]
    return list(ids)
