# The only commands CI and the README use. `make help` lists them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help install demo test test-sqlite lint typecheck fmt serve clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(VENV)/.installed  ## create .venv and install the project with its test tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: install  ## the whole migration on the synthetic clinic (emulator + local S3 + SQLite)
	$(BIN)/python -m clinic.demo

serve: install  ## after `make demo`: the migrated clinic in a browser (gallery, admin, report) on 127.0.0.1:8000
	$(BIN)/python -m clinic.serve_demo

test: install  ## every test: each suite where it proves something (SQLite, PostgreSQL started by the script, the noxfile stacks), timed
	bash scripts/test.sh

test-sqlite: install  ## the suite on SQLite only
	$(BIN)/pytest

lint: install  ## ruff lint and format check, mypy type check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

typecheck: install  ## mypy alone (strict on the Django-free core, see pyproject.toml)
	$(BIN)/mypy

fmt: install  ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:  ## remove local state (databases, reports, demo data)
	rm -rf var
