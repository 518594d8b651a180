"""The points of a sweep: `--vary NAME=VALUES` options read into a cartesian grid (SPEC §8).

VALUES is a range `start:stop:step` (three numbers separated by `:`, no `,`) or
a comma-separated list `0.2,0.3`. A list item is a number when it reads as one
and text otherwise (`CoFinancing[C-EU].decision=must,never`); an empty item is
a blank value, which resets the setting or cell to its default
(`min_average_trust=,70,80` sweeps "off" too).

Why ranges are computed by index and rounded: `0.1:0.5:0.1` summed in floats
gives 0.30000000000000004 and may miss 0.5; the values here are
`start + i·step` rounded to the decimals of `start` and `step` as typed, and
`stop` is included when it is hit within a relative 1e-9, so people see and
the solver gets 0.3 and 0.5.

Only the form is checked here; whether NAME is a setting or a cell and whether
each value suits it is judged by loading each point's variant, the rule every
other way of changing a setting uses (`planner.workbook.variants`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from planner.errors import InputError, Problem
from planner.scenario.schema import canonical_header

#: Where problems of `--vary` are located in messages.
VARY = "--vary"

#: The most points one sweep may have: every point is a solve, validated before any runs.
MAX_POINTS = 10_000

#: Relative tolerance within which a range's `stop` counts as hit.
STOP_TOLERANCE = 1e-9

#: A varied value as documents show it: a number, text, or None for blank (the default).
Value = int | float | str | None

FORM = "NAME=VALUES: a list a,b,c or a range start:stop:step"


@dataclass(frozen=True, slots=True)
class Vary:
    """One `--vary`: the setting or cell it names and its values, in the order given."""

    name: str
    values: tuple[Value, ...]
    typed: str
    """The option as typed, for messages."""


@dataclass(frozen=True, slots=True)
class Point:
    """One point of the grid: a value for each varied name, in `--vary` order."""

    index: int
    settings: tuple[tuple[str, Value], ...]

    def overrides(self) -> list[tuple[str, str]]:
        """The point as `--set`-style pairs (text, as the command line gives values)."""
        return [(name, value_text(value)) for name, value in self.settings]

    @property
    def label(self) -> str:
        """How messages and the journal name the point: `budget=120, max_foreign_share=0.3`."""
        return ", ".join(f"{name}={show(value)}" for name, value in self.settings)


def value_text(value: Value) -> str:
    """A value as text for the workbook's rules: numbers without float noise, blank as ""."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def show(value: Value) -> str:
    """A value as people read it in labels and tables (blank is named)."""
    return "blank" if value is None else value_text(value)


def _number(text: str) -> int | float | None:
    """The number `text` spells, None when it spells none; whole numbers become int so
    documents show `budget: 120`, not `120.0`."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return _plain(number)


def _plain(number: float) -> int | float:
    if number.is_integer() and abs(number) < 2**53:
        return int(number)
    return 0.0 if number == 0 else number


def _decimals(text: str) -> int:
    """Digits after the point that `text` spells (`0.05` → 2, `1e-3` → 3, `1.5e3` → 0)."""
    try:
        exponent = Decimal(text.strip()).as_tuple().exponent
    except InvalidOperation:
        return 0
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _range(typed: str, spec: str) -> tuple[tuple[Value, ...], list[Problem]]:
    """The values of `start:stop:step`, or the problems with it."""
    parts = [p.strip() for p in spec.split(":")]
    numbers = [_number(p) for p in parts]
    if len(parts) != 3 or any(n is None for n in numbers):
        return (), [Problem(VARY, None, None, typed, f"{FORM}, with three numbers in the range")]
    start, stop, step = (float(n) for n in numbers)  # type: ignore[arg-type]
    if step == 0 or (stop - start) * step < 0:
        way = "a step of the same sign as stop - start (negative to count down), not 0"
        return (), [Problem(VARY, None, None, typed, way)]
    steps = (stop - start) / step
    if not steps < MAX_POINTS:  # also a step so small that the count overflows
        problem = Problem(VARY, None, None, typed, f"a range of at most {MAX_POINTS:,} values")
        return (), [problem]
    whole = round(steps)
    hit = abs(steps - whole) <= STOP_TOLERANCE * max(1.0, abs(steps))
    count = (whole if hit else math.floor(steps)) + 1
    if count > MAX_POINTS:
        problem = Problem(VARY, None, None, typed, f"a range of at most {MAX_POINTS:,} values")
        return (), [problem]
    digits = max(_decimals(parts[0]), _decimals(parts[2]))
    values: list[Value] = [_plain(round(start + i * step, digits)) for i in range(count)]
    if hit:
        values[-1] = _plain(stop)
    return tuple(values), []


def _list(spec: str) -> tuple[Value, ...]:
    values: list[Value] = []
    for item in spec.split(","):
        text = item.strip()
        number = _number(text)
        values.append(None if not text else text if number is None else number)
    return tuple(values)


def _same_name(name: str) -> str:
    """Names that mean the same varied thing: settings match as in the workbook
    (case, spaces, underscores aside); cell names compare as typed, ids being exact."""
    return name.strip() if "[" in name else canonical_header(name)


def parse_vary(typed: str) -> tuple[Vary | None, list[Problem]]:
    """One `--vary NAME=VALUES`, or the problems with it (located at `--vary`, as typed)."""
    name, sep, spec = split_option(typed)
    if not sep or not name or not spec.strip():
        return None, [Problem(VARY, None, None, typed, FORM)]
    if "," not in spec and ":" in spec:
        values, problems = _range(typed, spec)
        if problems:
            return None, problems
    else:
        values = _list(spec)
    seen: set[tuple[bool, Value]] = set()
    for value in values:
        key = (isinstance(value, str), value)  # the text "1" differs from the number 1
        if key in seen:
            why = f"each value once ({show(value)} is given twice)"
            return None, [Problem(VARY, None, None, typed, why)]
        seen.add(key)
    return Vary(name, values, typed), []


def parse_varies(typed: Sequence[str]) -> list[Vary]:
    """Every `--vary`, in order; raises InputError with every problem of all of them,
    including a grid of more than `MAX_POINTS` points."""
    varies, problems = read_varies(typed)
    if problems:
        raise InputError(problems)
    return varies


def read_varies(typed: Sequence[str]) -> tuple[list[Vary], list[Problem]]:
    """The well-formed `--vary` options, in order, and the problems of the others (and of
    the grid as a whole), so a caller can still judge the values of the well-formed ones."""
    varies: list[Vary] = []
    problems: list[Problem] = []
    names: dict[str, str] = {}
    for text in typed:
        vary, found = parse_vary(text)
        problems += found
        name = split_option(text)[0]
        key = _same_name(name)
        if name and key in names:
            why = f"each setting varied once ({names[key]} is varied already)"
            problems.append(Problem(VARY, None, None, text, why))
            continue
        names[key] = name
        if vary is not None:
            varies.append(vary)
    if not typed:
        problems.append(Problem(VARY, None, None, None, f"at least one {FORM}", found=False))
    if not problems:
        total = math.prod(len(v.values) for v in varies)
        if total > MAX_POINTS:
            why = (
                f"at most {MAX_POINTS:,} points in all; these --vary options make "
                f"{total:,} ({' x '.join(str(len(v.values)) for v in varies)})"
            )
            problems.append(Problem(VARY, None, None, " ".join(typed), why))
    return varies, problems


def grid_points(varies: Sequence[Vary]) -> Iterator[Point]:
    """The cartesian product of the values, the first `--vary` varying slowest."""
    names = [v.name for v in varies]
    for index, values in enumerate(itertools.product(*(v.values for v in varies))):
        yield Point(index, tuple(zip(names, values, strict=True)))


def split_option(typed: str) -> tuple[str, str, str]:
    """NAME (trimmed), `=` (or "" when missing) and VALUES: split at the first `=` after
    a cell's `[key]`, so an id holding `=` stays in the name."""
    closing = typed.find("]") if "[" in typed.partition("=")[0] else -1
    name, sep, values = typed[closing + 1 :].partition("=")
    return typed[: closing + 1].strip() + name.strip(), sep, values


def split_varies(typed: Sequence[str]) -> tuple[list[tuple[str, str]], list[Problem]]:
    """`--vary NAME=VALUES` options as (NAME, VALUES) pairs (see `split_option`), and a
    problem located at `--vary` for each one without `=` or a name."""
    problems = []
    pairs = []
    for text in typed:
        name, sep, values = split_option(text)
        if not sep or not name:
            problems.append(Problem(VARY, None, None, text, FORM))
            continue
        pairs.append((name, values))
    return pairs, problems
