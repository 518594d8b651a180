"""The rule for one value: how a cell or a setting becomes a typed value of its column.

Shared by the workbook's validation (every cell of every sheet) and by checked
changes to a loaded scenario (`planner.scenario.changes`), so a value given in a
workbook, on the command line or through the API is judged by one rule. Blank
means the column's default; numbers may be numeric text; ids are text, and a
whole number 7 is the id "7" (7.5 is no id: typed as text, "7.5" is).

Text is normalised to Unicode NFC as it is read: an id typed with a decomposed
accent (NFD, as some Mac tools and scripts write it) is the same id as the one
typed precomposed, though the two look alike and differ in bytes.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable

from planner.scenario.data import canonical_name
from planner.scenario.schema import DECISIONS, RULES, Column, Kind


class BadValue(Exception):
    """A cell that does not convert; the caller knows what was expected."""


def is_blank(value: object) -> bool:
    return value is None or value == "" or (type(value) is str and value.isspace())


def nfc(text: str) -> str:
    """Text in Unicode NFC, so look-alike spellings compare equal (ASCII is left as is)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def to_id(value: object) -> str:
    """An id: text (trimmed, NFC) or a whole number; a fraction such as 7.5 is no id."""
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise BadValue
    return _to_text(value)


def _to_number(value: object) -> float:
    if isinstance(value, bool):
        raise BadValue
    if isinstance(value, float | int):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise BadValue from None
    else:
        raise BadValue
    if not math.isfinite(number):
        raise BadValue
    return number


def _to_integer(value: object) -> int:
    number = _to_number(value)
    if not number.is_integer():
        raise BadValue
    return int(number)


def _to_text(value: object) -> str:
    if isinstance(value, str):
        return nfc(value.strip())
    if isinstance(value, bool):  # TRUE/FALSE is not text (bool is an int subclass)
        raise BadValue
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    raise BadValue


def _to_name(value: object) -> str:
    return " ".join(_to_text(value).split())


def _to_list(value: object) -> tuple[str, ...] | None:
    text = _to_text(value)
    if text == "*":
        return None
    names = [canonical_name(part) for part in text.split(";")]
    names = [n for n in names if n]
    if not names or "*" in names:
        raise BadValue
    return tuple(sorted(set(names)))


def _to_choice(choices: tuple[str, ...]) -> Callable[[object], str]:
    def convert(value: object) -> str:
        word = _to_text(value).casefold()
        if word not in choices:
            raise BadValue
        return word

    return convert


CONVERTERS: dict[Kind, Callable[[object], object]] = {
    Kind.ID: to_id,
    Kind.TEXT: _to_text,
    Kind.NAME: _to_name,
    Kind.NUMBER: _to_number,
    Kind.INTEGER: _to_integer,
    Kind.LIST: _to_list,
    Kind.DECISION: _to_choice(DECISIONS),
    Kind.RULE: _to_choice(RULES),
}


def in_range(col: Column, value: object) -> bool:
    if not isinstance(value, int | float):
        return True
    if col.lo is not None and (value <= col.lo if col.lo_strict else value < col.lo):
        return False
    return not (col.hi is not None and value > col.hi)


def convert_value(col: Column, value: object) -> object:
    """One value, converted and range-checked; raises BadValue. Blank gives the default."""
    if is_blank(value):
        if col.required:
            raise BadValue
        return col.default
    converted = CONVERTERS[col.kind](value)
    if not in_range(col, converted):
        raise BadValue
    return converted
