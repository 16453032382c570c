#!/usr/bin/env bash
# One GPU check, ready to run (`make gpu-check`): under 8 minutes on one H100-class GPU it prints
#   1. the throughput of GPT-2 medium (paper size, 1024 tokens) at micro-batch 8, compiled and eager
#      (tokens/s, MFU, peak memory; each for the fused-attention path and the paper-math path), and
#   2. Table 1 at the `small` scale, reduced to fit: the reference, Inheritune and random init at 1x steps.
# Everything lands in OUT (default results/gpu_check/<card>): throughput.csv and table1.csv, every row marked
# with the card's name; on a GPU the throughput rows are also appended to benchmarks/throughput.csv, which the
# claims ledger (paper/REPRODUCTION.md) uses to price the next scale. Paste the printed output into
# benchmarks/RESULTS.md.
#
# Settings (environment): DEVICE (cuda), SCALE (small), STEPS (800 steps per Table 1 run; small's T is 5000),
# TP_SCALE (paper), TP_STEPS (20), COMPILE (1 on cuda, 0 on cpu), PYTHON (.venv/bin/python), RUNS_DIR
# (runs/gpu_check/<card>: the runs' checkpoints), DATA (a prepared corpus; default data/english).
# The test suite runs it on CPU at smoke: DEVICE=cpu SCALE=smoke STEPS=4 TP_SCALE=smoke TP_STEPS=2.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
DEVICE=${DEVICE:-cuda}
SCALE=${SCALE:-small}
STEPS=${STEPS:-800}
TP_SCALE=${TP_SCALE:-paper}
TP_STEPS=${TP_STEPS:-20}
if [[ "$DEVICE" == cuda* ]]; then COMPILE=${COMPILE:-1}; else COMPILE=${COMPILE:-0}; fi

card=$("$PY" -c "
import sys, torch
if sys.argv[1].startswith('cuda'):
    if not torch.cuda.is_available():
        sys.exit('error: DEVICE=cuda but torch sees no GPU')
    print(torch.cuda.get_device_name(0))
else:
    print('cpu')
" "$DEVICE")
slug=$(printf '%s' "$card" | tr -cs 'A-Za-z0-9' '-' | sed 's/^-*//; s/-*$//')
OUT=${1:-results/gpu_check/$slug}
RUNS=${RUNS_DIR:-runs/gpu_check/$slug}  # checkpoints stay out of results/
mkdir -p "$OUT"
rm -f "$OUT/throughput.csv"  # this check's rows only (benchmarks/throughput.csv keeps the history)
start=$(date +%s)
echo "# GPU check on $card ($(date -u +%Y-%m-%dT%H:%MZ)), output in $OUT"
"$PY" -c "import torch, transformers; print(f'torch {torch.__version__}, transformers {transformers.__version__}')"

if [[ -z "${DATA:-}" && ! -f data/english/meta.json ]]; then
    echo "## preparing the bundled corpus (data/english)"
    "$PY" -m inheritune_core.data prepare
fi

echo
echo "## 1. Throughput: gpt2-medium at scale $TP_SCALE, micro-batch 8"
modes=(0)
[[ "$COMPILE" == 1 ]] && modes=(0 1)
for compiled in "${modes[@]}"; do
    flag=()
    [[ "$compiled" == 1 ]] && flag=(--compile)
    echo
    echo "### $([[ "$compiled" == 1 ]] && echo compiled || echo eager)"
    "$PY" benchmarks/throughput.py --preset gpt2-medium --scale "$TP_SCALE" --device "$DEVICE" \
        --micro-batch 8 --steps "$TP_STEPS" --csv "$OUT/throughput.csv" "${flag[@]}"
done
if [[ "$DEVICE" == cuda* ]]; then
    tail -n +2 "$OUT/throughput.csv" >> benchmarks/throughput.csv
fi

echo
echo "## 2. Table 1 reduced (scale $SCALE, $STEPS steps per run)"
"$PY" benchmarks/gpu_table1.py --scale "$SCALE" --device "$DEVICE" --steps "$STEPS" --card "$card" \
    --out "$OUT" --runs-dir "$RUNS" ${DATA:+--data "$DATA"}

echo
echo "gpu check done in $(( $(date +%s) - start )) s"
