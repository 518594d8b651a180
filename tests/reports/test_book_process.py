"""plans.xlsx written by a second process: the same book as one written here, sheets in
book order whatever order they come in, text kept text, and the book written here
after all when that process cannot start, fails or is left behind."""

from __future__ import annotations

import os
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import planner
from planner.reports import book_process
from planner.reports.book_process import FAST_ZIP_LEVEL, BookInProgress, sheet_cells
from planner.reports.plans_xlsx import (
    RunInfo,
    SheetData,
    sheet_names,
    summary_sheets,
    table_cells,
    table_sheets,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "inputs" / "example.xlsx"


@pytest.fixture(scope="module")
def report() -> tuple[list[str], list[SheetData]]:
    """The example's report sheets for 3 plans, as `planner.reports.outputs` builds them."""
    result = planner.solve(planner.load(EXAMPLE), plans=3)
    assert len(result.plans) == 3
    run = RunInfo("example.xlsx", "0" * 64, result.scenario.name, str(result.status), {}, "now")
    sheets = [
        *table_sheets(result.scenario, result.planset, result.screened),
        *summary_sheets(result.scenario, result.planset, run),
    ]
    return sheet_names(result.planset), sheets


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cells: value, type and number format, row by row."""
    book = openpyxl.load_workbook(path)
    return {
        ws.title: [tuple((c.value, c.data_type, c.number_format) for c in row) for row in ws]
        for ws in book.worksheets
    }


def _charts(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as book:
        return sorted(n for n in book.namelist() if n.startswith("xl/charts/"))


def _write(path: Path, names: list[str], sheets: list[SheetData], separate_cells: int) -> bool:
    """Write the book; whether a second process was asked to."""
    with BookInProgress(path, names, separate_cells=separate_cells) as book:
        for sheet in sheets:
            book.add(sheet)
        separate = book.process is not None
        book.finish()
    return separate


def test_the_second_process_writes_the_same_book_as_this_one(
    tmp_path: Path,
    report: tuple[list[str], list[SheetData]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    names, sheets = report
    here, there = tmp_path / "here.xlsx", tmp_path / "there.xlsx"
    assert not _write(here, names, sheets, separate_cells=10**9)
    assert _write(there, names, sheets, separate_cells=0)
    assert "written here" not in caplog.text  # by the second process, not the fallback
    assert _cells(there) == _cells(here)
    assert _charts(there) == _charts(here) != []
    assert list(_cells(there)) == names
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob(".sheet-*"))


def test_sheets_take_their_book_place_whatever_order_they_come_in(
    tmp_path: Path, report: tuple[list[str], list[SheetData]]
) -> None:
    names, sheets = report
    in_order, reversed_ = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    _write(in_order, names, sheets, separate_cells=10**9)
    assert _write(reversed_, names, sheets[::-1], separate_cells=0)
    assert _cells(reversed_) == _cells(in_order)
    assert list(_cells(reversed_)) == names


def test_a_small_book_is_written_here(
    tmp_path: Path, report: tuple[list[str], list[SheetData]]
) -> None:
    names, sheets = report
    assert not _write(tmp_path / "p.xlsx", names, sheets, separate_cells=10**9)
    assert list(_cells(tmp_path / "p.xlsx")) == names


def test_text_from_the_workbook_stays_text_in_the_second_process(tmp_path: Path) -> None:
    hostile = ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "http://x.test/"]
    sheet = SheetData("Plans", ["name", "cost"], [[text, 1.5] for text in hostile])
    assert _write(tmp_path / "p.xlsx", ["Plans"], [sheet], separate_cells=0)
    rows = _cells(tmp_path / "p.xlsx")["Plans"][1:]
    assert [r[0][:2] for r in rows] == [(text, "s") for text in hostile]
    with zipfile.ZipFile(tmp_path / "p.xlsx") as book:
        xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "hyperlink" not in xml


def test_the_book_is_written_here_when_the_process_cannot_start(
    tmp_path: Path,
    report: tuple[list[str], list[SheetData]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names, sheets = report
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert not _write(tmp_path / "p.xlsx", names, sheets, separate_cells=0)
    assert list(_cells(tmp_path / "p.xlsx")) == names


@pytest.mark.parametrize(
    "child",
    [
        "import sys; sys.exit(3)",  # fails at once
        "import sys; sys.stdin.read(); open(sys.argv[1], 'wb').write(b'half'); sys.exit(1)",
        "import os; os._exit(0)",  # claims success, writes nothing
    ],
)
def test_the_book_is_written_here_when_the_process_fails(
    tmp_path: Path,
    report: tuple[list[str], list[SheetData]],
    monkeypatch: pytest.MonkeyPatch,
    child: str,
) -> None:
    names, sheets = report
    monkeypatch.setattr(book_process, "_CHILD", child)
    here = tmp_path / "here.xlsx"
    _write(here, names, sheets, separate_cells=10**9)
    assert _write(tmp_path / "p.xlsx", names, sheets, separate_cells=0)
    assert _cells(tmp_path / "p.xlsx") == _cells(here)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.xlsx", "p.xlsx"]


def test_a_writing_process_that_hangs_is_stopped_and_the_book_written_here(
    tmp_path: Path,
    report: tuple[list[str], list[SheetData]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    names, sheets = report
    monkeypatch.setattr(book_process, "_CHILD", "import time; time.sleep(600)")
    with BookInProgress(tmp_path / "p.xlsx", names, separate_cells=0, wait_s=0.5) as book:
        for sheet in sheets:
            book.add(sheet)
        process = book.process
        book.finish()
    assert process is not None and process.poll() is not None
    assert list(_cells(tmp_path / "p.xlsx")) == names
    assert "did not end within 0.5 s" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.xlsx"]


def test_leaving_without_finishing_stops_the_process(
    tmp_path: Path,
    report: tuple[list[str], list[SheetData]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names, sheets = report
    monkeypatch.setattr(book_process, "_CHILD", "import time; time.sleep(600)")
    with (
        pytest.raises(RuntimeError, match="elsewhere"),
        BookInProgress(tmp_path / "p.xlsx", names, separate_cells=0) as book,
    ):
        book.add(sheets[0])
        process = book.process
        assert process is not None and process.poll() is None
        raise RuntimeError("an error elsewhere in the run")
    assert process is not None and process.poll() is not None  # ended, and reaped
    assert list(tmp_path.iterdir()) == []


def test_the_second_process_finds_this_package_without_an_install(
    tmp_path: Path,
    report: tuple[list[str], list[SheetData]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A checkout run in place (no PYTHONPATH, another working folder) still gets its
    book from the second process, not from the fallback."""
    names, sheets = report
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)
    written_here: list[Path] = []
    original = book_process.write_book

    def here(path: Path, *args: object) -> None:
        written_here.append(path)
        original(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(book_process, "write_book", here)
    assert _write(tmp_path / "p.xlsx", names, sheets, separate_cells=0)
    assert written_here == []
    assert list(_cells(tmp_path / "p.xlsx")) == names
    assert os.path.getsize(tmp_path / "p.xlsx") > 0


def test_the_book_size_known_beforehand_is_the_size_of_its_large_sheets() -> None:
    """`table_cells` counts what `table_sheets` builds: options in plans, markets, what was
    screened (an offer set to `never` included) and offers taken."""
    scenario = planner.load(EXAMPLE).with_decisions(never=["C-INDOPACIFIC"])
    result = planner.solve(scenario, plans=3)
    screened = result.screened
    sheets = list(table_sheets(result.scenario, result.planset, screened))
    assert any(row[1] == "offer" for row in sheets[2].rows) and len(sheets[2].rows) > 1
    assert table_cells(result.scenario, result.planset, screened) == sum(
        sheet_cells(s) for s in sheets
    )


def test_a_book_known_to_be_large_has_its_process_started_on_entry(
    tmp_path: Path, report: tuple[list[str], list[SheetData]]
) -> None:
    names, sheets = report
    cells = sum(sheet_cells(s) for s in sheets)
    path = tmp_path / "p.xlsx"
    with BookInProgress(path, names, separate_cells=cells, expected_cells=cells) as book:
        assert book.process is not None and book.process.poll() is None  # before any sheet
        for sheet in sheets:
            book.add(sheet)
        book.finish()
    assert list(_cells(path)) == names
    with BookInProgress(path, names, separate_cells=cells + 1, expected_cells=cells) as book:
        assert book.process is None  # small: waits for its sheets, as without the hint


def test_the_second_process_deflates_the_book_at_the_fast_level(
    tmp_path: Path, report: tuple[list[str], list[SheetData]]
) -> None:
    """Each part's compressed size is what zlib gives at that level (deflate is
    deterministic for a level), so the level the book was written at can be read back."""
    names, sheets = report

    def levels(path: Path) -> set[int]:
        found = set()
        with zipfile.ZipFile(path) as book:
            for info in book.infolist():
                if info.file_size < 2000:  # too small to tell levels apart
                    continue
                data = book.read(info)
                sizes = {}
                for level in (FAST_ZIP_LEVEL, 6):
                    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
                    sizes[level] = len(deflate.compress(data) + deflate.flush())
                assert sizes[FAST_ZIP_LEVEL] != sizes[6]
                found |= {level for level, size in sizes.items() if size == info.compress_size}
        return found

    assert _write(tmp_path / "there.xlsx", names, sheets, separate_cells=0)
    assert not _write(tmp_path / "here.xlsx", names, sheets, separate_cells=10**9)
    assert levels(tmp_path / "there.xlsx") == {FAST_ZIP_LEVEL}
    assert levels(tmp_path / "here.xlsx") == {6}
