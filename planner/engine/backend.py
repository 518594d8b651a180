"""What the pool needs from whatever runs its tasks (local processes, a Dask cluster)."""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Protocol, TypeVar

from planner.engine.task import Finished, Task

T = TypeVar("T")


@dataclass(frozen=True)
class Report:
    """A dispatched task came back: `finished` as `run_in_worker` gave it, or None when
    the worker process died under it (local workers; the pool decides what next)."""

    ticket: int
    finished: Finished | None


class Backend(Protocol):
    """Runs tasks somewhere; the pool decides what runs when and for how long."""

    #: How many tasks run at once (the pool's time shares count rounds of them).
    slots: int
    #: How many more the pool may hand over beyond `slots`, to wait where they run: on a
    #: cluster a task finishing is then followed at once by the next one, instead of
    #: after a round trip through this process (local workers: 0).
    ahead: int

    def start(self, ticket: int, task: Task, seconds: float) -> None:
        """Dispatch `task` with `seconds` to take; it comes back as a `Report(ticket)`."""
        ...

    def running(self) -> int:
        """Tasks dispatched and not yet collected."""
        ...

    def collect(self, timeout: float) -> list[Report]:
        """The tasks that came back, waiting up to `timeout` s for at least one."""
        ...

    def close(self, *, abort: bool) -> None:
        """Release the workers; `abort` stops tasks in flight at once (Ctrl-C, an error)."""
        ...


def drain(arrived: queue.SimpleQueue[T], timeout: float) -> list[T]:
    """What has arrived: waits up to `timeout` for the first item, then takes the rest
    without waiting, so one collect reports every task finished meanwhile."""
    try:
        items = [arrived.get(timeout=max(0.0, timeout))]
    except queue.Empty:
        return []
    while True:
        try:
            items.append(arrived.get_nowait())
        except queue.Empty:
            return items
