# API Base developer commands. Both targets create .venv on first use, so a fresh clone needs only Python 3.12.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test lint typecheck contracts pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/apibase serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# Both cores (pytest-xdist; tests/conftest.py keeps the integration tests on one worker); PYTEST_WORKERS=0 runs
# it in one process.
PYTEST_WORKERS ?= 2

# The total, then the kernel and the reference service each on its own: one cannot carry the other.
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --cov --cov-report=term --cov-fail-under=90 \
		--cov-config=pyproject.toml $(PYTEST_ARGS)
	@printf 'kernel (app/apibase): ' && $(BIN)/coverage report --rcfile=pyproject.toml \
		--include='*/app/apibase/*' --format=total --fail-under=90
	@printf 'reference service (app/shop): ' && $(BIN)/coverage report --rcfile=pyproject.toml \
		--include='*/app/shop/*' --format=total --fail-under=90

test: lint typecheck contracts pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage htmlcov
