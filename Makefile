# The two set-up commands of the README:
#   make run    install into .venv and run the whole notebook series headless on the synthetic sample
#   make test   install (with dev tools) into .venv, lint, and run the test suite
# and for quick feedback while editing:
#   make test-quick   the same without the end-to-end runs (tests marked `slow`)
#   make test-browser only the JupyterLab-in-Chromium test (needs Debian's chromium)
#   make lab          JupyterLab on the notebooks (after `make run`, they find its run folder)
#   make hooks        install the pre-commit hooks (ruff, ruff format, nbstripout)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
KERNEL := cityscapes-unet
# the notebooks' default RUN_DIR (../runs/default from notebooks/): JupyterLab finds this run
RUN    ?= runs/default
# the suite on two worker processes (pytest-xdist), a test file per worker at a time: much of a
# test is single-threaded (tracing, saving, kernels starting), so two keep both cores busy.
# `make test PARALLEL=` runs it in one process.
PARALLEL ?= -n 2 --dist loadfile

.PHONY: run test test-quick test-browser lab hooks install install-dev lint bench clean

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
	MPLBACKEND=agg $(BIN)/python -m pytest $(PARALLEL)

test-quick: install-dev lint
	MPLBACKEND=agg $(BIN)/python -m pytest $(PARALLEL) -m "not slow"

test-browser: install-dev
	MPLBACKEND=agg $(BIN)/python -m pytest tests/test_browser.py

lab: install
	$(BIN)/jupyter lab notebooks/

hooks: install-dev
	$(BIN)/pre-commit install

bench: install
	$(BIN)/python benchmarks/bench_input_pipeline.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
