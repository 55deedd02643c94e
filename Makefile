# kgtext: every target only calls the project's CLIs (kgtext <command> / python -m ...).
# Fresh machine: `make demo` then `make test`. Both create .venv and install the project first.
# ARGS="..." is appended to the command line of corpus, inspect, pretrain, bench and ablations, e.g.
#   make pretrain ARGS="--resume"      make pretrain ARGS="--set optim.lr=5e-4 --set log.interval=50"
#   make inspect ARGS="--verify"       make corpus ARGS="--num-shards 8 --vocab-size 8000"
# (demo runs fixed steps and ignores it; test/test-all take PYTEST_ARGS).

PYTHON ?= python3
VENV ?= .venv
# torch is installed first from this spec so the project's open range (torch>=2.3) never pulls a
# multi-GB CUDA build by accident. Override for a GPU box: make demo TORCH_SPEC='torch==2.13.0 --index-url ...'
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
KGTEXT := $(VENV)/bin/kgtext
STAMP := $(VENV)/.kgtext-installed

# Inputs/outputs of the corpus, inspect and pretrain targets (defaults: the bundled sample).
# OUT is the corpus directory for `make corpus` and the run directory for `make pretrain`.
KG ?= data/sample/kg.ttl
DOCS ?= data/sample/docs.jsonl
OUT ?= out/corpus
CORPUS ?= out/corpus
PRESET ?= tiny
STEPS ?= 300
BEAM ?= --runner=DirectRunner
PYTEST_ARGS ?=
# Extra options for the command a target runs (see the top). Set on the make command line only: `:=` keeps
# an ARGS variable in the shell's environment from leaking into a training run.
ARGS :=
SCALE ?= 1
ABLATION_PRESET ?= tiny

.PHONY: demo test test-all corpus inspect pretrain bench ablations lint fmt clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(KGTEXT) build-corpus --kg data/sample/kg.ttl --docs data/sample/docs.jsonl --out out/demo/corpus --overwrite $(BEAM)
	$(KGTEXT) inspect out/demo/corpus --examples 2
	$(KGTEXT) pretrain --corpus out/demo/corpus --preset tiny --out out/demo/run --max-steps $(STEPS) --overwrite
	$(KGTEXT) evaluate --checkpoint out/demo/run --corpus out/demo/corpus
	$(KGTEXT) generate --checkpoint out/demo/run --prompt "Lark Force was an Australian Army formation" --max-new-tokens 20 --seed 1
	$(KGTEXT) plot out/demo/run

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not gpu" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -m "not gpu" $(PYTEST_ARGS)

corpus: $(STAMP)
	$(KGTEXT) build-corpus --kg $(KG) --docs $(DOCS) --out $(OUT) --overwrite $(BEAM) $(ARGS)

inspect: $(STAMP)
	$(KGTEXT) inspect $(CORPUS) $(ARGS)

pretrain: OUT = out/run
pretrain: $(STAMP)
	$(KGTEXT) pretrain --corpus $(CORPUS) --preset $(PRESET) --out $(OUT) --max-steps $(STEPS) $(ARGS)

bench: $(STAMP)
	$(PY) -m bench.run_all $(ARGS)

# ERNIE 3.0 ablations at small scale (~85 min on 2 cores; reads ../shared/data): bench/ABLATIONS.md
# SCALE=10 multiplies the steps; ABLATION_PRESET=base-ablation runs the same script on a GPU
ablations: $(STAMP)
	SCALE=$(SCALE) ABLATION_PRESET=$(ABLATION_PRESET) $(PY) -m bench.ablations $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy kg aligners corpus model kgtext pipelines

fmt: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf out bench/_work .pytest_cache .mypy_cache .ruff_cache build *.egg-info
