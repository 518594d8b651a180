"""Read a scenario workbook's cells, safely and fast, without judging them.

The file is checked before anything loads it whole: it must be a zip (an
encrypted workbook is an OLE container, a CSV is text), and every part that
will be read is stream-decompressed once under a size cap, so a decompression
bomb is refused after reading at most the cap. That same pass finds formulas
without a cached value, which the fast reader (calamine) cannot tell from
blank cells. Cells are then read with calamine, which is several times faster
than openpyxl on scenarios with hundreds of thousands of rows.

Only sheets named in the schema are read; others are ignored, as SPEC §2 asks.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import python_calamine

from planner.errors import InputError, Problem
from planner.scenario.schema import SHEET_BY_KEY, canonical_header

MAX_FILE_BYTES = 200 * 2**20
"""A scenario of 50,000 options and 200,000 coverage rows is about 6 MB."""
MAX_UNPACKED_BYTES = 1 * 2**30
"""Total decompressed size of the parts read: far beyond any real scenario."""
MAX_ROWS = 1_048_576
"""Excel's own sheet limit."""

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20

_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_REL_TAG = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_CELL_START = re.compile(rb"<(?:\w+:)?c\b[^>]*>")
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_VALUE = re.compile(rb"<(?:\w+:)?v>\s*[^<\s]")
_ANY_VALUE = re.compile(rb"<(?:\w+:)?v\b")
_STRING_TYPE = re.compile(rb'\bt="str"')
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


@dataclass(slots=True)
class RawSheet:
    """One sheet's cells as the workbook holds them (cached values, no judging)."""

    name: str
    """The name as written in the workbook, for messages."""
    headers: list[object]
    rows: list[tuple[int, list[object]]]
    """(Excel row number, cells) for every row below the header that is not wholly blank."""
    uncached_formulas: set[tuple[int, int]] = field(default_factory=set)
    """(Excel row, 0-based column) of formulas without a cached value."""


@dataclass(slots=True)
class RawWorkbook:
    path: Path
    sheets: dict[str, RawSheet]
    """Schema sheets present, by canonical sheet name."""


def column_letter(index: int) -> str:
    """0-based column index to Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _file_problem(path: Path, expected: str) -> InputError:
    return InputError([Problem(None, None, None, None, f"{path.name} {expected}", found=False)])


def check_container(path: Path) -> None:
    """Refuse what is not a readable .xlsx before any reader touches it."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise _file_problem(path, "was not found") from None
    except IsADirectoryError:
        raise _file_problem(path, "is a folder, expected an .xlsx workbook") from None
    except OSError as exc:
        raise _file_problem(path, f"cannot be read ({exc.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise _file_problem(
            path,
            f"is {size / 2**20:.0f} MB, far larger than any scenario workbook "
            f"(limit {MAX_FILE_BYTES // 2**20} MB)",
        )
    if head == _OLE_MAGIC:
        raise _file_problem(
            path,
            "is password-protected (encrypted) or an old .xls workbook; "
            "save it as an unprotected .xlsx workbook",
        )
    if not head.startswith(_ZIP_MAGIC):
        raise _file_problem(path, "is not an .xlsx workbook (expected an Excel 2007+ file)")


def _sheet_parts(zf: zipfile.ZipFile, budget: list[int]) -> dict[str, str]:
    """Sheet name -> zip member of its XML, from workbook.xml and its relationships."""
    try:
        workbook = _read_capped(zf, "xl/workbook.xml", budget)
        rels = _read_capped(zf, "xl/_rels/workbook.xml.rels", budget)
    except KeyError as exc:
        raise ValueError(f"missing part {exc}") from None
    targets: dict[bytes, str] = {}
    for tag in _REL_TAG.findall(rels):
        attrs = dict(_ATTR.findall(tag))
        target = attrs.get(b"Target", b"").decode()
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        targets[attrs.get(b"Id", b"")] = member
    parts: dict[str, str] = {}
    for tag in _SHEET_TAG.findall(workbook):
        attrs = dict(_ATTR.findall(tag))
        rid = next((v for k, v in attrs.items() if k.endswith(b":id")), b"")
        name = attrs.get(b"name", b"").decode()
        name = name.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        if rid in targets:
            parts[name] = targets[rid]
    return parts


def _read_capped(zf: zipfile.ZipFile, member: str, budget: list[int]) -> bytes:
    """Decompress one member, counting against a shared byte budget; refuse bombs."""
    chunks = []
    with zf.open(member) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise OverflowError
            chunks.append(chunk)
    return b"".join(chunks)


def _uncached_formulas(xml: bytes) -> set[tuple[int, int]]:
    """Cells holding a formula but no cached value (a workbook saved by a script).

    (0, -1) stands for such a cell whose reference is not written in the file.
    """
    found: set[tuple[int, int]] = set()
    for m in _FORMULA.finditer(xml):
        cell = None
        for cm in _CELL_START.finditer(xml, max(0, m.start() - 2048), m.start()):
            cell = cm
        close = _CELL_END.search(xml, m.end())
        body = xml[cell.end() if cell else m.start() : close.start() if close else len(xml)]
        if _VALUE.search(body):
            continue
        if cell and _STRING_TYPE.search(cell.group(0)) and _ANY_VALUE.search(body):
            continue  # Excel's cached empty text (=IF(..., "", ...)): a blank, not a missing value
        ref = dict(_ATTR.findall(cell.group(0))).get(b"r", b"") if cell else b""
        rm = _CELL_REF.fullmatch(ref.decode())
        found.add((int(rm.group(2)), _column_index(rm.group(1))) if rm else (0, -1))
    return found


def _is_blank(cell: object) -> bool:
    return cell is None or cell == "" or (type(cell) is str and cell.isspace())


def read_workbook(path: str | Path) -> RawWorkbook:
    """Every schema sheet's cells, or an InputError saying why the file cannot be read.

    Each sheet's part is checked (size cap, formulas without a cached value)
    before calamine may parse it, and its parse starts as soon as it passed:
    the checks of the smaller sheets then run while the largest one parses.
    """
    path = Path(path)
    check_container(path)

    def parse(name: str, formulas: set[tuple[int, int]]) -> RawSheet:
        # One handle per thread: calamine releases the GIL for part of its parsing,
        # so the large sheets (Options, Coverage) parse side by side on two cores.
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        cells = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        return _raw_sheet(name, cells, formulas)

    parsing: dict[str, Future[RawSheet]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            wanted = _check_parts(path, pool, parse, parsing)
        except BaseException:
            for future in parsing.values():  # a later part failed: parse nothing more
                future.cancel()
            raise
        try:
            sheets = {key: parsing[key].result() for key in wanted}
        except (python_calamine.CalamineError, ValueError, OSError) as exc:
            raise _file_problem(path, f"is a damaged .xlsx workbook ({exc})") from None
    return RawWorkbook(path=path, sheets=sheets)


def _check_parts(
    path: Path,
    pool: ThreadPoolExecutor,
    parse: Callable[[str, set[tuple[int, int]]], RawSheet],
    parsing: dict[str, Future[RawSheet]],
) -> dict[str, str]:
    """Check every part calamine will read; submit each schema sheet's parse once its
    part passed (largest first, so the two workers finish close together).

    Returns the schema sheets present (canonical key -> name in the workbook).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            # Every part the cell reader will load counts against one size budget.
            budget = [MAX_UNPACKED_BYTES]
            parts = _sheet_parts(zf, budget)
            wanted: dict[str, str] = {}
            problems: list[Problem] = []
            for name in parts:
                key = canonical_header(name)
                if key in SHEET_BY_KEY:
                    if key in wanted:
                        problems.append(
                            Problem(
                                name,
                                None,
                                None,
                                None,
                                f"two sheets are named {SHEET_BY_KEY[key].name} "
                                f"({wanted[key]!r} and {name!r}); keep one",
                                found=False,
                            )
                        )
                    else:
                        wanted[key] = name
            if problems:
                raise InputError(problems)
            for member in ("xl/sharedStrings.xml", "xl/styles.xml"):
                if member in zf.namelist():
                    _read_capped(zf, member, budget)
            declared = {key: zf.getinfo(parts[name]).file_size for key, name in wanted.items()}
            for key in sorted(wanted, key=lambda key: -declared[key]):
                xml = _read_capped(zf, parts[wanted[key]], budget)
                maybe = b"<f" in xml or b":f>" in xml or b":f " in xml  # fast memchr first
                formulas = _uncached_formulas(xml) if maybe else set()
                parsing[key] = pool.submit(parse, wanted[key], formulas)
    except InputError:
        raise
    except OverflowError:
        raise _file_problem(
            path,
            f"unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB, far beyond any scenario "
            "workbook (or it is a decompression bomb)",
        ) from None
    except (zipfile.BadZipFile, zlib.error, ValueError, KeyError, EOFError, OSError) as exc:
        raise _file_problem(path, f"is a damaged .xlsx workbook ({exc})") from None
    return wanted


def _raw_sheet(name: str, cells: list[list[Any]], formulas: set[tuple[int, int]]) -> RawSheet:
    if len(cells) > MAX_ROWS:
        raise InputError([Problem(name, None, None, None, f"at most {MAX_ROWS} rows", found=False)])
    headers = list(cells[0]) if cells else []
    width = max(map(len, cells), default=0)
    if any(len(row) != width for row in cells):  # calamine pads rows; make sure of it
        cells = [row + [""] * (width - len(row)) for row in cells]
    # Wholly blank rows are ignored. Counting empty strings is done in C; only rows
    # with a blank-looking first cell need the careful (whitespace-aware) look.
    rows = [(r, row) for r, row in enumerate(cells[1:], start=2) if row.count("") != width]
    rows = [(r, row) for r, row in rows if not _is_blank(row[0]) or not all(map(_is_blank, row))]
    # A formula with no cached value may sit beyond the data area calamine returns.
    return RawSheet(name=name, headers=headers, rows=rows, uncached_formulas=formulas)
