"""An uploaded workbook, from the first byte of the request to a validated scenario.

Why a module of its own: the upload is where untrusted bytes enter the service, so
every limit sits here, applied as early as it can be:
1. `BodyLimit` (ASGI middleware) refuses a request whose `Content-Length` is over the
   limit before reading any of it, and counts the bytes of any other body as they
   arrive, so an oversized body is never read whole (413).
2. `save_upload` copies the parsed file part to `data/uploads/<random>.xlsx` (a
   server-made name) in chunks, counting again.
3. `check_form` collects every problem of the form (a name that is not .xlsx, a
   settings field that is not a JSON object), and `validate_upload` reads the file
   with the planner's own reader (which checks it is a zip holding a workbook's parts,
   under size caps) and validates it like `planner validate`: every problem at once.
Bad uploads queue nothing; a rejected workbook is kept a while (`Rejections`) so its
owner can download it back with each bad cell highlighted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from starlette.exceptions import HTTPException

from planner.errors import InputError, Problem, show_value
from planner.scenario.data import Scenario, Source

#: Room for the form's other fields and the multipart boundaries, beyond the file itself.
FORM_OVERHEAD = 64 * 2**10
#: How a name from a form is kept: at most this many characters, no control characters.
NAME_LENGTH = 200
LABEL_LENGTH = 120
#: Where validation problems of the form's own fields are located.
FORM = "form"
#: Rejected uploads kept for download with their problems highlighted.
KEEP_REJECTED_S = 24 * 3600
KEEP_REJECTED_COUNT = 200
KEEP_REJECTED_BYTES = 512 * 2**20
_CHUNK = 1 << 16
_TOKEN = re.compile(r"[0-9a-f]{32}")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TooLarge(HTTPException):
    """A request body or an uploaded file over the limit (413).

    An HTTP exception so that, raised from inside the framework's form parsing (which
    turns other errors into 400), it still reaches the client as 413.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            413,
            f"The upload is larger than the limit of {describe_size(limit)}.",
            headers={"Connection": "close"},  # the rest of the body is never read
        )


def describe_size(size: int) -> str:
    """A byte count as people read it (the limit in messages)."""
    if size >= 2**20:
        return f"{size / 2**20:g} MB"
    if size >= 2**10:
        return f"{size / 2**10:g} KB"
    return f"{size} bytes"


class BodyLimit:
    """ASGI middleware: no request body over `limit` bytes is ever read whole.

    A declared `Content-Length` over the limit is answered 413 at once, without reading
    the body; a body without one (chunked) is counted as it arrives and the request is
    answered 413 as soon as the count passes the limit. `limit` is the upload limit
    plus `FORM_OVERHEAD` (the form's other fields); messages name the upload limit.
    `respond` makes the 413 (JSON for the API, text for browsers).
    """

    def __init__(
        self, app: ASGIApp, upload_limit: int, respond: Callable[[Scope, TooLarge], ASGIApp]
    ) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.limit = upload_limit + FORM_OVERHEAD
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self.respond(scope, TooLarge(self.upload_limit))(scope, receive, send)
            return
        counted = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > self.limit:
                    raise TooLarge(self.upload_limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except TooLarge as exc:  # raised where no handler turned it into a response
            if started:
                raise
            await self.respond(scope, exc)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def clean_text(text: str, limit: int) -> str:
    """A name from a form as the desk keeps it: no control or format characters (they
    could disguise it in a page or a log line), at most `limit` characters."""
    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    )
    return " ".join(kept.split())[:limit]


def display_name(filename: str | None) -> str:
    """The uploaded file's name as shown and recorded (display only, never a path): the
    last part of whatever the browser sent, cleaned."""
    raw = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return clean_text(raw, NAME_LENGTH) or "workbook.xlsx"


@dataclass(frozen=True)
class SavedUpload:
    """An uploaded file copied to the data folder under a server-made name."""

    path: Path
    name: str
    """The name the browser sent, cleaned (`display_name`): for people only."""
    sha256: str
    size: int


def save_upload(source: BinaryIO, filename: str | None, folder: Path, limit: int) -> SavedUpload:
    """Copy an upload's bytes to `folder/<random>.xlsx` in chunks, at most `limit` bytes
    (TooLarge, and nothing kept, beyond); blocking, so called in a worker thread."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}.xlsx"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "xb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(limit)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return SavedUpload(path, display_name(filename), digest.hexdigest(), size)


@dataclass(frozen=True)
class SubmitForm:
    """A submission's fields, checked: what `validate_upload` and the store need."""

    scenario: str | None
    overrides: dict[str, object]
    """Setting overrides in the order given: the settings object, then plans and time limit."""
    label: str
    plans: int | None
    time_limit: float | None


def check_form(
    *,
    filename: str | None,
    scenario: str | None,
    plans: str | None,
    time_limit: str | None,
    settings: str | None,
    label: str | None,
) -> tuple[SubmitForm, list[Problem]]:
    """The submission's fields as values, and every problem of them (located at the field).

    `plans` and `time_limit` become the `plans` and `time_limit_s` settings, so the
    workbook's own rules check them; the settings field must be a JSON object.
    """
    problems: list[Problem] = []
    name = display_name(filename)
    if not name.lower().endswith(".xlsx"):
        problems.append(
            Problem(
                FORM,
                None,
                "workbook",
                name,
                "an Excel workbook (.xlsx); save the scenario as .xlsx and upload that",
            )
        )
    overrides: dict[str, object] = {}
    text = (settings or "").strip()
    if text:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            problems.append(
                Problem(
                    FORM,
                    None,
                    "settings",
                    text,
                    'setting overrides: a JSON object such as {"budget": 150} '
                    "(on the submit page also lines such as budget = 150)",
                )
            )
        else:
            overrides.update({str(k): _setting_value(v) for k, v in parsed.items()})
    plan_count: int | None = None
    seconds: float | None = None
    if plans is not None and plans.strip():
        overrides["plans"] = plans.strip()
        with contextlib.suppress(ValueError):
            plan_count = int(float(plans))
    if time_limit is not None and time_limit.strip():
        overrides["time_limit_s"] = time_limit.strip()
        with contextlib.suppress(ValueError):
            seconds = float(time_limit)
            if not math.isfinite(seconds):
                seconds = None
    chosen = (scenario or "").strip() or None
    form = SubmitForm(
        scenario=chosen,
        overrides=overrides,
        label=clean_text(label or "", LABEL_LENGTH),
        plans=plan_count,
        time_limit=seconds,
    )
    return form, problems


def _setting_value(value: object) -> object:
    """A JSON value as a setting override: numbers and text as they are, others as text
    (the setting's own rule then says what it expected)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value)


def validate_upload(upload: SavedUpload, form: SubmitForm, extra: Sequence[Problem]) -> Scenario:
    """The validated scenario of an upload, or InputError with every problem: those of the
    form (`extra`) and all of `planner validate`'s, located in the team's terms.

    Blocking (reads and checks the workbook), so called in a worker thread.
    """
    import planner.api as api

    try:
        loaded = api.load(upload.path, form.scenario, form.overrides, origin=FORM)
    except InputError as exc:
        located = [desk_problem(p, upload, form) for p in exc.problems]
        raise InputError([*extra, *located]) from None
    if extra:
        raise InputError(list(extra))
    return replace(loaded, source=Source(upload.name, upload.sha256))


def desk_problem(problem: Problem, upload: SavedUpload, form: SubmitForm) -> Problem:
    """A problem as the desk shows it: the stored file's server-made name replaced by the
    uploaded name, and command-line locations (`--scenario`) named as form fields."""
    expected = problem.expected.replace(upload.path.name, upload.name)
    if problem.sheet == "--scenario":
        return replace(problem, sheet=FORM, column="scenario", expected=expected)
    if problem.sheet == FORM and problem.column == "value":
        column = "settings"
        if expected.startswith("plans:") and "plans" in form.overrides:
            column = "plans"
        elif expected.startswith("time_limit_s:") and "time_limit_s" in form.overrides:
            column = "time_limit"
        return replace(problem, column=column, expected=expected)
    if problem.sheet == FORM and problem.column is not None:  # an unknown setting's name
        return replace(problem, column="settings", expected=expected)
    return replace(problem, expected=expected)


def where(problem: Problem) -> str:
    """Where a problem is, in the team's words (the form's fields named as such)."""
    if problem.sheet == FORM:
        return f"form field {problem.column}" if problem.column else "form"
    return problem.where()


def message(problem: Problem) -> str:
    """The problem as one line, as `planner validate` prints it (form fields named)."""
    place = where(problem)
    if not place:
        return problem.expected
    if not problem.found:
        return f"{place}: {problem.expected}"
    return f"{place}: found {show_value(problem.value)}; expected {problem.expected}"


def json_value(value: object) -> object:
    """A cell's value as JSON can hold it: numbers, text, booleans and null as they are;
    anything else (dates, Excel error codes, non-finite numbers) as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def problem_record(problem: Problem) -> dict[str, Any]:
    """One problem in a 422 answer (SPEC §10): sheet, row, column, value, expected, and
    the line `planner validate` prints for it."""
    return {
        "sheet": problem.sheet,
        "row": problem.row,
        "column": problem.column,
        "value": json_value(problem.value) if problem.found else None,
        "shown": shown_value(problem.value) if problem.found else None,
        "expected": problem.expected,
        "message": message(problem),
    }


def shown_value(value: object) -> str:
    """A cell value as the problems page shows it: as `planner validate` writes it (a
    number plain, -5 not -5.0; a date named), except that text is shown as typed, without
    the quotes a message line needs, and a number keeps every digit it has."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, float) and not isinstance(value, bool):
        return f"{value:.15g}"
    return show_value(value)


def in_cells(problems: Sequence[Problem]) -> bool:
    """Whether some problem sits in the workbook's cells (then a highlighted copy helps);
    a file that is not a workbook at all has none."""
    return any(p.sheet not in (None, FORM) and not p.sheet.startswith("--") for p in problems)


class Rejections:
    """Rejected uploads, each kept in `folder/<token>/` (workbook.xlsx, problems.json) for
    a day so that its page and its highlighted copy can be fetched; the oldest go first
    beyond `KEEP_REJECTED_COUNT` of them or `KEEP_REJECTED_BYTES` in all, so repeated bad
    uploads cannot fill the disk. Tokens are server-made (32 hex characters)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def keep(self, upload: SavedUpload, problems: Sequence[Problem]) -> str:
        """Keep a rejected upload (moved, not copied) with its problems; returns its token."""
        token = secrets.token_hex(16)
        place = self.folder / token
        place.mkdir(parents=True)
        document = {
            "workbook_name": upload.name,
            "annotatable": in_cells(problems),
            "problems": [problem_record(p) for p in problems],
            "raw": [_raw_problem(p) for p in problems],
        }
        (place / "problems.json").write_text(json.dumps(document), encoding="utf-8")
        if document["annotatable"]:
            os.replace(upload.path, place / "workbook.xlsx")
        else:
            upload.path.unlink(missing_ok=True)
        self.prune()
        return token

    def get(self, token: str) -> dict[str, Any] | None:
        """The kept problems.json document, or None (unknown or malformed token)."""
        if not _TOKEN.fullmatch(token):
            return None
        try:
            text = (self.folder / token / "problems.json").read_text(encoding="utf-8")
        except OSError:
            return None
        document: dict[str, Any] = json.loads(text)
        return document

    def problems(self, token: str) -> list[Problem]:
        """The kept problems as `Problem`s (for the highlighted copy)."""
        document = self.get(token) or {}
        return [Problem(**raw) for raw in document.get("raw", [])]

    def annotated(self, token: str) -> Path | None:
        """The team's workbook with each bad cell highlighted, made on first request;
        None when there is none to mark (a file that was not a workbook, or one too large
        to open whole: `annotate_workbook` bounds that, so the service's memory is)."""
        from planner.workbook.annotate import annotate_workbook

        document = self.get(token)
        source = self.folder / token / "workbook.xlsx"
        if document is None or not document.get("annotatable") or not source.is_file():
            return None
        target = self.folder / token / "annotated.xlsx"
        with self._lock:  # one at a time: openpyxl holds the whole workbook in memory
            if not target.is_file():
                staging = target.with_name(f".annotated-{secrets.token_hex(4)}.xlsx")
                try:
                    annotate_workbook(source, self.problems(token), staging)
                    os.replace(staging, target)
                except InputError:  # too large to open whole, or unreadable to openpyxl
                    return None
                finally:
                    staging.unlink(missing_ok=True)
        return target

    def prune(self) -> None:
        """Remove kept uploads older than a day, then the oldest beyond the count or
        beyond `KEEP_REJECTED_BYTES` in all (the newest is always kept)."""
        if not self.folder.is_dir():
            return
        entries = []
        for entry in self.folder.iterdir():
            if entry.is_dir() and _TOKEN.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    size = sum(f.stat().st_size for f in entry.iterdir())
                    entries.append((entry.stat().st_mtime, size, entry))
        entries.sort(key=lambda e: e[0], reverse=True)
        cutoff = time.time() - KEEP_REJECTED_S
        total = 0
        for index, (mtime, size, entry) in enumerate(entries):
            total += size
            too_many = index >= KEEP_REJECTED_COUNT or (index > 0 and total > KEEP_REJECTED_BYTES)
            if mtime < cutoff or too_many:
                shutil.rmtree(entry, ignore_errors=True)


def _raw_problem(problem: Problem) -> dict[str, Any]:
    """A problem in JSON with its value as kept (for rebuilding it)."""
    return {
        "sheet": problem.sheet,
        "row": problem.row,
        "column": problem.column,
        "value": json_value(problem.value),
        "expected": problem.expected,
        "found": problem.found,
    }


def discard(paths: Sequence[Path]) -> None:
    """Remove temporary upload files, quietly (they may be gone already)."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def settings_text(overrides: Mapping[str, object]) -> str:
    """Setting overrides as the run page shows them."""
    return ", ".join(f"{k} = {v}" for k, v in overrides.items())
