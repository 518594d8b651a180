"""Write a set of result files whole or not at all, as `planner.reports.outputs` does for a run.

Each file is written under a staging folder inside the destination and only
then moved into place, one rename each: a reader never finds a half-written
file, and a failure (full disk, a writer raising) leaves the previous results
as they were. Files are created by plain opens, so they get the user's umask.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Writes one file at the path it is given (inside the staging folder).
FileWriter = Callable[[Path], None]


def write_whole(
    folder: Path, writers: Mapping[str, FileWriter], stale: Sequence[str] = ()
) -> list[Path]:
    """Write each named file with its writer into `folder`; returns their paths.

    `stale` names files of an earlier run that must not outlive this one
    (a diagnosis.txt once the scenario became feasible); they are removed once
    the new files are in place.
    """
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        for name, write in writers.items():
            write(staging / name)
        for name in writers:
            os.replace(staging / name, folder / name)
        for name in stale:
            if name not in writers:
                (folder / name).unlink(missing_ok=True)
        return [folder / name for name in writers]
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # never masks the error that got here


def json_writer(document: Mapping[str, Any]) -> FileWriter:
    """A writer of `document` as indented UTF-8 JSON, as plans.json is written."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def bytes_writer(data: bytes) -> FileWriter:
    """A writer of bytes made elsewhere (a run folder's files, computed by a worker)."""

    def write(path: Path) -> None:
        path.write_bytes(data)

    return write
