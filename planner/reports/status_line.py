"""One line of progress on a text stream, for every progress display of the commands.

On a terminal the line is rewritten in place (carriage return, clear to end of line)
and cut to the terminal's width so it never wraps; `close` ends it with a newline,
so call it before writing anything else. Where the stream is not a terminal (a log
file, CI) a rewrite would leave control characters, so each line is written whole
instead; how often is the display's own decision.
"""

from __future__ import annotations

import os
import shutil
from typing import TextIO


class StatusLine:
    """Writes progress lines to `stream`: in place on a terminal, plain lines elsewhere.

    `tty` and `width` override what the stream says (tests, and callers that know)."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, width: int | None = None):
        self.stream = stream
        self.tty = _is_terminal(stream) if tty is None else tty
        self.width = width
        self._open_line = False

    def show(self, text: str) -> None:
        """Write `text`: over the previous line on a terminal, as a new line elsewhere."""
        if self.tty:
            width = self.width or _columns(self.stream)
            self.stream.write("\r" + text[: max(1, width - 1)] + "\x1b[K")
            self._open_line = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the line shown in place, if any (nothing to do for plain lines)."""
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


def _columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to (`COLUMNS` or 80 when it says 0 or
    cannot tell, as in some pseudo-terminals)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns if columns > 0 else shutil.get_terminal_size().columns
