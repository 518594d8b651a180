"""A workbook's fingerprint: the SHA-256 of its bytes.

In its own light module because both the library call (`planner.load`) and a
workbook read once for many variants (`planner.workbook.variants`) stamp their
scenarios with it, and the two must agree: a result is traced to the exact file
solved, however it was loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """The workbook's fingerprint, so a result can be traced to the exact file solved."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
