"""The desk's pages for people: rendered on the server with Jinja2 (autoescaped), so a
name from a workbook or a form is always text, never markup.

    GET  /                        submit a workbook (drag and drop), the blank template
    POST /submit                  -> /runs/{id}, or -> /problems/{token} (every problem)
    GET  /problems/{token}        the problems of a rejected workbook, its marked copy
    GET  /runs                    runs, newest first, filtered by label and status
    GET  /runs/{id}               progress, then plans, explanations, report, downloads
    POST /runs/{id}/cancel|rerun|sweep|frontier
    GET  /runs/{id}/report        report.html (in the run page's frame)
    GET  /runs/{id}/chart.svg     a sweep's or frontier's chart
    GET  /compare?a=&b=           two runs compared (the compare report)
    GET  /docs                    the API reference, from the OpenAPI schema (offline)
    GET|POST /login, POST /logout the token, for browsers (token mode only)

Every form post carries a CSRF token (a hidden field: an HMAC of this browser's CSRF
cookie under the desk's secret), checked before anything changes. The template
context each page gets is listed at the top of its template, with the element ids
and classes tests rely on.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from planner.desk import security
from planner.desk.api_routes import (
    FILES,
    MEDIA_TYPES,
    available_files,
    cancel,
    comparable,
    file_response,
    find_run,
    read_result,
    rerun,
    seconds,
    start_frontier,
    start_sweep,
    submit_workbook,
)
from planner.desk.app import Desk, desk_of
from planner.desk.comparisons import COMPARABLE
from planner.desk.store import STATUSES, RunRecord
from planner.desk.uploads import describe_size, problem_record
from planner.errors import InputError, Problem
from planner.reports.report_html import html_environment

router = APIRouter(include_in_schema=False)

#: Rows of the explanations shown on the run page (report.html holds them all).
PRIORITY_ROWS = 40
#: Problems listed on a page (the 422 answer of the API and the marked workbook hold all).
PROBLEM_ROWS = 1000
#: Fields a page form may have, at most (a form is small; a flood of fields is refused).
MAX_FIELDS = 40
#: Runs offered in the compare page's choosers.
COMPARE_CHOICES = 200
ACTIVE = ("queued", "running")


@functools.cache
def _environment() -> jinja2.Environment:
    """The pages' templates: autoescaped (nothing from a request or workbook is markup)."""
    return html_environment("planner.desk", size=describe_size)


def render(
    request: Request, template: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    """A page with the layout's context (the CSRF field, whether a login is in use)."""
    desk = desk_of(request)
    cookie = request.cookies.get(security.CSRF_COOKIE) or ""
    fresh = not cookie or len(cookie) > 100  # none yet, or not one the desk made
    if fresh:
        cookie = security.new_csrf_cookie()
    page = _environment().get_template(template)
    html = page.render(
        {
            "csrf_field": security.CSRF_FIELD,
            "csrf": security.csrf_token(desk.secret, cookie),
            "token_mode": desk.config.token is not None,
            "signed_in": desk.config.token is None
            or security.authorized(
                desk.config.token,
                request.headers.get("authorization"),
                request.cookies.get(security.SESSION_COOKIE),
            ),
            "path": request.url.path,
            **context,
        }
    )
    response = HTMLResponse(html, status)
    if fresh:
        response.set_cookie(
            security.CSRF_COOKIE, cookie, httponly=True, samesite="strict", path="/"
        )
    return response


def error_page(request: Request, status: int, text: str) -> Response:
    """An error as a page (the API answers JSON instead)."""
    return render(request, "error.html.j2", {"status": status, "message": text}, status)


async def posted_form(request: Request) -> FormData:
    """A page's form post, after its CSRF token is checked (403 otherwise)."""
    desk = desk_of(request)
    form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    field = form.get(security.CSRF_FIELD)
    cookie = request.cookies.get(security.CSRF_COOKIE)
    if not security.csrf_ok(desk.secret, cookie, field if isinstance(field, str) else None):
        raise HTTPException(
            403,
            "This form has expired or did not come from the desk's own page: "
            "reload the page and send it again.",
        )
    return form


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# --- submit ------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    desk = desk_of(request)
    return render(
        request,
        "index.html.j2",
        {
            "max_upload": desk.config.max_upload_bytes,
            "recent": desk.store.list(limit=8),
        },
    )


@router.post("/submit")
async def submit(request: Request) -> Response:
    desk = desk_of(request)
    form = await posted_form(request)
    workbook = form.get("workbook")
    if not isinstance(workbook, UploadFile) or not workbook.filename:
        raise HTTPException(400, "Choose a workbook (.xlsx) to submit.")
    outcome = await submit_workbook(
        desk,
        workbook,
        scenario=_text(form, "scenario"),
        plans=_text(form, "plans"),
        time_limit=_text(form, "time_limit"),
        settings=_settings_field(form),
        label=_text(form, "label"),
    )
    if outcome.run is not None:
        return RedirectResponse(f"/runs/{outcome.run.id}", 303)
    return RedirectResponse(f"/problems/{outcome.token}", 303)


def _settings_field(form: FormData) -> str | None:
    """The form's setting overrides as the API's JSON object: lines `name = value` (as a
    person types them), or a JSON object as it is."""
    text = (_text(form, "settings") or "").strip()
    if not text or text.startswith("{"):
        return text or None
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            return line  # not NAME = VALUE: reported as a malformed settings field
        pairs[name.strip()] = value.strip()
    return json.dumps(pairs)


@router.get("/problems/{token}", response_class=HTMLResponse)
def problems_page(request: Request, token: str) -> Response:
    desk = desk_of(request)
    document = desk.rejections.get(token)
    if document is None:
        raise HTTPException(404, "These problems are no longer kept; submit the workbook again.")
    problems = document.get("problems", [])
    return render(
        request,
        "problems.html.j2",
        {
            "workbook_name": document.get("workbook_name", ""),
            "problems": problems[:PROBLEM_ROWS],
            "total": len(problems),
            "annotated": f"/api/uploads/{token}/annotated.xlsx"
            if document.get("annotatable")
            else None,
            "back": "/",
        },
        422,
    )


# --- runs --------------------------------------------------------------------------------


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, label: str | None = None, status: str | None = None) -> Response:
    desk = desk_of(request)
    records = desk.store.list(label=label or None, status=status or None, limit=500)
    return render(
        request,
        "runs.html.j2",
        {
            "runs": records,
            "label": label or "",
            "status": status or "",
            "statuses": STATUSES,
        },
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> Response:
    desk = desk_of(request)
    record = find_run(desk, run_id)
    return render(request, "run.html.j2", run_context(desk, record))


def run_context(desk: Desk, record: RunRecord) -> dict[str, Any]:
    """What the run page shows (the template's context; see run.html.j2)."""
    result = read_result(desk, record)
    children = [r for r in desk.store.list(limit=1000) if r.parent == record.id]
    parent = desk.store.get(record.parent) if record.parent else None
    context: dict[str, Any] = {
        "run": record,
        "active": record.status in ACTIVE,
        "files": available_files(desk, record),
        "all_files": FILES[record.kind],
        "children": children,
        "parent": parent,
        "result": result,
        "plans": [],
        "explain": None,
        "priority": [],
        "limits": [],
        "segments": None,
        "points": [],
        "rerunnable": record.status in ("interrupted", "failed", "cancelled"),
        "can_branch": record.kind == "solve" and record.status in COMPARABLE,
        "can_compare": record.kind == "solve" and record.status in COMPARABLE,
        "diagnosis": None,
        "progress": _progress(record),
    }
    if result is None:
        return context
    if record.kind == "solve":
        plans = result.get("plans") or []
        context["plans"] = plans
        if plans:
            explain = plans[0].get("explain")
            context["explain"] = explain
            context["priority"] = _priority(plans[0], explain)
            context["limits"] = (explain or {}).get("limits") or []
            context["segments"] = plans[0].get("segments")
        context["diagnosis"] = result.get("diagnosis")
    else:
        context["points"] = result.get("points") or []
    return context


def _progress(record: RunRecord) -> dict[str, Any]:
    """The progress bar's share and its line of text: for a solve, the time used of its
    limit (the stage's limit: the run ends by then); for a sweep or frontier, the solves
    done of those known, else the time."""
    progress = record.progress or {}
    elapsed = progress.get("elapsed_s") or 0.0
    limit = progress.get("time_limit_s")
    done, total = progress.get("done"), progress.get("total")
    share = 0.0
    if isinstance(limit, int | float) and limit > 0 and isinstance(elapsed, int | float):
        share = max(0.0, min(1.0, elapsed / limit))
    if record.kind != "solve" and isinstance(done, int) and isinstance(total, int) and total:
        share = max(0.0, min(1.0, done / total))
    return {"share": share, "stage": progress.get("stage") or record.status, **progress}


def _priority(plan: Mapping[str, Any], explain: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Plan 1's options as a priority list: greatest marginal value first."""
    if not explain:
        return []
    marginal = explain.get("marginal_value") or {}
    exclusive = explain.get("exclusive_reach") or {}
    rows = [
        {
            "option": option,
            "marginal": marginal.get(option),
            "exclusive": exclusive.get(option),
        }
        for option in plan.get("options", [])
    ]

    def order(row: dict[str, Any]) -> tuple[float, float, str]:
        value = row["marginal"] or {}
        low, high = value.get("low"), value.get("high")
        return (
            -(low if isinstance(low, int | float) else float("-inf")),
            -(high if isinstance(high, int | float) else float("-inf")),
            row["option"],
        )

    return sorted(rows, key=order)[:PRIORITY_ROWS]


@router.post("/runs/{run_id}/cancel")
async def cancel_page(request: Request, run_id: str) -> Response:
    desk = desk_of(request)
    await posted_form(request)
    cancel(desk, find_run(desk, run_id))
    return RedirectResponse(f"/runs/{run_id}", 303)


@router.post("/runs/{run_id}/rerun")
async def rerun_page(request: Request, run_id: str) -> Response:
    desk = desk_of(request)
    await posted_form(request)
    record = find_run(desk, run_id)
    try:
        rerun(desk, record)
    except InputError as exc:
        return _branch_problems(request, record, exc.problems)
    return RedirectResponse(f"/runs/{run_id}", 303)


@router.post("/runs/{run_id}/sweep")
async def sweep_page(request: Request, run_id: str) -> Response:
    desk = desk_of(request)
    form = await posted_form(request)
    parent = find_run(desk, run_id)
    vary = [line.strip() for line in (_text(form, "vary") or "").splitlines() if line.strip()]
    if not vary:
        return _branch_problems(
            request,
            parent,
            [Problem("form", None, "vary", "", "SETTING=VALUES, such as budget=80:160:20")],
        )
    try:
        record = start_sweep(desk, parent, vary[:4], seconds(_text(form, "time_limit")))
    except InputError as exc:
        return _branch_problems(request, parent, exc.problems)
    return RedirectResponse(f"/runs/{record.id}", 303)


@router.post("/runs/{run_id}/frontier")
async def frontier_page(request: Request, run_id: str) -> Response:
    desk = desk_of(request)
    form = await posted_form(request)
    parent = find_run(desk, run_id)
    problems: list[Problem] = []
    budget_text = (_text(form, "max_budget") or "").strip()
    points_text = (_text(form, "points") or "").strip()
    max_budget = _number(budget_text)
    if budget_text and (max_budget is None or max_budget < 0):
        problems.append(Problem("form", None, "max_budget", budget_text, "a number of at least 0"))
    points = _number(points_text)
    if points_text and (points is None or points < 1 or points != int(points)):
        problems.append(Problem("form", None, "points", points_text, "a whole number from 1"))
    if problems:
        return _branch_problems(request, parent, problems)
    try:
        record = start_frontier(
            desk,
            parent,
            max_budget,
            None if points is None else int(points),
            seconds(_text(form, "time_limit")),
        )
    except InputError as exc:
        return _branch_problems(request, parent, exc.problems)
    return RedirectResponse(f"/runs/{record.id}", 303)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _branch_problems(request: Request, parent: RunRecord, problems: Sequence[Problem]) -> Response:
    """The problems of a sweep's or frontier's form, on a page leading back to the run."""
    return render(
        request,
        "problems.html.j2",
        {
            "workbook_name": parent.workbook_name,
            "problems": [problem_record(p) for p in problems[:PROBLEM_ROWS]],
            "total": len(problems),
            "annotated": None,
            "back": f"/runs/{parent.id}",
        },
        422,
    )


@router.get("/runs/{run_id}/report")
def report_view(request: Request, run_id: str) -> FileResponse:
    """report.html shown inline (in the run page's frame), with no script allowed."""
    desk = desk_of(request)
    return file_response(desk, find_run(desk, run_id), "report.html", inline=True)


@router.get("/runs/{run_id}/chart.svg")
def chart_view(request: Request, run_id: str) -> FileResponse:
    desk = desk_of(request)
    return file_response(desk, find_run(desk, run_id), "chart.svg", inline=True)


# --- compare -----------------------------------------------------------------------------


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: str | None = None, b: str | None = None) -> Response:
    desk = desk_of(request)
    choices = [
        r
        for r in desk.store.list(limit=COMPARE_CHOICES)
        if r.kind == "solve" and r.status in COMPARABLE
    ]
    context: dict[str, Any] = {
        "choices": choices,
        "a": a or "",
        "b": b or "",
        "state": None,
        "document": None,
        "error": None,
    }
    if a and b:
        try:
            run_a, run_b = comparable(desk, a, b)
        except HTTPException as exc:
            context["error"] = exc.detail
            return render(request, "compare.html.j2", context, exc.status_code)
        state, document = desk.comparisons.state(run_a, run_b)
        context["state"] = "ready" if document is not None else state
        context["document"] = document
        context["run_a"], context["run_b"] = run_a, run_b
    return render(request, "compare.html.j2", context)


@router.get("/compare/{a}/{b}/{name}")
def compare_file(request: Request, a: str, b: str, name: str) -> FileResponse:
    """compare.html (inline, for the frame), compare.json or compare.xlsx."""
    desk = desk_of(request)
    run_a, run_b = comparable(desk, a, b)
    path = desk.comparisons.file(run_a, run_b, name)
    if path is None:
        raise HTTPException(404, "This comparison is not ready.")
    inline = name.endswith(".html")
    headers = {
        "Content-Disposition": security.content_disposition(
            f"compare-{run_a.id}-{run_b.id}{Path(name).suffix}", inline=inline
        )
    }
    if inline:
        headers["Content-Security-Policy"] = security.FILE_POLICY
    return FileResponse(path, media_type=MEDIA_TYPES[Path(name).suffix], headers=headers)


# --- the API reference -------------------------------------------------------------------


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> Response:
    """The API reference, rendered here from the app's OpenAPI schema: it needs nothing
    from the network (the usual interactive page loads its script from a CDN)."""
    schema = request.app.openapi()
    return render(request, "docs.html.j2", {"operations": _operations(schema), "schema": schema})


def _operations(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    components = schema.get("components", {}).get("schemas", {})
    out = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            body_fields: list[dict[str, Any]] = []
            content = (op.get("requestBody") or {}).get("content", {})
            for media, spec in content.items():
                ref = spec.get("schema", {}).get("$ref", "")
                model = components.get(ref.rsplit("/", 1)[-1], {})
                required = set(model.get("required", []))
                for name, prop in model.get("properties", {}).items():
                    body_fields.append(
                        {
                            "name": name,
                            "media": media,
                            "required": name in required,
                            "description": prop.get("description", ""),
                        }
                    )
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": body_fields,
                    "responses": [
                        {"code": code, "description": r.get("description", "")}
                        for code, r in op.get("responses", {}).items()
                    ],
                }
            )
    return out


# --- login (token mode) --------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this desk only (never another site)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    desk = desk_of(request)
    if desk.config.token is None:
        return RedirectResponse("/", 303)
    return render(request, "login.html.j2", {"next": _safe_next(next), "failed": False})


@router.post("/login")
async def login(request: Request) -> Response:
    desk = desk_of(request)
    if desk.config.token is None:
        return RedirectResponse("/", 303)
    form = await posted_form(request)
    target = _safe_next(_text(form, "next"))
    if not security.same_secret(_text(form, "token"), desk.config.token):
        return render(request, "login.html.j2", {"next": target, "failed": True}, 401)
    response = RedirectResponse(target, 303)
    response.set_cookie(
        security.SESSION_COOKIE,
        security.session_value(desk.config.token),
        httponly=True,
        samesite="strict",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await posted_form(request)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(security.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
