# Two entry points (see README): `make quickstart` runs the main job, `make test` the tests.
# Both build the virtual environment from scratch when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch is pinned for dev and CI (a CPU build); the package itself keeps a range.
TORCH  ?= torch==2.13.0

.PHONY: venv quickstart test lint format bench clean

$(BIN)/distillscale: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[all,dev]"
	touch $@

venv: $(BIN)/distillscale

quickstart: venv
	$(BIN)/distillscale run examples/quickstart.yaml --out studies/quickstart

lint: venv
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: venv lint
	$(BIN)/python -m pytest -q

format: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: venv
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
