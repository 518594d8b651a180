"""The README's picture of the scenario desk: the example's run page, as a team sees it.

Starts `planner serve` on a free port of 127.0.0.1 with a throw-away data folder,
submits `inputs/example.xlsx` from the front page in headless Chromium (Debian's
package, see browser.py), waits for the run to end and saves the top of its run page
(title, facts, downloads, ranked plans, plan 1's explanations) as a PNG:

    .venv/bin/python -m tests.desk.screenshot                 # docs/desk-run-page.png
    .venv/bin/python -m tests.desk.screenshot --out other.png

Run it again after a change to the run page's look, and commit the PNG.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the test helpers, as pytest finds them

from browser import chromium, missing, wait_until  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from server import FINISHED, desk_server, wait_for  # noqa: E402

EXAMPLE = ROOT / "inputs" / "example.xlsx"
OUT = ROOT / "docs" / "desk-run-page.png"
#: The picture's size in CSS pixels: wide enough for the plans table, tall enough for
#: the explanations.
WIDTH, HEIGHT = 1280, 1500
#: Long enough for plan 1's explanations to be exact on a laptop (the run takes ~15 s).
EXPLAIN_S = 20


def take(out: Path) -> Path:
    """Run the example through the desk's pages and save its run page to `out`."""
    tmp = Path(tempfile.mkdtemp(prefix="desk-screenshot-"))
    try:
        with (
            desk_server(tmp / "desk") as desk,
            desk.client() as http,
            chromium(tmp / "profile", width=WIDTH, height=HEIGHT) as driver,
        ):
            driver.get(desk.url + "/")
            driver.find_element(By.ID, "workbook").send_keys(str(EXAMPLE))
            driver.find_element(By.ID, "label").send_keys("Q3 portfolio review")
            driver.find_element(By.ID, "plans").send_keys("3")
            driver.find_element(By.ID, "settings").send_keys(f"explain_time_s = {EXPLAIN_S}")
            driver.find_element(By.ID, "submit-button").click()
            found = wait_until(
                lambda: re.search(r"/runs/([0-9a-f]{12})$", driver.current_url),
                30,
                "the run page",
            )
            run = wait_for(http, found.group(1), timeout=300)
            if run["status"] != "done":
                raise SystemExit(f"the example's run ended {run['status']}: {run['error']}")
            status = "return document.getElementById('run-status')?.dataset.status"
            wait_until(lambda: driver.execute_script(status) in FINISHED, 30, "the result")
            out.parent.mkdir(parents=True, exist_ok=True)
            if not driver.save_screenshot(str(out)):
                raise SystemExit(f"no screenshot was written to {out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"the PNG (default {OUT})")
    args = parser.parse_args()
    reason = missing()
    if reason:
        raise SystemExit(f"cannot take the screenshot: {reason}")
    print(take(args.out))


if __name__ == "__main__":
    main()
