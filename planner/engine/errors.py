"""The one error the engine raises for trouble a user can act on."""

from __future__ import annotations


class EngineError(Exception):
    """The batch cannot run as asked: an unreachable scheduler, workers without the
    planner, a journal of another command on `--resume`, a bad worker count.

    The message is one sentence saying what is wrong and what to check, so the
    command line prints it as it is (no traceback) and exits.
    """
