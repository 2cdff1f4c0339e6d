# Quick start: `make demo` (batch on the sample store + review UI) and `make test` (whole suite).
# Both set up everything themselves: system packages, .venv, the project, the models.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DB ?= var/demo.db
# The process environment: these exports mirror qa/runtime.py's ENV, which every library entry
# point and `qa` itself apply (see there for why each is set). Keep the two in step.
# Call audio and metadata never leave the machine: no telemetry, no hub downloads.
export PYANNOTE_METRICS_ENABLED := 0
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
# torch's OpenMP threads spin while waiting; on shared cores that slows diarization 30x.
export OMP_WAIT_POLICY := PASSIVE
# numpy's OpenBLAS with one thread: a call's transcript is the same in every process layout.
export OPENBLAS_NUM_THREADS := 1

.PHONY: setup system python compiled models demo test lint samples

system:
	scripts/install-system.sh

$(VENV)/.installed: pyproject.toml scripts/install-python.sh
	scripts/install-python.sh
	touch $@

python: $(VENV)/.installed

# Scoring's per-call modules compiled with mypyc (scoring/native.py): rebuilt whenever a module
# they were built against changes; until then scoring runs them as plain Python.
COMPILED_MANIFEST := scoring/_compiled/manifest.json
$(COMPILED_MANIFEST): $(VENV)/.installed $(wildcard scoring/*.py sentences/*.py calldata/*.py)
	$(BIN)/python scripts/compile-scoring.py

compiled: $(COMPILED_MANIFEST)

models: python
	$(BIN)/qa models fetch

setup: system python compiled models

demo: setup
	$(BIN)/qa run --config samples/demo.toml --db $(DEMO_DB)
	$(BIN)/qa agents --db $(DEMO_DB)
	$(BIN)/qa serve --config samples/demo.toml --db $(DEMO_DB)

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/qa rubrics check rubrics
	$(BIN)/pytest

lint: python
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

# Regenerate the bundled sample store (deterministic; see samples/README.md).
samples: setup
	$(BIN)/python samples/generate.py
