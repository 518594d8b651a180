"""How a batch of solves (a sweep, a scenario batch, a frontier) shows its progress on
the terminal: one bar rewritten in place, or a few plain lines in a log.

Plain values in (anything with the fields of the engine's `BatchStatus`): reports know
nothing of the engine. Terminal or not is decided as `terminal.ProgressDisplay` does,
for the same reasons: a rewrite leaves control characters in a log, and a line per
change would flood it.
"""

from __future__ import annotations

import math
import time
from typing import Protocol, TextIO

from planner.reports.status_line import StatusLine
from planner.reports.terminal import QUIET_SECONDS

#: Where the output is not a terminal, a line at most this often (seconds), and one
#: when the batch ends.
PLAIN_EVERY = 5.0
#: On a terminal, rewrites at most this often (seconds): many quick tasks would
#: otherwise redraw the line thousands of times a second.
REDRAW_EVERY = 0.1
#: Characters of the bar between its brackets.
BAR_WIDTH = 20


class BatchState(Protocol):
    """The numbers shown: tasks done (failed and resumed ones included), running,
    failed, queued and resumed; seconds elapsed; seconds left (None: unknown yet)."""

    @property
    def done(self) -> int: ...
    @property
    def running(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def queued(self) -> int: ...
    @property
    def resumed(self) -> int: ...
    @property
    def elapsed_s(self) -> float: ...
    @property
    def eta_s(self) -> float | None: ...


def duration(seconds: float) -> str:
    """Seconds as people read them: `42 s`, `3 min 05 s`, `2 h 07 min`."""
    whole = max(0, math.ceil(seconds - 0.5))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def batch_line(state: BatchState) -> str:
    """One line: `37/120 done, 2 running, 3 failed, 10 resumed, 1 min 23 s elapsed, about
    4 min 10 s left` (counts of zero failed or resumed are left out)."""
    total = state.done + state.running + state.queued
    parts = [f"{state.done}/{total} done"]
    if state.running:
        parts.append(f"{state.running} running")
    if state.failed:
        parts.append(f"{state.failed} failed")
    if state.resumed:
        parts.append(f"{state.resumed} resumed")
    parts.append(f"{duration(state.elapsed_s)} elapsed")
    if state.eta_s is not None and state.running + state.queued:
        parts.append(f"about {duration(state.eta_s)} left")
    return ", ".join(parts)


def batch_bar(state: BatchState, width: int = BAR_WIDTH) -> str:
    """`[#######.............]`: the share of tasks done."""
    total = state.done + state.running + state.queued
    filled = width if total == 0 else width * state.done // total
    return "[" + "#" * filled + "." * (width - filled) + "]"


class BatchProgressDisplay:
    """Shows a batch's progress on a text stream (stderr for the commands).

    On a terminal one line (bar and numbers) is rewritten in place, cut to the
    terminal's width; `close` ends it with a newline, so call it before writing
    anything else. Elsewhere plain lines come at most every `plain_every` s, and one
    when the batch has ended. Batches shorter than `quiet_for` s show nothing.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        width: int | None = None,
        quiet_for: float = QUIET_SECONDS,
        plain_every: float = PLAIN_EVERY,
        redraw_every: float = REDRAW_EVERY,
    ) -> None:
        self.line = StatusLine(stream, tty=tty, width=width)
        self.quiet_for = quiet_for
        self.plain_every = plain_every
        self.redraw_every = redraw_every
        self._shown = False
        self._ended = False
        self._last = -math.inf  # time.monotonic() of the last line written

    @property
    def tty(self) -> bool:
        return self.line.tty

    def __call__(self, state: BatchState) -> None:
        """Show `state` (or not: see the class)."""
        ended = state.running + state.queued == 0
        if not self._shown and state.elapsed_s < self.quiet_for:
            return
        if self._ended and ended:
            return  # the end was shown already
        now = time.monotonic()
        every = self.redraw_every if self.tty else self.plain_every
        if not ended and now - self._last < every:
            return
        line = batch_line(state)
        self.line.show(f"{batch_bar(state)} {line}" if self.tty else line)
        self._shown = True
        self._ended = ended
        self._last = now

    def close(self) -> None:
        """End the line shown in place, if any (nothing to do for plain lines)."""
        self.line.close()
