"""SPEC §10: a submission is answered `202 {"id", "status": "queued"}` even when a worker
was idle and the run started before the answer went out (workers that start with the
solver loaded made that common)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import anyio

from planner.desk.api_routes import submit_workbook
from planner.desk.app import Desk
from planner.desk.config import DeskConfig
from planner.desk.store import RunStore
from planner.desk.uploads import Rejections
from planner.scenario.data import Scenario

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class _Upload:
    filename: str
    file: io.BytesIO


class _StartsAtOnce:
    """A dispatcher whose idle worker takes the run the moment it is queued."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def submit(self, run_id: str, scenario: Scenario) -> None:
        assert self.store.update_if(run_id, ("queued",), status="running") is not None


def test_the_answer_says_queued_though_the_run_already_started(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    config = DeskConfig(data=tmp_path)
    desk = Desk(
        config=config,
        store=store,
        dispatcher=_StartsAtOnce(store),  # type: ignore[arg-type]
        secret=b"0" * 32,
        rejections=Rejections(tmp_path / "rejected"),
        comparisons=None,  # type: ignore[arg-type]
        uploads=tmp_path / "uploads",
    )
    desk.uploads.mkdir()
    upload = _Upload("example.xlsx", io.BytesIO((ROOT / "inputs" / "example.xlsx").read_bytes()))

    async def submit() -> object:
        return await submit_workbook(
            desk,
            upload,  # type: ignore[arg-type]
            scenario=None,
            plans=None,
            time_limit=None,
            settings=None,
            label=None,
        )

    submitted = anyio.run(submit)
    run = submitted.run  # type: ignore[attr-defined]
    assert run is not None and run.status == "queued"
    assert store.get(run.id).status == "running"  # it did start meanwhile
