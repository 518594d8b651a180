"""The run store: SQLite in WAL mode with a versioned schema, records that round-trip,
server-made ids that alone become paths, and concurrent writers that lose nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from planner.desk.store import (
    DATABASE,
    INTERRUPTED,
    RUN_ID,
    SCHEMA_VERSION,
    RunStore,
    StoreError,
)


def _add(store: RunStore, label: str = "run", **changes: object) -> str:
    fields: dict[str, object] = {
        "kind": "solve",
        "label": label,
        "workbook_name": "team.xlsx",
        "workbook_sha256": "ab" * 32,
        "scenario": None,
        "settings": {},
        "params": {"plans": 2, "time_limit": 5.0},
    }
    fields.update(changes)
    return store.add(**fields).id  # type: ignore[arg-type]


def test_a_new_store_is_one_sqlite_file_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "desk")
    db = sqlite3.connect(tmp_path / "desk" / DATABASE)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    finally:
        db.close()
    assert store.schema_version() == SCHEMA_VERSION
    assert (tmp_path / "desk" / "runs").is_dir()


def test_a_store_of_a_newer_schema_is_refused_with_what_to_do(tmp_path: Path) -> None:
    RunStore(tmp_path)
    db = sqlite3.connect(tmp_path / DATABASE)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}.*newer planner"):
        RunStore(tmp_path)


def test_an_empty_file_of_version_0_is_migrated_and_keeps_working(tmp_path: Path) -> None:
    (tmp_path / DATABASE).write_bytes(b"")
    store = RunStore(tmp_path)
    assert store.schema_version() == SCHEMA_VERSION
    run_id = _add(store)
    assert store.get(run_id) is not None
    assert RunStore(tmp_path).get(run_id) == store.get(run_id)  # reopened: not migrated again


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / DATABASE).write_bytes(b"this is no database, only text " * 100)
    with pytest.raises(StoreError, match="not a run store"):
        RunStore(tmp_path)


def test_records_round_trip_with_every_field(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    parent = _add(store)
    added = store.add(
        kind="sweep",
        label="Été <b>budget</b>",
        workbook_name="../../etc/passwd.xlsx",
        workbook_sha256="0f" * 32,
        scenario="high_budget",
        settings={"budget": 150, "min_average_trust": 60.5},
        params={"plans": 3, "time_limit": 4.0, "vary": ["budget=40:120:40"]},
        parent=parent,
    )
    assert RUN_ID.fullmatch(added.id)
    assert added.status == "queued" and added.progress["stage"] == "queued"
    assert added.started is None and added.finished is None and added.error is None
    got = store.get(added.id)
    assert got == added
    assert got is not None and got.settings == {"budget": 150, "min_average_trust": 60.5}
    assert got.parent == parent and got.kind == "sweep" and got.scenario == "high_budget"

    progress = {"stage": "solving", "elapsed_s": 1.5, "time_limit_s": 4.0, "rank": 1}
    updated = store.update(
        added.id,
        status="running",
        started="2026-01-01T00:00:00+00:00",
        progress=progress,
        timings={"solve": 1.25},
    )
    assert updated == store.get(added.id)
    assert updated.progress == progress and updated.timings == {"solve": 1.25}
    assert updated.label == added.label and updated.submitted == added.submitted

    api = updated.to_api()
    assert api["id"] == added.id and api["status"] == "running" and api["progress"] == progress
    assert {"submitted", "label", "kind", "parent", "error"} <= set(api)


def test_updates_are_checked(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run_id = _add(store)
    with pytest.raises(ValueError, match="workbook_sha256 cannot be changed"):
        store.update(run_id, workbook_sha256="00")
    with pytest.raises(ValueError, match="'finito' is not a run status"):
        store.update(run_id, status="finito")
    with pytest.raises(KeyError):
        store.update("0123456789ab", status="done")
    with pytest.raises(ValueError, match="not a run id"):
        store.update("../x", status="done")
    with pytest.raises(ValueError, match="kind is one of"):
        _add(store, kind="delete everything")
    assert store.update_if(run_id, ("running",), status="cancelled") is None
    assert store.get(run_id).status == "queued"  # type: ignore[union-attr]
    record = store.update_if(run_id, ("queued",), status="cancelled")
    assert record is not None and record.status == "cancelled"


def test_list_is_newest_first_and_filters_by_label_and_status(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    ids = [
        _add(store, label)
        for label in ("Budget high", "baseline", "ÉTÉ budget", "trust 60", "BUDGET low")
    ]
    store.update(ids[0], status="done")
    store.update(ids[4], status="failed", error="ValueError: no")

    assert [r.id for r in store.list()] == ids[::-1]
    assert [r.id for r in store.list(label="budget")] == [ids[4], ids[2], ids[0]]
    assert [r.id for r in store.list(label="été")] == [ids[2]]
    assert [r.id for r in store.list(status="queued")] == [ids[3], ids[2], ids[1]]
    assert [r.id for r in store.list(label="Budget", status="done")] == [ids[0]]
    assert store.list(status="no such status") == []
    assert [r.id for r in store.list(limit=2)] == [ids[4], ids[3]]
    assert [r.id for r in store.queued()] == [ids[1], ids[2], ids[3]]


def test_ids_are_server_made_and_only_they_become_folders(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    ids = {_add(store) for _ in range(20)}
    assert len(ids) == 20 and all(RUN_ID.fullmatch(i) for i in ids)
    some = sorted(ids)[0]
    assert store.folder(some) == tmp_path / "runs" / some
    for bad in ("../../etc", "ABCDEF012345", "0123456789a", "0123456789abc", "/tmp/x", "", 7):
        with pytest.raises(ValueError, match="not a run id"):
            store.folder(bad)  # type: ignore[arg-type]
        assert store.get(bad) is None  # type: ignore[arg-type]
    assert store.get("0123456789ab") is None


def test_runs_that_were_running_are_marked_interrupted(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    running, queued, done = _add(store), _add(store), _add(store)
    store.update(running, status="running", progress={"stage": "solving", "elapsed_s": 2.0})
    store.update(done, status="done")

    reopened = RunStore(tmp_path)
    assert reopened.mark_interrupted() == [running]
    record = reopened.get(running)
    assert record is not None and record.status == "interrupted"
    assert record.error == INTERRUPTED and record.finished is not None
    assert record.progress == {"stage": "interrupted", "elapsed_s": 2.0}
    assert reopened.get(queued).status == "queued"  # type: ignore[union-attr]
    assert reopened.get(done).status == "done"  # type: ignore[union-attr]
    assert reopened.mark_interrupted() == []


def test_concurrent_writers_from_threads_lose_no_update(tmp_path: Path) -> None:
    """Four threads, each with its own store object on the same file (as two services
    would be), add runs and write progress as fast as they can."""
    RunStore(tmp_path)
    threads_n, adds, updates = 4, 8, 10
    made: list[list[str]] = [[] for _ in range(threads_n)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def work(n: int) -> None:
        try:
            store = RunStore(tmp_path)
            barrier.wait(10)
            for i in range(adds):
                run_id = _add(store, f"thread {n} run {i}")
                made[n].append(run_id)
                for step in range(updates):
                    store.update(run_id, progress={"stage": "solving", "step": step})
                store.update(run_id, status="done")
        except BaseException as exc:  # reported below, with the thread's number
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert not errors, errors
    store = RunStore(tmp_path)
    records = store.list(limit=1000)
    assert len(records) == threads_n * adds
    assert {r.id for r in records} == {i for ids in made for i in ids}
    assert all(r.status == "done" for r in records)
    assert all(r.progress == {"stage": "solving", "step": updates - 1} for r in records)
    for n in range(threads_n):  # each thread's runs in its own submit order, newest first
        mine = [r.id for r in records if r.label.startswith(f"thread {n} ")]
        assert mine == made[n][::-1]
