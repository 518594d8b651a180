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

.PHONY: bench bench-quick

# Full performance benchmark (~60 min on 2 cores; see bench/README.md).
bench: $(STAMP)
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run_bench.py --sizes S,M,L,XL --runs 3

# Smoke run of the benchmark (S only, one run, < 2 min).
bench-quick: $(STAMP)
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run_bench.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
