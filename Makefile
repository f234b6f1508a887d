# The README's commands. Every target makes the virtualenv it needs first.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp

.PHONY: run test lint bench install clean

# `make run` serves for development: generated secrets, plain-HTTP cookies, the debugger off.
run: export FLASK_DEPLOYMENT ?= development
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) setup-link --base-url http://$(HOST):$(PORT)
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

# Admin pages and the token endpoint against 10,000 projects and 1,000,000 audit events.
# It rebuilds the database it is given: never point it at one you keep.
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/webapp_bench
bench: $(VENV)/.installed-test
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE webapp_bench" 2>/dev/null || true
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/admin_pages.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check webapp tests migrations bench
	$(BIN)/ruff format --check webapp tests migrations bench
	$(BIN)/mypy

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache test-output
