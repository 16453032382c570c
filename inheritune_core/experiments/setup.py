"""What every GPT-2 experiment needs: the `Setup` (scale, data, seeds, device), the `ExperimentOutput` it
returns, and the step and depth arithmetic that turns the paper's numbers into a scale's.

Depths at reduced scales. The paper's depths (24-layer reference, 16-layer target, 12 -> 14 -> 16 growth)
are divided by the scale's depth_divisor. The target depth is the paper's target as a *fraction* of the
reference (16/24, 18/36, 24/48, 16/32) rounded up to an even number and kept at least 2 layers below the
reference, so that stacking (half then doubled) and growth by 2 stay possible: at `tiny`, GPT-2 medium's
8-layer reference gets a 6-layer target, grown 4 -> 6. At `paper` the targets are exactly the paper's.

Steps (equal budgets where the paper compares at equal budgets). T (per round, per run) is the scale's
max_steps unless `steps` is given; "2x" runs use 2T; the distillation comparison (Figure 3/8) trains every
model of a panel, Inheritune included (one round of inherit(reference, n)), for T_KD = T/2 (the paper: 50K vs
100K steps); Figure 1 (c, f)'s half-depth models train for T/10 (the paper's 10K after a 100K reference).
Every paper step count is scaled by the same factor T_scale / 100K.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import (
    FIGURE1_EXTRA_STEPS,
    KD_MAX_STEPS,
    MODEL_PRESETS,
    OPTIM_PRESETS,
    PAPER_TARGET_LAYERS,
    get_preset,
    get_scale,
    optim_kwargs,
    scaled_layers,
)
from ..data.tokens import TokenData, load_token_data
from ..errors import ConfigError
from ..paths import data_dir as default_data_dir
from .results import write_by_scale
from .runs import RunRecord


@dataclass
class Setup:
    """What every experiment needs: the scale, the data, where runs live, and how to train.

    data: the GPT-2 corpus (None for the low-data experiment, whose references bring their own tokenizer).
    reference_per_seed: each seed trains its own reference (None: the scale's `Scale.reference_per_seed`);
    off, one reference trained with `seed` is shared by every seed of an experiment."""

    scale: str
    data: TokenData | None
    device: str = "cpu"
    seed: int = 1337
    steps: int | None = None  # T; None: the scale's max_steps
    runs_dir: Path | None = None
    progress: bool = True
    downstream: bool = True  # evaluate with lm-eval when inheritune_core.evaluation is available
    eval_limit: int | None = None  # examples per task (None: all)
    reference_per_seed: bool | None = None

    def __post_init__(self) -> None:
        get_scale(self.scale)
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps <= 0):
            raise ConfigError(f"steps must be a positive integer or None, got {self.steps!r}")
        if self.reference_per_seed is None:
            self.reference_per_seed = get_scale(self.scale).reference_per_seed

    def T(self, preset: str) -> int:
        return steps_at(self.scale, preset, self.steps)


@dataclass
class ExperimentOutput:
    """Tidy rows for the table CSV and the curves CSV, plus the runs they came from, and what running the same
    experiment at the next scale would cost (`plan.next_scale_plan`, for the claims ledger)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, RunRecord] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)

    def write(self, results_dir: str | Path, name: str, table: str | None = None) -> list[Path]:
        """results/<name>/<table>.csv (if rows), results/<name>/curves.csv (if curves) and
        results/<name>/plan.csv (if a plan), atomically, each replacing only the rows of its scale
        (`results.write_by_scale`: other scales' rows are kept)."""
        out = Path(results_dir) / name
        written = []
        if self.rows:
            written.append(write_by_scale(self.rows, out / f"{table or name}.csv"))
        if self.curves:
            written.append(write_by_scale(self.curves, out / "curves.csv"))
        if self.plan:
            written.append(write_by_scale(self.plan, out / "plan.csv"))
        return written


def make_setup(
    scale: str = "tiny",
    data: str | Path | None = None,
    device: str = "cpu",
    seed: int = 1337,
    steps: int | None = None,
    runs_dir: str | Path | None = None,
    progress: bool = True,
    downstream: bool = True,
    eval_limit: int | None = None,
    reference_per_seed: bool | None = None,
) -> Setup:
    """A Setup from notebook parameters; `data` defaults to the scale's bundled corpus (data/english, or
    data/english-byte at the byte-level `cpu` scale, prepared here in seconds when missing), `eval_limit` to the
    scale's (config.Scale.eval_limit: a few documents at smoke, every document at paper). Downstream lm-eval
    columns need the GPT-2 vocabulary: at a scale with another tokenizer they are left out, with a printed line."""
    s = get_scale(scale)
    data_path = Path(data) if data else default_data_dir() / s.corpus
    if not data and s.tokenizer != "gpt2" and not (data_path / "meta.json").is_file():
        from ..data.corpora import prepare_corpus

        prepare_corpus("bundled", data_path, s.tokenizer, progress=progress)
    if downstream and s.tokenizer != "gpt2":
        print(
            f"scale {scale}: {s.tokenizer}-level models, so no downstream lm-eval columns (they need GPT-2's BPE)"
        )
        downstream = False
    return Setup(
        scale=scale,
        data=load_token_data(data_path),
        device=device,
        seed=seed,
        steps=steps,
        runs_dir=Path(runs_dir) if runs_dir else None,
        progress=progress,
        downstream=downstream,
        eval_limit=eval_limit if eval_limit is not None else get_scale(scale).eval_limit,
        reference_per_seed=reference_per_seed,
    )


def seed_list(setup: Setup, seeds: Sequence[int] | None) -> list[int]:
    """The seeds of an experiment: `seeds`, or the setup's one seed."""
    if seeds is None:
        return [setup.seed]
    out = list(seeds)
    if not out or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in out):
        raise ConfigError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    if len(set(out)) != len(out):
        raise ConfigError(f"seeds must be distinct, got {seeds!r}")
    return out


def with_seed(setup: Setup, seed: int) -> Setup:
    """The same setup with another seed (model initialisation and data stream of the runs)."""
    return dataclasses.replace(setup, seed=seed)


def check_presets(sizes: Sequence[str], allowed: Sequence[str] | None = None) -> list[str]:
    allowed = list(allowed or MODEL_PRESETS)
    bad = [s for s in sizes if s not in allowed]
    if bad or not sizes:
        raise ConfigError(f"sizes must be a non-empty list of {', '.join(allowed)}; got {list(sizes)!r}")
    return list(sizes)


def target_layers(preset: str, scale: str) -> int:
    """The Inheritune target depth of a preset at a scale (see the module docstring)."""
    p = get_preset(preset)
    if get_scale(scale).depth_divisor == 1:
        return PAPER_TARGET_LAYERS[preset]
    k = scaled_layers(p.n_layer, scale)
    even = 2 * math.ceil(k * PAPER_TARGET_LAYERS[preset] / p.n_layer / 2)
    return max(1, min(even, k - 2))


def steps_at(scale: str, preset: str, steps: int | None = None) -> int:
    """T of a preset at a scale: `steps` when given, else the scale's max_steps (the paper's 100K at paper)."""
    return steps or optim_kwargs(preset, scale)["max_steps"]


def kd_steps(setup: Setup, preset: str) -> int:
    """The distillation comparison's steps: the paper's 50K at `paper`, else half of T (50K of 100K)."""
    return kd_steps_at(setup.scale, preset, setup.steps)


def kd_steps_at(scale: str, preset: str, steps: int | None = None) -> int:
    if steps is None and get_scale(scale).depth_divisor == 1:
        return KD_MAX_STEPS
    return max(1, steps_at(scale, preset, steps) // 2)


def arm_steps(expr: str, scale: str, preset: str, steps: int | None = None) -> int:
    """A step expression of the declared arms (arms.STEPS): T, 2T, T_KD or T_extra at a scale."""
    T = steps_at(scale, preset, steps)
    return {
        "T": T,
        "2T": 2 * T,
        "T_KD": kd_steps_at(scale, preset, steps),
        "T_extra": figure1_schedule(scale, preset, steps)[0],
    }[expr]


def figure1_extra_steps(setup: Setup, preset: str) -> tuple[int, int, int]:
    """`figure1_schedule` for a setup."""
    return figure1_schedule(setup.scale, preset, setup.steps)


def figure1_schedule(scale: str, preset: str, steps: int | None = None) -> tuple[int, int, int]:
    """(steps, warmup_steps, eval_interval) of Figure 1 (c, f)'s half-depth models.

    Section 2: the references are "trained ... for 100K steps" and the half-depth variants "fine-tuned ...
    for an additional 10K steps" (config.FIGURE1_EXTRA_STEPS); scaled like every other step count, that is
    T x 10K / 100K (20 steps at `tiny`, 10K at `paper`). The warmup keeps the paper's share of such a run
    (C.1's 2K warmup of 10K steps), capped by the scale's warmup; evaluations every tenth of the run so
    the curve has points."""
    paper = OPTIM_PRESETS[preset]
    if steps is None and get_scale(scale).depth_divisor == 1:
        extra = FIGURE1_EXTRA_STEPS
    else:
        extra = max(1, round(steps_at(scale, preset, steps) * FIGURE1_EXTRA_STEPS / paper.max_steps))
    scale_kw = optim_kwargs(preset, scale)
    warmup = min(scale_kw["warmup_steps"], round(extra * paper.warmup_steps / FIGURE1_EXTRA_STEPS))
    eval_interval = max(1, min(scale_kw["eval_interval"], extra // 10))
    return extra, warmup, eval_interval


def fineweb_data_path() -> Path:
    """FineWeb-Edu prepared by `python -m inheritune_core.data prepare --name fineweb-edu` when present,
    else the bundled corpus (offline; still trained without repetition)."""
    fw = default_data_dir() / "fineweb-edu"
    return fw if (fw / "meta.json").is_file() else default_data_dir() / "english"


__all__ = [
    "Setup",
    "ExperimentOutput",
    "make_setup",
    "seed_list",
    "with_seed",
    "check_presets",
    "target_layers",
    "steps_at",
    "arm_steps",
    "kd_steps",
    "kd_steps_at",
    "figure1_schedule",
    "figure1_extra_steps",
    "fineweb_data_path",
]
