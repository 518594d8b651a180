"""A large xlsx book written by a second process while this one builds and writes the rest.

Why: the xlsx library is pure Python, about 4.5 µs a cell, and a run's plans.xlsx
is its largest file by far (XL with 10 plans: 412,000 cells, 2.7 s, against 1.2 s
for plans.json, scenario.json and report.html together). A thread would share the
interpreter's lock; a second process writes the book on the other core, each sheet
as soon as it is built (`planner.reports.plans_xlsx.write_book` takes sheets in any
order), while this process builds the next one and then the other files. It is a
fresh interpreter (`subprocess`), never a fork: the run may still have solver
threads, and a fork copies their locks mid-use. Each sheet goes to it as a pickle
in a file beside the book (~30 ms each way at XL), named by one line on its
standard input, so this process never waits on the pipe.

Small books (below `SEPARATE_CELLS`) are written here: starting a process would
cost more than it saves. A caller that knows the book's size beforehand
(`expected_cells`) has the process started on entry, so that its imports overlap the
building of the first sheet. The process compresses the book's parts at zlib's level 1
rather than its default 6 (`FAST_ZIP_LEVEL`).

If the process cannot start, fails or hangs, the book is written here after all, so
the run gets its file, or the error that writing it raises here: never a different
outcome for having tried.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from planner.interpreter import start_child
from planner.reports.plans_xlsx import SheetData, write_book

#: Cells from which a book is written by a second process: at ~4.5 µs a cell, 0.45 s,
#: about three times what starting the process costs (0.16 s).
SEPARATE_CELLS = 100_000

#: How long to wait for the second process before writing the book here: a generous
#: 50 µs a cell (ten times its measured pace) and half a minute more.
WAIT_S_PER_CELL = 50e-6
WAIT_S = 30.0

#: The zlib level of the second process's book: at XL with 10 plans (20 MB of XML) it
#: compresses in 0.08 s against 0.39 s at the default level 6, for a file of 3.0 MB
#: against 2.4 MB. Books written here keep the default (they are small, and this process
#: may be one of many threads).
FAST_ZIP_LEVEL = 1

_CHILD = "from planner.reports.book_process import main; main()"
_log = logging.getLogger(__name__)


def sheet_cells(sheet: SheetData) -> int:
    """The cells of a sheet's table (what writing it takes time in proportion to)."""
    return len(sheet.rows) * len(sheet.header)


class BookInProgress:
    """An xlsx book at `path` with sheets `names` in that order, filled by `add` in any
    order and whole after `finish` (callers make the write atomic): by a second process
    once the sheets added reach `separate_cells`, else here; `wait_s` is how long to
    wait for that process (default: by the book's cells). A context manager: leaving it
    without `finish` (an error elsewhere) stops the process, so no writer outlives the
    run's staging folder; entering it starts the process at once when `expected_cells`,
    the book's size when known beforehand, reaches `separate_cells`."""

    def __init__(
        self,
        path: Path,
        names: Sequence[str],
        *,
        separate_cells: int = SEPARATE_CELLS,
        wait_s: float | None = None,
        expected_cells: int | None = None,
    ) -> None:
        self.path = path
        self.wait_s = wait_s
        self.names = list(names)
        self.separate_cells = separate_cells
        self.sheets: list[SheetData] = []
        self.cells = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.tried = False
        self.pickles: list[Path] = []
        self.expected_cells = expected_cells

    def add(self, sheet: SheetData) -> None:
        """One more sheet for the book (its name one of `names`)."""
        self.sheets.append(sheet)
        self.cells += sheet_cells(sheet)
        if self.process is not None:
            self._send(sheet)
        elif not self.tried and self.cells >= self.separate_cells:
            self.tried = True
            self.process = self._start()
            for earlier in self.sheets if self.process is not None else ():
                self._send(earlier)

    def finish(self) -> None:
        """The book whole at `path`: wait for the second process, or write it here."""
        process, self.process = self.process, None
        failure = None if process is None else self._wait(process)
        self._forget_pickles()
        if process is None or failure is not None or not self.path.is_file():
            if process is not None:
                _log.warning("%s written here: %s", self.path.name, failure or "no file")
            self.path.unlink(missing_ok=True)
            write_book(self.path, self.names, self.sheets)

    def _wait(self, process: subprocess.Popen[bytes]) -> str | None:
        """Close its input and wait for it to end, stopping it after `wait_s` (by default
        `WAIT_S` and `WAIT_S_PER_CELL` of the book's cells: a hung writer must not hang
        the run); None when it ended well, else why not."""
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass  # it has ended already: its exit status says how
        wait_s = self.wait_s if self.wait_s is not None else WAIT_S + WAIT_S_PER_CELL * self.cells
        try:
            code = process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return f"the writing process did not end within {wait_s:g} s"
        return None if code == 0 else f"the writing process ended with status {code}"

    def _start(self) -> subprocess.Popen[bytes] | None:
        """The writing process, or None when it cannot start (the book is then written
        here)."""
        return start_child(_CHILD, str(self.path), *self.names, stdout=subprocess.DEVNULL)

    def _send(self, sheet: SheetData) -> None:
        """Hand `sheet` to the process: a pickle beside the book, its name on a line."""
        assert self.process is not None and self.process.stdin is not None
        handle, name = tempfile.mkstemp(prefix=".sheet-", dir=self.path.parent)
        self.pickles.append(Path(name))
        with os.fdopen(handle, "wb") as file:
            pickle.dump(sheet, file, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.process.stdin.write(Path(name).name.encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            pass  # the process has ended: `finish` writes the book here

    def _forget_pickles(self) -> None:
        for path in self.pickles:
            path.unlink(missing_ok=True)
        self.pickles.clear()

    def __enter__(self) -> BookInProgress:
        expected = self.expected_cells
        if expected is not None and not self.tried and expected >= self.separate_cells:
            self.tried = True
            self.process = self._start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self._forget_pickles()


def _sheets_named_on(lines: Iterator[bytes], folder: Path) -> Iterator[SheetData]:
    for line in lines:
        with open(folder / line.decode().strip(), "rb") as file:
            yield pickle.load(file)


def main() -> None:
    """The second process: `BOOK_PATH NAME...`, the sheets' pickle files one a line on
    standard input; exit status 0 once the book is whole."""
    _compress_fast()
    book = Path(sys.argv[1])
    write_book(book, sys.argv[2:], _sheets_named_on(iter(sys.stdin.buffer), book.parent))


class _FastZipFile(zipfile.ZipFile):
    """A zip file deflated at `FAST_ZIP_LEVEL` unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compresslevel", FAST_ZIP_LEVEL)
        super().__init__(*args, **kwargs)


def _compress_fast() -> None:
    """XlsxWriter has no setting for its zip's level: the writing process, a process of
    its own, gives its module a zip file class that deflates at `FAST_ZIP_LEVEL` (and
    leaves it alone if that module no longer uses the standard one)."""
    import xlsxwriter.workbook as module

    if getattr(module, "ZipFile", None) is zipfile.ZipFile:
        module.ZipFile = _FastZipFile
