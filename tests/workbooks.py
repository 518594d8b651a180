"""Hand-made scenario workbooks for reader and validation tests.

Tables are plain lists (header row first), so a test states exactly what the
cells hold: numbers, numbers as text, blanks, formulas. Row k of a table
(0 = header) is Excel row k + 1, which is what the messages name.

The writer uses openpyxl in normal mode on purpose: unlike the product's own
writer it stores a string starting with `=` as a live formula (with no cached
value), which is how a script-made workbook with formulas looks.
"""

from __future__ import annotations

import copy
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import xlsxwriter
from openpyxl import Workbook, load_workbook

Tables = dict[str, list[list[object]]]


def minimal_tables() -> Tables:
    """The smallest valid scenario: only the required sheets, two of everything."""
    return {
        "Settings": [
            ["setting", "value"],
            ["budget", 100],
            ["home_country", "Norland"],
        ],
        "Markets": [
            ["market_id", "name", "region", "weight", "addressable", "required_layers"],
            ["M1", "Kenya", "East Africa", 2, 10, "cloud"],
            ["M2", "Ghana", "West Africa", 1, 8, None],
        ],
        "Partners": [
            ["partner_id", "name", "country", "trust"],
            ["P1", "Home Cloud", "Norland", 80],
            ["P2", "Maple Models", "Canada", 70],
        ],
        "Options": [
            ["option_id", "partner_id", "name", "layer", "kind", "cost", "decision"],
            ["O1", "P1", "Cloud region", "cloud", "joint development", 30, None],
            ["O2", "P2", "Model tuning", "model", None, 40, None],
        ],
        "Coverage": [
            ["option_id", "market_id", "reach"],
            ["O1", "M1", 5],
            ["O2", "M1", 3],
            ["O2", "M2", 4],
        ],
    }


def full_tables() -> Tables:
    """A valid scenario using every sheet of the schema (no conflicts before solving)."""
    tables = minimal_tables()
    tables["Options"].append(
        ["O3", "P1", "Skills academy", "skills", "capacity building", 10, None]
    )
    tables["Coverage"].append(["O3", "M2", 2])
    tables.update(
        {
            "Layers": [
                ["layer", "min_trust", "max_foreign_share"],
                ["cloud", 50, 1],
                ["model", 60, 0.8],
                ["skills", 0, 1],
            ],
            "CoFinancing": [
                [
                    "offer_id",
                    "financier",
                    "share",
                    "cap",
                    "fee",
                    "min_eligible_spend",
                    "regions",
                    "kinds",
                    "layers",
                    "decision",
                ],
                ["C1", "Allied fund", 0.5, 20, 1, 10, "East Africa", "*", "cloud; model", None],
            ],
            "Resources": [["resource", "capacity"], ["staff", 5]],
            "Usage": [["option_id", "resource", "amount"], ["O1", "staff", 2], ["O2", "staff", 2]],
            "Rules": [["rule", "option_id", "other_option_id"], ["requires", "O3", "O1"]],
            "Scenarios": [
                ["scenario", "setting", "value"],
                ["high", "budget", 200],
                ["high", "min_average_trust", 60],
            ],
        }
    )
    return tables


def cloned(tables: Tables) -> Tables:
    return copy.deepcopy(tables)


def write_workbook(path: Path, tables: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    """Each table as a sheet, in order; `=…` strings become formulas without cached values."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    wb.save(path)
    return path


def _sheet_member(zf: zipfile.ZipFile, sheet: str) -> str:
    """The zip member holding `sheet`, resolved through workbook.xml and its relationships."""
    workbook = zf.read("xl/workbook.xml").decode()
    rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(sheet)}"[^>]*r:id="([^"]+)"', workbook)
    assert rid, sheet
    target = re.search(rf'<Relationship [^>]*Id="{rid.group(1)}"[^>]*/>', rels)
    assert target, rid.group(1)
    member = re.search(r'Target="([^"]+)"', target.group(0))
    assert member
    name = member.group(1)
    return name.lstrip("/") if name.startswith("/") else "xl/" + name


def rewrite_members(path: Path, edit: Mapping[str, object]) -> None:
    """Replace zip members: `edit[name]` is new bytes or a function of the old bytes."""
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            change = edit.get(info.filename)
            if change is not None:
                data = change(data) if callable(change) else change  # type: ignore[assignment]
            out.writestr(info.filename, data)


def set_cached_values(path: Path, sheet: str, cached: Mapping[str, object]) -> None:
    """Give formula cells a cached value, as Excel does on saving (`cell ref -> value`).

    Text values are stored with t="str", numbers plainly; "" gives `<v/>` with
    t="str", which is how Excel stores a formula whose result is empty text.
    """
    with zipfile.ZipFile(path) as zf:
        member = _sheet_member(zf, sheet)

    def edit(xml: bytes) -> bytes:
        text = xml.decode()
        for ref, value in cached.items():
            # openpyxl writes `<v />`, or `<v></v>` when lxml is installed.
            pattern = re.compile(rf'<c r="{ref}"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v></v>)?(</c>)')
            assert pattern.search(text), f"no uncached formula in {sheet}!{ref}"
            if isinstance(value, str):
                v = "<v/>" if value == "" else f"<v>{value}</v>"
                repl = rf'<c r="{ref}" t="str"><f>\2</f>{v}\3'
            else:
                repl = rf'<c r="{ref}"\1><f>\2</f><v>{value}</v>\3'
            text = pattern.sub(repl, text)
        return text.encode()

    rewrite_members(path, {member: edit})


def put_cells(path: Path, sheet: str, cells: Mapping[str, object]) -> None:
    """Type values into a written workbook by reference, anywhere in a sheet, as a user
    does after Ctrl+End lands on XFD1048576; saved as openpyxl saves (with the sheet's
    dimension grown to reach them, as Excel grows it)."""
    wb = load_workbook(path)
    for ref, value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)


def set_error_values(
    path: Path, sheet: str, errors: Mapping[str, str], formula: str | None = None
) -> None:
    """Make cells hold Excel error values (`cell ref -> "#N/A"`), as Excel saves a formula
    that failed: `<c t="e"><f>…</f><v>#N/A</v></c>` (without `<f>` when `formula` is None).

    The cells must already hold a value; any code may be written, also the newer ones
    (#SPILL!, #CALC!) that older readers do not know.
    """
    with zipfile.ZipFile(path) as zf:
        member = _sheet_member(zf, sheet)
    f = "" if formula is None else f"<f>{formula}</f>"

    def edit(xml: bytes) -> bytes:
        text = xml.decode()
        for ref, code in errors.items():
            pattern = re.compile(rf'<c r="{ref}"(?:[^>]*/>|[^>]*>.*?</c>)', re.DOTALL)
            assert pattern.search(text), f"no cell {sheet}!{ref}"
            text = pattern.sub(f'<c r="{ref}" t="e">{f}<v>{code}</v></c>', text, count=1)
        return text.encode()

    rewrite_members(path, {member: edit})


def edit_sheet(path: Path, sheet: str, edit: Callable[[bytes], bytes]) -> None:
    """Rewrite one sheet's XML (`edit(old) -> new`), as another program might write it."""
    with zipfile.ZipFile(path) as zf:
        member = _sheet_member(zf, sheet)
    rewrite_members(path, {member: edit})


def write_shared_strings_workbook(
    path: Path,
    tables: Mapping[str, Sequence[Sequence[object]]],
    cells: Mapping[str, object] | None = None,
    failed: Mapping[str, tuple[str, str]] | None = None,
) -> Path:
    """Tables stored as Excel stores them, text in the shared-strings part, by xlsxwriter;
    `cells` adds values anywhere (`"Options!XFD1048576" -> value`), `failed` adds
    formulas whose cached result is an Excel error (`ref -> ("1/0", "#DIV/0!")`)."""
    wb = xlsxwriter.Workbook(str(path))
    sheets = {name: wb.add_worksheet(name) for name in tables}
    for name, rows in tables.items():
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheets[name].write(r, c, value)
    for ref, value in (cells or {}).items():
        name, cell = ref.split("!")
        sheets[name].write(cell, value)
    for ref, (formula, code) in (failed or {}).items():
        name, cell = ref.split("!")
        sheets[name].write_formula(cell, f"={formula}", None, code)
    wb.close()
    return path
