"""The desk's JSON API (SPEC §10), and the steps it shares with the pages.

    POST   /api/runs                 multipart: workbook; scenario, plans, time_limit,
                                     settings (a JSON object), label  -> 202 | 422 | 413
    GET    /api/runs                 ?label=&status=&limit=  newest first
    GET    /api/runs/{id}            the run; `plans` is plans.json once it exists
    GET    /api/runs/{id}/files/{name}   an allow-listed file of the run (attachment)
    DELETE /api/runs/{id}            cancel (409 when the run has already ended)
    POST   /api/runs/{id}/rerun      an interrupted, failed or cancelled run again
    POST   /api/runs/{id}/sweep      {"vary": ["budget=80:160:20"], "time_limit": 60}
    POST   /api/runs/{id}/frontier   {"max_budget": 200, "points": 10, "time_limit": 60}
    GET    /api/compare?a=&b=        compare.json of two runs (202 while computing)
    GET    /api/uploads/{token}/annotated.xlsx   a rejected workbook, bad cells marked
    GET    /api/template             the blank scenario workbook
    GET    /api/health               {"status": "ok"}

Errors are JSON `{"detail": "..."}` (404 unknown run, 400 malformed call, 409 wrong
state), or `{"problems": [...]}` (422) for bad input, each problem located as
`planner validate` locates it. No user text ever becomes a path: runs are found by
their server-made ids, files by an allow-list.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from planner.desk import jobs, security
from planner.desk.app import Desk, desk_of
from planner.desk.store import RunRecord
from planner.desk.uploads import (
    SavedUpload,
    TooLarge,
    check_form,
    discard,
    problem_record,
    save_upload,
    validate_upload,
)
from planner.errors import InputError, Problem

router = APIRouter(prefix="/api", tags=["runs"])

#: The files of a run that may be served, by kind: those its job writes and the uploaded
#: workbook; nothing else ever is.
FILES: dict[str, tuple[str, ...]] = {
    kind: (*names, jobs.WORKBOOK) for kind, names in jobs.FILES.items()
}
MEDIA_TYPES = {
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: A sweep's or frontier's result document, by kind.
RESULT_FILE = {"solve": "plans.json", "sweep": "sweep.json", "frontier": "frontier.json"}
TEMPLATE_NAME = "partnership-scenario-template.xlsx"


# --- shared with the pages ------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """What became of a submission: a queued run, or the problems and the token under
    which the rejected upload is kept (for its page and its highlighted copy)."""

    run: RunRecord | None
    problems: tuple[Problem, ...] = ()
    token: str | None = None


async def submit_workbook(
    desk: Desk,
    workbook: StarletteUpload,
    *,
    scenario: str | None,
    plans: str | None,
    time_limit: str | None,
    settings: str | None,
    label: str | None,
) -> Submitted:
    """Save, check and validate an upload; queue a run only when there is no problem."""
    form, problems = check_form(
        filename=workbook.filename,
        scenario=scenario,
        plans=plans,
        time_limit=time_limit,
        settings=settings,
        label=label,
    )
    saved: SavedUpload = await run_in_threadpool(
        save_upload, workbook.file, workbook.filename, desk.uploads, desk.config.max_upload_bytes
    )
    try:
        loaded = await anyio.to_thread.run_sync(
            validate_upload, saved, form, problems, limiter=desk.validation_limiter()
        )
    except InputError as exc:
        token = await run_in_threadpool(desk.rejections.keep, saved, exc.problems)
        return Submitted(None, tuple(exc.problems), token)
    except BaseException:
        discard([saved.path])
        raise
    try:
        record = desk.store.add(
            kind="solve",
            label=form.label or saved.name.removesuffix(".xlsx"),
            workbook_name=saved.name,
            workbook_sha256=saved.sha256,
            scenario=loaded.name,
            settings={k: v for k, v in form.overrides.items()},
            params={"plans": form.plans, "time_limit": form.time_limit},
        )
        folder = desk.store.folder(record.id)
        folder.mkdir(parents=True, exist_ok=True)
        saved.path.replace(folder / "workbook.xlsx")
    finally:
        discard([saved.path])
    desk.dispatcher.submit(record.id, loaded)
    # The run as queued (SPEC §10: 202 with status "queued"), not as read back: a
    # dispatcher with an idle worker may have started it already.
    return Submitted(record)


def find_run(desk: Desk, run_id: str) -> RunRecord:
    """The run, or 404 (an unknown id, or text that is not an id at all)."""
    record = desk.store.get(run_id)
    if record is None:
        raise HTTPException(404, f"No run {run_id[:40]!r}.")
    return record


def run_file(desk: Desk, record: RunRecord, name: str) -> Path | None:
    """The path of an allow-listed file of a run, when it exists and is complete.

    Results are written whole (`write_whole`) and only a finished run's are served, so a
    file is never read while a run is still writing it; the uploaded workbook always is.
    """
    if name not in FILES.get(record.kind, ()):
        return None
    if name != "workbook.xlsx" and not record.finished_run:
        return None
    path = desk.store.folder(record.id) / name
    return path if path.is_file() else None


def available_files(desk: Desk, record: RunRecord) -> list[str]:
    """The names of the run's files that can be downloaded now."""
    return [name for name in FILES.get(record.kind, ()) if run_file(desk, record, name)]


def read_result(desk: Desk, record: RunRecord) -> dict[str, Any] | None:
    """The run's result document (plans.json, sweep.json or frontier.json), if written."""
    path = run_file(desk, record, RESULT_FILE[record.kind])
    if path is None:
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def file_response(
    desk: Desk, record: RunRecord, name: str, *, inline: bool = False
) -> FileResponse:
    """A run's file, streamed; named by the server (`download_name`), never by the user.
    Shown inline (report.html in a frame, chart.svg) under a policy that runs no script."""
    path = run_file(desk, record, name)
    if path is None:
        raise HTTPException(404, f"Run {record.id} has no file {name!r} (yet).")
    shown = security.download_name(record.id, name, record.label)
    headers = {"Content-Disposition": security.content_disposition(shown, inline=inline)}
    if name.endswith((".html", ".svg")):
        headers["Content-Security-Policy"] = security.FILE_POLICY
    return FileResponse(path, media_type=MEDIA_TYPES[Path(name).suffix], headers=headers)


def problems_response(problems: tuple[Problem, ...] | list[Problem], token: str | None) -> Any:
    """422 with every problem, and where to download the workbook with them marked."""
    body: dict[str, Any] = {"problems": [problem_record(p) for p in problems]}
    if token is not None:
        body["annotated_workbook"] = f"/api/uploads/{token}/annotated.xlsx"
    return JSONResponse(body, 422)


def rerun(desk: Desk, record: RunRecord) -> RunRecord:
    """The run queued again (409 unless it was interrupted, failed or cancelled; 422 when
    its workbook no longer validates)."""
    return desk.dispatcher.rerun(record.id)


def cancel(desk: Desk, record: RunRecord) -> RunRecord:
    """The run cancelled (409 when it has already ended)."""
    if record.finished_run:
        raise HTTPException(409, f"Run {record.id} is {record.status} already.")
    return desk.dispatcher.cancel(record.id)


def start_sweep(
    desk: Desk, parent: RunRecord, vary: list[str], time_limit: float | None
) -> RunRecord:
    """A sweep of `parent`'s scenario (InputError for a bad vary or time limit, 409 when
    `parent` is not a finished solve run)."""
    return desk.dispatcher.start_sweep(parent.id, vary, time_limit=time_limit)


def start_frontier(
    desk: Desk,
    parent: RunRecord,
    max_budget: float | None,
    points: int | None,
    time_limit: float | None,
) -> RunRecord:
    """A frontier of `parent`'s scenario (InputError for bad arguments, 409 as above)."""
    return desk.dispatcher.start_frontier(parent.id, max_budget, points, time_limit=time_limit)


def comparable(desk: Desk, a: str, b: str) -> tuple[RunRecord, RunRecord]:
    """Two runs that can be compared (404 unknown, 409 not finished with plans)."""
    from planner.desk.comparisons import COMPARABLE

    runs = (find_run(desk, a), find_run(desk, b))
    for run in runs:
        if run.kind != "solve" or run.status not in COMPARABLE:
            raise HTTPException(
                409,
                f"Run {run.id} cannot be compared: it is a {run.kind} run, {run.status}; "
                "compare solve runs that are done, infeasible or out of time.",
            )
    return runs


def api_record(desk: Desk, record: RunRecord, with_result: bool = True) -> dict[str, Any]:
    """A run as the API shows it: the record, the files ready and (once written) the
    result: `plans` (plans.json) for a solve, `result` for a sweep or frontier."""
    document = record.to_api()
    document["files"] = {
        name: f"/api/runs/{record.id}/files/{name}" for name in available_files(desk, record)
    }
    if with_result:
        result = read_result(desk, record)
        if record.kind == "solve":
            document["plans"] = result
        else:
            document["result"] = result
    return document


# --- routes ----------------------------------------------------------------------------


class Accepted(BaseModel):
    id: str
    status: str


class ProblemModel(BaseModel):
    sheet: str | None
    row: int | None
    column: str | None
    value: Any
    expected: str
    message: str


class Problems(BaseModel):
    problems: list[ProblemModel]
    annotated_workbook: str | None = None


class Detail(BaseModel):
    detail: str


class SweepRequest(BaseModel):
    vary: list[str] = Field(
        description="SETTING=VALUES, as `planner sweep --vary` takes them: a list "
        "`0.2,0.3` or a range `start:stop:step`; the first varies slowest.",
        min_length=1,
        max_length=4,
    )
    time_limit: float | None = Field(None, gt=0, description="Seconds for the whole sweep.")


class FrontierRequest(BaseModel):
    max_budget: float | None = Field(None, ge=0, description="Highest net spend (default budget).")
    points: int | None = Field(None, ge=1, description="Stop after this many points.")
    time_limit: float | None = Field(None, gt=0, description="Seconds for the whole frontier.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Detail, "description": "Malformed request"},
    404: {"model": Detail, "description": "No such run"},
}


@router.post(
    "/runs",
    status_code=202,
    response_model=Accepted,
    responses={
        422: {"model": Problems, "description": "Bad input: every problem, located"},
        413: {"model": Detail, "description": "Upload over the size limit"},
        400: {"model": Detail, "description": "Malformed request"},
    },
    summary="Submit a workbook",
)
async def post_run(
    request: Request,
    workbook: Annotated[UploadFile, File(description="The scenario workbook (.xlsx).")],
    scenario: Annotated[str | None, Form(description="A scenario of its Scenarios sheet.")] = None,
    plans: Annotated[str | None, Form(description="How many ranked plans.")] = None,
    time_limit: Annotated[str | None, Form(description="Seconds for the solve.")] = None,
    settings: Annotated[
        str | None, Form(description='Setting overrides, a JSON object: {"budget": 150}.')
    ] = None,
    label: Annotated[str | None, Form(description="A name for the run.")] = None,
) -> Any:
    """Validate the workbook at once: 202 and the queued run, or 422 with every problem
    (nothing is queued), or 413 when the file is over the size limit."""
    desk = desk_of(request)
    try:
        outcome = await submit_workbook(
            desk,
            workbook,
            scenario=scenario,
            plans=plans,
            time_limit=time_limit,
            settings=settings,
            label=label,
        )
    except TooLarge as exc:
        return JSONResponse({"detail": exc.detail}, 413, headers={"Connection": "close"})
    if outcome.run is None:
        return problems_response(outcome.problems, outcome.token)
    return JSONResponse(
        {"id": outcome.run.id, "status": outcome.run.status},
        202,
        headers={"Location": f"/api/runs/{outcome.run.id}"},
    )


@router.get("/runs", summary="List runs, newest first")
def list_runs(
    request: Request,
    label: Annotated[str | None, Query(description="Runs whose label contains this.")] = None,
    status: Annotated[str | None, Query(description="Runs with this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    desk = desk_of(request)
    records = desk.store.list(label=label, status=status, limit=limit)
    return {"runs": [api_record(desk, r, with_result=False) for r in records]}


@router.get("/runs/{run_id}", responses=_ERRORS, summary="One run, with its plans once done")
def get_run(request: Request, run_id: str) -> dict[str, Any]:
    desk = desk_of(request)
    return api_record(desk, find_run(desk, run_id))


@router.get(
    "/runs/{run_id}/files/{name}",
    responses=_ERRORS,
    response_class=FileResponse,
    summary="Download a file of a run",
)
def get_file(request: Request, run_id: str, name: str) -> FileResponse:
    """plans.json, plans.xlsx, report.html, diagnosis.txt, scenario.json, workbook.xlsx
    (solve runs); sweep.json/.xlsx or frontier.json/.xlsx and chart.svg (others)."""
    desk = desk_of(request)
    return file_response(desk, find_run(desk, run_id), name)


@router.delete(
    "/runs/{run_id}",
    responses={**_ERRORS, 409: {"model": Detail, "description": "The run has ended"}},
    summary="Cancel a run",
)
def delete_run(request: Request, run_id: str) -> dict[str, Any]:
    desk = desk_of(request)
    return api_record(desk, cancel(desk, find_run(desk, run_id)), with_result=False)


@router.post(
    "/runs/{run_id}/rerun",
    status_code=202,
    responses={**_ERRORS, 409: {"model": Detail, "description": "Not re-runnable"}},
    summary="Run an interrupted, failed or cancelled run again",
)
def post_rerun(request: Request, run_id: str) -> Any:
    desk = desk_of(request)
    try:
        record = rerun(desk, find_run(desk, run_id))
    except InputError as exc:  # its workbook no longer validates (a newer planner)
        return problems_response(exc.problems, None)
    return JSONResponse(api_record(desk, record, with_result=False), 202)


@router.post(
    "/runs/{run_id}/sweep",
    status_code=202,
    responses={**_ERRORS, 422: {"model": Problems}, 409: {"model": Detail}},
    summary="Sweep settings of a run's scenario",
)
def post_sweep(request: Request, run_id: str, body: Annotated[SweepRequest, Body()]) -> Any:
    desk = desk_of(request)
    parent = find_run(desk, run_id)
    try:
        record = start_sweep(desk, parent, body.vary, body.time_limit)
    except InputError as exc:
        return problems_response(exc.problems, None)
    return JSONResponse(api_record(desk, record, with_result=False), 202)


@router.post(
    "/runs/{run_id}/frontier",
    status_code=202,
    responses={**_ERRORS, 422: {"model": Problems}, 409: {"model": Detail}},
    summary="The reach–budget frontier of a run's scenario",
)
def post_frontier(request: Request, run_id: str, body: Annotated[FrontierRequest, Body()]) -> Any:
    desk = desk_of(request)
    parent = find_run(desk, run_id)
    try:
        record = start_frontier(desk, parent, body.max_budget, body.points, body.time_limit)
    except InputError as exc:
        return problems_response(exc.problems, None)
    return JSONResponse(api_record(desk, record, with_result=False), 202)


@router.get(
    "/compare",
    responses={**_ERRORS, 409: {"model": Detail}},
    summary="Compare two runs (202 while the comparison is computed)",
)
def get_compare(
    request: Request,
    a: Annotated[str, Query(description="The first run's id.")],
    b: Annotated[str, Query(description="The second run's id.")],
) -> Any:
    """compare.json (SPEC §7) of runs a and b; 202 `{"status": "computing"}` until it is
    made (poll again), 500 with the reason when it could not be."""
    desk = desk_of(request)
    run_a, run_b = comparable(desk, a, b)
    state, document = desk.comparisons.state(run_a, run_b)
    if document is not None:
        return document
    if state == "computing":
        return JSONResponse({"status": "computing"}, 202, headers={"Retry-After": "1"})
    return JSONResponse({"detail": state}, 500)


@router.get(
    "/uploads/{token}/annotated.xlsx",
    response_class=FileResponse,
    responses={404: {"model": Detail}},
    summary="A rejected workbook with each bad cell highlighted",
)
async def get_annotated(request: Request, token: str) -> FileResponse:
    desk = desk_of(request)
    document = desk.rejections.get(token)
    path = await run_in_threadpool(desk.rejections.annotated, token) if document else None
    if document is None or path is None:
        raise HTTPException(
            404,
            "No highlighted copy of this workbook: it is unknown, no longer kept, not a "
            "workbook or too large to mark; its problems are listed with it.",
        )
    stem = str(document.get("workbook_name", "workbook")).removesuffix(".xlsx")
    shown = f"{stem}-problems.xlsx"
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[".xlsx"],
        headers={"Content-Disposition": security.content_disposition(shown)},
    )


@router.get(
    "/template",
    response_class=Response,
    summary="The blank scenario workbook, with instructions and dropdowns",
)
async def get_template(request: Request) -> Response:
    desk = desk_of(request)
    data = await run_in_threadpool(desk.template_workbook)
    return Response(
        data,
        media_type=MEDIA_TYPES[".xlsx"],
        headers={"Content-Disposition": security.content_disposition(TEMPLATE_NAME)},
    )


@router.get("/health", summary="Whether the desk answers")
def health(request: Request) -> dict[str, Any]:
    desk = desk_of(request)
    return {"status": "ok", "workers": desk.config.workers}


def seconds(text: str | None) -> float | None:
    """A positive, finite number of seconds typed in a form, else None."""
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value > 0 else None
