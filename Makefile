# Fieldline: `make run` installs everything and serves the demo; `make test` runs the whole suite
# on SQLite + SpatiaLite and on PostgreSQL + PostGIS.
SHELL := /bin/bash
PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install run test test-sqlite test-postgres lint bench clean test-ts test-ts-postgres

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system.sh clients/python/pyproject.toml
	bash scripts/install-system.sh
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e clients/python
	touch $(STAMP)

run: install
	$(VENV)/bin/fieldline seed demo
	$(VENV)/bin/fieldline serve --host $(HOST) --port $(PORT)

test: install test-ts
	bash scripts/ensure-postgres.sh "$(TEST_PG_URL)"
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	FIELDLINE_TEST_DB=sqlite $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-postgres:
	FIELDLINE_TEST_DB=postgres FIELDLINE_TEST_PG_URL="$(TEST_PG_URL)" $(PY) -m pytest -q -p no:cacheprovider -m db $(PYTEST_ARGS)

# The TypeScript SDK: npm ci, tsc --strict, node --test against real servers (needs Node 20+).
test-ts: install
	bash scripts/test-typescript.sh

# The same TypeScript SDK tests against servers on PostgreSQL + PostGIS.
test-ts-postgres: install
	bash scripts/ensure-postgres.sh "$(TEST_PG_URL)"
	FIELDLINE_TS_TEST_DB=postgres FIELDLINE_TS_TEST_PG_URL="$(TEST_PG_URL)" bash scripts/test-typescript.sh

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/sync_bench.py
	$(PY) bench/geo_bench.py
	$(PY) bench/media_bench.py
	$(PY) bench/ocr_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache
