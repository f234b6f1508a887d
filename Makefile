# The README's commands. Every target first installs what it needs from uv.lock.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp

# uv installs from the lock; it is itself pinned and comes from PyPI into a venv of its own.
UV_VERSION := 0.13.9
UV := .uv/bin/uv
SYNC := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --python $(PYTHON)

.PHONY: run serve test lint lock lock-check bench bench-outage bench-admin bench-serve dist install clean

# `make run` serves for development: generated secrets, plain-HTTP cookies, the debugger off.
run: export FLASK_DEPLOYMENT ?= development
run: PORT ?= 5000
run: export FLASK_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) setup-link --base-url http://$(HOST):$(PORT)
	$(FLASK) run --host $(HOST) --port $(PORT)

# `make serve` is the production server the benchmark chose (bench/RESULTS.md); WORKERS and
# THREADS default to the number of CPUs and 4. It does not migrate: run `db upgrade` first.
# Unless PROMETHEUS_MULTIPROC_DIR is set, each start gives the workers a fresh, empty one.
serve: PORT ?= 8000
serve: $(VENV)/.installed-serve
	$(BIN)/webapp-serve --host $(HOST) --port $(PORT) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(THREADS),--threads $(THREADS))

test: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

# The token path over HTTP (bench/token_bench.py, Debian's `wrk` and `npm`): prints the table and
# writes its section of bench/RESULTS.md. SQLite by default; BENCH_DATABASE_URL names a
# PostgreSQL database to use instead, which it rebuilds, with a second one (name + `_large`).
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/token_bench.py \
		$(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) $(BENCH_ARGS)

# A PostgreSQL restart under load on a throwaway cluster, with and without TOKEN_STALE_IF_ERROR
# (bench/outage_bench.py; PostgreSQL's initdb and pg_ctl, and wrk).
bench-outage: $(VENV)/.installed-bench
	$(BIN)/python bench/outage_bench.py $(BENCH_ARGS)

# Admin pages and the token endpoint in process against 10,000 projects and 1,000,000 audit
# events. It rebuilds the database it is given: never point it at one you keep.
BENCH_ADMIN_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/webapp_bench
bench-admin: $(VENV)/.installed-test
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE webapp_bench" 2>/dev/null || true
	BENCH_DATABASE_URL=$(BENCH_ADMIN_DATABASE_URL) $(BIN)/python bench/admin_pages.py

# The production servers over real HTTP with wrk (Debian's `wrk`): bench/serve_bench.py.
bench-serve: $(VENV)/.installed-bench
	$(BIN)/python bench/serve_bench.py $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check webapp tests migrations bench
	$(BIN)/ruff format --check webapp tests migrations bench
	$(BIN)/mypy

# After a change to the dependencies in pyproject.toml: re-resolve and commit uv.lock.
lock: $(UV)
	$(UV) lock

# CI: the lock must match pyproject.toml.
lock-check: $(UV)
	$(UV) lock --check

# The deployment unit: the wheel (templates, static files and migrations inside) and the
# locked versions of what it needs, for `pip install -r requirements.txt webapp-*.whl`.
DIST_DIR ?= dist
dist: $(UV)
	$(UV) build --wheel --out-dir $(DIST_DIR)
	$(UV) export --locked --no-emit-project --no-hashes --extra postgres \
		--output-file $(DIST_DIR)/requirements.txt >/dev/null

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install -q uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(SYNC)
	touch $@

# Production may name PostgreSQL: its driver too. --inexact keeps the test extras if present.
$(VENV)/.installed-serve: pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra postgres --inexact
	touch $@ $(VENV)/.installed

$(VENV)/.installed-test: pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra test --extra postgres
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra test --extra postgres --extra bench
	touch $@ $(VENV)/.installed $(VENV)/.installed-test

clean:
	rm -rf $(VENV) .uv .pytest_cache test-output dist
