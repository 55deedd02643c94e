# kgtext: every target only calls the project's CLIs (kgtext <command> / python -m ...).
# Fresh machine: `make demo` then `make test`. Both create .venv and install the project first.
# ARGS="..." is appended to the command line of corpus, inspect, pretrain, bench and ablations, e.g.
#   make pretrain ARGS="--resume"      make pretrain ARGS="--set optim.lr=5e-4 --set log.interval=50"
#   make inspect ARGS="--verify"       make corpus ARGS="--num-shards 8 --vocab-size 8000"
# (demo runs fixed steps and ignores it; test/test-all take PYTEST_ARGS).

PYTHON ?= python3
VENV ?= .venv
# Every dependency comes from the lock file (exact versions, what CI tested; docs/INSTALL.md). torch is installed
# first from TORCH_SPEC so that it never pulls a multi-GB CUDA build by accident; the lock's torch, nvidia-* and
# triton lines are skipped (with the default spec they name the same torch). For a GPU box:
#   make demo TORCH_SPEC='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128'
TORCH_SPEC ?= torch==2.13.0
LOCK := requirements/lock.txt
PY := $(VENV)/bin/python
KGTEXT := $(VENV)/bin/kgtext
STAMP := $(VENV)/.kgtext-installed
# `make lock` compiles the lock in this throw-away venv with this pip-tools; `make test-latest` tests in the other.
LOCK_VENV ?= .venv-lock
PIP_TOOLS ?= pip-tools==7.7.0
LATEST_VENV ?= .venv-latest

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
# Test processes (pytest-xdist): one per core by default; TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= auto
# Extra options for the command a target runs (see the top). Set on the make command line only: `:=` keeps
# an ARGS variable in the shell's environment from leaking into a training run.
ARGS :=
SCALE ?= 1
ABLATION_PRESET ?= tiny
PROOF_SCALE ?= 1
PROOF_PRESET ?= tiny

.PHONY: demo test test-all test-latest lock corpus inspect pretrain bench ablations proof lint fmt clean clean-venv setup

setup: $(STAMP)

# A changed lock (or pyproject.toml) re-syncs the venv: pip moves every package to its locked version, and
# tests/test_lock.py names any package the venv holds that the lock does not (then `make clean-venv setup`).
$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	grep -Ev '^(torch|triton|nvidia-[a-z0-9-]+)==' $(LOCK) > $(VENV)/lock-without-torch.txt
	$(PY) -m pip install --quiet "$$(grep '^pip==' $(LOCK))"
	$(PY) -m pip install --quiet $(TORCH_SPEC) -c $(VENV)/lock-without-torch.txt
	$(PY) -m pip install --quiet -r $(VENV)/lock-without-torch.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Regenerate requirements/lock.txt after a change of pyproject.toml's dependencies or requirements/pins.in, or to
# move to newer releases (then `make test-latest` first, and commit the lock with the change that needs it).
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet $(PIP_TOOLS); }
	$(LOCK_VENV)/bin/pip-compile --quiet --upgrade --allow-unsafe --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --no-emit-trusted-host --output-file $(LOCK) pyproject.toml requirements/pins.in
	sed -i -E 's/^(torch==[^+ ]+)\+[A-Za-z0-9.]+/\1/' $(LOCK)

# The newest releases pyproject.toml's ranges admit (torch still from TORCH_SPEC), in a throw-away venv.
test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST_VENV)/bin/python -m pip install --quiet $(TORCH_SPEC)
	$(LATEST_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	$(LATEST_VENV)/bin/python -m pip freeze --exclude-editable > $(LATEST_VENV)/tested.txt
	grep -E '^(apache-beam|pyarrow|numpy|spacy|rdflib|sentencepiece|torch)==' $(LATEST_VENV)/tested.txt
	KGTEXT_UNLOCKED=1 $(LATEST_VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) -m "not slow and not gpu" $(PYTEST_ARGS)

demo: $(STAMP)
	$(KGTEXT) build-corpus --kg data/sample/kg.ttl --docs data/sample/docs.jsonl --out out/demo/corpus --overwrite $(BEAM)
	$(KGTEXT) inspect out/demo/corpus --examples 2
	$(KGTEXT) pretrain --corpus out/demo/corpus --preset tiny --out out/demo/run --max-steps $(STEPS) --overwrite
	$(KGTEXT) evaluate --checkpoint out/demo/run --corpus out/demo/corpus
	$(KGTEXT) generate --checkpoint out/demo/run --prompt "Lark Force was an Australian Army formation" --max-new-tokens 20 --seed 1
	$(KGTEXT) plot out/demo/run

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow and not gpu" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m "not gpu" $(PYTEST_ARGS)

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

# Knowledge corpus vs plain text vs random weights, 3 seeds, Welch intervals (~100 min on 2 cores; reads
# ../shared/data; resumable: finished runs are kept): bench/PROOF.md
proof: $(STAMP)
	PROOF_SCALE=$(PROOF_SCALE) PROOF_PRESET=$(PROOF_PRESET) $(PY) -m bench.proof $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy kgtext

fmt: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean-venv:
	rm -rf $(VENV) $(LOCK_VENV) $(LATEST_VENV)

clean:
	rm -rf out bench/_work .pytest_cache .mypy_cache .ruff_cache build *.egg-info
