# SafeChain (安链) — every entry point a person or CI needs.
# `make demo` runs the product; `make test` runs the whole suite. Both set themselves up.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CATALOGS := locale/zh_Hans/LC_MESSAGES/django.po locale_vendor/zh_Hans/LC_MESSAGES/django.po

.PHONY: demo demo-check test lint typecheck messages install clean help bench bench-smoke

help:
	@echo "make demo        run the embedded product (SQLite, web + worker + beat, demo data)"
	@echo "make test        lint, migration check and the whole pytest suite"
	@echo "make demo-check  start the demo in a fresh var/, check it end to end, stop it"
	@echo "make messages    refresh and compile the zh_Hans/en message catalogs"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: export DEBUG ?= 1
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_data
	$(BIN)/python manage.py run_demo

# A fresh var/ of its own, so a running `make demo` and its data are untouched.
demo-check: export DEBUG ?= 1
demo-check: export SAFECHAIN_VAR_DIR := $(CURDIR)/var/demo-check
demo-check: export DEMO_PORT ?= 8001
demo-check: $(STAMP)
	rm -rf "$(SAFECHAIN_VAR_DIR)"
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_data
	$(BIN)/python manage.py demo_check --port $(DEMO_PORT)

# Uses DATABASE_URL / CELERY_BROKER_URL when set (CI: PostgreSQL and Redis); SQLite and an
# in-memory broker otherwise.
test: export DEBUG ?= 1
test: export CELERY_BROKER_URL ?= memory://
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check
	$(BIN)/mypy accounts workflows project
	$(BIN)/python locale_vendor/check_catalog.py $(CATALOGS)
	mkdir -p var/ci
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Our strings are English msgids; Chinese lives in locale/translations/zh_Hans.json (reviewed by
# people) and is filled into the catalog here. viewflow's strings live in locale_vendor/.
messages: export DEBUG ?= 1
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --no-wrap --no-obsolete \
		--ignore=.venv --ignore=var --ignore=locale_vendor --ignore=tests --ignore=bench
	$(BIN)/python scripts/fill_po.py locale/zh_Hans/LC_MESSAGES/django.po locale/translations/zh_Hans.json
	$(BIN)/python manage.py compilemessages --ignore=.venv
	$(BIN)/python locale_vendor/check_catalog.py $(CATALOGS)

# City-scale benchmark on PostgreSQL (DATABASE_URL's server; creates its own safechain_bench* database).
bench: export DEBUG ?= 1
bench: export CELERY_BROKER_URL ?= memory://
bench: $(STAMP)
	$(BIN)/python -m bench.run --hazards $(or $(HAZARDS),1000000) $(BENCH_ARGS)

# ~10,000 hazards; asserts query counts and plan shapes only (never times). CI runs it.
bench-smoke: export DEBUG ?= 1
bench-smoke: export CELERY_BROKER_URL ?= memory://
bench-smoke: $(STAMP)
	$(BIN)/python -m bench.smoke

clean:
	rm -rf var/demo-check .pytest_cache .ruff_cache .mypy_cache
