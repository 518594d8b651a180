"""A worker's memo: a value made once per equal key, the most recently used kept."""

from __future__ import annotations

from planner.engine.worker_memo import WorkerMemo


def test_an_equal_key_finds_the_value_made_for_it_and_the_oldest_is_let_go() -> None:
    made: list[str] = []
    memo: WorkerMemo[tuple[str, int], str] = WorkerMemo(kept=2)

    def make(name: str):
        def build() -> str:
            made.append(name)
            return name.upper()

        return build

    assert memo.get(("a", 1), make("a")) == "A"
    assert memo.get(("a", 1), make("a-again")) == "A"  # equal, not identical: found
    assert memo.get(("b", 2), make("b")) == "B"
    assert memo.get(("a", 1), make("a-again")) == "A"  # a is now the most recent
    assert memo.get(("c", 3), make("c")) == "C"  # b, the oldest, goes
    assert memo.get(("a", 1), make("a-again")) == "A"
    assert memo.get(("b", 2), make("b-again")) == "B-AGAIN"
    assert made == ["a", "b", "c", "b-again"]
    assert memo.values() == ["A", "B-AGAIN"] and len(memo) == 2
    memo.clear()
    assert memo.get(("a", 1), make("a-last")) == "A-LAST"
