# Two commands set up everything on a fresh machine:
#   make serve   — the portal with every service, on an embedded SQLite database
#   make test    — the whole test suite (PostgreSQL too where TSONKH_TEST_POSTGRES_URL is set)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test check lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/tsonkh check service_defs examples
	$(BIN)/tsonkh serve $(ARGS)

test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup $(ARGS)

check: $(STAMP)
	$(BIN)/tsonkh check --strict service_defs examples

lint: $(STAMP)
	$(BIN)/ruff check engine tests
	$(BIN)/mypy engine

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench $(ARGS)

docs: $(STAMP)
	$(BIN)/tsonkh docs site/

clean:
	rm -rf $(VENV) data site .pytest_cache .mypy_cache .ruff_cache
