PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint example template bench-read clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/planner solve inputs/example.xlsx

# Everything CI runs: lint, format, types, import contracts, tests.
test: $(STAMP)
	$(BIN)/ruff check planner tests inputs bench
	$(BIN)/ruff format --check planner tests inputs bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check planner tests inputs bench
	$(BIN)/ruff format --check planner tests inputs bench
	$(BIN)/mypy
	$(BIN)/lint-imports

example: $(STAMP)
	$(BIN)/python inputs/build_example.py inputs/example.xlsx

template: $(STAMP)
	$(BIN)/planner template inputs/template.xlsx

bench-read: $(STAMP)
	$(BIN)/python bench/read_bench.py --runs 5

.PHONY: fuzz

# Many cell-level mutations of the example workbook (make test replays a few).
fuzz: $(STAMP)
	PLANNER_FUZZ_EXAMPLES=400 $(BIN)/pytest tests/test_fuzz_workbook.py -p no:cacheprovider

.PHONY: bench bench-quick bench-whatif bench-explain

# Full performance benchmark (~60 min on 2 cores; see bench/README.md).
bench: $(STAMP)
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run_bench.py --sizes S,M,L,XL --runs 3
	$(BIN)/python bench/whatif_bench.py --runs 5
	$(BIN)/python bench/explain_bench.py --runs 3

# Many solves: sweeps on 1 and 2 local workers and on Dask, the frontier (~8 min).
bench-whatif: $(STAMP)
	$(BIN)/python bench/whatif_bench.py --runs 5

# Plan 1's explanations at S within 60 s: how many are exact, the width left open (~4 min).
bench-explain: $(STAMP)
	$(BIN)/python bench/explain_bench.py --runs 3

# Smoke run of the benchmark (S only, one run, < 2 min).
bench-quick: $(STAMP)
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run_bench.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
