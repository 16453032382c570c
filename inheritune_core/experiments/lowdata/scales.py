"""The low-data experiment's TrainConfig and run-folder names; its scales (`LOWDATA_SCALES`, Appendix C.2 and
the offline CPU sizes) are `config.py`'s, re-exported here."""

from __future__ import annotations

import os
from typing import Any

from ...config import (  # the scales live with the paper's other numbers
    LOWDATA_SCALES,
    OFFLINE_LLAMA_REFERENCE,
    PAPER_REFERENCE_LAYERS,
    LowDataScale,
    get_lowdata_scale,
)

# torch, transformers and lm-eval are imported inside the functions that train, load or evaluate a model
# (training.trainer, models.llama, evaluation.harness), so planning, sizing and the CLI's `memory` stay cheap.

OFFLINE_REFERENCE = OFFLINE_LLAMA_REFERENCE
HF_EXPORT_DIR = "hf"  # inside a run folder: the trained target as a Hugging Face model (+ tokenizer)


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


__all__ = [
    "LOWDATA_SCALES",
    "PAPER_REFERENCE_LAYERS",
    "LowDataScale",
    "get_lowdata_scale",
    "lowdata_train_config",
    "OFFLINE_REFERENCE",
    "HF_EXPORT_DIR",
]
