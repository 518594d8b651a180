"""What a worker process keeps between the tasks it runs: a few values, found by key.

Why: a task must be a function of its arguments alone (any worker, any order, the same
answer), yet building what it works on can cost more than the work itself — a held
HiGHS model per scenario for the frontier's points or an explanation's questions. A
worker that runs many tasks of one scenario builds it once and finds it again here.
Keys are compared by equality, not hashed (a scenario's equality is cheap, hashing its
pickle is not: 0.2 ms against 4 ms a task at S); the most recently used are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class WorkerMemo(Generic[K, V]):
    """The last `kept` values made by `get`, each with its key."""

    def __init__(self, kept: int = 2) -> None:
        self.kept = kept
        self._held: list[tuple[K, V]] = []

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value held for a key equal to `key`, or `make()`'s, then held (the oldest
        beyond `kept` let go)."""
        for i, (held, value) in enumerate(self._held):
            if held == key:
                self._held.append(self._held.pop(i))
                return value
        value = make()
        self._held.append((key, value))
        del self._held[: -self.kept]
        return value

    def values(self) -> list[V]:
        """The values held, the most recently used last."""
        return [value for _, value in self._held]

    def __len__(self) -> int:
        return len(self._held)

    def clear(self) -> None:
        """Let every value go."""
        self._held.clear()
