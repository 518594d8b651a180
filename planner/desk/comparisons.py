"""Compare reports of two desk runs (SPEC §7), computed in the background one at a time
and kept beside the runs, so a page asking for a comparison never waits on its re-solves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from planner.desk.config import DeskConfig
from planner.desk.store import RunRecord, RunStore
from planner.errors import InputError

log = logging.getLogger("planner.desk")

#: Seconds of re-solves a comparison may spend on the effects of the differences.
COMPARE_TIME_LIMIT_S = 20.0
#: Runs whose folders can be compared: they have plans.json and scenario.json.
COMPARABLE = ("done", "infeasible", "no_solution")


class Comparisons:
    """Compare reports of two runs (SPEC §7), made in the background and kept in
    `data/compare/<a>-<b>-<version>/` (compare.json, compare.xlsx, compare.html).

    The folder's name holds a digest of both runs' finish times, so a run re-run since
    gets a fresh comparison. One comparison is computed at a time: its effects are
    re-solves on their own engine pool.
    """

    def __init__(self, store: RunStore, config: DeskConfig) -> None:
        self.store = store
        self.config = config
        self.folder = config.data / "compare"
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}  # key -> "computing" | error message
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-compare")
        self._closing = threading.Event()

    def key(self, a: RunRecord, b: RunRecord) -> str:
        stamp = hashlib.sha256(f"{a.finished}|{b.finished}".encode()).hexdigest()[:8]
        return f"{a.id}-{b.id}-{stamp}"

    def state(self, a: RunRecord, b: RunRecord) -> tuple[str, dict[str, Any] | None]:
        """("ready", document) | ("computing", None) | ("failed: why", None); starts the
        comparison when it is neither made nor under way."""
        key = self.key(a, b)
        path = self.folder / key / "compare.json"
        if path.is_file():
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return "ready", document
        with self._lock:
            state = self._running.get(key)
            if state is None:
                self._running[key] = "computing"
                self._executor.submit(self._compute, a, b, key)
                state = "computing"
        return state, None

    def file(self, a: RunRecord, b: RunRecord, name: str) -> Path | None:
        if name not in ("compare.json", "compare.xlsx", "compare.html"):
            return None
        path = self.folder / self.key(a, b) / name
        return path if path.is_file() else None

    def _compute(self, a: RunRecord, b: RunRecord, key: str) -> None:
        from planner.compare.compare import compare_runs
        from planner.compare.runs import read_run
        from planner.engine import EngineError, PoolOptions
        from planner.reports.compare_files import write_compare

        try:
            runs = [read_run(self.store.folder(r.id)) for r in (a, b)]
            pool = (
                PoolOptions(scheduler=self.config.scheduler)
                if self.config.scheduler
                else PoolOptions(workers=1)
            )
            document = compare_runs(
                runs[0],
                runs[1],
                time_limit=COMPARE_TIME_LIMIT_S,
                pool=pool,
                progress=self._check_closing,
            )
            # The folders are the desk's own: show the runs' ids, not the server's paths.
            document["a"]["folder"] = f"run {a.id}"
            document["b"]["folder"] = f"run {b.id}"
            target = self.folder / key
            staging = self.folder / f".{key}-{secrets.token_hex(4)}"
            try:
                write_compare(staging / "compare.json", document)
                staging.replace(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            with self._lock:
                self._running.pop(key, None)
        except _Closing:  # the service stops: the pool is aborted, nothing is written
            with self._lock:
                self._running.pop(key, None)
        except (InputError, EngineError) as exc:
            why = exc.report() if isinstance(exc, InputError) else str(exc)
            with self._lock:
                self._running[key] = f"failed: {why}"
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("comparison %s failed (ref %s)", key, ref)
            with self._lock:
                self._running[key] = f"failed: internal error (ref {ref}, details in the log)"

    def _check_closing(self, status: object) -> None:
        """The effects' pool calls this as solves progress: a stopping service ends it
        (the pool closes with its processes terminated) instead of waiting for it."""
        if self._closing.is_set():
            raise _Closing

    def close(self) -> None:
        self._closing.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


class _Closing(Exception):
    """Raised in a comparison's progress callback when the service stops."""
