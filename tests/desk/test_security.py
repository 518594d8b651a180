"""The desk's safety rules one by one (planner/desk/security.py, uploads.py, app.py):
loopback and token, constant-time secrets, CSRF tokens, cross-site and rebound-host
checks, download names and their headers, names from forms cleaned, an unforeseen error
answered in one line without its traceback.

The whole service is tested over real HTTP in test_api_http.py; here the rules are
called directly, or the app in-process, so each edge case costs milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.desk import security
from planner.desk.app import create_app
from planner.desk.config import DeskConfig
from planner.desk.uploads import BodyLimit, TooLarge, check_form, clean_text, display_name


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("desk.example.org", False),  # names are not resolved: not loopback
        ("127.0.0.1.nip.io", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert security.is_loopback(host) is loopback


def test_a_token_is_required_off_loopback_and_must_be_long() -> None:
    assert security.token_problem("127.0.0.1", None) is None
    refused = security.token_problem("0.0.0.0", None)
    assert refused is not None and "without a token" in refused and "PLANNER_TOKEN" in refused
    assert security.token_problem("0.0.0.0", "x" * 16) is None
    short = security.token_problem("127.0.0.1", "x" * 15)
    assert short is not None and "at least 16" in short


def test_the_token_is_checked_from_the_header_or_the_login_cookie() -> None:
    token = "t" * 20
    assert security.authorized(token, f"Bearer {token}", None)
    assert security.authorized(token, f"bearer  {token} ", None)
    assert security.authorized(token, None, security.session_value(token))
    assert not security.authorized(token, None, None)
    assert not security.authorized(token, f"Basic {token}", None)
    assert not security.authorized(token, f"Bearer {token}x", None)
    assert not security.authorized(token, None, token)  # the cookie never holds the token
    assert security.session_value(token) != security.session_value("u" * 20)
    assert not security.same_secret("é", "e")  # non-ASCII compared as bytes, no error


def test_only_static_files_and_the_login_form_are_public() -> None:
    assert security.is_public("/static/desk.css") and security.is_public("/login")
    for path in ("/", "/docs", "/openapi.json", "/api/health", "/runs", "/login/x", "/staticx"):
        assert not security.is_public(path), path


def test_csrf_tokens_are_bound_to_their_browser_and_secret(tmp_path: Path) -> None:
    secret = security.load_secret(tmp_path)
    assert security.load_secret(tmp_path) == secret  # kept across restarts
    assert (tmp_path / "desk.secret").stat().st_mode & 0o077 == 0  # owner only
    cookie = security.new_csrf_cookie()
    field = security.csrf_token(secret, cookie)
    assert security.csrf_ok(secret, cookie, field)
    assert not security.csrf_ok(secret, security.new_csrf_cookie(), field)
    assert not security.csrf_ok(b"another secret", cookie, field)
    assert not security.csrf_ok(secret, None, field)
    assert not security.csrf_ok(secret, cookie, None)
    assert not security.csrf_ok(secret, cookie, "")


@pytest.mark.parametrize(
    ("origin", "fetch_site", "refused"),
    [
        (None, None, False),  # a program: curl, httpx
        ("http://127.0.0.1:8000", "same-origin", False),
        (None, "none", False),  # typed in the address bar
        ("http://evil.example", None, True),
        ("http://127.0.0.1:9999", None, True),  # another port is another origin
        ("https://127.0.0.1:8000", None, True),
        (None, "cross-site", True),
        (None, "same-site", True),
        ("null", None, True),
    ],
)
def test_cross_site_requests(origin: str | None, fetch_site: str | None, refused: bool) -> None:
    why = security.cross_site(origin, fetch_site, "http", "127.0.0.1:8000")
    assert (why is not None) is refused


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1:8000", True),
        ("localhost:8000", True),
        ("[::1]:8000", True),
        ("127.0.0.1", True),
        ("evil.example:8000", False),
        ("evil.example", False),
        (None, False),
    ],
)
def test_a_loopback_desk_answers_loopback_host_names_only(host: str | None, ok: bool) -> None:
    assert security.host_ok(host, loopback_only=True) is ok
    assert security.host_ok(host, loopback_only=False)  # a token guards that desk instead


def _parsed_filename(disposition: str) -> tuple[str, str]:
    """(filename, the decoded filename*) of a Content-Disposition value, read strictly."""
    found = re.fullmatch(
        r'(?:attachment|inline); filename="([\x20-\x7e]*)"; '
        r"filename\*=UTF-8''([A-Za-z0-9%._~-]+)",
        disposition,
    )
    assert found, disposition
    return found.group(1), unquote(found.group(2), errors="strict")


@given(st.text(max_size=80))
def test_download_names_are_safe_whatever_the_label(label: str) -> None:
    name = security.download_name("0123456789ab", "plans.xlsx", label)
    assert name.endswith("0123456789ab-plans.xlsx")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    disposition = security.content_disposition(name)
    assert disposition.isascii()
    assert not any(ch in disposition for ch in "\r\n\0")
    plain, decoded = _parsed_filename(disposition)
    assert decoded == name
    assert plain.isascii() and '"' not in plain and plain.endswith("plans.xlsx")


def test_download_names_keep_letters_of_any_script() -> None:
    name = security.download_name("0123456789ab", "report.html", 'Q3 "Übersicht" <b>/..\\')
    assert name == "Q3-Übersicht-b-0123456789ab-report.html"
    disposition = security.content_disposition(name, inline=True)
    assert disposition == (
        'inline; filename="Q3-Ubersicht-b-0123456789ab-report.html"; '
        "filename*=UTF-8''Q3-%C3%9Cbersicht-b-0123456789ab-report.html"
    )


def test_names_from_a_form_are_cleaned_and_never_a_path() -> None:
    assert display_name("C:\\Users\\team\\Q3 plan.xlsx") == "Q3 plan.xlsx"
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("a\u202eb\nc\x00d.xlsx") == "a b c d.xlsx"  # no control or bidi marks
    assert display_name("") == "workbook.xlsx" and display_name(None) == "workbook.xlsx"
    assert len(display_name("x" * 1000 + ".xlsx")) == 200
    assert clean_text("  Q3\t review \r\n", 120) == "Q3 review"


def test_only_xlsx_names_and_json_objects_pass_the_form() -> None:
    _, problems = check_form(
        filename="plan.xls", scenario=None, plans=None, time_limit=None, settings="[1]", label=None
    )
    assert [(p.sheet, p.column) for p in problems] == [("form", "workbook"), ("form", "settings")]
    form, problems = check_form(
        filename="PLAN.XLSX",
        scenario=" high_budget ",
        plans="3",
        time_limit="30",
        settings='{"budget": 150, "mip_gap": "0.01"}',
        label="<b>Q3</b>",
    )
    assert problems == []
    assert form.scenario == "high_budget" and form.plans == 3 and form.time_limit == 30.0
    assert form.overrides == {"budget": 150, "mip_gap": "0.01", "plans": "3", "time_limit_s": "30"}
    assert form.label == "<b>Q3</b>"  # kept as text; pages escape it


def test_a_body_over_the_limit_is_refused_while_it_streams() -> None:
    received: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            received.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    answered: list[int] = []

    def respond(scope: Any, exc: TooLarge) -> Any:
        async def refusal(scope: Any, receive: Any, send: Any) -> None:
            answered.append(exc.status_code)
            await send({"type": "http.response.start", "status": 413, "headers": []})
            await send({"type": "http.response.body", "body": exc.detail.encode()})

        return refusal

    limited = BodyLimit(app, upload_limit=1000, respond=respond)
    chunks = [b"x" * 40_000] * 10  # 400 KB offered, the limit is 1000 + the form's room

    async def run(headers: list[tuple[bytes, bytes]]) -> None:
        pending = list(chunks)

        async def receive() -> dict[str, Any]:
            body = pending.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}

        async def send(message: dict[str, Any]) -> None:
            pass

        await limited({"type": "http", "headers": headers}, receive, send)

    asyncio.run(run([]))
    assert answered == [413]
    assert sum(received) <= 1000 + 64 * 1024  # stopped at the first chunk past the limit
    received.clear()
    asyncio.run(run([(b"content-length", b"400000")]))
    assert answered == [413, 413] and received == []  # refused before reading any of it


class InProcess:
    """The app called in this process through httpx's ASGI transport: no server, and no
    lifespan, so no dispatcher threads to start or stop."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, path: str) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1:8000"
            ) as client:
                return await client.get(path)

        return asyncio.run(call())


@pytest.fixture
def in_process(tmp_path: Path) -> InProcess:
    """The app, plus routes that fail the way a bug would."""
    app = create_app(DeskConfig(data=tmp_path / "desk"))

    @app.get("/api/fail")
    def fail() -> None:
        raise RuntimeError("secret internals /home/desk/config")

    @app.get("/runs-fail")
    def fail_page() -> None:
        raise KeyError("secret internals")

    return InProcess(app)


def test_an_unforeseen_error_is_one_line_without_its_details(
    in_process: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="planner.desk"):
        response = in_process.get("/api/fail")
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert detail.startswith("Internal error (ref ") and "\n" not in detail
    assert "secret" not in response.text and "Traceback" not in response.text
    ref = detail.split("(ref ")[1].split(")")[0]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)  # details logged
    page = in_process.get("/runs-fail")
    assert page.status_code == 500 and "secret" not in page.text


def test_every_response_carries_the_security_headers(in_process: InProcess) -> None:
    page = in_process.get("/")
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    csrf_cookie = page.headers["set-cookie"].lower()
    assert "httponly" in csrf_cookie and "samesite=strict" in csrf_cookie
    assert '<script src="/static/desk.js" defer></script>' in page.text
    assert "<script>" not in page.text  # no inline script anywhere


def test_rejected_uploads_kept_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.desk import uploads
    from planner.errors import Problem

    kept = uploads.Rejections(tmp_path / "rejected")
    located = [Problem("Options", 2, "cost", "abc", "a number of at least 0")]
    tokens = []
    now = time.time()
    for n in range(5):
        path = tmp_path / f"upload-{n}.xlsx"
        path.write_bytes(b"PK" + b"\0" * 998)
        saved = uploads.SavedUpload(path, f"team {n}.xlsx", "0" * 64, 1000)
        tokens.append(kept.keep(saved, located))
        os.utime(tmp_path / "rejected" / tokens[-1], (now - 10 + n, now - 10 + n))
    assert [t for t in tokens if kept.get(t) is not None] == tokens  # within every bound

    one = sum(f.stat().st_size for f in (tmp_path / "rejected" / tokens[0]).iterdir())
    monkeypatch.setattr(uploads, "KEEP_REJECTED_BYTES", int(2.5 * one))
    kept.prune()
    assert [t for t in tokens if kept.get(t) is not None] == tokens[-2:]  # newest first
    monkeypatch.setattr(uploads, "KEEP_REJECTED_COUNT", 1)
    kept.prune()
    assert [t for t in tokens if kept.get(t) is not None] == tokens[-1:]
    os.utime(tmp_path / "rejected" / tokens[-1], (now - 2 * 86400, now - 2 * 86400))
    kept.prune()
    assert kept.get(tokens[-1]) is None  # a day old: gone
    assert kept.get("../" + tokens[0]) is None and kept.get("x" * 32) is None


def test_a_rejection_keeps_its_problems_and_its_workbook_only_when_cells_can_be_marked(
    tmp_path: Path,
) -> None:
    from planner.desk import uploads
    from planner.errors import Problem

    kept = uploads.Rejections(tmp_path / "rejected")
    located = [Problem("Options", 2, "cost", "abc", "a number of at least 0")]
    whole_file = [Problem(None, None, None, None, "team.xlsx is not a zip", found=False)]
    for problems, marked in ((located, True), (whole_file, False)):
        path = tmp_path / "upload.xlsx"
        path.write_bytes(b"PK")
        token = kept.keep(uploads.SavedUpload(path, "team.xlsx", "0" * 64, 2), problems)
        assert not path.exists()  # moved or removed: nothing left in the uploads folder
        assert (tmp_path / "rejected" / token / "workbook.xlsx").exists() is marked
        assert kept.problems(token) == problems
