"""OR-Library multidimensional knapsack files as scenarios (shared by tests and the benchmark).

File format (SOURCES.md): K problems; each `n m opt`, n profits, m rows of n
coefficients, m right-hand sides; one whitespace-separated token stream.

Mapping: item j is option O_j of cost r(1,j) reaching only its own market M_j
(weight p(j), addressable 1, reach 1); the first constraint is the budget, the
others are Resources. The planner's optimum is then the knapsack's optimum.
"""

from __future__ import annotations

from pathlib import Path

from planner.scenario.data import (
    Coverage,
    Market,
    Option,
    Partner,
    Resource,
    Scenario,
    Settings,
    Usage,
)

Problem = tuple[list[float], list[list[float]], list[float], float]
"""(profits, constraint rows, right-hand sides, optimum given in the file or 0)."""


def read_mknap(path: Path) -> list[Problem]:
    tokens = path.read_text().split()
    pos = 0

    def take(n: int) -> list[float]:
        nonlocal pos
        out = [float(t) for t in tokens[pos : pos + n]]
        pos += n
        return out

    problems: list[Problem] = []
    for _ in range(int(take(1)[0])):
        n, m, opt = take(3)
        profits = take(int(n))
        rows = [take(int(n)) for _ in range(int(m))]
        rhs = take(int(m))
        problems.append((profits, rows, rhs, opt))
    return problems


def knapsack_scenario(
    profits: list[float], rows: list[list[float]], rhs: list[float], time_limit: float = 60.0
) -> Scenario:
    n = len(profits)
    return Scenario(
        name="mknap",
        settings=Settings(budget=rhs[0], home_country="X", plans=1, time_limit_s=time_limit),
        markets=tuple(
            sorted(
                (Market(f"M{j}", f"M{j}", "R", profits[j], 1.0) for j in range(n)),
                key=lambda m: m.market_id,
            )
        ),
        partners=(Partner("P", "P", "X", 100.0),),
        options=tuple(
            sorted(
                (Option(f"O{j}", "P", f"O{j}", "l", None, rows[0][j]) for j in range(n)),
                key=lambda o: o.option_id,
            )
        ),
        coverage=tuple(sorted(Coverage(f"O{j}", f"M{j}", 1.0) for j in range(n))),
        resources=tuple(
            sorted(
                (Resource(f"r{i}", rhs[i]) for i in range(1, len(rows))),
                key=lambda r: r.resource,
            )
        ),
        usage=tuple(
            sorted(
                Usage(f"O{j}", f"r{i}", rows[i][j])
                for i in range(1, len(rows))
                for j in range(n)
                if rows[i][j] > 0
            )
        ),
    )
