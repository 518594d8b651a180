"""Read a scenario workbook's cells, safely and fast, without judging them.

The file is checked before anything loads it whole, so that refusing a hostile
file costs little time and little memory (a service reads what strangers send):

- it must be a zip (an encrypted workbook is an OLE container, a CSV is text) of
  at most MAX_FILE_BYTES, whose central directory, read from the file's end
  before zipfile parses it, lists at most MAX_MEMBERS parts in at most
  MAX_DIRECTORY_BYTES (a directory of millions of entries is refused unread);
- the parts that will be read are judged by the sizes the directory declares
  before any is unpacked: together at most MAX_UNPACKED_BYTES (a part named by
  two sheets counts twice), and none over 1 MB unpacking more than MAX_RATIO
  times its stored size (real sheets unpack 8 to 16 times). zipfile stops a
  part at its declared size and then fails its checksum, so a size that lies
  cannot make more come out;
- each part is then unpacked in chunks, counted, and scanned as it streams for
  a DOCTYPE or ENTITY declaration, which no Excel part has: entity expansion
  ("billion laughs") and external entities are refused before any XML parser
  sees them, as is a part not written in UTF-8 (where that scan could not see).

Refusing any such file peaks well under 256 MB for the whole process (a part
read whole is kept once, at most MAX_UNPACKED_BYTES, never copied to be joined;
tests/workbook/test_hostile_files.py measures each kind). Parts nothing reads
(images, themes, drawings) are not judged here; `check_package` judges every
part, for a program that opens the workbook whole (`annotate`). A file of
well-formed cells within these limits is a scenario: reading it costs what its
size costs (50,000 options and 200,000 coverage rows, 58 MB unpacked, peak at
about 270 MB).

The same streaming pass finds what the fast reader (calamine) cannot tell from
blank cells: formulas without a cached value and Excel error values (#N/A,
#DIV/0!, ...). Cells are then read with calamine, which is several times faster
than openpyxl on scenarios with hundreds of thousands of rows.

calamine holds a sheet as one dense rectangle from A1 to its last cell, so a
single stray cell at XFD1048576 would ask for half a terabyte. A sheet whose
cells are not plainly within a small rectangle is therefore read by its real
cells: its part is rewritten without the columns that have no header, its
occupied rows and columns packed together, and calamine reads the packed copy;
the reader maps rows and columns back, so messages still name Excel's.

Only sheets named in the schema are read; others are ignored, as SPEC §2 asks.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import python_calamine

from planner.errors import CellError, InputError, Problem
from planner.scenario.schema import SHEET_BY_KEY, canonical_header

MAX_FILE_BYTES = 200 * 2**20
"""A scenario of 50,000 options and 200,000 coverage rows is about 6 MB."""
MAX_UNPACKED_BYTES = 160 * 2**20
"""Total unpacked size of the parts read: nearly three times the 58 MB of the largest
benchmark scenario (50,000 options, 200,000 coverage rows), about a whole Excel sheet
of coverage rows. The most the reader keeps in memory at once."""
MAX_RATIO = 100
"""Most a part over 1 MB may unpack per byte stored: sheets written by Excel, openpyxl
or xlsxwriter unpack 8 to 16 times, even rows of identical cells; a decompression bomb
unpacks about a thousand times."""
MAX_MEMBERS = 10_000
"""Most parts a workbook may hold (a workbook of 100 sheets and images has a few hundred)."""
MAX_DIRECTORY_BYTES = 4 * 2**20
"""Most bytes its central directory may take (MAX_MEMBERS entries with long names)."""
MAX_ROWS = 1_048_576
"""Excel's own sheet limit."""
MAX_CELLS = MAX_ROWS * 32
"""Most cells a sheet may span once its empty rows and columns are left out: every
row Excel allows, 32 columns wide (the widest sheet of the schema has 10)."""

#: What unpacking a damaged package raises: a bad zip, a bad deflate stream, a part
#: missing or cut short, a compression method zipfile does not know
#: (NotImplementedError), a part encrypted with zip's own password (RuntimeError).
DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    ValueError,
    KeyError,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20
_RATIO_FLOOR = 1 << 20
"""Parts up to this size are never judged by their ratio: they cannot hurt."""
_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"
_DECLARATIONS = (b"DOCTYPE", b"ENTITY")

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
_FAR_REF = re.compile(rb'r="[A-Za-z](?:[A-Za-z]|\d{7})')
"""A cell reference beyond column Z or row 999,999."""
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_ROW_OR_CELL = re.compile(rb'<(/?)((?:\w+:)?)(row|c)\b(?:\s+r="([A-Za-z]*)(\d+)")?([^>]*?)(/?)>')
"""A row or cell tag, its reference captured when written first (as Excel writes it)."""
_REF_ATTR = re.compile(rb'\sr\s*=\s*"([A-Za-z]*)(\d+)"')
_ANY_REF_ATTR = re.compile(rb'\sr\s*=\s*"[^"]*"')
_CELL_TAG = re.compile(rb"<((?:\w+:)?)c\s[^>]*>")
_ERROR_CODE = re.compile(rb"<(?:\w+:)?v>\s*([^<]*?)\s*<")
_WORKBOOK_PARTS = (
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/sharedStrings.xml",
    "xl/styles.xml",
)
"""The parts every sheet's cells depend on."""
_PACKAGE_PARTS = ("[Content_Types].xml", "_rels/.rels")
"""Parts besides the workbook's own that calamine needs to open a package."""


@dataclass(slots=True)
class RawSheet:
    """One sheet's cells as the workbook holds them (cached values, no judging)."""

    name: str
    """The name as written in the workbook, for messages."""
    headers: list[object]
    rows: list[tuple[int, list[object]]]
    """(Excel row number, cells) for every row below the header with a value in a column
    the schema knows (a row with notes only in extra columns is a blank row)."""
    uncached_formulas: set[tuple[int, int]] = field(default_factory=set)
    """(Excel row, column index in `headers`) of formulas without a cached value."""
    columns: list[int] | None = None
    """The sheet's 0-based column of each column here, when columns were left out."""

    def letter(self, index: int) -> str:
        """Excel's letters for a column of `headers` (as the user sees it in Excel)."""
        return column_letter(self.columns[index] if self.columns is not None else index)


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


class _Refused(Exception):
    """A part refused for what it is (a bomb, a DTD); says what was expected instead."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def check_container(path: Path) -> None:
    """Refuse what is not a readable .xlsx before any reader touches it.

    Besides the file's size and kind, its zip directory is judged from the file's
    last bytes, before zipfile parses (and holds in memory) every entry of it.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if size <= MAX_FILE_BYTES and head.startswith(_ZIP_MAGIC):
                _check_directory(fh, size)
    except FileNotFoundError:
        raise _file_problem(path, "was not found") from None
    except IsADirectoryError:
        raise _file_problem(path, "is a folder, expected an .xlsx workbook") from None
    except _Refused as exc:
        raise _file_problem(path, exc.expected) from None
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


def _check_directory(fh: io.BufferedReader, size: int) -> None:
    """Refuse a zip whose central directory lists more parts, or takes more bytes, than
    any workbook's. Read from its end records (zip64's too); a zip without them is left
    to zipfile, which says it is damaged."""
    tail_size = min(size, 22 + 65_535)  # the end record and the longest comment
    fh.seek(size - tail_size)
    tail = fh.read(tail_size)
    at = tail.rfind(_END)
    if at < 0 or len(tail) < at + 22:
        return
    count, directory = struct.unpack_from("<HL", tail, at + 10)
    locator = at - 20
    zip64 = count == 0xFFFF or directory == 0xFFFFFFFF
    if zip64 and locator >= 0 and tail[locator : locator + 4] == _END64_LOCATOR:
        (offset,) = struct.unpack_from("<Q", tail, locator + 8)
        if offset + 56 <= size:
            fh.seek(offset)
            record = fh.read(56)
            if record[:4] == _END64:
                count, directory = struct.unpack_from("<QQ", record, 32)
    if count > MAX_MEMBERS:
        raise _Refused(
            f"holds {count:,} parts, far more than any workbook (at most {MAX_MEMBERS:,}); "
            "expected an .xlsx workbook"
        )
    if directory > MAX_DIRECTORY_BYTES:
        raise _Refused(
            f"has a zip directory of {directory / 2**20:.0f} MB, far larger than any "
            f"workbook's (at most {MAX_DIRECTORY_BYTES // 2**20} MB); expected an .xlsx workbook"
        )


def _sheet_parts(zf: zipfile.ZipFile, budget: list[int]) -> dict[str, str]:
    """Sheet name -> zip member of its XML, from workbook.xml and its relationships."""
    try:
        workbook = _read_capped(zf, _WORKBOOK_PARTS[0], budget)
        rels = _read_capped(zf, _WORKBOOK_PARTS[1], budget)
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


def _check_declared(zf: zipfile.ZipFile, members: list[str], budget: list[int]) -> None:
    """Judge parts by the sizes the zip directory declares, before unpacking any: together
    within the budget (OverflowError), and none a decompression bomb by its ratio.

    zipfile never gives more than a part's declared size (it stops there and checks
    the CRC), so a part that lies about its size is refused as damaged when read.
    """
    total = 0
    for member in members:
        info = zf.getinfo(member)
        total += info.file_size
        if total > budget[0]:
            raise OverflowError
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * info.compress_size:
            ratio = info.file_size / max(1, info.compress_size)
            raise _Refused(
                f"is refused: its part {member} is stored {ratio:,.0f} times smaller than it "
                f"unpacks ({info.file_size / 2**20:,.0f} MB), as a decompression bomb is; "
                f"expected a workbook (parts unpack at most {MAX_RATIO} times)"
            )


def _read_capped(
    zf: zipfile.ZipFile, member: str, budget: list[int], keep: bool = True, utf16: bool = False
) -> bytes:
    """Unpack one part in chunks, counting against a shared byte budget, and scanning the
    stream for what no workbook part holds (a DTD); the bytes are kept only if `keep`.

    The part's declared size is judged first (`_check_declared`). What is kept grows
    by chunks in one buffer: never held twice, as joining a list of chunks would.
    """
    _check_declared(zf, [member], budget)
    kept = bytearray()
    scan = _MarkupScan(member, utf16)
    with zf.open(member) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise OverflowError
            scan.feed(chunk)
            if keep:
                kept += chunk
    return kept  # type: ignore[return-value]  # read like bytes everywhere; not copied


class _MarkupScan:
    """Finds a DOCTYPE or ENTITY declaration in a part as it streams by. Excel writes
    neither, nor a workbook part in any encoding but UTF-8.

    A part in UTF-16 (which would hide a declaration from a scan of UTF-8 bytes) is
    refused, unless `utf16` (parts of other programs, such as SharePoint's custom
    XML, are UTF-16): it is then scanned in its own encoding.
    """

    def __init__(self, member: str, utf16: bool = False) -> None:
        self.member = member
        self.utf16 = utf16
        self.tail = b""
        self.first = True
        self.encoding = "ascii"

    def feed(self, chunk: bytes) -> None:
        if self.first:
            self.first = False
            self.encoding = _encoding_of(chunk[:4])
            if self.encoding != "ascii" and not (self.utf16 and self.encoding != "unknown"):
                raise _Refused(
                    f"is refused: its part {self.member} is not written in UTF-8, as "
                    "every Excel workbook's parts are; expected an .xlsx workbook"
                )
        opening = "<!".encode(self.encoding)
        width = len(opening) // 2
        names = tuple(d.encode(self.encoding) for d in ("DOCTYPE", "ENTITY"))
        # A declaration cut between two chunks is seen whole in the first piece.
        for data in (self.tail + chunk[:32], chunk):
            at = data.find(opening)
            while at >= 0:
                if data[at + 2 * width : at + 9 * width].upper().startswith(names):
                    raise _Refused(
                        f"is refused: its part {self.member} declares a DOCTYPE or ENTITY, "
                        "which no Excel workbook has (XML entity expansion is refused); "
                        "expected an .xlsx workbook saved by a spreadsheet program"
                    )
                at = data.find(opening, at + 2 * width)
        self.tail = chunk[-32:]


def _encoding_of(start: bytes) -> str:
    """How a part's first bytes say it is encoded: "ascii" for UTF-8 (the declarations
    looked for are ASCII), a UTF-16 codec, or "unknown" (UTF-32, binary)."""
    if (start[:2] == b"\xff\xfe" and start[2:4] != b"\x00\x00") or start[:2] == b"<\x00":
        return "utf-16-le"
    if start[:2] == b"\xfe\xff" or start[:2] == b"\x00<":
        return "utf-16-be"
    return "unknown" if b"\x00" in start or start[:2] == b"\xff\xfe" else "ascii"


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

    def parse(job: _Job) -> RawSheet:
        # One handle per thread: calamine releases the GIL for part of its parsing,
        # so the large sheets (Options, Coverage) parse side by side on two cores.
        if job.package is None:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
        else:
            book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(job.package))
        cells = book.get_sheet_by_name(job.name).to_python(skip_empty_area=False)
        return _raw_sheet(job, cells)

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


@dataclass(slots=True)
class _Layout:
    """Where the cells of a rewritten copy of a sheet stand in the sheet itself."""

    errors: dict[tuple[int, int], CellError]
    """(row, column) in the copy, 0-based -> the Excel error value found there."""
    rows: list[int] | None = None
    """Excel row of each row of a packed copy (row 1, the headers, first)."""
    columns: list[int] | None = None
    """0-based sheet column of each column of a packed copy."""


@dataclass(slots=True)
class _Job:
    """One sheet to parse: from the workbook itself, or from a rewritten copy of it."""

    key: str
    name: str
    formulas: set[tuple[int, int]]
    package: bytes | None = None
    layout: _Layout | None = None


def _check_parts(
    path: Path,
    pool: ThreadPoolExecutor,
    parse: Callable[[_Job], RawSheet],
    parsing: dict[str, Future[RawSheet]],
) -> dict[str, str]:
    """Check every part calamine will read; submit each schema sheet's parse once its
    part passed (largest first, so the two workers finish close together).

    Returns the schema sheets present (canonical key -> name in the workbook).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            if len(zf.infolist()) > MAX_MEMBERS:  # its end record may understate them
                raise _Refused(
                    f"holds more than {MAX_MEMBERS:,} parts, far more than any workbook; "
                    "expected an .xlsx workbook"
                )
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
            names = set(zf.namelist())
            common_parts = [member for member in _WORKBOOK_PARTS[2:] if member in names]
            # Every part read, judged by its declared size before any is unpacked.
            _check_declared(zf, common_parts + [parts[name] for name in wanted.values()], budget)
            for member in common_parts:
                _read_capped(zf, member, budget, keep=False)
            declared = {key: zf.getinfo(parts[name]).file_size for key, name in wanted.items()}
            common: dict[str, bytes] = {}  # the parts a rewritten sheet is packaged with
            for key in sorted(wanted, key=lambda key: -declared[key]):
                name = wanted[key]
                xml = _read_capped(zf, parts[name], budget)
                maybe = b"f>" in xml  # <f>, </f>, </x:f>: one fast search before the regex
                job = _Job(key, name, _uncached_formulas(xml) if maybe else set())
                errors = b't="e"' in xml
                small = _small_rectangle(xml)
                if errors or not small:
                    try:
                        copy = _without_errors(xml, job) if small else None
                        copy = _packed(xml, job) if copy is None and not small else copy
                        if copy is None and errors:  # an error cell written oddly
                            copy = _packed(xml, job, always=True)
                    except InputError as exc:
                        problems += exc.problems
                        continue
                    if copy is not None:
                        job.package = _package(zf, parts[name], copy, budget, common)
                if not problems:
                    parsing[key] = pool.submit(parse, job)
            if problems:
                raise InputError(problems)
    except InputError:
        raise
    except _Refused as exc:
        raise _file_problem(path, exc.expected) from None
    except OverflowError:
        raise _file_problem(
            path,
            f"unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB, far beyond any scenario "
            "workbook (or it is a decompression bomb)",
        ) from None
    except DAMAGED as exc:
        raise _file_problem(path, f"is a damaged .xlsx workbook ({exc})") from None
    return wanted


def _small_rectangle(xml: bytes) -> bool:
    """Whether calamine may read a sheet's part as it is, its rectangle being small.

    One pass at C speed looks for references beyond column Z or row 999,999; then
    the last row's number must be about as large as the part (rows are listed in
    order, as every spreadsheet program writes them). What passes spans at most
    26 columns and, unless its rows are dense, a few thousand rows; anything else
    is read by its real cells (`_packed`).
    """
    for m in _FAR_REF.finditer(xml):
        if xml[m.start() - 1 : m.start()].isspace():
            return False
    last = max(xml.rfind(b"<row "), xml.rfind(b":row "))
    if last < 0:
        return True
    number = _ROW_NUMBER.search(xml, last, xml.find(b">", last) + 1)
    return number is not None and int(number.group(1)) <= len(xml) // 16 + 64


def _column_of(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n - 1


def _error_code(xml: bytes, start: int, end: int) -> CellError:
    code = _ERROR_CODE.search(xml, start, end)
    return CellError(code.group(1).decode(errors="replace") if code else "")


def _without_errors(xml: bytes, job: _Job) -> bytes | None:
    """A sheet's part without its error cells, which calamine reads as blank (or not at
    all: #SPILL!, #CALC!); they go to `job.layout`, to be put back after parsing.

    None when an error cell is not written as Excel writes it (`<c r="B2" t="e">`):
    `_packed` then places every cell as calamine would.
    """
    errors: dict[tuple[int, int], CellError] = {}
    pieces: list[bytes] = []
    done = 0
    found = xml.find(b't="e"')
    while found >= 0:
        tag = _CELL_TAG.match(xml, xml.rfind(b"<", 0, found))
        ref = _REF_ATTR.search(tag.group(0)) if tag else None
        if tag is None or ref is None or tag.group(0).endswith(b"/>"):
            return None
        close = xml.find(b"</" + tag.group(1) + b"c>", tag.end())
        if close < 0:
            return None
        row, col = int(ref.group(2)) - 1, _column_of(ref.group(1))
        errors[row, col] = _error_code(xml, tag.end(), close)
        pieces.append(xml[done : tag.start()])
        done = close + len(tag.group(1)) + 4
        found = xml.find(b't="e"', done)
    pieces.append(xml[done:])
    job.layout = _Layout(errors)
    return b"".join(pieces)


_Found = tuple[int, int, int, int, int, bytes, bytes, bool, CellError | None]
"""A cell element with content: start, end of start tag, end, Excel row, 0-based column,
namespace prefix, attributes other than its reference, whether it has a reference, and
the error value it holds."""


def _cells(xml: bytes) -> list[_Found]:
    """Every cell element with content, placed as calamine places them: by its reference,
    or after the cell before it when the reference is left out."""
    begin = xml.find(b"sheetData")
    stop = xml.rfind(b"sheetData")
    out: list[_Found] = []
    if begin < 0:
        return out
    append = out.append
    row, col = 1, 0
    start = tag_end = r = c = -1
    pre = rest = b""
    placed = True
    for m in _ROW_OR_CELL.finditer(xml, begin, stop):
        closing, prefix, tag, letters, digits, attrs, empty = m.groups()
        if tag == b"c":
            if closing:
                if start >= 0:
                    error = _error_code(xml, tag_end, m.start()) if b't="e"' in rest else None
                    append((start, tag_end, m.end(), r, c, pre, rest, placed, error))
                    start = -1
                continue
            if digits is None:
                ref = _REF_ATTR.search(attrs)
                if ref is not None:
                    letters, digits = ref.groups()
                    attrs = _ANY_REF_ATTR.sub(b"", attrs)
            if digits is None:
                r, c = row, col
            elif letters:
                r, c = int(digits), _column_of(letters)
            else:
                raise ValueError(f"a cell reference without a column, row {int(digits)}")
            col = c + 1
            if not empty:  # a self-closing cell holds no value
                start, tag_end, pre, rest = m.start(), m.end(), prefix, attrs
                placed = digits is not None
        else:  # a row: its number places the cells written without a reference
            if not closing:
                if digits is None:
                    number = _ROW_NUMBER.search(attrs)
                    digits = number.group(1) if number else None
                row = int(digits) if digits is not None else row
            if closing or empty:
                row, col = row + 1, 0
    return out


def _too_large(name: str, rows: int, columns: int) -> InputError:
    return InputError(
        [
            Problem(
                name,
                None,
                None,
                None,
                f"at most {MAX_CELLS:,} cells in the rows and headed columns in use; this "
                f"sheet spans {rows:,} rows by {columns:,} columns, far more than any "
                "scenario (delete the cells far below or to the right of the table)",
                found=False,
            )
        ]
    )


def _packed(xml: bytes, job: _Job, always: bool = False) -> bytes | None:
    """A sheet's part with its columns that have no header left out and its occupied
    rows and columns packed together, or None when calamine may read it as it is
    (unless `always`).

    Sets `job.layout` (and maps `job.formulas`) to the packed copy; refuses a sheet
    whose cells, packed, still span more than MAX_CELLS.
    """
    cells = _cells(xml)
    headed = sorted({cell[4] for cell in cells if cell[3] == 1})
    col_at = {c: k for k, c in enumerate(headed)}
    rows = sorted({1} | {cell[3] for cell in cells if cell[4] in col_at})
    if len(rows) * len(headed) > MAX_CELLS:
        raise _too_large(job.name, len(rows), len(headed))
    errors = any(cell[8] is not None for cell in cells)
    last_row = max((cell[3] for cell in cells), default=1)
    last_col = max((cell[4] for cell in cells), default=0)
    area = last_row * (last_col + 1)
    if not (always or errors) and area <= max(4 * len(rows) * len(headed), 2**20):
        return None  # calamine's own rectangle is small enough
    row_at = {r: k for k, r in enumerate(rows)}
    letters = [column_letter(k).encode() for k in range(len(headed))]
    found: dict[tuple[int, int], CellError] = {}
    pieces: list[bytes] = []
    done = 0
    for start, tag_end, end, r, c, prefix, rest, placed, error in cells:
        k = col_at.get(c)
        if k == c and row_at[r] + 1 == r and placed and error is None:
            continue  # in place already (most cells, around a stray one): copied as it is
        pieces.append(xml[done:start])
        done = end
        if k is None:
            continue
        if error is not None:
            found[row_at[r], k] = error  # left out: put back after parsing
            continue
        pieces.append(b'<%sc r="%s%d"%s>' % (prefix, letters[k], row_at[r] + 1, rest))
        pieces.append(xml[tag_end:end])
    pieces.append(xml[done:])
    job.layout = _Layout(found, rows, headed)
    job.formulas = {
        (r, col_at[c]) if c >= 0 else (r, c)
        for r, c in job.formulas
        if c < 0 or (c in col_at and r in row_at)
    }
    return b"".join(pieces)


def _package(
    zf: zipfile.ZipFile, member: str, xml: bytes, budget: list[int], common: dict[str, bytes]
) -> bytes:
    """A workbook package holding one rewritten sheet part and what calamine needs to
    read it (relationships, workbook, shared strings, styles): those are unpacked once,
    within the budget, and kept in `common` for the next rewritten sheet."""
    if not common:
        names = set(zf.namelist())
        for name in (*_PACKAGE_PARTS, *_WORKBOOK_PARTS):
            if name in names:
                common[name] = _read_capped(zf, name, budget)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for name, data in common.items():
            out.writestr(name, data)
        out.writestr(member, xml)
    return buffer.getvalue()


def _known_columns(key: str, headers: list[object]) -> list[int]:
    """Indices of the headers the schema knows for this sheet (others are ignored)."""
    names = {canonical_header(c.name) for c in SHEET_BY_KEY[key].columns}
    return [
        i
        for i, header in enumerate(headers)
        if isinstance(header, str) and canonical_header(header) in names
    ]


def _raw_sheet(job: _Job, cells: list[list[Any]]) -> RawSheet:
    numbers: list[int] | None = None
    layout = job.layout
    if layout is not None:  # a rewritten copy: put its rows and error values back
        if layout.rows is not None:
            numbers = layout.rows
            cells = cells[: len(numbers)] + [[] for _ in range(len(numbers) - len(cells))]
        for (r, c), error in layout.errors.items():
            cells += [[] for _ in range(r + 1 - len(cells))]
            cells[r] += [""] * (c + 1 - len(cells[r]))
            cells[r][c] = error
    if len(cells) > MAX_ROWS:
        raise InputError(
            [Problem(job.name, None, None, None, f"at most {MAX_ROWS} rows", found=False)]
        )
    headers = list(cells[0]) if cells else []
    width = max(map(len, cells), default=0)
    if any(len(row) != width for row in cells):  # calamine pads rows; make sure of it
        cells = [row + [""] * (width - len(row)) for row in cells]
    numbered = (
        zip(numbers[1:], cells[1:], strict=True)
        if numbers is not None
        else enumerate(cells[1:], start=2)
    )
    known = _known_columns(job.key, headers)
    if len(known) == width:
        # Wholly blank rows are ignored. Counting empty strings is done in C; only rows
        # with a blank-looking first cell need the careful (whitespace-aware) look.
        rows = [(r, row) for r, row in numbered if row.count("") != width]
        rows = [
            (r, row) for r, row in rows if not _is_blank(row[0]) or not all(map(_is_blank, row))
        ]
    else:
        # Extra columns are ignored, so a row with notes only there is a blank row too.
        rows = [(r, row) for r, row in numbered if not all(_is_blank(row[i]) for i in known)]
    # A formula with no cached value may sit beyond the data area calamine returns.
    return RawSheet(
        name=job.name,
        headers=headers,
        rows=rows,
        uncached_formulas=job.formulas,
        columns=layout.columns if layout is not None else None,
    )


def check_package(path: str | Path, max_unpacked: int) -> None:
    """Refuse a file that a reader of every part (openpyxl) should not open: the checks of
    `read_workbook` applied to the whole package, each part streamed once and discarded.

    `read_workbook` unpacks only the parts calamine reads; a program that loads the
    whole workbook also reads its theme, drawings, comments and the rest, so those
    are judged here too: declared sizes (at most `max_unpacked` in all, no part a
    bomb by its ratio) before anything is unpacked, then every XML part scanned for
    DOCTYPE and ENTITY declarations as it streams.
    """
    path = Path(path)
    check_container(path)
    try:
        with zipfile.ZipFile(path) as zf:
            if len(zf.infolist()) > MAX_MEMBERS:
                raise _Refused(
                    f"holds more than {MAX_MEMBERS:,} parts, far more than any workbook; "
                    "expected an .xlsx workbook"
                )
            members = [i.filename for i in zf.infolist() if not i.is_dir()]
            budget = [max_unpacked]
            _check_declared(zf, members, budget)
            for member in members:
                if member.endswith((".xml", ".rels", ".vml")):
                    _read_capped(zf, member, budget, keep=False, utf16=True)
                else:  # images, printer settings: counted, never scanned as text
                    _count_part(zf, member, budget)
    except _Refused as exc:
        raise _file_problem(path, exc.expected) from None
    except OverflowError:
        raise _file_problem(
            path,
            f"unpacks to more than {max_unpacked // 2**20} MB, more than a workbook opened "
            "whole (to mark its cells) may be",
        ) from None
    except DAMAGED as exc:
        raise _file_problem(path, f"is a damaged .xlsx workbook ({exc})") from None


def _count_part(zf: zipfile.ZipFile, member: str, budget: list[int]) -> None:
    """Unpack a part in chunks only to count it (and to check its CRC)."""
    with zf.open(member) as fh:
        while chunk := fh.read(_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise OverflowError
