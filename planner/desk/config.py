"""How one desk service runs: where it keeps its runs, where it listens, how many runs
execute at once and where (SPEC §10: `planner serve` options).

One frozen value built by the command line and handed to every part of the service, so
the store, the dispatcher and the web app never read the environment or global state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DeskConfig:
    """`planner serve` options.

    `data` holds the SQLite file (`desk.sqlite3`) and the run folders (`runs/<id>/`);
    `workers` is how many runs execute at once (each on its own engine pool of one
    process, so cancelling one stops only its process); `scheduler` is a Dask scheduler
    address to run them on instead of local processes; `token` is required when `host`
    is not a loopback address; `max_upload_bytes` bounds an uploaded workbook.
    """

    data: Path = Path("outputs/desk")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    scheduler: str | None = None
    token: str | None = None
    max_upload_bytes: int = 20 * 2**20
