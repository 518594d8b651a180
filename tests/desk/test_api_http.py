"""The desk's JSON API and pages over real HTTP, against `planner serve` in its own process
(SPEC §10): submit, poll, download; every problem of a bad workbook at once; size and
type limits; cancel; runs kept across a restart and across a kill -9; the token; names
that are markup shown as text; form posts refused without their CSRF token.

Runs are the example scenario with a short explanation budget (`explain_time_s`), so a
run lasts a second or two; runs meant to be caught while running get a longer one.
"""

from __future__ import annotations

import io
import json
import re
import socket
import struct
import subprocess
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from server import DeskServer, desk_server, serve_command, start_desk, wait_for
from workbooks import minimal_tables, write_workbook

import planner.api as api
from planner.cli import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The module's server refuses uploads over 1 MB (the example is 20 KB).
LIMIT_MB = 1
QUICK = {"explain_time_s": 1}
TOKEN = "desk-test-token-0123456789"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskServer]:
    with desk_server(
        tmp_path_factory.mktemp("desk"), extra=["--max-upload-mb", str(LIMIT_MB)]
    ) as server:
        yield server


@pytest.fixture
def http(desk: DeskServer) -> Iterator[httpx.Client]:
    with desk.client() as client:
        yield client


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook with four located problems, one of them a value that is markup."""
    tables = minimal_tables()
    tables["Options"][1][5] = "<b>bold</b>"  # cost: not a number
    tables["Options"][2][1] = "P9"  # no such partner
    tables["Markets"][1][3] = -1  # weight below 0
    tables["Coverage"][2][2] = "x"  # reach: not a number
    return write_workbook(tmp_path_factory.mktemp("broken") / "broken.xlsx", tables)


def submit(
    http: httpx.Client,
    path: Path = EXAMPLE,
    *,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    **fields: str,
) -> httpx.Response:
    data = {**fields, "settings": json.dumps(QUICK if settings is None else settings)}
    files = {"workbook": (name or path.name, path.read_bytes(), XLSX)}
    return http.post("/api/runs", data=data, files=files)


def run_count(http: httpx.Client) -> int:
    return len(http.get("/api/runs").json()["runs"])


def csrf_of(http: httpx.Client, page: str = "/") -> str:
    """The CSRF field of a page (its cookie is kept by the client)."""
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', http.get(page).text)
    assert found, "the page has no CSRF field"
    return found.group(1)


# --- submit, poll, download -----------------------------------------------------------


def test_a_submitted_workbook_runs_and_its_files_download(http: httpx.Client) -> None:
    response = submit(http, plans="2", time_limit="20", label="first run")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and re.fullmatch(r"[0-9a-f]{12}", body["id"])
    assert response.headers["location"] == f"/api/runs/{body['id']}"

    run = wait_for(http, body["id"])
    assert run["status"] == "done", run
    assert run["label"] == "first run" and run["workbook_name"] == "example.xlsx"
    expected = api.solve(api.load(EXAMPLE, settings=QUICK), plans=2, time_limit=20, threads=1)
    plans = run["plans"]
    assert plans["schema"] == "partnership-plans/1" and len(plans["plans"]) == 2
    assert plans["plans"][0]["weighted_reach"] == pytest.approx(
        expected.plans[0].weighted_reach, rel=1e-9
    )
    assert plans["plans"][0]["proven_optimal"] and plans["plans"][0]["explain"]

    downloaded = http.get(f"/api/runs/{body['id']}/files/plans.json")
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "application/json"
    assert json.loads(downloaded.content) == plans
    disposition = downloaded.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="first-run-{body["id"]}-plans.json"' in disposition
    assert f"filename*=UTF-8''first-run-{body['id']}-plans.json" in disposition

    xlsx = http.get(f"/api/runs/{body['id']}/files/plans.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert "Plans" in book.sheetnames or len(book.sheetnames) > 1
    report = http.get(f"/api/runs/{body['id']}/files/report.html")
    assert report.status_code == 200 and "<html" in report.text
    assert "sandbox" in report.headers["content-security-policy"]
    assert "diagnosis.txt" not in run["files"]  # only files that exist are offered
    assert http.get(f"/api/runs/{body['id']}/files/diagnosis.txt").status_code == 404


def test_the_run_page_shows_the_plans_and_the_list_shows_the_run(http: httpx.Client) -> None:
    run_id = submit(http, plans="2", time_limit="20").json()["id"]
    run = wait_for(http, run_id)
    page = http.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert page.text.count('class="plan-row"') == len(run["plans"]["plans"])
    assert 'id="report-frame"' in page.text and 'id="download-plans-xlsx"' in page.text
    listing = http.get("/runs", params={"status": "done"}).text
    assert f'data-run-id="{run_id}"' in listing
    first = listing.index('class="run-row"')
    assert listing.index(f'data-run-id="{run_id}"', first) == listing.index("data-run-id", first)


# --- bad input -----------------------------------------------------------------------------


def test_a_broken_workbook_gets_every_problem_of_planner_validate_and_queues_nothing(
    http: httpx.Client, broken: Path
) -> None:
    validated = CliRunner().invoke(cli, ["validate", str(broken)])
    assert validated.exit_code == 2
    lines = validated.output.splitlines()
    count = int(re.search(r"Input errors \((\d+)\)", lines[0]).group(1))  # type: ignore[union-attr]
    before = run_count(http)

    response = submit(http, broken)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert len(problems) == count == 4
    assert sorted(p["message"] for p in problems) == sorted(lines[1 : 1 + count])
    cost = next(p for p in problems if p["column"] == "cost")
    assert cost == {
        "sheet": "Options",
        "row": 2,
        "column": "cost",
        "value": "<b>bold</b>",
        "shown": "<b>bold</b>",
        "expected": "a number of at least 0",
        "message": "sheet Options, row 2, column cost: found '<b>bold</b>'; "
        "expected a number of at least 0",
    }
    assert run_count(http) == before

    marked = http.get(response.json()["annotated_workbook"])
    assert marked.status_code == 200 and marked.headers["content-type"] == XLSX
    assert 'filename="broken-problems.xlsx"' in marked.headers["content-disposition"]


def test_the_submit_page_shows_every_problem_as_text(http: httpx.Client, broken: Path) -> None:
    csrf = csrf_of(http)
    before = run_count(http)
    posted = http.post(
        "/submit",
        data={"csrf": csrf, "settings": "explain_time_s = 1"},
        files={"workbook": ("broken.xlsx", broken.read_bytes(), XLSX)},
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/problems/")
    page = http.get(posted.headers["location"])
    assert page.status_code == 422
    assert page.text.count('class="problem"') == 4
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text and "<b>bold</b>" not in page.text
    assert 'id="annotated-link"' in page.text
    assert run_count(http) == before


def test_only_xlsx_workbooks_are_accepted(http: httpx.Client, tmp_path: Path) -> None:
    before = run_count(http)
    text = tmp_path / "plans.csv"
    text.write_text("option_id,cost\nO1,3\n", encoding="utf-8")
    response = submit(http, text)
    assert response.status_code == 422
    columns = {(p["sheet"], p["column"]) for p in response.json()["problems"]}
    assert ("form", "workbook") in columns  # the name
    assert any(
        "zip" in p["expected"] or "workbook" in p["expected"] for p in response.json()["problems"]
    )
    disguised = submit(http, text, name="disguised.xlsx")  # the content
    assert disguised.status_code == 422
    messages = " ".join(p["message"] for p in disguised.json()["problems"])
    assert "disguised.xlsx" in messages and ".xlsx" in messages
    assert not re.search(r"[0-9a-f]{32}", messages)  # never the server's own file name
    assert "annotated_workbook" in disguised.json()
    assert http.get(disguised.json()["annotated_workbook"]).status_code == 404  # no cells
    assert run_count(http) == before


def test_bad_form_fields_are_problems_located_at_the_field(http: httpx.Client) -> None:
    response = http.post(
        "/api/runs",
        data={"settings": "{not json", "plans": "0", "scenario": "nope"},
        files={"workbook": ("example.xlsx", EXAMPLE.read_bytes(), XLSX)},
    )
    assert response.status_code == 422
    located = {p["column"]: p for p in response.json()["problems"]}
    assert set(located) == {"settings", "plans", "scenario"}
    assert located["plans"]["message"] == (
        "form field plans: found '0'; expected plans: a whole number of at least 1"
    )


def test_a_malformed_call_is_400_with_a_message(http: httpx.Client) -> None:
    missing = http.post("/api/runs", data={"plans": "2"})
    assert missing.status_code == 400
    assert "workbook" in missing.json()["detail"]
    sweep = http.post(
        "/api/runs/000000000000/sweep", content=b"[1,", headers={"content-type": "application/json"}
    )
    assert sweep.status_code in (400, 404)
    assert "Traceback" not in missing.text + sweep.text


def test_unknown_runs_and_files_are_404(http: httpx.Client) -> None:
    for path in (
        "/api/runs/000000000000",
        "/api/runs/not-an-id",
        "/api/runs/000000000000/files/plans.json",
    ):
        response = http.get(path)
        assert response.status_code == 404, path
        assert "detail" in response.json()
    assert http.delete("/api/runs/000000000000").status_code == 404
    assert http.get("/runs/000000000000").status_code == 404
    run_id = http.get("/api/runs").json()["runs"][0]["id"]
    for name in ("desk.sqlite3", "..%2F..%2Fdesk.sqlite3", "notes.txt", "serve.log"):
        assert http.get(f"/api/runs/{run_id}/files/{name}").status_code == 404, name


def zip_bomb(path: Path, megabytes: int = 512) -> Path:
    """A workbook whose Options sheet unpacks to `megabytes` of spaces, about 1 KB per MB
    on disk: one deflated block repeated after full flushes, zip headers written by hand
    (honest sizes), so it is built in milliseconds without ever holding the sheet."""
    with zipfile.ZipFile(write_workbook(path.with_name("base.xlsx"), minimal_tables())) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
        options = next(
            n for n in parts if n.startswith("xl/worksheets/") and b"option_id" in parts[n]
        )
    head = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    block, tail = b" " * 2**20, b"</worksheet>"
    out, central = bytearray(), bytearray()
    for name, raw in parts.items():
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
        if name == options:
            first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
            middle = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
            payload = first + middle * megabytes + deflate.compress(tail) + deflate.flush()
            crc = zlib.crc32(head)
            for _ in range(megabytes):
                crc = zlib.crc32(block, crc)
            crc, size = zlib.crc32(tail, crc), len(head) + len(block) * megabytes + len(tail)
        else:
            payload = deflate.compress(raw) + deflate.flush()
            crc, size = zlib.crc32(raw), len(raw)
        encoded, offset = name.encode(), len(out)
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(payload), size, len(encoded), 0
        )
        out += encoded + payload
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(payload), size,
            len(encoded), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += encoded
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(central), len(out), 0
    )
    path.write_bytes(bytes(out + central + end))
    return path


def test_a_zip_bomb_is_refused_quickly_and_the_server_stays_small(
    desk: DeskServer, http: httpx.Client, tmp_path: Path
) -> None:
    bomb = zip_bomb(tmp_path / "bomb.xlsx")
    assert bomb.stat().st_size < LIMIT_MB * 2**20  # within the upload limit: the reader judges
    before = run_count(http)
    started = time.monotonic()
    response = submit(http, bomb)
    assert time.monotonic() - started < 3
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert len(problems) == 1 and "bomb.xlsx" in problems[0]["message"]
    assert run_count(http) == before
    peak = desk.peak_memory_kb()
    print(f"web process peak resident memory: {peak / 1024:.0f} MB")
    assert peak < 256 * 1024  # the whole web process, since it started


# --- size limit ----------------------------------------------------------------------------


def _raw_request(desk: DeskServer, head: bytes, body: list[bytes]) -> bytes:
    """Send a request's head and body pieces on a socket; what the server answered."""
    with socket.create_connection(desk.host_port, timeout=10) as sock:
        sock.sendall(head)
        for piece in body:
            sock.sendall(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_declared_oversized_upload_is_refused_before_its_body_is_read(desk: DeskServer) -> None:
    head = (
        b"POST /api/runs HTTP/1.1\r\nHost: %b:%d\r\n"
        b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n"
        % (desk.host_port[0].encode(), desk.host_port[1], 50 * 2**20)
    )
    started = time.monotonic()
    answer = _raw_request(desk, head, [])  # not one byte of the 50 MB is sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"larger than the limit of 1 MB" in answer
    assert time.monotonic() - started < 5


def test_a_streamed_oversized_upload_is_refused_once_the_limit_is_passed(
    desk: DeskServer, http: httpx.Client
) -> None:
    before = run_count(http)
    head = (
        b"POST /api/runs HTTP/1.1\r\nHost: %b:%d\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\nTransfer-Encoding: chunked\r\n\r\n"
        % (desk.host_port[0].encode(), desk.host_port[1])
    )
    preamble = (
        b'--xyz\r\nContent-Disposition: form-data; name="workbook"; filename="big.xlsx"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    limit = LIMIT_MB * 2**20 + 64 * 2**10  # the file plus room for the form's other fields
    pieces = [preamble]
    sent = len(preamble)
    while sent <= limit:  # chunks up to just past the limit, then wait for the answer
        size = min(64 * 2**10, limit + 1 - sent)
        pieces.append(b"PK" + b"\0" * (size - 2))
        sent += size
    chunked = [b"%x\r\n%b\r\n" % (len(p), p) for p in pieces]
    answer = _raw_request(desk, head, chunked)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert run_count(http) == before
    assert not list((desk.data / "uploads").glob("*.xlsx"))  # nothing kept of it


def test_a_file_just_over_the_limit_is_413(http: httpx.Client, desk: DeskServer) -> None:
    before = run_count(http)
    body = b"PK\x03\x04" + b"\0" * (LIMIT_MB * 2**20)
    response = http.post(
        "/api/runs", files={"workbook": ("big.xlsx", body, XLSX)}, data={"plans": "1"}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "The upload is larger than the limit of 1 MB."
    assert run_count(http) == before
    assert not list((desk.data / "uploads").glob("*.xlsx"))


# --- cancel --------------------------------------------------------------------------------


def test_cancel_a_running_and_a_queued_run(http: httpx.Client) -> None:
    slow = {"explain_time_s": 30}
    running = submit(http, settings=slow).json()["id"]
    queued = submit(http, settings=slow).json()["id"]
    wait_for(http, running, ("running",), timeout=20)
    assert http.get(f"/api/runs/{queued}").json()["status"] == "queued"  # one worker

    cancelled = http.delete(f"/api/runs/{queued}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    began = time.monotonic()
    stopped = http.delete(f"/api/runs/{running}")
    assert stopped.status_code == 200 and stopped.json()["status"] == "cancelled"
    assert time.monotonic() - began < 15
    assert http.get(f"/api/runs/{running}/files/plans.json").status_code == 404
    assert http.get(f"/api/runs/{queued}").json()["started"] is None  # it never ran
    again = http.delete(f"/api/runs/{running}")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


# --- restarts ------------------------------------------------------------------------------


def test_runs_persist_across_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "desk"
    with desk_server(data) as first, first.client() as http:
        run_id = submit(http, plans="1", label="kept").json()["id"]
        wait_for(http, run_id, ("done",))
        plans = http.get(f"/api/runs/{run_id}/files/plans.json").content
        assert first.stop() == 0
        assert "Scenario desk stopped" in first.output()
    with desk_server(data) as second, second.client() as http:
        run = http.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "done" and run["label"] == "kept"
        assert http.get(f"/api/runs/{run_id}/files/plans.json").content == plans
        assert [r["id"] for r in http.get("/api/runs").json()["runs"]] == [run_id]


def test_a_run_cut_off_by_kill_9_is_interrupted_and_runs_again(tmp_path: Path) -> None:
    data = tmp_path / "desk"
    server = start_desk(data)
    try:
        with server.client() as http:
            run_id = submit(http, plans="1", settings={"explain_time_s": 6}).json()["id"]
            wait_for(http, run_id, ("running",), timeout=20)
        server.kill()
    finally:
        server.reap()
    with desk_server(data) as again, again.client() as http:
        run = http.get(f"/api/runs/{run_id}").json()
        assert run["status"] == "interrupted" and "re-run" in run["error"]
        assert run["plans"] is None and run["files"] == {
            "workbook.xlsx": f"/api/runs/{run_id}/files/workbook.xlsx"
        }
        page = http.get(f"/runs/{run_id}").text
        assert 'id="rerun-button"' in page
        rerun = http.post(f"/api/runs/{run_id}/rerun")
        assert rerun.status_code == 202 and rerun.json()["status"] == "queued"
        done = wait_for(http, run_id, timeout=60)
        assert done["status"] == "done" and done["plans"]["plans"]


# --- the token -----------------------------------------------------------------------------


def test_a_token_is_needed_for_everything_but_static_files(tmp_path: Path) -> None:
    with desk_server(tmp_path / "desk", token=TOKEN) as desk:
        with desk.client(auth=False, follow_redirects=False) as anonymous:
            refused = anonymous.get("/api/runs")
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            wrong = anonymous.get("/api/runs", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert anonymous.get("/openapi.json").status_code == 401
            page = anonymous.get("/runs?status=done")
            assert page.status_code == 303
            assert page.headers["location"] == "/login?next=%2Fruns%3Fstatus%3Ddone"
            assert anonymous.get("/docs").status_code == 303
            assert anonymous.get("/static/desk.css").status_code == 200

            csrf = csrf_of(anonymous, "/login")
            bad = anonymous.post("/login", data={"csrf": csrf, "token": "guess", "next": "/"})
            assert bad.status_code == 401 and 'id="login-error"' in bad.text
            good = anonymous.post(
                "/login", data={"csrf": csrf, "token": TOKEN, "next": "https://evil.example/"}
            )
            assert good.status_code == 303 and good.headers["location"] == "/"
            cookie = good.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie
            assert TOKEN.lower() not in cookie
            assert anonymous.get("/runs").status_code == 200  # the cookie now
        with desk.client() as http:
            assert http.get("/api/runs").status_code == 200
            assert submit(http, plans="1").status_code == 202


def test_serve_refuses_a_non_loopback_address_without_a_token(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    refused = subprocess.run(
        serve_command(tmp_path / "desk", host="0.0.0.0"),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert refused.returncode == 2
    assert refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "without a token" in lines[0] and "PLANNER_TOKEN" in lines[0]
    short = subprocess.run(
        [*serve_command(tmp_path / "desk", host="0.0.0.0"), "--token", "short"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert short.returncode == 2 and "at least 16" in short.stderr


# --- markup, cross-site posts -------------------------------------------------------------


def test_names_that_are_markup_are_text_on_every_page(http: httpx.Client) -> None:
    label = "<script>alert('label')</script>"
    name = "<img src=x onerror=alert(1)>.xlsx"
    run_id = submit(http, name=name, label=label, plans="1").json()["id"]
    wait_for(http, run_id)
    for page in (f"/runs/{run_id}", "/runs", "/"):
        html = http.get(page).text
        assert "<script>alert" not in html and "<img src=x" not in html, page
        assert "&lt;script&gt;alert(" in html or "&lt;img src=x" in html, page
    download = http.get(f"/api/runs/{run_id}/files/plans.json")
    disposition = download.headers["content-disposition"]
    assert disposition.isascii() and "<" not in disposition and "\n" not in disposition
    assert 'filename="script-alert-label-script-' in disposition
    unicode_id = submit(http, label="Plan für Ägypten/../x", plans="1").json()["id"]
    wait_for(http, unicode_id)
    shown = http.get(f"/api/runs/{unicode_id}/files/plans.json").headers["content-disposition"]
    assert f'filename="Plan-fur-Agypten-..-x-{unicode_id}-plans.json"' in shown
    assert f"filename*=UTF-8''Plan-f%C3%BCr-%C3%84gypten-..-x-{unicode_id}-plans.json" in shown


def test_form_posts_need_the_csrf_token_of_their_own_page(http: httpx.Client) -> None:
    run_id = http.get("/api/runs").json()["runs"][0]["id"]
    csrf = csrf_of(http)
    no_field = http.post(f"/runs/{run_id}/rerun", data={})
    assert no_field.status_code == 403
    forged = http.post(f"/runs/{run_id}/rerun", data={"csrf": "0" * 64})
    assert forged.status_code == 403
    with httpx.Client(base_url=str(http.base_url)) as other_browser:  # its own cookie
        assert other_browser.post(f"/runs/{run_id}/rerun", data={"csrf": csrf}).status_code == 403
    cross = http.post(
        "/submit",
        data={"csrf": csrf},
        files={"workbook": ("example.xlsx", EXAMPLE.read_bytes(), XLSX)},
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    api_cross = http.post("/api/runs/000000000000/rerun", headers={"Sec-Fetch-Site": "cross-site"})
    assert api_cross.status_code == 403
    rebound = http.get("/", headers={"Host": "evil.example"})
    assert rebound.status_code == 421
    accepted = http.post(
        "/submit",
        data={"csrf": csrf, "plans": "1", "settings": "explain_time_s = 1"},
        files={"workbook": ("example.xlsx", EXAMPLE.read_bytes(), XLSX)},
        headers={"Origin": str(http.base_url).rstrip("/"), "Sec-Fetch-Site": "same-origin"},
    )
    assert accepted.status_code == 303 and accepted.headers["location"].startswith("/runs/")
    wait_for(http, accepted.headers["location"].rsplit("/", 1)[1])


def test_the_api_is_documented_offline(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    assert {"/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/files/{name}"} <= set(
        schema["paths"]
    )
    assert "delete" in schema["paths"]["/api/runs/{run_id}"]
    docs = http.get("/docs")
    assert docs.status_code == 200
    assert 'data-path="/api/runs"' in docs.text and "cdn" not in docs.text.lower()
    template = http.get("/api/template")
    assert template.status_code == 200 and template.content.startswith(b"PK")


# --- what-if and compare -------------------------------------------------------------------


def test_sweep_frontier_and_compare_start_from_a_finished_run(http: httpx.Client) -> None:
    base = submit(http, plans="1", label="base").json()["id"]
    high = submit(http, plans="1", label="high", scenario="high_budget").json()["id"]
    wait_for(http, base, ("done",))
    wait_for(http, high, ("done",))

    csrf = csrf_of(http, f"/runs/{base}")
    bad = http.post(f"/runs/{base}/sweep", data={"csrf": csrf, "vary": "nonsense=1,2"})
    assert bad.status_code == 422 and 'class="problem"' in bad.text and "nonsense" in bad.text
    posted = http.post(
        f"/runs/{base}/sweep", data={"csrf": csrf, "vary": "budget=80,120", "time_limit": "20"}
    )
    assert posted.status_code == 303
    sweep_id = posted.headers["location"].rsplit("/", 1)[1]
    frontier = http.post(f"/api/runs/{base}/frontier", json={"points": 3, "time_limit": 20})
    assert frontier.status_code == 202 and frontier.json()["parent"] == base

    sweep = wait_for(http, sweep_id, ("done",))
    points = sweep["result"]["points"]
    assert [p["settings"] for p in points] == [{"budget": 80}, {"budget": 120}]
    assert points[1]["weighted_reach"] == pytest.approx(
        http.get(f"/api/runs/{base}").json()["plans"]["plans"][0]["weighted_reach"]
    )
    page = http.get(f"/runs/{sweep_id}").text
    assert 'id="chart"' in page and page.count('class="point-row"') == 2
    chart = http.get(f"/runs/{sweep_id}/chart.svg")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert "sandbox" in chart.headers["content-security-policy"]
    done = wait_for(http, frontier.json()["id"], ("done",))
    assert len(done["result"]["points"]) == 3
    assert f'data-run-id="{sweep_id}"' in http.get(f"/runs/{base}").text  # listed as a child

    assert http.get("/api/compare", params={"a": base, "b": sweep_id}).status_code == 409
    deadline = time.monotonic() + 60
    while (compared := http.get("/api/compare", params={"a": base, "b": high})).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert compared.status_code == 200, compared.text
    document = compared.json()
    assert document["schema"] == "partnership-compare/1"
    assert document["a"]["folder"] == f"run {base}"  # never the server's own paths
    assert document["plan"]["change"]["weighted_reach"] > 0
    shown = http.get("/compare", params={"a": base, "b": high}).text
    assert 'id="compare-frame"' in shown and 'data-state="ready"' in shown
    report = http.get(f"/compare/{base}/{high}/compare.html")
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]


def test_head_answers_as_get_without_a_body(http: httpx.Client) -> None:
    """Link checkers and proxies ask with HEAD: the headers of GET, no body."""
    got = http.get("/api/runs")
    head = http.head("/api/runs")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert http.head("/api/runs/000000000000").status_code == 404
