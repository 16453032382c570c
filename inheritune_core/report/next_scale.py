"""The last column of the claims ledger: the command that runs a claim's notebook at the next scale and what
it costs, the FLOPs of results/<notebook>/plan.csv (written by inheritune_core/experiments/plan.py) turned
into GPU-hours with the throughput of benchmarks/throughput.csv (`read_throughput`). Imports no torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import SCALES
from ..paths import PROJECT_DIR
from . import checks
from .comparisons import Claim, _float, read_rows

SCALE_ORDER = tuple(SCALES)  # smoke, tiny, small, paper
THROUGHPUT_CSV = PROJECT_DIR / "benchmarks" / "throughput.csv"


# ------------------------------------------------------------------------------------------ cost
@dataclass(frozen=True)
class Throughput:
    tokens_per_s: float  # GPT-2 medium at the paper's size and 1024-token context
    label: str


def read_throughput(path: str | os.PathLike = THROUGHPUT_CSV) -> Throughput | None:
    """The throughput the costs use: our own GPU measurement of the fast path (benchmarks/gpu_check.sh
    records it), else the highest stated figure of the official code; GPT-2 medium, paper size, 1024 tokens."""
    rows = [
        r
        for r in read_rows(path, checks.THROUGHPUT)
        if (r.get("preset"), r.get("scale"), r.get("block_size")) == ("gpt2-medium", "paper", "1024")
        and _float(r.get("tokens_per_s"))
    ]
    measured = [r for r in rows if r.get("source") == "measured" and r.get("path", "").startswith("fast")]
    stated = [r for r in rows if r.get("source") == "stated" and r.get("path") == "official code"]
    pick = max(measured or stated, key=lambda r: float(r["tokens_per_s"]), default=None)
    if pick is None:
        return None
    tps = float(pick["tokens_per_s"])
    compiled = "compiled" if pick.get("compiled", "").lower() == "true" else "eager"
    return Throughput(
        tps, f"{pick['source']}: {pick['path']} on {pick['card']}, {compiled}, {tps:,.0f} tokens/s"
    )


def next_scale(scales: Sequence[str]) -> str | None:
    """The scale after the largest one with results (tiny when there are none); None after `paper`."""
    done = [SCALE_ORDER.index(s) for s in scales if s in SCALE_ORDER]
    i = max(done) + 1 if done else SCALE_ORDER.index("tiny")
    return SCALE_ORDER[i] if i < len(SCALE_ORDER) else None


def next_step(claim: Claim, scales: Sequence[str], results: Path, throughput: Throughput | None) -> str:
    """The command that runs the claim's notebook at the next scale, and what it costs (from its plan.csv)."""
    scale = next_scale(scales)
    if scale is None:
        return "done at the paper's scale"
    # the CPU scales are those before `small` (tiny, and any CPU scale config.SCALES lists between them)
    cpu = (
        scale in SCALE_ORDER
        and "small" in SCALE_ORDER
        and SCALE_ORDER.index(scale) < SCALE_ORDER.index("small")
    )
    device = "cpu" if cpu else "cuda"
    command = f"`make {claim.notebook} SCALE={scale} DEVICE={device}`"
    if claim.plan is None:
        return f"{command}; cost not estimated (not GPT-2 training runs)"
    plan = [
        r for r in read_rows(results / claim.plan, checks.NEXT_SCALE_PLAN) if r.get("next_scale") == scale
    ]
    if not plan:
        return f"{command}; cost: run the notebook once at a smaller scale to write {claim.plan}"
    flops = sum(float(r["train_flops"]) + (_float(r["teacher_flops"]) or 0.0) for r in plan)
    runs = sum(int(float(r["runs"])) for r in plan)
    if device == "cpu":
        return f"{command}; {runs} runs, {flops:.2e} FLOPs (a CPU scale)"
    if throughput is None:
        return f"{command}; {runs} runs, {flops:.2e} FLOPs (no throughput figure in {THROUGHPUT_CSV.name})"
    hours = flops / (throughput.tokens_per_s * float(plan[0]["benchmark_flops_per_token"])) / 3600
    return f"{command}; {runs} runs, {flops:.2e} FLOPs, ≥ {hours:.2g} GPU-hours"
