"""How a batch shows its progress: a bar rewritten in place on a terminal, a few plain
lines in a log, nothing for a quick batch."""

from __future__ import annotations

import io

from planner.engine import BatchStatus
from planner.reports.batch_progress import BatchProgressDisplay, batch_bar, batch_line, duration


def state(done: int, running: int = 0, queued: int = 0, elapsed: float = 10.0, **more: object):
    numbers = {"failed": 0, "resumed": 0, "eta_s": None, **more}
    return BatchStatus(done=done, running=running, queued=queued, elapsed_s=elapsed, **numbers)  # type: ignore[arg-type]


def test_the_line_says_done_of_all_then_what_is_running_failed_resumed_and_time() -> None:
    assert batch_line(state(3, 2, 5, 12.4)) == "3/10 done, 2 running, 12 s elapsed"
    busy = state(37, 2, 81, 83.0, failed=3, resumed=10, eta_s=250.0)
    assert batch_line(busy) == (
        "37/120 done, 2 running, 3 failed, 10 resumed, 1 min 23 s elapsed, about 4 min 10 s left"
    )
    assert batch_line(state(120, elapsed=7384.0, eta_s=0.0)) == "120/120 done, 2 h 03 min elapsed"
    assert [duration(s) for s in (0.4, 59.4, 60, 3599, 3600)] == [
        "0 s", "59 s", "1 min 00 s", "59 min 59 s", "1 h 00 min",
    ]  # fmt: skip
    assert batch_bar(state(5, 0, 15), width=8) == "[##......]"
    assert batch_bar(state(0), width=4) == "[####]"


def test_on_a_terminal_one_line_is_rewritten_in_place_and_ended_by_close() -> None:
    out = io.StringIO()
    show = BatchProgressDisplay(out, tty=True, width=50, redraw_every=0.0)
    show(state(0, 2, 8, elapsed=0.5))
    assert out.getvalue() == ""  # quiet on quick batches
    show(state(4, 2, 4, elapsed=2.5))
    show(state(10, elapsed=3.0))
    text = out.getvalue()
    assert "\n" not in text
    updates = text.split("\r")[1:]
    assert updates[0] == "[########............] 4/10 done, 2 running, 2 s \x1b[K"  # cut to width
    assert updates[1].startswith("[####################] 10/10 done")
    show.close()
    assert out.getvalue().endswith("\n")


def test_in_a_log_plain_lines_come_at_most_every_few_seconds_and_at_the_end() -> None:
    out = io.StringIO()
    show = BatchProgressDisplay(out, tty=False, plain_every=3600)
    for done in range(1, 10):
        show(state(done, 1, 9 - done, elapsed=2.0 + done))
    show(state(10, elapsed=12.0))
    show(state(10, elapsed=12.1))  # the end is shown once
    assert out.getvalue().splitlines() == [
        "1/10 done, 1 running, 3 s elapsed",
        "10/10 done, 12 s elapsed",
    ]
    show.close()
    assert out.getvalue().count("\n") == 2


def test_a_quick_batch_shows_nothing() -> None:
    out = io.StringIO()
    show = BatchProgressDisplay(out, tty=False)
    show(state(0, 1, 1, elapsed=0.1))
    show(state(2, elapsed=0.3))
    show.close()
    assert out.getvalue() == ""
