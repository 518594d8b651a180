"""The batch's journal: every finished outcome, one JSON line each, so an interrupted
command resumes (`--resume`) with only the tasks it has not finished.

Format (JSON lines): a header `{"journal": FORMAT, "fingerprint": ...}`, then one
`{"key", "label", "value", "error", "seconds"}` per outcome, appended and flushed as it
arrives. The fingerprint (the caller's: workbook, settings, options) tells whether a
journal belongs to the command resuming it. A process killed mid-write leaves a torn
last line; it is dropped, as that outcome was never delivered. Failed and not-run
outcomes are journaled too (the file is the batch's record) but run again on resume.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from planner.engine.errors import EngineError
from planner.engine.task import Outcome

FORMAT = "partnership-planner-journal/1"


class Journal:
    """An open journal: what it held on resume (`finished`), and `append` for the rest."""

    def __init__(self, path: Path, fingerprint: str, *, resume: bool) -> None:
        self.path = path
        #: Successful outcomes read back (resumed=True), by key; empty unless resuming.
        self.finished: dict[str, Outcome] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = 0
        if resume and path.exists():
            self.finished, kept = _read(path, fingerprint)
        if kept:
            with path.open("r+b") as raw:
                raw.truncate(kept)  # a torn last line goes, so the next append starts clean
            self._file: TextIO | None = path.open("a", encoding="utf-8")
        else:
            self._file = path.open("w", encoding="utf-8")
            self._write({"journal": FORMAT, "fingerprint": fingerprint})

    def append(self, outcome: Outcome) -> None:
        """Record `outcome` now (flushed), so a kill a moment later keeps it."""
        self._write(
            {
                "key": outcome.key,
                "label": outcome.label,
                "value": outcome.value,
                "error": outcome.error,
                "seconds": outcome.seconds,
            }
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            raise ValueError(f"the journal {self.path} is closed")
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()


def _read(path: Path, fingerprint: str) -> tuple[dict[str, Outcome], int]:
    """The successful outcomes of the journal at `path` and the length in bytes of its
    whole lines (0: nothing usable, start a new journal)."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    finished: dict[str, Outcome] = {}
    kept = 0
    for number, line in enumerate(lines, start=1):
        if number == len(lines):  # the bytes after the last newline: torn by a kill
            break  # mid-write (or nothing); that outcome was never delivered
        record = _parse(line, header=number == 1)
        if record is None:
            raise EngineError(
                f"Line {number} of the journal {path} is not one the planner wrote, so the"
                " batch cannot resume from it: run without --resume to start over."
            )
        if number == 1:
            if record.get("journal") != FORMAT:
                raise EngineError(
                    f"{path} is not a journal of this planner version, so the batch cannot"
                    " resume from it: run without --resume to start over."
                )
            if record.get("fingerprint") != fingerprint:
                raise EngineError(
                    f"The journal {path} belongs to another command (another workbook,"
                    " scenario, settings or options), so --resume cannot use it: run"
                    " without --resume to start over, or write to another --out."
                )
        elif record.get("error") is None and record["key"] not in finished:
            finished[record["key"]] = Outcome(
                key=record["key"],
                label=record["label"],
                value=record["value"],
                error=None,
                seconds=record["seconds"],
                resumed=True,
            )
        kept += len(line) + 1
    return finished, kept


def _parse(line: bytes, *, header: bool) -> dict[str, Any] | None:
    """One line as a record (any JSON object for the `header`), or None when it is not
    one."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if header:
        return record
    fields = (
        isinstance(record.get("key"), str)
        and isinstance(record.get("label"), str)
        and isinstance(record.get("value"), dict | None)
        and isinstance(record.get("error"), str | None)
        and isinstance(record.get("seconds"), int | float)
    )
    return record if fields else None
