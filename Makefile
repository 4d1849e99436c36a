# allotment's front door: `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test check lint types imports bench bench-smoke clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "allotment needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/allotment demo
	$(BIN)/allotment fix serve & trap 'kill $$! 2>/dev/null' EXIT; $(BIN)/allotment serve

test: $(STAMP) chromium nginx
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

# The docs pages' browser test drives Debian's Chromium: install it where apt-get can (root).
.PHONY: chromium
chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

# The system test (tests/system) puts Debian's nginx in front of several app processes.
.PHONY: nginx
nginx:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint types imports test

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/etna_batch.py
	$(BIN)/python bench/block_fill.py
	$(BIN)/python bench/bookbuilding_search.py
	$(BIN)/python bench/fix_alloc.py
	$(BIN)/python bench/desk_blotter.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/growth.py
	$(BIN)/python bench/small_writes.py --clients 4 --workers 2 --seconds 30
	$(BIN)/python bench/small_writes.py --clients 8 --workers 2 --seconds 30
	$(BIN)/python bench/small_writes.py --clients 8 --via-proxy --seconds 30

# Every benchmark at a small size, on SQLite and (when a PostgreSQL URL is set) PostgreSQL: CI
# runs it so that a benchmark cannot rot unnoticed. The figures mean little at this size.
bench-smoke: $(STAMP)
	$(BIN)/python bench/engine.py --sizes 1000,10000
	$(BIN)/python bench/etna_batch.py --items 200
	$(BIN)/python bench/block_fill.py --participants 1000
	$(BIN)/python bench/bookbuilding_search.py --allocations 10000 --runs 3
	$(BIN)/python bench/fix_alloc.py --instructions 50
	$(BIN)/python bench/desk_blotter.py --allocations 10000 --blocks 200 --runs 2
	$(BIN)/python bench/import_file.py --rows 2000 --accounts 100
	$(BIN)/python bench/fairness.py --rows 20000 --accounts 20
	$(BIN)/python bench/growth.py --postings 20000 --items 200 --participants 1000 --cas 2000 --runs 3 --repeats 1
	$(BIN)/python bench/small_writes.py --clients 2 --seconds 3

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
