# Two commands a newcomer needs:  make demo  and  make test.
# Both install what is missing: a virtual environment with the package, and Chromium.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench setup chromium clean

demo: setup  ## open a browser on the embedded local server, screenshot a page, print where
	$(BIN)/python recipes/screenshot.py

test: setup lint  ## the whole suite, as CI runs it
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache  # the import contracts in pyproject.toml
	$(BIN)/python tools/import_cycles.py
	$(BIN)/python tools/module_size.py  # no module over 400 lines of code

bench: setup  ## the local server's benchmarks: ratios against a named baseline (BENCHMARKS.md)
	$(BIN)/python bench/time_to_page.py
	$(BIN)/python bench/first_call.py
	$(BIN)/python bench/page_actions.py
	$(BIN)/python bench/cdp_relay.py
	$(BIN)/python bench/recording_overhead.py
	$(BIN)/python bench/pytest_suite.py

setup: chromium $(STAMP)
	@# Bytecode ahead, as pip's install writes it and an editable install does not: under
	@# PYTHONDONTWRITEBYTECODE every process (the embedded server's) compiled bu_cdp again.
	@$(BIN)/python -m compileall -q bu_cdp conftest_plugin >/dev/null

chromium:
	@scripts/ensure-chromium

$(STAMP): pyproject.toml
	@PYTHON=$(PYTHON) scripts/ensure-build-tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) out test-results .pytest_cache .mypy_cache .ruff_cache *.egg-info
