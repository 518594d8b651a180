"""The desk's web application: one FastAPI app wiring the run store, the dispatcher, the
JSON API (`api_routes`) and the pages (`pages`).

`create_app(config)` opens the store at once (a data folder that cannot be used is an
error before anything listens) and starts the dispatcher in the app's lifespan: at start
runs cut off by a previous stop are marked `interrupted` and queued ones resume; at stop
running runs are aborted (and marked `interrupted`).

Every response passes `Gate` (ASGI middleware, `security`): the Host check, the token,
the cross-site check of state-changing requests, and the security headers. Inside it,
`BodyLimit` (`uploads`) bounds every request body. An error nobody foresaw is one line
(500) with a reference; its traceback goes to the log only.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from planner.desk import security
from planner.desk.comparisons import Comparisons
from planner.desk.config import DeskConfig
from planner.desk.dispatcher import Dispatcher, RunStateError
from planner.desk.store import RunStore
from planner.desk.uploads import BodyLimit, Rejections, TooLarge

log = logging.getLogger("planner.desk")

STATIC = Path(__file__).parent / "static"
#: Uploads validated at once.
VALIDATIONS = 2
#: Prefixes answered as JSON (the API); everything else is a page for people.
API_PREFIXES = ("/api/", "/openapi.json")


def wants_json(path: str) -> bool:
    """Whether a path belongs to the JSON API (its errors are JSON, not pages)."""
    return path.startswith(API_PREFIXES)


@dataclass
class Desk:
    """Everything a request needs, built once per app (no globals)."""

    config: DeskConfig
    store: RunStore
    dispatcher: Dispatcher
    secret: bytes
    rejections: Rejections
    comparisons: Comparisons
    uploads: Path
    template_bytes: bytes | None = None
    _limiter: anyio.CapacityLimiter | None = None

    def validation_limiter(self) -> anyio.CapacityLimiter:
        """At most `VALIDATIONS` uploads validated at once: each holds a workbook's
        cells in memory (made on first use, inside the event loop)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(VALIDATIONS)
        return self._limiter

    def template_workbook(self) -> bytes:
        """The blank scenario workbook (made once per process)."""
        if self.template_bytes is None:
            from planner.workbook.template import write_template

            self.uploads.mkdir(parents=True, exist_ok=True)
            path = self.uploads / f"template-{secrets.token_hex(8)}.xlsx"
            try:
                write_template(path)
                self.template_bytes = path.read_bytes()
            finally:
                path.unlink(missing_ok=True)
        return self.template_bytes


def desk_of(request: Request) -> Desk:
    """The request's `Desk` (set on the app by `create_app`)."""
    desk: Desk = request.app.state.desk
    return desk


class Gate:
    """ASGI middleware in front of everything: Host, token, cross-site check, headers."""

    def __init__(self, app: Any, config: DeskConfig, secret: bytes) -> None:
        self.app = app
        self.token = config.token
        self.loopback_only = security.is_loopback(config.host)
        self.secret = secret

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = scope["path"]
        refusal = self._refusal(request, path)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        head = scope["method"] == "HEAD"
        if head:  # answered as GET without its body (HTTP's HEAD; the routes are GET's)
            scope = {**scope, "method": "GET"}

        async def with_headers(message: Any) -> None:
            if head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                for name, value in security.SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if b"content-security-policy" not in present:
                    policy = security.PAGE_POLICY
                    headers.append((b"content-security-policy", policy.encode()))
                if b"cache-control" not in present and not path.startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refusal(self, request: Request, path: str) -> Response | None:
        if not security.host_ok(request.headers.get("host"), self.loopback_only):
            return PlainTextResponse(
                "Unknown host: open the desk at its loopback address (127.0.0.1).", 421
            )
        if self.token is not None and not security.is_public(path):
            cookie = request.cookies.get(security.SESSION_COOKIE)
            if not security.authorized(self.token, request.headers.get("authorization"), cookie):
                if wants_json(path):
                    return JSONResponse(
                        {"detail": "This desk needs its token: Authorization: Bearer <token>."},
                        401,
                        headers={"WWW-Authenticate": 'Bearer realm="planner"'},
                    )
                target = path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            why = security.cross_site(
                request.headers.get("origin"),
                request.headers.get("sec-fetch-site"),
                request.url.scheme,
                request.headers.get("host"),
            )
            if why:
                if wants_json(path):
                    return JSONResponse({"detail": f"Refused: {why}."}, 403)
                return PlainTextResponse(f"Refused: {why}.", 403)
        return None


def _too_large(scope: Any, exc: TooLarge) -> Response:
    """The 413 of a body refused before the app saw it (JSON for the API, else text)."""
    if wants_json(scope.get("path", "")):
        return JSONResponse({"detail": exc.detail}, 413, headers=exc.headers)
    return PlainTextResponse(exc.detail, 413, headers=exc.headers)


def _validation_message(exc: RequestValidationError) -> str:
    """A malformed API call in one sentence: each field and what was wrong."""
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "Malformed request: " + "; ".join(parts) + "."


def create_app(config: DeskConfig) -> FastAPI:
    """The desk's ASGI app for `config` (uvicorn serves it; tests too)."""
    from planner.desk import api_routes, pages

    store = RunStore(config.data)
    secret = security.load_secret(config.data)
    uploads = config.data / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    for stale in uploads.glob("*.xlsx"):  # left by a stop in mid-upload
        stale.unlink(missing_ok=True)
    desk = Desk(
        config=config,
        store=store,
        dispatcher=Dispatcher(store, config),
        secret=secret,
        rejections=Rejections(config.data / "rejected"),
        comparisons=Comparisons(store, config),
        uploads=uploads,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        desk.dispatcher.start()
        desk.rejections.prune()
        try:
            yield
        finally:
            desk.comparisons.close()
            desk.dispatcher.stop()

    app = FastAPI(
        title="Partnership planner — scenario desk",
        version=_version(),
        description=(
            "Submit scenario workbooks, follow runs and download their plans (SPEC §10): "
            "POST /api/runs (multipart) answers 202 with the run's id; poll GET "
            "/api/runs/{id} until its status is no longer queued or running; download "
            "GET /api/runs/{id}/files/{name}. A bad workbook is 422 with every problem, "
            "located; a malformed call is 400, an unknown run 404."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.desk = desk
    app.openapi = functools.partial(_openapi, app)  # type: ignore[method-assign]
    app.include_router(api_routes.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if wants_json(request.url.path):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=headers)
        return pages.error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RunStateError)
    async def wrong_state(request: Request, exc: RunStateError) -> Response:
        if wants_json(request.url.path):
            return JSONResponse({"detail": str(exc)}, 409)
        return pages.error_page(request, 409, str(exc))

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> Response:
        text = _validation_message(exc)
        if wants_json(request.url.path):
            return JSONResponse({"detail": text}, 400)
        return pages.error_page(request, 400, text)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        ref = secrets.token_hex(4)
        log.error(
            "internal error on %s %s (ref %s)",
            request.method,
            request.url.path,
            ref,
            exc_info=exc,
        )
        text = f"Internal error (ref {ref}); the details are in the desk's log."
        if wants_json(request.url.path):
            return JSONResponse({"detail": text}, 500)
        return PlainTextResponse(text, 500)

    app.add_middleware(BodyLimit, upload_limit=config.max_upload_bytes, respond=_too_large)
    app.add_middleware(Gate, config=config, secret=secret)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema as the desk answers: a malformed call is 400 with a message
    (FastAPI would document its own 422 validation errors, which the desk never sends;
    its 422 is reserved for a workbook's problems)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                responses = operation.get("responses", {})
                if responses.get("422", {}).get("description") == "Validation Error":
                    del responses["422"]
                    responses.setdefault(
                        "400",
                        {
                            "description": "Malformed request",
                            "content": {"application/json": {"schema": _DETAIL}},
                        },
                    )
        app.openapi_schema = schema
    return app.openapi_schema


_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("partnership-planner")
    except PackageNotFoundError:
        return "unknown"
