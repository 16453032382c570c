"""What an experiment costs, without running anything (torch-free): every training run its declared arms
(`arms.py`) make at a scale, priced in FLOPs; the claims ledger turns the next scale's into GPU-hours.

The plan reads the same declarations as the driver, so a new arm is priced as soon as it is declared.
Inheritune's recipe is counted at its worst case (every round up to the target depth; "ours" depths are the
target); the reference is counted once, or once per seed when each seed trains its own; a random model an
earlier arm of the panel already trains (`arms.random_identity`) is counted once, as the driver trains it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import SCALES, get_scale, model_config_kwargs, optim_kwargs
from ..training.accounting import gpt_flops_per_token
from .arms import EXPERIMENTS, Arm, get_experiment, random_identity, resolve_layers
from .setup import arm_steps, target_layers


@dataclass(frozen=True)
class PlannedRun:
    """One training run an experiment makes: what it costs is steps x batch_tokens tokens at its model's
    FLOPs per token (training.accounting), plus a teacher's forward pass under distillation."""

    role: str
    model_config: dict[str, Any]
    steps: int
    batch_tokens: int
    teacher_config: dict[str, Any] | None = None


# experiment -> the presets its notebook runs by default (from the declarations)
EXPERIMENT_PRESETS = {name: exp.defaults for name, exp in EXPERIMENTS.items()}

# What the throughput benchmark measures (benchmarks/throughput.py, gpu_check.sh): GPT-2 medium, paper size.
BENCHMARK_MODEL = ("gpt2-medium", "paper")


def recipe_depths(k: int, target: int, grow_step: int) -> list[int]:
    """Every round's depth of Algorithm 1 from k/2 up to the target (its worst case)."""
    return list(range(k // 2, target, grow_step)) + [target]


def _arm_runs(arm: Arm, scale: str, preset: str, steps: int | None) -> list[PlannedRun]:
    base = model_config_kwargs(preset, scale)
    batch = optim_kwargs(preset, scale)["batch_tokens"]
    k, target = base["n_layer"], target_layers(preset, scale)
    n_steps = arm_steps(arm.steps, scale, preset, steps)
    n = resolve_layers(arm.layers, k, target, None)
    teacher = {**base, "n_layer": k} if arm.teacher else None
    if arm.build == "recipe":
        depths = recipe_depths(k, n, get_scale(scale).grow_step)
        return [PlannedRun(f"inheritune_{d}L", {**base, "n_layer": d}, n_steps, batch) for d in depths]
    over: dict[str, Any] = {}
    if arm.build == "half_width":
        heads = base["n_head"] // 2
        over = {"n_head": heads, "n_embd": heads * (base["n_embd"] // base["n_head"])}
    return [PlannedRun(arm.role, {**base, "n_layer": n, **over}, n_steps, batch, teacher)]


def run_plan(
    experiment: str,
    scale: str,
    presets: Sequence[str] | None = None,
    seeds: int = 1,
    steps: int | None = None,
    reference_per_seed: bool | None = None,
) -> list[PlannedRun]:
    """Every training run `experiment` (arms.EXPERIMENTS: table1, table2, table3, figure1, figure3, figure4)
    makes at a scale, without running anything. reference_per_seed: None means the scale's setting."""
    exp = get_experiment(experiment)
    per_seed = get_scale(scale).reference_per_seed if reference_per_seed is None else reference_per_seed
    plan = []
    for preset in presets or exp.defaults:
        ref = _arm_runs(Arm("reference", "", "reference", layers="k"), scale, preset, steps)
        plan += ref
        for i in range(seeds):
            if per_seed and i > 0:
                plan += ref
            for panel in exp.panels:
                seen: set[tuple[int, int]] = set()
                for arm in panel.arms:
                    runs = _arm_runs(arm, scale, preset, steps)
                    ident = random_identity(arm, runs[0].model_config["n_layer"], runs[0].steps)
                    if ident is None or ident not in seen:  # a repeated random model is one run (driver)
                        plan += runs
                    if ident is not None:
                        seen.add(ident)
    return plan


def plan_flops(plan: Sequence[PlannedRun]) -> tuple[float, float]:
    """(training FLOPs, teachers' forward FLOPs) of planned runs: tokens x 6N + 12 L H Q T per token."""
    train = teacher = 0.0
    for run in plan:
        tokens = run.steps * run.batch_tokens
        train += tokens * gpt_flops_per_token(run.model_config)
        if run.teacher_config is not None:
            teacher += tokens * gpt_flops_per_token(run.teacher_config) / 3
    return train, teacher


def next_scale_plan(
    experiment: str,
    scale: str,
    presets: Sequence[str],
    seeds: int = 1,
    reference_per_seed: bool | None = None,
) -> list[dict[str, Any]]:
    """One row (for results/<name>/plan.csv): what this experiment costs at the scale after `scale`, with the
    same presets and number of seeds, at each scale's own T; [] after `paper`. The claims ledger turns the
    FLOPs into GPU-hours with the benchmark's tokens/s x `benchmark_flops_per_token` (report/ imports no
    experiment code, so the plan travels as a CSV like every other result). reference_per_seed: None
    means the next scale's own setting."""
    order = list(SCALES)
    if order.index(scale) + 1 >= len(order):
        return []
    nxt = order[order.index(scale) + 1]
    plan = run_plan(experiment, nxt, presets, seeds, reference_per_seed=reference_per_seed)
    train, teacher = plan_flops(plan)
    return [
        {
            "experiment": experiment,
            "scale": scale,
            "next_scale": nxt,
            "presets": " ".join(presets),
            "seeds": seeds,
            "runs": len(plan),
            "tokens": sum(r.steps * r.batch_tokens for r in plan),
            "train_flops": train,
            "teacher_flops": teacher,
            "benchmark": " ".join(BENCHMARK_MODEL),
            "benchmark_flops_per_token": gpt_flops_per_token(model_config_kwargs(*BENCHMARK_MODEL)),
        }
    ]


__all__ = [
    "PlannedRun",
    "run_plan",
    "plan_flops",
    "next_scale_plan",
    "recipe_depths",
    "EXPERIMENT_PRESETS",
    "BENCHMARK_MODEL",
]
