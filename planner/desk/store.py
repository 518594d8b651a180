"""The desk's run store: one SQLite file of run records beside the runs' output folders.

Why SQLite in WAL mode: the web app reads records while runner threads write progress
every second; with write-ahead logging readers never wait for a writer and a crash
loses at most the transaction in flight, so runs survive a restart (SPEC §10). Every
call opens its own short-lived connection, so any thread may call any method, and
every write is one `BEGIN IMMEDIATE` transaction that takes the write lock before it
reads, so concurrent writers never overwrite each other's updates.

The schema is versioned with `PRAGMA user_version`: `MIGRATIONS[n]` brings a file of
version n to n + 1, and a file written by a newer planner is refused with a message
rather than read wrongly.

Run ids are made here (`secrets.token_hex(6)`: 12 lowercase hex characters) and
`folder` accepts nothing else, so no user input ever becomes a path.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import json
import re
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The database's file name inside the data folder.
DATABASE = "desk.sqlite3"
#: The run folders' parent inside the data folder.
RUNS = "runs"
#: Every status a run can have (SPEC §10).
STATUSES = (
    "queued",
    "running",
    "done",
    "infeasible",
    "no_solution",
    "failed",
    "cancelled",
    "interrupted",
)
#: Statuses a run never leaves by itself (it may be re-run from some of them).
FINISHED = ("done", "infeasible", "no_solution", "failed", "cancelled", "interrupted")
#: What a run is.
KINDS = ("solve", "sweep", "frontier")
#: What a run id looks like: server-made, never from a request.
RUN_ID = re.compile(r"[0-9a-f]{12}")
#: Seconds a connection waits for another's write lock before giving up.
BUSY_TIMEOUT_S = 30.0

#: The error of a run that was running when the service stopped.
INTERRUPTED = "the service stopped while this run was running; re-run it to start it again"

#: Schema migrations: entry n takes a database of version n to version n + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        parent TEXT,
        label TEXT NOT NULL,
        submitted TEXT NOT NULL,
        started TEXT,
        finished TEXT,
        workbook_name TEXT NOT NULL,
        workbook_sha256 TEXT NOT NULL,
        scenario TEXT,
        settings TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        progress TEXT NOT NULL,
        timings TEXT NOT NULL,
        error TEXT
    );
    CREATE INDEX runs_status ON runs (status, seq);
    """,
)
#: The schema version this code reads and writes.
SCHEMA_VERSION = len(MIGRATIONS)

#: Columns `update` may change; the others are fixed when a run is added.
_UPDATABLE = ("status", "progress", "started", "finished", "timings", "error", "label")
_JSON_COLUMNS = ("settings", "params", "progress", "timings")
_COLUMNS = (
    "id",
    "kind",
    "parent",
    "label",
    "submitted",
    "started",
    "finished",
    "workbook_name",
    "workbook_sha256",
    "scenario",
    "settings",
    "params",
    "status",
    "progress",
    "timings",
    "error",
)


#: A list of records (a name of its own: inside `RunStore`, `list` is a method).
Records = list["RunRecord"]


class StoreError(Exception):
    """The run store cannot be used as it is (a newer schema, a file that is not a
    database); the message says what to do, for the command line to print."""


def now() -> str:
    """The current UTC time as ISO 8601 to the second, as records keep it."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def queued_progress() -> dict[str, Any]:
    """The progress of a run that has not started."""
    return {"stage": "queued", "elapsed_s": 0.0, "time_limit_s": None}


@dataclass(frozen=True)
class RunRecord:
    """One run as the store keeps it: plain values, safe to hand to any thread."""

    id: str
    kind: str
    parent: str | None
    label: str
    submitted: str
    started: str | None
    finished: str | None
    workbook_name: str
    workbook_sha256: str
    scenario: str | None
    settings: dict[str, Any]
    params: dict[str, Any]
    status: str
    progress: dict[str, Any]
    timings: dict[str, float]
    error: str | None

    @property
    def finished_run(self) -> bool:
        """Whether the run has ended (it will not change unless re-run)."""
        return self.status in FINISHED

    def to_api(self) -> dict[str, Any]:
        """The record as the JSON API shows it (SPEC §10, without `plans`)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "parent": self.parent,
            "status": self.status,
            "progress": self.progress,
            "submitted": self.submitted,
            "started": self.started,
            "finished": self.finished,
            "label": self.label,
            "workbook_name": self.workbook_name,
            "workbook_sha256": self.workbook_sha256,
            "scenario": self.scenario,
            "settings": self.settings,
            "params": self.params,
            "timings": self.timings,
            "error": self.error,
        }


def check_run_id(run_id: object) -> str:
    """`run_id` if it is a run id the store could have made, else ValueError."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise ValueError(f"{run_id!r} is not a run id (12 lowercase hexadecimal characters)")
    return run_id


class RunStore:
    """The run records of one data folder (created, and its schema migrated, at once)."""

    def __init__(self, data: Path) -> None:
        self.data = Path(data)
        self.runs = self.data / RUNS
        self.runs.mkdir(parents=True, exist_ok=True)
        self.path = self.data / DATABASE
        self._migrate()

    # --- records -----------------------------------------------------------------------

    def add(
        self,
        *,
        kind: str,
        label: str,
        workbook_name: str,
        workbook_sha256: str,
        scenario: str | None,
        settings: dict[str, Any],
        params: dict[str, Any],
        parent: str | None = None,
    ) -> RunRecord:
        """A new queued run with a fresh server-made id."""
        if kind not in KINDS:
            raise ValueError(f"a run's kind is one of {', '.join(KINDS)}, not {kind!r}")
        if parent is not None:
            check_run_id(parent)
        with self._write() as db:
            while True:
                run_id = secrets.token_hex(6)
                if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                    break
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs").fetchone()
            db.execute(
                f"INSERT INTO runs (seq, {', '.join(_COLUMNS)})"
                f" VALUES (?, {', '.join('?' for _ in _COLUMNS)})",
                (
                    seq,
                    run_id,
                    kind,
                    parent,
                    str(label),
                    now(),
                    None,
                    None,
                    str(workbook_name),
                    str(workbook_sha256),
                    scenario,
                    json.dumps(settings),
                    json.dumps(params),
                    "queued",
                    json.dumps(queued_progress()),
                    json.dumps({}),
                    None,
                ),
            )
            record = self._get(db, run_id)
        assert record is not None  # inserted in this transaction
        return record

    def get(self, run_id: str) -> RunRecord | None:
        """The run, or None when there is none by that id (or it is not an id at all)."""
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            return None
        with self._read() as db:
            return self._get(db, run_id)

    def list(
        self, *, label: str | None = None, status: str | None = None, limit: int = 200
    ) -> Records:
        """Runs newest first; `label` keeps those whose label contains it (ignoring
        case), `status` those with that status (an unknown status matches none)."""
        where, args = [], []
        if label:
            where.append("instr(casefold(label), ?) > 0")
            args.append(label.casefold())
        if status:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        with self._read() as db:
            rows = db.execute(sql, (*args, max(0, int(limit)))).fetchall()
        return [_record(row) for row in rows]

    def queued(self) -> Records:
        """Every queued run, in the order they were submitted (the order they run in)."""
        with self._read() as db:
            rows = db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE status = 'queued' ORDER BY seq"
            ).fetchall()
        return [_record(row) for row in rows]

    def update(self, run_id: str, **fields: Any) -> RunRecord:
        """Change some of the run's status, progress, started, finished, timings, error
        and label; returns the record as it is now. KeyError for an unknown run."""
        record = self._update(run_id, fields, None)
        assert record is not None  # no status condition
        return record

    def update_if(self, run_id: str, statuses: tuple[str, ...], **fields: Any) -> RunRecord | None:
        """`update` only when the run's status is one of `statuses`, checked and changed
        in one transaction (a cancel racing a runner cannot both win); None, and nothing
        changed, when it is not. KeyError for an unknown run."""
        return self._update(run_id, fields, statuses)

    def mark_interrupted(self) -> builtins.list[str]:
        """At start: every run still `running` was cut off when the service stopped;
        mark each `interrupted` and return their ids (in submit order)."""
        with self._write() as db:
            ids = [
                row[0]
                for row in db.execute("SELECT id FROM runs WHERE status = 'running' ORDER BY seq")
            ]
            for run_id in ids:
                progress = json.loads(
                    db.execute("SELECT progress FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
                )
                progress["stage"] = "interrupted"
                db.execute(
                    "UPDATE runs SET status = 'interrupted', finished = ?, error = ?,"
                    " progress = ? WHERE id = ?",
                    (now(), INTERRUPTED, json.dumps(progress), run_id),
                )
        return ids

    def folder(self, run_id: str) -> Path:
        """The run's output folder `data/runs/<id>` (not created); ValueError for
        anything that is not a run id, so no request text ever becomes a path."""
        return self.runs / check_run_id(run_id)

    def schema_version(self) -> int:
        """The database's `PRAGMA user_version`."""
        with self._read() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    # --- connections -------------------------------------------------------------------

    def _update(
        self, run_id: str, fields: dict[str, Any], statuses: tuple[str, ...] | None
    ) -> RunRecord | None:
        unknown = sorted(set(fields) - set(_UPDATABLE))
        if unknown:
            raise ValueError(f"a run's {', '.join(unknown)} cannot be changed")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"{fields['status']!r} is not a run status")
        check_run_id(run_id)
        values = [json.dumps(v) if k in _JSON_COLUMNS else v for k, v in fields.items()]
        with self._write() as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(run_id)
            if statuses is not None and row[0] not in statuses:
                return None
            if fields:
                db.execute(
                    f"UPDATE runs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                    (*values, run_id),
                )
            return self._get(db, run_id)

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the run store {self.path}: {exc}.") from exc
        db.create_function("casefold", 1, _casefold, deterministic=True)
        # In WAL mode NORMAL survives a crash of the service (the case that matters
        # here) and skips a disk flush per progress update; only a power cut may lose
        # the last updates.
        try:
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(self._unreadable(exc)) from exc
        return db

    def _unreadable(self, exc: sqlite3.Error) -> str:
        return (
            f"{self.path} is not a run store the planner can read ({exc}): give --data a"
            " folder of its own."
        )

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock from its start (no lost updates)."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def _get(self, db: sqlite3.Connection, run_id: str) -> RunRecord | None:
        row = db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        return _record(row) if row else None

    def _migrate(self) -> None:
        """Bring the database to `SCHEMA_VERSION` (creating it when new), in WAL mode."""
        db = self._connect()
        try:
            try:
                mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                db.execute("BEGIN IMMEDIATE")
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
            except sqlite3.DatabaseError as exc:
                raise StoreError(self._unreadable(exc)) from exc
            if version > SCHEMA_VERSION:
                db.execute("ROLLBACK")
                raise StoreError(
                    f"The run store {self.path} has schema version {version}, written by a"
                    f" newer planner; this one reads up to version {SCHEMA_VERSION}. Upgrade"
                    " the planner, or give --data another folder."
                )
            if mode != "wal":
                db.execute("ROLLBACK")
                raise StoreError(
                    f"The run store {self.path} cannot use write-ahead logging (journal mode"
                    f" {mode!r}): put --data on a local disk."
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        finally:
            db.close()


def _casefold(text: object) -> str:
    return str(text).casefold() if text is not None else ""


def _record(row: tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    for key in _JSON_COLUMNS:
        values[key] = json.loads(values[key])
    return RunRecord(**values)
