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
import secrets
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


def create_new_file(directory: Path, prefix: str, suffix: str = ".tmp") -> Path:
    """Create an empty file of a fresh name in `directory`, with the mode a plain open() gives.

    `tempfile.mkstemp` makes files readable by their owner alone, which would hide
    results from colleagues sharing the folder. Asking the kernel for 0o666 here
    lets it apply the process's umask (and any default ACL) itself: reading the
    umask would mean setting it, and that races with every other thread creating
    files. `O_EXCL` makes the name ours, as mkstemp does.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        candidate = directory / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            fd = os.open(candidate, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"no free temporary name for {prefix}*{suffix} in {directory}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    The temporary file exists already, with the final mode (0o666 less the umask):
    writers that open it by name keep that mode, and the rename keeps it too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = create_new_file(path.parent, prefix=f".{path.name}.")
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)
