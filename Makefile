# The two set-up commands of the README:
#   make run    install into .venv and run the whole notebook series headless on the synthetic sample
#   make test   install (with dev tools) into .venv, lint, and run the test suite
# and for quick feedback while editing:
#   make test-quick   the same without the end-to-end notebook runs (tests marked `slow`)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
KERNEL := cityscapes-unet
RUN    ?= runs/synthetic

.PHONY: run test test-quick install install-dev lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	MPLBACKEND=agg $(BIN)/python -m utils.series --data synthetic --out $(RUN)

lint: install-dev
	$(BIN)/ruff check .

test: install-dev lint
	MPLBACKEND=agg $(BIN)/python -m pytest

test-quick: install-dev lint
	MPLBACKEND=agg $(BIN)/python -m pytest -m "not slow"

bench: install
	$(BIN)/python benchmarks/bench_input_pipeline.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
