"""The desk as a team uses it: pages driven in headless Chromium against `planner serve`.

A person drops the example workbook on the front page (the drop zone wraps the file
input, which the browser is given the file through), sets a short time limit, lands on
the run page and waits for it to end: every plan is in the table, the report's charts are
drawn, the downloads are linked. A broken workbook gets the same located problems as
`planner validate` and a link to the workbook with each bad cell marked. A workbook whose
names are markup shows them as text: no element is injected and no alert opens. The runs
list is newest first and filters by name.

Screenshots of every page are kept in `outputs/test-artefacts/desk/` (git-ignored; the
folder is printed at the end of the module). Runs are small (`explain_time_s` of 1 s,
a time limit of 10 s), so the module takes about half a minute.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import artefact_folder, chromium, require_browser, screenshot, wait_until
from desk_helpers import small_tables
from openpyxl import load_workbook
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from server import FINISHED, DeskServer, desk_server, wait_for
from workbooks import put_cells, write_workbook

import planner.api as api

EXAMPLE = Path(__file__).resolve().parents[2] / "inputs" / "example.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
LABEL = '<b id="injected-label">bold</b> run'
#: A run of the example ends in a few seconds; a bound far above that.
RUN_WAIT_S = 90.0
#: `planner validate`'s lines: "sheet S, row R, column C: found V; expected E".
PROBLEM_LINE = re.compile(
    r"^(?:sheet (?P<sheet>[^,]+))?(?:, )?(?:row (?P<row>\d+))?(?:, )?"
    r"(?:column (?P<column>[^:]+))?: found (?P<value>.*?); expected (?P<expected>.*)$"
)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskServer]:
    require_browser()
    with desk_server(tmp_path_factory.mktemp("desk"), workers=2) as server:
        yield server


@pytest.fixture(scope="module")
def driver(
    desk: DeskServer, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[WebDriver]:
    with chromium(tmp_path_factory.mktemp("profile")) as browser:
        yield browser
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\ndesk browser screenshots: {artefact_folder()}")


@pytest.fixture
def http(desk: DeskServer) -> Iterator[httpx.Client]:
    with desk.client() as client:
        yield client


def upload(
    driver: WebDriver,
    desk: DeskServer,
    workbook: Path,
    *,
    label: str,
    settings: str = "explain_time_s = 1",
    plans: str = "",
    time_limit: str = "10",
    shot: str | None = None,
    drop: bool = False,
) -> None:
    """Fill the front page's form as a person does and send it. With `drop`, the file
    reaches the form by a drop on the drop zone (see `drop_on_zone`)."""
    driver.get(desk.url + "/")
    driver.find_element(By.ID, "workbook").send_keys(str(workbook))
    if drop:
        drop_on_zone(driver)
    chosen = driver.find_element(By.ID, "chosen-file").text
    assert workbook.name in chosen, f"the drop zone does not name the chosen file: {chosen!r}"
    for field, value in (("label", label), ("plans", plans), ("time_limit", time_limit)):
        if value:
            driver.find_element(By.ID, field).send_keys(value)
    driver.find_element(By.ID, "settings").send_keys(settings)
    if shot:
        screenshot(driver, shot, whole_page=False)
    driver.find_element(By.ID, "submit-button").click()


#: A file dropped on the drop zone, as a browser dispatches it: the file is the one the
#: file input holds (a page cannot read a path; the input is emptied first), carried by
#: a DataTransfer through dragenter and drop. Returns what the page made of it.
DROP = """
const input = document.getElementById('workbook');
const zone = document.getElementById('dropzone');
const carried = new DataTransfer();
carried.items.add(input.files[0]);
input.value = '';
document.getElementById('chosen-file').textContent = '';
const emptied = input.files.length;
const event = (type) =>
  new DragEvent(type, {dataTransfer: carried, bubbles: true, cancelable: true});
zone.dispatchEvent(event('dragenter'));
const highlighted = zone.classList.contains('over');
zone.dispatchEvent(event('drop'));
return {emptied: emptied, highlighted: highlighted, files: input.files.length,
        name: input.files.length ? input.files[0].name : null,
        still: zone.classList.contains('over')};
"""


def drop_on_zone(driver: WebDriver) -> None:
    """Drop the chosen file on the drop zone: the zone lights up while the file is over
    it, and the drop puts the file into the form's file input."""
    outcome = driver.execute_script(DROP)
    assert outcome["emptied"] == 0, outcome
    assert outcome["highlighted"] and not outcome["still"], outcome
    assert outcome["files"] == 1 and outcome["name"], outcome


def landed_on(driver: WebDriver, pattern: str) -> str:
    """The id the browser's address names once it matches `pattern` (one group)."""
    found = wait_until(
        lambda: re.search(pattern, driver.current_url), 30, f"a page matching {pattern}"
    )
    return found.group(1)


def finished_run_page(driver: WebDriver, http: httpx.Client, run_id: str) -> dict[str, Any]:
    """Wait (bounded) until the run has ended and its page, reloaded by its own script,
    shows the final status; the run's JSON."""
    run = wait_for(http, run_id, timeout=RUN_WAIT_S)
    status = "return (document.getElementById('run-status') || {dataset: {}}).dataset.status"
    wait_until(
        lambda: driver.execute_script(status) in FINISHED,
        30,
        f"the page of run {run_id} to show that it has ended",
    )
    assert driver.execute_script(status) == run["status"]
    return run


def no_alert(driver: WebDriver) -> bool:
    try:
        driver.switch_to.alert  # noqa: B018 (the lookup raises when no alert is open)
    except NoAlertPresentException:
        return True
    return False


def validate_lines(workbook: Path) -> list[dict[str, str]]:
    """The problems `planner validate` prints for `workbook` (as the command line runs)."""
    done = subprocess.run(
        [sys.executable, "-c", "from planner.cli import main; main()", "validate", str(workbook)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    header = re.search(r"Input errors \((\d+)\)", done.stderr)
    assert header, done.stderr
    problems = []
    for line in done.stderr.splitlines():
        found = PROBLEM_LINE.match(line.strip())
        if found and line.strip().startswith(("sheet", "row", "column")):
            problems.append({k: v or "" for k, v in found.groupdict().items()})
    assert len(problems) == int(header.group(1)), done.stderr
    return problems


def same_value(shown: str, printed: str) -> bool:
    """Whether the page's value is the one the command line prints: the same number
    (the page may write -5 as -5.0), or the same text (the command line quotes it)."""
    try:
        return float(shown) == float(printed)
    except ValueError:
        return printed in (shown, repr(shown))


# --- the example, from the front page to its plans -------------------------------------------


def test_the_example_dropped_on_the_front_page_runs_and_shows_its_plans(
    driver: WebDriver, desk: DeskServer, http: httpx.Client
) -> None:
    upload(
        driver, desk, EXAMPLE, label="example from the browser", plans="3", shot="submit", drop=True
    )
    run_id = landed_on(driver, r"/runs/([0-9a-f]{12})$")
    screenshot(driver, "run-in-progress", whole_page=False)
    run = finished_run_page(driver, http, run_id)
    assert run["status"] == "done", run
    assert run["workbook_name"] == EXAMPLE.name and run["label"] == "example from the browser"
    assert str(run["settings"]["explain_time_s"]) == "1"  # the form's override was kept

    plans = run["plans"]["plans"]
    assert len(plans) == 3
    rows = driver.find_elements(By.CSS_SELECTOR, "table#plans tr.plan-row")
    assert [r.get_attribute("data-rank") for r in rows] == [str(p["rank"]) for p in plans]
    for row, plan in zip(rows, plans, strict=True):
        reach = float(row.find_element(By.CSS_SELECTOR, "td.reach").text.replace(",", ""))
        assert reach == pytest.approx(plan["weighted_reach"], abs=0.051)
        assert row.find_element(By.CSS_SELECTOR, "td.options").text == ", ".join(plan["options"])
    # Plan 1 is the library's own answer for the same scenario (settings as overridden).
    expected = api.solve(
        api.load(EXAMPLE, settings={"explain_time_s": 1}), plans=1, time_limit=10, threads=1
    )
    assert plans[0]["weighted_reach"] == pytest.approx(expected.plans[0].weighted_reach, rel=1e-9)
    priority = driver.find_elements(By.CSS_SELECTOR, "table#priority-list tr.priority-row")
    assert {r.get_attribute("data-option") for r in priority} == set(plans[0]["options"])

    # Every download the page links is served, under the run's id.
    links = {
        str(a.get_attribute("data-file")): str(a.get_attribute("href"))
        for a in driver.find_elements(By.CSS_SELECTOR, "section#downloads a.download")
    }
    assert {"plans.xlsx", "plans.json", "report.html"} <= set(links)
    for name, href in links.items():
        assert href == f"{desk.url}/api/runs/{run_id}/files/{name}"
        response = http.get(href)
        assert response.status_code == 200, (name, response.status_code)
    assert json.loads(http.get(links["plans.json"]).content)["plans"] == plans

    # The charts: report.html in its frame draws its SVG charts, with a size.
    report = http.get(links["report.html"]).text
    charts = report.count("<svg")
    assert charts >= 1
    frame = driver.find_element(By.ID, "report-frame")
    driver.execute_script("arguments[0].scrollIntoView()", frame)
    driver.switch_to.frame(frame)
    try:
        drawn = wait_until(
            lambda: driver.find_elements(By.TAG_NAME, "svg"), 15, "the report's charts"
        )
        assert len(drawn) == charts
        assert all(svg.size["width"] > 0 and svg.size["height"] > 0 for svg in drawn)
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg rect")) >= len(plans)
    finally:
        driver.switch_to.default_content()
    driver.execute_script("window.scrollTo(0, 0)")
    print(f"run page screenshot: {screenshot(driver, 'run-done')}")


# --- a broken workbook: every problem, located, and the marked copy ------------------------


def test_a_broken_workbook_shows_every_problem_located_and_its_marked_copy(
    driver: WebDriver, desk: DeskServer, http: httpx.Client, tmp_path: Path
) -> None:
    broken = tmp_path / "broken example.xlsx"
    shutil.copyfile(EXAMPLE, broken)
    put_cells(broken, "Options", {"F2": -5})  # a negative cost
    put_cells(broken, "Coverage", {"B3": "ZZ"})  # a market that is not in Markets
    expected = validate_lines(broken)
    assert len(expected) >= 2
    runs_before = len(http.get("/api/runs").json()["runs"])

    upload(driver, desk, broken, label="broken")
    landed_on(driver, r"/problems/([^/?#]+)$")
    count = driver.find_element(By.ID, "problem-count")
    assert count.get_attribute("data-count") == str(len(expected))
    shown = [
        {
            key: row.find_element(By.CSS_SELECTOR, f"td.{key}").text
            for key in ("sheet", "row", "column", "value", "expected")
        }
        for row in driver.find_elements(By.CSS_SELECTOR, "table#problems tr.problem")
    ]
    assert len(shown) == len(expected)
    located = sorted((p["sheet"], p["row"], p["column"], p["expected"]) for p in shown)
    assert located == sorted((p["sheet"], p["row"], p["column"], p["expected"]) for p in expected)
    assert ("Options", "2", "cost") in {(p["sheet"], p["row"], p["column"]) for p in shown}
    assert ("Coverage", "3", "market_id") in {(p["sheet"], p["row"], p["column"]) for p in shown}
    for page, command in zip(
        sorted(shown, key=lambda p: (p["sheet"], p["row"])),
        sorted(expected, key=lambda p: (p["sheet"], p["row"])),
        strict=True,
    ):
        assert same_value(page["value"], command["value"]), (page, command)
    screenshot(driver, "problems")

    # The team's own workbook, each bad cell marked with what was expected.
    link = driver.find_element(By.ID, "annotated-link").get_attribute("href")
    assert link
    marked = http.get(link)
    assert marked.status_code == 200 and marked.headers["content-type"] == XLSX
    (tmp_path / "marked.xlsx").write_bytes(marked.content)
    book = load_workbook(tmp_path / "marked.xlsx")
    for sheet, cell in (("Options", "F2"), ("Coverage", "B3")):
        comment = book[sheet][cell].comment
        assert comment is not None and "expected" in comment.text, (sheet, cell)
    assert len(http.get("/api/runs").json()["runs"]) == runs_before  # nothing was queued


# --- names that are markup stay text ---------------------------------------------------------


def test_names_that_are_markup_are_shown_as_text_and_nothing_runs(
    driver: WebDriver, desk: DeskServer, http: httpx.Client, tmp_path: Path
) -> None:
    tables = small_tables()
    for sheet in ("Options", "Coverage"):
        for row in tables[sheet][1:]:
            if row[0] == "O1":
                row[0] = SCRIPT
    tables["Options"][1][2] = IMAGE
    workbook = write_workbook(tmp_path / "markup.xlsx", tables)
    api.load(workbook)  # valid: markup is only text in a name

    upload(driver, desk, workbook, label=LABEL)
    run_id = landed_on(driver, r"/runs/([0-9a-f]{12})$")
    run = finished_run_page(driver, http, run_id)
    assert run["status"] == "done", run
    assert no_alert(driver)
    assert SCRIPT in run["plans"]["plans"][0]["options"]

    title = driver.find_element(By.ID, "run-title").text
    assert LABEL in title
    cells = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table#plans td.options")]
    assert any(SCRIPT in text for text in cells), cells
    options = driver.find_elements(By.CSS_SELECTOR, "table#priority-list tr.priority-row")
    assert SCRIPT in {r.get_attribute("data-option") for r in options}
    injected = """
        return {
          label: document.querySelectorAll('#injected-label').length,
          images: Array.from(document.images).map(i => i.getAttribute('src')),
          scripts: Array.from(document.scripts).map(s => s.getAttribute('src') || s.text),
        };"""
    dom = driver.execute_script(injected)
    assert dom["label"] == 0
    assert "x" not in dom["images"]
    # The desk's own scripts only: an injected one would be inline or from elsewhere.
    assert dom["scripts"] and all(src.startswith("/static/") for src in dom["scripts"]), dom
    screenshot(driver, "markup-run")

    # The report in its frame shows the names as text too.
    driver.switch_to.frame(driver.find_element(By.ID, "report-frame"))
    try:
        assert SCRIPT in driver.find_element(By.TAG_NAME, "body").text
        framed = driver.execute_script(injected)
        assert framed["label"] == 0 and "x" not in framed["images"]
        assert not any("alert" in s for s in framed["scripts"])
    finally:
        driver.switch_to.default_content()

    driver.get(f"{desk.url}/runs")
    assert no_alert(driver)
    assert driver.execute_script(injected)["label"] == 0
    assert LABEL in driver.find_element(By.ID, "runs").text


# --- the runs list -----------------------------------------------------------------------


def test_the_runs_list_is_newest_first_and_filters_by_name(
    driver: WebDriver, desk: DeskServer, http: httpx.Client, tmp_path: Path
) -> None:
    workbook = write_workbook(tmp_path / "small.xlsx", small_tables())
    ids = []
    for label in ("listed run one", "listed run two", "another name"):
        response = http.post(
            "/api/runs",
            data={"label": label, "settings": json.dumps({"explain_time_s": 1})},
            files={"workbook": (workbook.name, workbook.read_bytes(), XLSX)},
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    newest_first = [r["id"] for r in http.get("/api/runs").json()["runs"]]
    assert newest_first[:3] == ids[::-1]

    driver.get(f"{desk.url}/runs")
    rows = driver.find_elements(By.CSS_SELECTOR, "table#runs tr.run-row")
    assert [r.get_attribute("data-run-id") for r in rows] == newest_first
    submitted = [r.find_elements(By.TAG_NAME, "td")[5].text for r in rows]
    assert submitted == sorted(submitted, reverse=True)

    box = driver.find_element(By.ID, "filter-label")
    box.clear()
    box.send_keys("listed run")
    driver.find_element(By.ID, "filter-button").click()
    wait_until(lambda: "label=listed+run" in driver.current_url, 15, "the filtered list")
    rows = driver.find_elements(By.CSS_SELECTOR, "table#runs tr.run-row")
    assert [r.get_attribute("data-run-id") for r in rows] == [ids[1], ids[0]]
    screenshot(driver, "runs-filtered")

    driver.get(f"{desk.url}/runs?label=no+such+name")
    assert driver.find_elements(By.ID, "no-runs")
    assert not driver.find_elements(By.CSS_SELECTOR, "tr.run-row")
    for run_id in ids:  # end them here, so the server stops with nothing running
        assert wait_for(http, run_id, timeout=RUN_WAIT_S)["status"] == "done"
