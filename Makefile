# Quick start: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: demo test bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

# torch==2.13.0 first when no torch is importable: an unpinned torch would pull a CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "torch==2.13.0"
	$(PY) -m pip install -e ".[dev,examples,plot,export,keras-oracle]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m lamina demo

# The import floors (pyproject.toml's import-linter contracts) first, then the suite.
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# Keras 3 (its torch backend) for the benchmarks; `make test` installs it too, through the
# keras-oracle extra, for the differential tests in tests/keras_oracle (lamina never imports it).
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -e ".[bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	KERAS_BACKEND=torch $(PY) bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
