"""The dispatcher: runs through the engine, at most `workers` at once, their folders
written whole, cancellable, recovered after a stop, re-run from their own workbook,
failures as one line, and sweeps and frontiers from a finished run."""

from __future__ import annotations

import itertools
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from desk_helpers import (
    QUICK,
    SMALL_FRONTIER,
    SMALL_PLANS,
    add_run,
    failing_solve_job,
    infeasible_tables,
    plan_figures,
    result_figures,
    slow_solve_job,
    submit,
    wait_for,
    wait_status,
    write_small_workbook,
)
from workbooks import write_workbook

import planner.api as api
from planner.desk import jobs
from planner.desk.config import DeskConfig
from planner.desk.dispatcher import Dispatcher, RunStateError
from planner.desk.store import INTERRUPTED, RunStore
from planner.errors import InputError

EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"
#: Bounded waits: a small run takes a few seconds; past these something is wrong.
RUN_WAIT_S = 60.0
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_small_workbook(tmp_path / "small.xlsx")


def _dispatcher(data: Path, workers: int = 1, scheduler: str | None = None) -> Dispatcher:
    dispatcher = Dispatcher(
        RunStore(data), DeskConfig(data=data, workers=workers, scheduler=scheduler)
    )
    dispatcher.start()
    return dispatcher


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Dispatcher]:
    dispatcher = _dispatcher(tmp_path / "desk")
    try:
        yield dispatcher
    finally:
        dispatcher.stop()


def _files(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def test_a_solve_run_writes_its_folder_with_the_plans_of_planner_solve(
    desk: Dispatcher, small: Path
) -> None:
    record = submit(desk, small, settings=QUICK, params={"plans": 3})
    done = wait_status(desk.store, record.id, ("done", "failed"), RUN_WAIT_S)
    assert done.status == "done", done.error
    assert done.started is not None and done.finished is not None and done.error is None
    assert done.progress["stage"] == "done" and done.timings["run"] > 0
    folder = desk.store.folder(record.id)
    assert _files(folder) == {
        "workbook.xlsx",
        "plans.json",
        "plans.xlsx",
        "report.html",
        "scenario.json",
    }
    document = json.loads((folder / "plans.json").read_text(encoding="utf-8"))
    expected = api.solve(api.load(small, settings=QUICK), plans=3, threads=1)
    assert plan_figures(document["plans"]) == result_figures(expected) == SMALL_PLANS
    assert document["status"] == "optimal"
    # Plan 1's explanations: without O1 the best is O2 alone (4), without O2 it is O1
    # alone (10); each interval holds the true marginal value (exact when time allowed).
    marginal = document["plans"][0]["explain"]["marginal_value"]
    assert set(marginal) == {"O1", "O2"}
    for option, value in (("O1", 20.0 - 4.0), ("O2", 20.0 - 10.0)):
        low, high = marginal[option]["low"], marginal[option]["high"]
        assert low <= value and (high is None or value <= high)


def test_an_infeasible_run_ends_infeasible_with_its_diagnosis(
    desk: Dispatcher, tmp_path: Path
) -> None:
    workbook = write_workbook(tmp_path / "infeasible.xlsx", infeasible_tables())
    record = submit(desk, workbook)
    done = wait_status(desk.store, record.id, ("infeasible", "done", "failed"), RUN_WAIT_S)
    assert done.status == "infeasible", done.error
    folder = desk.store.folder(record.id)
    assert {"plans.json", "diagnosis.txt", "report.html"} <= _files(folder)
    assert json.loads((folder / "plans.json").read_text())["plans"] == []


def test_at_most_workers_runs_execute_at_once(tmp_path: Path, small: Path) -> None:
    """Three runs with one worker: watched every 20 ms, never two running at once in
    any snapshot of the store, and each starts only after the one before has finished."""
    dispatcher = _dispatcher(tmp_path / "desk", workers=1)
    try:
        ids = [submit(dispatcher, small, settings=QUICK).id for _ in range(3)]
        most, seen = 0, set()
        ends = time.monotonic() + 3 * RUN_WAIT_S
        while time.monotonic() < ends:
            # One SELECT is one snapshot: reading the runs one by one could see the
            # first still running and then the second, started just after it ended.
            records = [r for r in dispatcher.store.list() if r.id in ids]
            running = [r.id for r in records if r.status == "running"]
            most = max(most, len(running))
            seen.update(running)
            if len(records) == len(ids) and all(r.finished_run for r in records):
                break
            time.sleep(0.02)
        final = [dispatcher.store.get(i) for i in ids]
    finally:
        dispatcher.stop()
    assert [r.status for r in final if r] == ["done"] * 3
    assert most == 1 and len(seen) >= 2  # each run seen running on its own
    for before, after in itertools.pairwise(final):
        assert before and after and before.finished and after.started
        assert after.started >= before.finished


def test_progress_is_visible_in_the_store_while_a_run_runs(
    desk: Dispatcher, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "solve_job", slow_solve_job)
    record = submit(desk, small, settings=QUICK, params={"time_limit": 2.0})

    def waiting() -> dict[str, object] | None:
        got = desk.store.get(record.id)
        progress = got.progress if got else {}
        elapsed = progress.get("elapsed_s")
        return progress if progress.get("stage") == "waiting" and elapsed else None

    first = wait_for(waiting, RUN_WAIT_S, "progress of the waiting stage")
    assert first["time_limit_s"] == 2.0 and first["pid"] != 0
    later = wait_for(
        lambda: (p := waiting()) and p["elapsed_s"] > first["elapsed_s"] and p,  # type: ignore[operator]
        10,
        "the elapsed time to grow",
    )
    assert later["elapsed_s"] <= 2.0 + 2.0
    done = wait_status(desk.store, record.id, ("done", "failed"), RUN_WAIT_S)
    assert done.status == "done", done.error


def test_the_solve_task_reports_each_stage_with_its_time_limit(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages: list[tuple[str, float | None]] = []
    real = jobs.ProgressFile.stage

    def record(self: jobs.ProgressFile, stage: str, limit: float | None, **fields: object) -> None:
        stages.append((stage, limit))
        real(self, stage, limit, **fields)

    monkeypatch.setattr(jobs.ProgressFile, "stage", record)
    scenario = api.load(small, settings=QUICK)
    value = jobs.solve_job(scenario, 2, 5.0, str(tmp_path / "progress.json"), float("inf"))
    assert stages == [("solving", 5.0), ("explaining", 2.0), ("writing", None)]
    assert json.loads((tmp_path / "progress.json").read_text())["stage"] == "writing"
    assert value["status"] == "optimal" and "plans.json" in value["files"]


def test_cancel_a_queued_run_never_runs_and_a_running_one_stops_at_once(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers: A and B wait (slow tasks), C is queued. C cancelled never starts;
    A cancelled has its process gone within 5 s while B goes on and finishes."""
    monkeypatch.setattr(jobs, "solve_job", slow_solve_job)
    dispatcher = _dispatcher(tmp_path / "desk", workers=2)
    store = dispatcher.store
    try:
        a = submit(dispatcher, small, label="A", settings=QUICK, params={"time_limit": 60.0})
        b = submit(dispatcher, small, label="B", settings=QUICK, params={"time_limit": 2.5})
        c = submit(dispatcher, small, label="C", settings=QUICK, params={"time_limit": 0.0})

        def pid(run_id: str) -> int | None:
            got = store.get(run_id)
            return got.progress.get("pid") if got else None

        pid_a = wait_for(lambda: pid(a.id), RUN_WAIT_S, "A to run")
        pid_b = wait_for(lambda: pid(b.id), RUN_WAIT_S, "B to run")
        assert store.get(c.id).status == "queued"  # type: ignore[union-attr]

        cancelled_c = dispatcher.cancel(c.id)
        assert cancelled_c.status == "cancelled" and cancelled_c.started is None

        began = time.monotonic()
        cancelled_a = dispatcher.cancel(a.id)
        took = time.monotonic() - began
        assert cancelled_a.status == "cancelled" and cancelled_a.error is None
        assert took < 5.0
        assert not psutil.pid_exists(pid_a) or psutil.Process(pid_a).status() == "zombie"
        assert pid_b != pid_a

        done_b = wait_status(store, b.id, ("done", "failed", "cancelled"), RUN_WAIT_S)
        assert done_b.status == "done", done_b.error  # B went on, unaffected
        plans = json.loads((store.folder(b.id) / "plans.json").read_text())["plans"]
        assert plan_figures(plans) == SMALL_PLANS
        time.sleep(1.0)  # C stays cancelled: no runner ever takes it
        assert store.get(c.id).status == "cancelled"  # type: ignore[union-attr]
        assert _files(store.folder(c.id)) == {"workbook.xlsx"}
        assert _files(store.folder(a.id)) == {"workbook.xlsx"}
        assert dispatcher.cancel(b.id).status == "done"  # finished: unchanged
    finally:
        dispatcher.stop()


def test_cancel_while_explaining_stops_every_process_of_the_run(tmp_path: Path) -> None:
    """The explanations run on a process of the run's own worker: cancelling the run
    ends that one too, not only the worker."""
    dispatcher = _dispatcher(tmp_path / "desk")
    try:
        settings = {"explain_time_s": 60, "time_limit_s": 30}
        record = submit(dispatcher, EXAMPLE, settings=settings)

        def explaining() -> bool:
            got = dispatcher.store.get(record.id)
            progress = got.progress if got else {}
            return progress.get("stage") == "explaining" and progress.get("total") is not None

        wait_for(explaining, RUN_WAIT_S, "the explanations to run")
        run_processes = _descendants_but_services()
        began = time.monotonic()
        assert dispatcher.cancel(record.id).status == "cancelled"
        assert time.monotonic() - began < 5.0
        gone, alive = psutil.wait_procs(run_processes, timeout=3)
        assert not alive, alive
        assert len(gone) >= 2  # the run's worker and the explanations' worker
    finally:
        dispatcher.stop()


def _descendants_but_services() -> list[psutil.Process]:
    """Every process under this one but the standing services of its own process pools
    (multiprocessing's forkserver and resource tracker, started once per process) and
    the test session's Dask cluster with its workers' processes, when a test before
    this one started it."""
    me = psutil.Process()
    cluster: set[int] = set()  # the Dask processes, whose own children are its workers
    found = []
    for process in me.children(recursive=True):  # parents come before their children
        try:
            line = " ".join(process.cmdline())
            parent = process.ppid()
        except psutil.NoSuchProcess:
            continue
        if parent in cluster or (parent == me.pid and "distributed.cli" in line):
            cluster.add(process.pid)
        elif not (parent == me.pid and ("forkserver" in line or "resource_tracker" in line)):
            found.append(process)
    return found


def test_stop_interrupts_running_runs_and_a_new_dispatcher_runs_the_queued_ones(
    tmp_path: Path, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "desk"
    store = RunStore(data)
    died = add_run(store, small, label="died with an earlier service", settings=QUICK)
    store.update(died.id, status="running")  # as a kill -9 leaves it
    monkeypatch.setattr(jobs, "solve_job", slow_solve_job)
    first = _dispatcher(data, workers=1)
    assert first.store.get(died.id).status == "interrupted"  # type: ignore[union-attr]
    a = submit(first, small, label="A", settings=QUICK, params={"time_limit": 60.0})
    b = submit(first, small, label="B", settings=QUICK, params={"time_limit": 5.0})
    wait_for(lambda: first.store.get(a.id).progress.get("pid"), RUN_WAIT_S, "A to run")  # type: ignore[union-attr]
    first.stop()
    stopped = first.store.get(a.id)
    assert stopped is not None and stopped.status == "interrupted"
    assert stopped.error == INTERRUPTED and "\n" not in stopped.error
    assert first.store.get(b.id).status == "queued"  # type: ignore[union-attr]

    monkeypatch.undo()  # the real task from now on
    second = _dispatcher(data, workers=1)  # B's scenario comes from its workbook.xlsx
    try:
        done_b = wait_status(second.store, b.id, ("done", "failed"), RUN_WAIT_S)
        assert done_b.status == "done", done_b.error
        plans = json.loads((second.store.folder(b.id) / "plans.json").read_text())["plans"]
        assert plan_figures(plans) == SMALL_PLANS
        assert second.store.get(a.id).status == "interrupted"  # type: ignore[union-attr]

        again = second.rerun(a.id)
        assert again.id == a.id and again.status == "queued" and again.error is None
        done_a = wait_status(second.store, a.id, ("done", "failed"), RUN_WAIT_S)
        assert done_a.status == "done", done_a.error
        with pytest.raises(RunStateError, match="only an interrupted, failed or cancelled"):
            second.rerun(a.id)
    finally:
        second.stop()


def test_rerun_validates_the_runs_own_workbook_again(
    desk: Dispatcher, small: Path, tmp_path: Path
) -> None:
    record = add_run(desk.store, small, settings=QUICK)
    desk.store.update(record.id, status="interrupted", error=INTERRUPTED)
    broken = small_tables_with_bad_cost(tmp_path / "broken.xlsx")
    (desk.store.folder(record.id) / "workbook.xlsx").write_bytes(broken.read_bytes())
    with pytest.raises(InputError) as caught:
        desk.rerun(record.id)
    assert any(p.sheet == "Options" and p.column == "cost" for p in caught.value.problems)
    assert desk.store.get(record.id).status == "interrupted"  # type: ignore[union-attr]

    (desk.store.folder(record.id) / "workbook.xlsx").write_bytes(small.read_bytes())
    assert desk.rerun(record.id).status == "queued"
    done = wait_status(desk.store, record.id, ("done", "failed"), RUN_WAIT_S)
    assert done.status == "done", done.error
    with pytest.raises(KeyError):
        desk.rerun("0123456789ab")


def small_tables_with_bad_cost(path: Path) -> Path:
    from desk_helpers import small_tables

    tables = small_tables()
    tables["Options"][1][5] = "thirty"
    return write_workbook(path, tables)


def test_a_run_whose_task_raises_fails_with_one_line(
    desk: Dispatcher, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "solve_job", failing_solve_job)
    record = submit(desk, small, settings=QUICK)
    failed = wait_status(desk.store, record.id, ("failed", "done"), RUN_WAIT_S)
    assert failed.status == "failed"
    assert failed.error == "ValueError: the task broke on two lines"
    assert _files(desk.store.folder(record.id)) == {"workbook.xlsx"}


def test_a_crash_while_writing_leaves_no_half_folder(
    desk: Dispatcher, small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.whatif.scenario_batch as batch

    real = batch.bytes_writer

    def writer(data: bytes) -> Callable[[Path], None]:
        if data.lstrip().startswith(b"<!DOCTYPE html") or b"<html" in data[:200]:

            def crash(path: Path) -> None:
                path.write_bytes(data[:100])
                raise OSError(28, "No space left on device")

            return crash
        return real(data)

    monkeypatch.setattr(batch, "bytes_writer", writer)
    record = submit(desk, small, settings=QUICK)
    failed = wait_status(desk.store, record.id, ("failed", "done"), RUN_WAIT_S)
    assert failed.status == "failed"
    assert failed.error == "OSError: [Errno 28] No space left on device"
    assert _files(desk.store.folder(record.id)) == {"workbook.xlsx"}


def test_sweep_and_frontier_from_a_finished_run(desk: Dispatcher, small: Path) -> None:
    parent = submit(desk, small, label="Small", settings=QUICK)
    with pytest.raises(RunStateError, match="from a solve run that finished"):
        desk.start_sweep(parent.id, ["budget=40,70"])  # still queued or running
    wait_status(desk.store, parent.id, ("done",), RUN_WAIT_S)
    with pytest.raises(InputError) as bad:
        desk.start_sweep(parent.id, ["budget=40,abc", "nothing"], time_limit=-1)
    assert {p.sheet for p in bad.value.problems} >= {"--vary", "--time-limit"}
    with pytest.raises(KeyError):
        desk.start_frontier("0123456789ab")

    sweep = desk.start_sweep(parent.id, ["budget=40,70,100"], time_limit=20)
    frontier = desk.start_frontier(parent.id, max_budget=100, time_limit=20)
    assert sweep.kind == "sweep" and sweep.parent == parent.id and sweep.label == "sweep of Small"
    assert frontier.kind == "frontier" and frontier.parent == parent.id
    for run in (sweep, frontier):
        done = wait_status(desk.store, run.id, ("done", "failed"), RUN_WAIT_S)
        assert done.status == "done", done.error

    folder = desk.store.folder(sweep.id)
    assert _files(folder) == {"workbook.xlsx", "sweep.json", "sweep.xlsx", "chart.svg"}
    document = json.loads((folder / "sweep.json").read_text())
    reach = [(p["settings"]["budget"], p["weighted_reach"]) for p in document["points"]]
    assert reach == [(40, 10.0), (70, 20.0), (100, 20.0)]
    assert document["workbook"] == "workbook.xlsx"
    chart = ET.parse(folder / "chart.svg").getroot()
    assert len(chart.findall(f".//{SVG}rect[@class='bar']")) == 3

    folder = desk.store.folder(frontier.id)
    assert _files(folder) == {"workbook.xlsx", "frontier.json", "frontier.xlsx", "chart.svg"}
    document = json.loads((folder / "frontier.json").read_text())
    points = [(p["net_spend"], p["weighted_reach"]) for p in document["points"]]
    assert points == SMALL_FRONTIER and document["complete"] is True
    chart = ET.parse(folder / "chart.svg").getroot()
    assert len(chart.findall(f".//{SVG}rect[@class='bar']")) == len(SMALL_FRONTIER)


def test_a_solve_run_on_a_dask_cluster_gives_the_plans_of_a_local_run(
    dask_scheduler: str, tmp_path: Path
) -> None:
    settings = {"explain_time_s": 1, "time_limit_s": 60}
    found = {}
    for where, scheduler in (("local", None), ("dask", dask_scheduler)):
        dispatcher = _dispatcher(tmp_path / where, scheduler=scheduler)
        try:
            record = submit(dispatcher, EXAMPLE, settings=settings, params={"plans": 3})
            done = wait_status(dispatcher.store, record.id, ("done", "failed"), RUN_WAIT_S)
            assert done.status == "done", done.error
            folder = dispatcher.store.folder(record.id)
            found[where] = json.loads((folder / "plans.json").read_text())
        finally:
            dispatcher.stop()
    assert len(found["local"]["plans"]) == 3
    assert plan_figures(found["dask"]["plans"]) == plan_figures(found["local"]["plans"])
    assert "explain" in found["dask"]["plans"][0]


def test_a_dispatcher_with_no_worker_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Dispatcher(RunStore(tmp_path), DeskConfig(data=tmp_path, workers=0))


def test_a_sweep_cancelled_midway_stops_and_writes_nothing(desk: Dispatcher, small: Path) -> None:
    parent = submit(desk, small, settings=QUICK)
    wait_status(desk.store, parent.id, ("done",), RUN_WAIT_S)
    sweep = desk.start_sweep(parent.id, ["budget=0:400:1"], time_limit=60)

    def under_way() -> dict[str, object] | None:
        got = desk.store.get(sweep.id)
        progress = got.progress if got else {}
        return progress if progress.get("stage") == "sweeping" and progress.get("done") else None

    progress = wait_for(under_way, RUN_WAIT_S, "the sweep's first points")
    assert progress["total"] == 401 and progress["time_limit_s"] == 60
    cancelled = desk.cancel(sweep.id)
    assert cancelled.status == "cancelled"
    assert cancelled.progress["done"] < 401
    assert _files(desk.store.folder(sweep.id)) == {"workbook.xlsx"}
