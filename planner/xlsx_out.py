"""Writing .xlsx files safely: text stays text, and a file appears whole or not at all.

Names come from users' workbooks; openpyxl would store a name such as
`=HYPERLINK(...)` as a live formula. Every string is written as a string cell.
Files are written to a temporary sibling and moved into place, so a crash or a
full disk never leaves a half-written workbook where a reader expects a result.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.worksheet.worksheet import Worksheet

_XML_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def escape_text(value: str) -> str:
    """Protect text that looks like an OOXML character escape (`_x0041_` reads back as `A`).

    The format escapes a literal underscore of such a sequence as `_x005F_`.
    """
    return _XML_ESCAPE.sub(r"_x005F_\1", value) if "_x" in value else value


def text_cell(ws: Worksheet, value: object) -> object:
    """A write-only cell for `value`; strings are forced to text, never formulas."""
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=escape_text(value))
        cell.data_type = "s"
        return cell
    return value


def set_text(cell: Cell, value: object) -> None:
    """Set a normal-mode cell, keeping strings as text."""
    if isinstance(value, str):
        cell.value = escape_text(value)
        cell.data_type = "s"
    else:
        cell.value = value


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp's 0600 would hide results from colleagues
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)
