# Thin aliases used by people and by .ci/run alike. The first use creates .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo attacks test lint typecheck pytest test-hw bench loadtest profile dist clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

demo: $(STAMP)
	$(BIN)/python -m demo

# The attacker's moves of the demo as a test module (also part of `make test`).
attacks: $(STAMP)
	$(BIN)/pytest tests/attacks

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test-hw: $(STAMP)
	$(BIN)/pytest hw-tests

bench: $(STAMP)
	$(BIN)/python -m bench

loadtest: $(STAMP)
	$(BIN)/python -m bench.loadtest

profile: $(STAMP)
	$(BIN)/python -m bench.profile

# An sdist and a wheel in dist/; the wheel carries the systemd units, udev rules and
# example configurations (python -m runtime.units DEST copies them out).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
