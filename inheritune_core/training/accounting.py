"""What a training run consumed: steps, tokens, token windows (distinct ones too) and FLOPs, for result.json.

Equal-budget comparisons (issue 11) need more than "steps": a model grown by Algorithm 1 may have seen
several rounds of training, a random-sampler run may draw the same window twice, and models of different
depth cost different compute per token. `run_accounting` is what the trainer adds to every result.json:

- `steps`, `tokens_seen`: optimizer steps and tokens of this run (already in TrainResult; repeated here so the
  accounting is one self-contained dict);
- `windows_seen`: sequences of block_size tokens drawn (all ranks, all accumulation steps);
- `distinct_windows`: how many of them are different windows of the corpus (the sequential sampler reads
  each window once per epoch; the random sampler draws start offsets with replacement);
- `sampler_start`, `sampler_end`, `sampler_micro_batch`: where in the sampler's global micro-batch stream the
  run started and stopped, so a run continuing this model's lineage can start at `sampler_end`;
- `flops_per_token`, `train_flops`: the PaLM estimate (appendix B) 6N + 12 L H Q T per token (forward and
  backward; N counts the tied embedding once, not the position embedding, as nanoGPT), times tokens seen;
  `teacher_flops` adds the teacher's forward pass (a third of its training FLOPs per token) under KD.

This module imports no torch at import time, so `report/` can use the FLOP formula on configs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# Above this many drawn windows the random sampler's distinct count is the expectation, not an enumeration.
MAX_ENUMERATED_WINDOWS = 4_000_000


def gpt_params(config: Mapping[str, Any]) -> int:
    """Parameters of a GPT (`models.gpt.GPT`) from its config dict, counted like `GPT.num_params(True)`:
    the tied token embedding/head once, the position embedding left out."""
    C, L, V = int(config["n_embd"]), int(config["n_layer"]), int(config["vocab_size"])
    bias = bool(config.get("bias", False))
    per_block = 12 * C * C + 2 * C  # c_attn 3C^2, attn c_proj C^2, mlp 8C^2; ln_1, ln_2 weights
    if bias:
        per_block += 3 * C + C + 4 * C + C + 2 * C  # linear biases and layernorm biases
    ln_f = 2 * C if bias else C
    return V * C + L * per_block + ln_f


def gpt_flops_per_token(config: Mapping[str, Any], seq_len: int | None = None) -> float:
    """Training FLOPs per token of a GPT config: 6N + 12 L H Q T (equals `GPT.flops_per_token`)."""
    T = int(seq_len or config["block_size"])
    return 6 * gpt_params(config) + 12 * int(config["n_layer"]) * int(config["n_embd"]) * T


def model_flops_per_token(model: Any, seq_len: int) -> float:
    """6N + 12 L C T for any model: ours has `flops_per_token`; others (Hugging Face LLaMA) are counted from
    their parameters and config (num_hidden_layers, hidden_size)."""
    if hasattr(model, "flops_per_token"):
        return float(model.flops_per_token(seq_len))
    n = sum(p.numel() for p in model.parameters())
    cfg = getattr(model, "config", None)
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", 0)
    width = getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", 0)
    return float(6 * n + 12 * layers * width * seq_len)


def expected_distinct(draws: int, population: int) -> float:
    """Expected number of distinct values among `draws` uniform draws with replacement from `population`."""
    if population <= 0:
        return 0.0
    return population * -math.expm1(draws * math.log1p(-1.0 / population)) if population > 1 else 1.0


def distinct_windows(sampler: Any) -> tuple[int, bool]:
    """(distinct windows drawn so far, exact?) for a sampler of `data.sampling`."""
    drawn = sampler.consumed * sampler.micro_batch
    if drawn == 0:
        return 0, True
    if sampler.kind == "sequential":
        # consecutive window ids modulo the corpus's windows: all distinct until the stream wraps
        return min(drawn, sampler.num_windows), True
    if drawn <= MAX_ENUMERATED_WINDOWS:
        import numpy as np

        return int(np.unique(sampler.drawn_windows()).size), True
    population = len(sampler.tokens) - sampler.block_size
    return int(round(expected_distinct(drawn, population))), False


def run_accounting(
    model: Any, cfg: Any, sampler: Any, steps: int, tokens_seen: int, teacher: Any = None
) -> dict[str, Any]:
    """The accounting fields of a finished run's result.json (see the module docstring)."""
    distinct, exact = distinct_windows(sampler)
    per_token = model_flops_per_token(model, cfg.block_size)
    out: dict[str, Any] = {
        "steps": int(steps),
        "tokens_seen": int(tokens_seen),
        "windows_seen": int(sampler.consumed * sampler.micro_batch),
        "distinct_windows": distinct,
        "distinct_windows_exact": exact,
        "sampler": sampler.kind,
        "sampler_start": int(sampler.offset),
        "sampler_end": int(sampler.position),
        "sampler_micro_batch": int(sampler.micro_batch),
        "flops_per_token": per_token,
        "train_flops": per_token * int(tokens_seen),
    }
    if teacher is not None:
        out["teacher_flops"] = model_flops_per_token(teacher, cfg.block_size) / 3 * int(tokens_seen)
    return out


def continuation_offset(sampler_end: int, end_micro_batch: int, micro_batch: int) -> int:
    """The sampler offset (in micro-batches of `micro_batch` windows) of a run that continues a stream which
    ended at `sampler_end` micro-batches of `end_micro_batch` windows: rounded up, so no window is re-read."""
    windows = int(sampler_end) * int(end_micro_batch)
    return -(-windows // int(micro_batch))


__all__ = [
    "gpt_params",
    "gpt_flops_per_token",
    "model_flops_per_token",
    "expected_distinct",
    "distinct_windows",
    "run_accounting",
    "continuation_offset",
]
