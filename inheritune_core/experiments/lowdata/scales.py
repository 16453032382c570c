"""The low-data experiment's scales (Appendix C.2 and the offline CPU sizes) and its TrainConfig."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from ...config import LOWDATA, OFFLINE_LLAMA_REFERENCE, OptimPreset
from ...errors import ConfigError
from ...evaluation.tasks import TABLE5_TASKS

# torch, transformers and lm-eval are imported inside the functions that train, load or evaluate a model
# (training.trainer, models.llama, evaluation.harness), so planning, sizing and the CLI's `memory` stay cheap.

OFFLINE_REFERENCE = OFFLINE_LLAMA_REFERENCE
HF_EXPORT_DIR = "hf"  # inside a run folder: the trained target as a Hugging Face model (+ tokenizer)

# Table 8's references and the depth the paper cuts them to (Appendix B.2: n = 7 for the 7B models).
PAPER_REFERENCE_LAYERS: dict[str, int] = {
    "openlm-research/open_llama_3b": 13,
    "openlm-research/open_llama_7b": 7,
    "meta-llama/Llama-2-7b-hf": 7,
}


@dataclass(frozen=True)
class LowDataScale:
    """One size of the Appendix B experiment: reference, depth, corpus budget, optimizer, evaluation, and the
    points of the ablations (Figure 11's depths, Figure 13's epochs, Table 9's fresh-token runs)."""

    name: str
    reference: str
    n_layers: int
    corpus: str  # a prepare_corpus name: "bundled" offline, "redpajama-sample" for the paper
    train_tokens: int | None  # corpus budget (prepare_corpus max_tokens); None: the whole corpus
    optim: OptimPreset  # batch_tokens, max_steps, AdamW and the cosine schedule
    micro_batch: int
    block_size: int
    eval_interval: int
    eval_iters: int
    activation_checkpointing: bool
    eval_tasks: tuple[str, ...]
    eval_limit: int | None  # lm-eval documents per task; None: all
    n_layer_sweep: tuple[int, ...]  # Figure 11's depths
    epoch_sweep: tuple[int, ...]  # Figure 13: epochs over the repeated budget B
    fresh_epochs: tuple[int, ...]  # Table 9: E of the E*B fresh-token runs
    # B, the repeated budget, in optimizer steps; None: the whole corpus budget (train_tokens, the paper's 1B)
    epoch_budget_steps: int | None
    description: str = ""

    @property
    def max_steps(self) -> int:
        return self.optim.max_steps

    @property
    def batch_tokens(self) -> int:
        return self.optim.batch_tokens

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _offline_optim(batch_tokens: int, max_steps: int, warmup_steps: int) -> OptimPreset:
    """Appendix C.2's AdamW and cosine numbers with a smaller batch, fewer steps and a shorter warmup."""
    return dataclasses.replace(
        LOWDATA.optim, batch_tokens=batch_tokens, max_steps=max_steps, warmup_steps=warmup_steps
    )


# Offline scales keep two or three points per ablation so the notebook stays fast; `paper` has the paper's
# (Figure 11: n = 4..20 of OpenLLaMA-3B's 26 layers; Figure 13: 1B tokens repeated up to 20 epochs; Table 9:
# 10 and 20 epochs against 10B and 20B fresh tokens).
LOWDATA_SCALES: dict[str, LowDataScale] = {
    "smoke": LowDataScale(
        name="smoke",
        reference=OFFLINE_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=2 * 32, max_steps=2, warmup_steps=1),
        micro_batch=2,
        block_size=32,
        eval_interval=2,
        eval_iters=1,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=4,
        n_layer_sweep=(4, 15),
        epoch_sweep=(1, 2),
        fresh_epochs=(2,),
        epoch_budget_steps=1,  # the three Figure 13 runs take 1 + 2 + 2 steps
        description="test suite: seconds on a CPU, numbers meaningless",
    ),
    "tiny": LowDataScale(
        name="tiny",
        reference=OFFLINE_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=4 * 64, max_steps=30, warmup_steps=3),
        micro_batch=4,
        block_size=64,
        eval_interval=10,
        eval_iters=4,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=100,
        n_layer_sweep=(4, 8, 15),
        epoch_sweep=(1, 2, 4),
        fresh_epochs=(4,),
        epoch_budget_steps=2,
        description="2-core CPU: minutes (the 15-layer SmolLM2 target trains at ~10-60 tokens/s on 2 cores)",
    ),
    "small": LowDataScale(
        name="small",
        reference=OFFLINE_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=16 * 1024, max_steps=1000, warmup_steps=50),
        micro_batch=16,
        block_size=1024,
        eval_interval=100,
        eval_iters=20,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=None,
        n_layer_sweep=(4, 8, 12, 15, 20, 24),
        epoch_sweep=(1, 2, 4, 8),
        fresh_epochs=(4, 8),
        epoch_budget_steps=128,
        description="one GPU: SmolLM2 target, ~16M tokens (many epochs of the bundled corpus)",
    ),
    "paper": LowDataScale(
        name="paper",
        reference=LOWDATA.reference,
        n_layers=LOWDATA.n_layers,
        corpus="redpajama-sample",
        train_tokens=LOWDATA.train_tokens,
        optim=LOWDATA.optim,
        micro_batch=4,
        block_size=LOWDATA.block_size,
        eval_interval=1000,
        eval_iters=50,
        activation_checkpointing=True,
        eval_tasks=TABLE5_TASKS,
        eval_limit=None,
        n_layer_sweep=LOWDATA.figure11_layers,
        epoch_sweep=(1, 2, 4, 5, 8, 10, 20),
        fresh_epochs=(10, 20),
        epoch_budget_steps=None,
        description="Appendix C.2: OpenLLaMA-3B, n=13, 1B RedPajama tokens x ~8 epochs, one 48 GB GPU",
    ),
}


def get_lowdata_scale(scale: str | LowDataScale, **overrides: Any) -> LowDataScale:
    """A scale by name, with fields replaced by `overrides` (e.g. reference=..., n_layers=7, or an optimizer
    field such as max_steps=4, which replaces that field of `optim`). None leaves a field as it is."""
    if isinstance(scale, str):
        if scale not in LOWDATA_SCALES:
            raise ConfigError(f"unknown low-data scale {scale!r}; choose one of {', '.join(LOWDATA_SCALES)}")
        scale = LOWDATA_SCALES[scale]
    own = {f.name for f in dataclasses.fields(LowDataScale)}
    optim = {f.name for f in dataclasses.fields(OptimPreset)}
    unknown = sorted(set(overrides) - own - optim)
    if unknown:
        raise ConfigError(f"unknown low-data scale fields {unknown}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    optim_overrides = {k: overrides.pop(k) for k in list(overrides) if k in optim}
    if optim_overrides:
        overrides["optim"] = dataclasses.replace(overrides.get("optim", scale.optim), **optim_overrides)
    return dataclasses.replace(scale, **overrides)


def lowdata_train_config(
    scale: str | LowDataScale,
    out_dir: str | os.PathLike,
    device: str = "cpu",
    progress: bool = True,
    seed: int = 1337,
    **overrides: Any,
):
    """The TrainConfig of a scale: AdamW/cosine as Appendix C.2, sequential sampling (epochs over the budget),
    bf16 autocast on CUDA (dtype="auto") and activation checkpointing where the scale asks for it."""
    from ...training.trainer import TrainConfig

    s = get_lowdata_scale(scale)
    kwargs = dict(
        out_dir=str(out_dir),
        max_steps=s.optim.max_steps,
        batch_tokens=s.optim.batch_tokens,
        micro_batch=s.micro_batch,
        block_size=s.block_size,
        learning_rate=s.optim.learning_rate,
        min_lr=s.optim.min_lr,
        warmup_steps=s.optim.warmup_steps,
        weight_decay=s.optim.weight_decay,
        beta1=s.optim.beta1,
        beta2=s.optim.beta2,
        grad_clip=s.optim.grad_clip,
        eval_interval=s.eval_interval,
        eval_iters=s.eval_iters,
        log_interval=max(1, min(10, s.eval_interval)),
        device=device,
        sampler="sequential",
        seed=seed,
        progress=progress,
        activation_checkpointing=s.activation_checkpointing,
    )
    return TrainConfig(**{**kwargs, **overrides})
