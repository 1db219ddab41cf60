# clv: every job is one make target; `make help` lists them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/lock.txt
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c $(LOCK)
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help report test check lint lab bench bench-quick lock clean messages

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8

$(VENV)/.base: $(BIN)/uv pyproject.toml $(LOCK)
	$(UV) -e .
	@touch $@

$(VENV)/.test: $(VENV)/.base
	$(UV) -e ".[test,spark]"
	@touch $@

$(VENV)/.lab: $(VENV)/.base
	$(UV) -e ".[lab]"
	@touch $@

report: $(VENV)/.base ## set up and run the customer-value report on the embedded CDNOW data (ARGS="..." for more)
	$(BIN)/clv report $(ARGS)

test: $(VENV)/.test ## set up and run the linter, the type checker and the whole suite (in parallel)
	$(BIN)/ruff check clv tests bench notebooks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto --durations=20 $(ARGS)

check: $(VENV)/.test ## the fast tests only: no kernels, subprocesses, browser or Spark (~1 min)
	$(BIN)/python -m pytest -n auto -m "not slow and not spark" $(ARGS)

lint: $(VENV)/.test ## check and format the code with ruff
	$(BIN)/ruff check --fix clv tests bench notebooks
	$(BIN)/ruff format clv tests bench

lab: $(VENV)/.lab ## open JupyterLab on notebooks/ with the project's environment
	$(BIN)/jupyter lab notebooks/

bench: $(VENV)/.test ## benchmark clv against lifetimes/pandas on 1 M customers
	$(BIN)/python bench/bench.py $(ARGS)

bench-quick: $(VENV)/.test ## the same benchmark on 100 k customers
	$(BIN)/python bench/bench.py --customers 100000 $(ARGS)

lock: $(BIN)/uv ## re-resolve requirements/lock.txt from pyproject.toml
	$(BIN)/uv pip compile --quiet pyproject.toml --all-extras --python-version 3.11 -o $(LOCK)

LOCALES := clv/report/locales
FIGURE_WORDS := -k set_title -k set_xlabel -k set_ylabel -k N_
messages: $(VENV)/.base ## extract the report's words (pybabel) and update each language's .po file
	$(BIN)/pybabel extract -F babel.cfg $(FIGURE_WORDS) --no-location --sort-output \
	  --project clv --copyright-holder "clv contributors" -o $(LOCALES)/clv.pot .
	$(BIN)/pybabel update -i $(LOCALES)/clv.pot -d $(LOCALES) -D clv --no-fuzzy-matching \
	  --ignore-obsolete

clean: ## remove the environment and caches (keeps reports/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
