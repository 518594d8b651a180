"""Hostile files are refused quickly, with the memory of the refusing process bounded.

Each file is small on disk and built here byte by byte where zipfile itself would not
write it (a lying size, overlapping entries, a deflate stream of a gigabyte). Each is
given to `planner validate` in a process of its own, run under a small helper process
that reports its child's peak resident memory (`RUSAGE_CHILDREN`): the whole process,
interpreter and libraries included, must stay under 256 MB and end with exit 2 and a
message naming the file and what was expected, never a traceback. The same refusal is
checked through `planner.api.load` (InputError).
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from workbooks import minimal_tables, write_shared_strings_workbook, write_workbook

import planner.api as api
import planner.workbook.reader as workbook_reader
from planner.errors import InputError

PEAK_LIMIT_KB = 256 * 1024
"""The bound of issue 16: refusing any hostile file stays under 256 MB."""
SECONDS = 3.0
"""Refused quickly: the whole process, start-up included."""

MEASURED = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({
    "code": done.returncode,
    "stdout": done.stdout,
    "stderr": done.stderr,
    "seconds": time.perf_counter() - start,
    "peak_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""
"""A fresh process whose only child is the planner: its RUSAGE_CHILDREN peak is the
planner's own."""
PLANNER = "from planner.cli import main; main()"


@dataclass
class Member:
    """One zip entry as it is stored: its payload (already compressed or not), the
    sizes and checksum its headers declare, and where its local header is."""

    name: str
    payload: bytes
    size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    declared_size: int | None = None
    """The unpacked size written in the headers, when it lies."""
    offset_of: str | None = None
    """Share the local header (and data) of the entry of that name: an overlapping entry."""


def stored(name: str, data: bytes) -> Member:
    return Member(name, data, len(data), zlib.crc32(data), zipfile.ZIP_STORED)


def deflated(name: str, data: bytes) -> Member:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), len(data), zlib.crc32(data))


def repeated(name: str, head: bytes, block: bytes, times: int, tail: bytes) -> Member:
    """`head + block * times + tail` deflated without ever building it: after a full
    flush the compressor starts afresh, so one block's output repeated is the stream."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(block) * times + len(tail)
    return Member(name, first + middle * times + last, size, crc)


def write_zip(path: Path, members: list[Member]) -> Path:
    """A zip written by hand, headers saying whatever the members say."""
    out = bytearray()
    offsets: dict[str, int] = {}
    central = bytearray()
    for m in members:
        name = m.name.encode()
        size = m.size if m.declared_size is None else m.declared_size
        if m.offset_of is None:
            offsets[m.name] = len(out)
            out += struct.pack(
                "<4s5H3L2H", b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21,
                m.crc, len(m.payload), size, len(name), 0,
            )  # fmt: skip
            out += name + m.payload
        offset = offsets[m.offset_of or m.name]
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, m.flags, m.method, 0, 0x21,
            m.crc, len(m.payload), size, len(name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += name
    count = len(members)
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
        len(central), len(out), 0,
    )  # fmt: skip
    path.write_bytes(bytes(out + central + end))
    return path


def base_members(folder: Path, shared: bool = False) -> list[Member]:
    """The members of a small valid scenario workbook, as openpyxl writes it (text in
    the cells) or, `shared`, as Excel and xlsxwriter do (text in the shared strings)."""
    write = write_shared_strings_workbook if shared else write_workbook
    path = write(folder / "base.xlsx", minimal_tables())
    with zipfile.ZipFile(path) as zf:
        members = [deflated(i.filename, zf.read(i)) for i in zf.infolist()]
    path.unlink()
    return members


def sheet_member(members: list[Member], sheet: str) -> str:
    """The part of a sheet of `base_members` (openpyxl numbers them in order)."""
    order = list(minimal_tables())
    return f"xl/worksheets/sheet{order.index(sheet) + 1}.xml"


def replaced(members: list[Member], new: Member) -> list[Member]:
    return [new if m.name == new.name else m for m in members]


def edited(members: list[Member], name: str, edit: Callable[[bytes], bytes]) -> list[Member]:
    """`members` with one member's text changed (it is unpacked, edited, packed again)."""
    out = []
    for m in members:
        if m.name == name:
            data = zlib.decompress(m.payload, -15)
            m = deflated(name, edit(data))
        out.append(m)
    return out


SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = b"</sheetData></worksheet>"
MB = 2**20
LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (k, (b"&lol%d;" % (k - 1) if k > 1 else b"&lol;") * 10)
        for k in range(1, 10)
    )
    + b"]>"
)
"""The "billion laughs": nine levels of ten, 10**9 times "lol" once expanded."""


def _after_declaration(doctype: bytes) -> Callable[[bytes], bytes]:
    def edit(xml: bytes) -> bytes:
        end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
        return xml[:end] + doctype + xml[end:]

    return edit


def zip_bomb(folder: Path) -> Path:
    """Options holds 1.5 GB of spaces (honestly declared), 1.5 MB on disk."""
    members = base_members(folder)
    name = sheet_member(members, "Options")
    bomb = repeated(name, SHEET_HEAD, b" " * MB, 1536, SHEET_TAIL)
    return write_zip(folder / "bomb.xlsx", replaced(members, bomb))


def lying_size(folder: Path) -> Path:
    """The same bomb, its headers claiming 40 kB."""
    members = base_members(folder)
    name = sheet_member(members, "Options")
    bomb = repeated(name, SHEET_HEAD, b" " * MB, 1536, SHEET_TAIL)
    bomb.declared_size = 40_000
    return write_zip(folder / "lying.xlsx", replaced(members, bomb))


def tight_within_cap(folder: Path) -> Path:
    """Coverage holds 100 MB of spaces: within the size cap, packed a thousand times."""
    members = base_members(folder)
    name = sheet_member(members, "Coverage")
    bomb = repeated(name, SHEET_HEAD, b" " * MB, 100, SHEET_TAIL)
    return write_zip(folder / "tight.xlsx", replaced(members, bomb))


def junk_at_the_cap(folder: Path) -> Path:
    """Options holds 150 MB of text that packs about 60 to 1, like real cells do: the
    most the reader keeps; refused once read (the sheet has no header)."""
    members = base_members(folder)
    name = sheet_member(members, "Options")
    junk = repeated(name, SHEET_HEAD + b"<row>", noisy_block(), 150, b"</row>" + SHEET_TAIL)
    return write_zip(folder / "junk.xlsx", replaced(members, junk))


def noisy_block() -> bytes:
    """1 MB of letters that deflates about 60 to 1, as real sheets nearly do."""
    block = bytearray(b"x" * MB)
    state = 1
    for i in range(0, MB, 97):
        state = state * 1103515245 + 12345 & 0x7FFFFFFF
        block[i] = 97 + state % 26
    return bytes(block)


def many_members(folder: Path) -> Path:
    """65,000 empty entries besides the workbook's own (a central directory of 5 MB)."""
    members = base_members(folder)
    members += [stored(f"x/{k:05d}", b"") for k in range(65_000)]
    return write_zip(folder / "many.xlsx", members)


def overlapping_entries(folder: Path) -> Path:
    """Every sheet's entry points at the data of one 200 MB bomb entry."""
    members = base_members(folder)
    bomb = repeated("xl/worksheets/sheet1.xml", SHEET_HEAD, b" " * MB, 200, SHEET_TAIL)
    sheets = [m.name for m in members if m.name.startswith("xl/worksheets/")]
    out = [m for m in members if m.name not in sheets] + [bomb]
    for name in sheets[1:]:
        shared = repeated(name, SHEET_HEAD, b" " * MB, 200, SHEET_TAIL)
        shared.offset_of = "xl/worksheets/sheet1.xml"
        out.append(shared)
    return write_zip(folder / "overlapping.xlsx", out)


def every_sheet_one_part(folder: Path) -> Path:
    """Every sheet's relationship names one 40 MB part that packs like real cells:
    within the cap once, but read five times."""
    members = base_members(folder)
    target = sheet_member(members, "Settings")
    bomb = repeated(target, SHEET_HEAD + b"<row>", noisy_block(), 40, b"</row>" + SHEET_TAIL)
    members = replaced(members, bomb)
    members = edited(
        members,
        "xl/_rels/workbook.xml.rels",
        lambda x: (
            x.replace(b"worksheets/sheet2.xml", b"worksheets/sheet1.xml")
            .replace(b"worksheets/sheet3.xml", b"worksheets/sheet1.xml")
            .replace(b"worksheets/sheet4.xml", b"worksheets/sheet1.xml")
            .replace(b"worksheets/sheet5.xml", b"worksheets/sheet1.xml")
        ),
    )
    return write_zip(folder / "one-part.xlsx", members)


def nested_zip(folder: Path) -> Path:
    """The Options part is itself a zip holding a 1 GB bomb."""
    members = base_members(folder)
    inner = write_zip(
        folder / "inner.zip",
        [repeated("bomb.xml", SHEET_HEAD, b" " * MB, 1024, SHEET_TAIL)],
    )
    name = sheet_member(members, "Options")
    nested = stored(name, inner.read_bytes())
    inner.unlink()
    return write_zip(folder / "nested.xlsx", replaced(members, nested))


def laughs_in_strings(folder: Path) -> Path:
    """The shared strings declare the billion laughs and a cell uses them."""
    members = base_members(folder, shared=True)
    members = edited(
        members,
        "xl/sharedStrings.xml",
        lambda x: _after_declaration(LAUGHS)(x).replace(b"<t>Kenya</t>", b"<t>&lol9;</t>"),
    )
    return write_zip(folder / "laughs-strings.xlsx", members)


def laughs_in_sheet(folder: Path) -> Path:
    """A sheet declares the billion laughs and a cell of it uses them."""
    members = base_members(folder)
    name = sheet_member(members, "Partners")
    cell = b'<c r="E2" t="inlineStr"><is><t>&lol9;</t></is></c>'
    members = edited(
        members,
        name,
        lambda x: _after_declaration(LAUGHS)(x).replace(b"</row>", cell + b"</row>", 1),
    )
    return write_zip(folder / "laughs-sheet.xlsx", members)


def external_entity(folder: Path) -> Path:
    """A sheet's cell is an external entity (the file /etc/passwd)."""
    members = base_members(folder)
    name = sheet_member(members, "Markets")
    doctype = b'<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    cell = b'<c r="G2" t="inlineStr"><is><t>&xxe;</t></is></c>'
    members = edited(
        members,
        name,
        lambda x: _after_declaration(doctype)(x).replace(b"</row>", cell + b"</row>", 1),
    )
    return write_zip(folder / "xxe.xlsx", members)


def absurd_dimension(folder: Path) -> Path:
    """Options says it spans the whole sheet, A1:XFD1048576 (its cells are few)."""
    members = base_members(folder)
    name = sheet_member(members, "Options")
    members = edited(
        members,
        name,
        lambda x: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', x),
    )
    return write_zip(folder / "dimension.xlsx", members)


def far_cell(folder: Path) -> Path:
    """Options has one cell in its last row, in a column with a header."""
    members = base_members(folder)
    name = sheet_member(members, "Options")
    cell = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>O9</t></is></c></row>'
    members = edited(members, name, lambda x: x.replace(b"</sheetData>", cell + b"</sheetData>"))
    return write_zip(folder / "far.xlsx", members)


def absurd_span(folder: Path) -> Path:
    """Options has a header in each of Excel's 16,384 columns and 4,000 rows with a cell:
    64 million cells once its empty ones are left out."""
    members = base_members(folder)
    name = sheet_member(members, "Options")

    def edit(xml: bytes) -> bytes:
        headers = b"".join(
            b'<c r="%s1" t="inlineStr"><is><t>h%d</t></is></c>' % (letters(k), k)
            for k in range(7, 16384)
        )
        rows = b"".join(
            b'<row r="%d"><c r="%s%d"><v>1</v></c></row>' % (r, letters(r % 16384), r)
            for r in range(4, 4004)
        )
        xml = xml.replace(b"</row>", headers + b"</row>", 1)
        return xml.replace(b"</sheetData>", rows + b"</sheetData>")

    return write_zip(folder / "span.xlsx", edited(members, name, edit))


def letters(index: int) -> bytes:
    out = b""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = bytes([65 + rem]) + out
    return out


def not_a_zip(folder: Path) -> Path:
    path = folder / "renamed.xlsx"
    path.write_bytes(b"option_id,cost\nO1,30\n" * 1000)
    return path


def zip_not_a_workbook(folder: Path) -> Path:
    return write_zip(folder / "archive.xlsx", [deflated("readme.txt", b"not a workbook\n" * 100)])


def encrypted_member(folder: Path) -> Path:
    """A zip whose sheet entry says it is encrypted (zip's own weak encryption)."""
    members = base_members(folder)
    name = sheet_member(members, "Options")
    out = []
    for m in members:
        if m.name == name:
            m.flags = 1
        out.append(m)
    return write_zip(folder / "encrypted.xlsx", out)


HOSTILE: dict[str, tuple[Callable[[Path], Path], int, str]] = {
    # name: (builder, exit status, what the message says)
    "zip bomb": (zip_bomb, 2, r"bomb\.xlsx unpacks to more than 160 MB, far beyond any"),
    "lying size": (lying_size, 2, r"lying\.xlsx is a damaged \.xlsx workbook \(Bad CRC-32"),
    "packed a thousand times": (
        tight_within_cap,
        2,
        r"tight\.xlsx is refused: its part xl/worksheets/sheet5\.xml is stored 1,0\d\d times "
        r"smaller than it unpacks \(100 MB\), as a decompression bomb is",
    ),
    "junk at the cap": (
        junk_at_the_cap,
        2,
        r"sheet Options, row 1: a column headed option_id in row 1 \(it is required\)",
    ),
    "many members": (
        many_members,
        2,
        r"many\.xlsx holds 65,013 parts, far more than any workbook \(at most 10,000\)",
    ),
    "overlapping entries": (overlapping_entries, 2, r"overlapping\.xlsx unpacks to more than"),
    "every sheet one part": (every_sheet_one_part, 2, r"one-part\.xlsx unpacks to more than"),
    "nested zip": (nested_zip, 2, r"nested\.xlsx is a damaged \.xlsx workbook"),
    "billion laughs in shared strings": (
        laughs_in_strings,
        2,
        r"laughs-strings\.xlsx is refused: its part xl/sharedStrings\.xml declares a DOCTYPE",
    ),
    "billion laughs in a sheet": (
        laughs_in_sheet,
        2,
        r"laughs-sheet\.xlsx is refused: its part xl/worksheets/sheet3\.xml declares a DOCTYPE",
    ),
    "external entity": (
        external_entity,
        2,
        r"xxe\.xlsx is refused: its part xl/worksheets/sheet2\.xml declares a DOCTYPE",
    ),
    # A dimension is only what the file says: the sheet is read by its cells (valid).
    "absurd dimension": (absurd_dimension, 0, r"Valid\."),
    "far cell": (
        far_cell,
        2,
        r"sheet Options, row 1048576, column partner_id: found blank; expected an identifier",
    ),
    "absurd span": (
        absurd_span,
        2,
        r"sheet Options: at most 33,554,432 cells in the rows and headed columns in use; "
        r"this sheet spans 4,003 rows by 16,384 columns",
    ),
    "not a zip": (not_a_zip, 2, r"renamed\.xlsx is not an \.xlsx workbook"),
    "zip not a workbook": (
        zip_not_a_workbook,
        2,
        r"archive\.xlsx is a damaged \.xlsx workbook \(missing part",
    ),
    "encrypted member": (
        encrypted_member,
        2,
        r"encrypted\.xlsx is a damaged \.xlsx workbook \(File 'xl/worksheets/sheet4\.xml' "
        r"is encrypted",
    ),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each hostile file, built once for the module's tests."""
    folder = tmp_path_factory.mktemp("hostile")
    built: dict[str, Path] = {}

    def get(label: str) -> Path:
        if label not in built:
            built[label] = HOSTILE[label][0](folder)
            assert built[label].stat().st_size < 8 * MB  # small on disk
        return built[label]

    return get


def validate_measured(path: Path, *options: str) -> dict[str, Any]:
    """`planner validate PATH` in a process of its own: exit code, output, peak memory."""
    done = subprocess.run(
        [
            *(sys.executable, "-c", MEASURED),
            *(sys.executable, "-c", PLANNER, "validate", str(path), *options),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("label", list(HOSTILE))
def test_validate_refuses_quickly_with_memory_bounded(
    label: str, hostile: Callable[[str], Path]
) -> None:
    _, code, message = HOSTILE[label]
    done = validate_measured(hostile(label))
    assert done["code"] == code, done
    out = str(done["stderr"] if code else done["stdout"])
    assert re.search(message, out), out
    assert "Traceback" not in str(done["stderr"])
    assert int(done["peak_kb"]) < PEAK_LIMIT_KB, (label, int(done["peak_kb"]) // 1024, "MB")
    assert float(done["seconds"]) < SECONDS, done["seconds"]
    if code:
        assert re.match(r"Input errors \(\d+\), nothing was written:\n", str(done["stderr"]))
        assert done["stdout"] == ""


@pytest.mark.parametrize(
    "label", ["zip bomb", "junk at the cap", "billion laughs in a sheet", "many members"]
)
def test_annotating_a_hostile_file_is_refused_too(
    label: str, hostile: Callable[[str], Path], tmp_path: Path
) -> None:
    """openpyxl is never given what the reader refused, nor a part the reader skips."""
    out = tmp_path / "marked.xlsx"
    done = validate_measured(hostile(label), "--annotate", str(out))
    assert done["code"] == 2
    assert re.search(HOSTILE[label][2], done["stderr"]), done["stderr"]
    assert str(done["stderr"]).splitlines()[-1].startswith("Not annotated: ")
    assert int(done["peak_kb"]) < PEAK_LIMIT_KB, (label, int(done["peak_kb"]) // 1024, "MB")
    assert not out.exists()


@pytest.mark.parametrize("label", [label for label, (_, code, _) in HOSTILE.items() if code])
def test_api_load_refuses_with_a_located_problem(
    label: str, hostile: Callable[[str], Path]
) -> None:
    path = hostile(label)
    with pytest.raises(InputError) as info:
        api.load(path)
    problems = info.value.problems
    assert any(re.search(HOSTILE[label][2], str(p)) for p in problems), problems
    if problems[0].sheet is None:  # the file itself: named, with what was expected
        [problem] = problems
        assert str(problem).startswith(path.name)
        assert problem.row is None and not problem.found


def test_absurd_dimension_reads_the_cells(hostile: Callable[[str], Path]) -> None:
    scenario = api.load(hostile("absurd dimension"))
    assert [o.option_id for o in scenario.options] == ["O1", "O2"]


def test_declaration_cut_between_chunks_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan sees a DOCTYPE wherever the stream's chunks happen to cut it."""
    monkeypatch.setattr(workbook_reader, "_CHUNK", 64)
    for pad in range(0, 80, 7):
        doctype = b" " * pad + b'<!DOCTYPE w [<!ENTITY a "b">]>'
        members = edited(base_members(tmp_path), "xl/workbook.xml", _after_declaration(doctype))
        path = write_zip(tmp_path / f"cut{pad}.xlsx", members)
        with pytest.raises(InputError) as info:
            api.load(path)
        assert "declares a DOCTYPE or ENTITY" in str(info.value.problems[0]), pad


def test_part_not_in_utf8_is_refused(tmp_path: Path) -> None:
    members = base_members(tmp_path)
    name = sheet_member(members, "Markets")
    members = edited(members, name, lambda x: x.decode().encode("utf-16"))
    with pytest.raises(InputError) as info:
        api.load(write_zip(tmp_path / "utf16.xlsx", members))
    assert re.fullmatch(
        r"utf16\.xlsx is refused: its part xl/worksheets/sheet2\.xml is not written in UTF-8.*",
        str(info.value.problems[0]),
    )


def test_zip64_end_record_claiming_a_billion_parts(tmp_path: Path) -> None:
    """The count of a zip64 end record is judged before zipfile reads the directory."""
    path = write_zip(tmp_path / "z64.xlsx", base_members(tmp_path))
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    directory, offset = struct.unpack_from("<LL", data, end + 12)
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 10**9, 10**9, directory, offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    tail = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, directory, offset, 0)
    path.write_bytes(bytes(data[:end]) + record + locator + tail)
    with pytest.raises(InputError) as info:
        api.load(path)
    assert str(info.value.problems[0]).startswith(
        "z64.xlsx holds 1,000,000,000 parts, far more than any workbook"
    )


def test_real_sheets_over_a_megabyte_are_read(tmp_path: Path) -> None:
    """Parts large enough to be judged by their ratio pass it: real cells unpack 8-16x."""
    tables = minimal_tables()
    for i in range(40_000):
        tables["Coverage"].append(["O1" if i % 2 else "O2", "M1" if i % 3 else "M2", 1])
    path = write_shared_strings_workbook(tmp_path / "large.xlsx", tables)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet5.xml")
    assert info.file_size > 2**20 and info.file_size < 20 * info.compress_size
    with pytest.raises(InputError) as info_error:  # repeated pairs: read, then judged
        api.load(path)
    assert all(p.sheet == "Coverage" for p in info_error.value.problems)


def test_whole_package_check_scans_utf16_parts_in_their_encoding(tmp_path: Path) -> None:
    """Parts only a whole-workbook reader opens may be UTF-16 (SharePoint's custom XML):
    they pass unless they declare a DOCTYPE, found in their own encoding."""
    plain = '<?xml version="1.0" encoding="utf-16"?><properties/>'
    for encoding in ("utf-16", "utf-16-be"):
        members = [*base_members(tmp_path), deflated("customXml/item1.xml", plain.encode(encoding))]
        workbook_reader.check_package(write_zip(tmp_path / "ok.xlsx", members), 2**24)
        hostile = plain.replace("?>", '?><!doctype p [<!ENTITY a "b">]>', 1).encode(encoding)
        members = [*base_members(tmp_path), deflated("customXml/item1.xml", hostile)]
        with pytest.raises(InputError) as info:
            workbook_reader.check_package(write_zip(tmp_path / "bad.xlsx", members), 2**24)
        assert "its part customXml/item1.xml declares a DOCTYPE or ENTITY" in str(
            info.value.problems[0]
        )
