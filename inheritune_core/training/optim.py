"""The arithmetic of a training step (Appendix C.1): the learning-rate schedule, AdamW's parameter groups, the
distillation loss and the autocast context. Pure functions of a `TrainConfig` and tensors."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import KD_ALPHA, KD_TEMPERATURE
from .config import TrainConfig


def learning_rate_at(step: int, cfg: TrainConfig) -> float:
    """nanoGPT's schedule: linear warmup to learning_rate, then cosine to min_lr at max_steps."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_steps + 1)
    if cfg.schedule == "constant":
        return cfg.learning_rate
    decay_steps = max(1, cfg.max_steps - cfg.warmup_steps)
    ratio = min(1.0, (step - cfg.warmup_steps) / decay_steps)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


def logits_of(output: Any) -> torch.Tensor:
    """Logits from a model's output: a tensor (GPT) or an object with `.logits` (Hugging Face)."""
    return output.logits if hasattr(output, "logits") else output


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = KD_ALPHA,
    temperature: float = KD_TEMPERATURE,
) -> torch.Tensor:
    """alpha * CE(student, targets) + (1 - alpha) * T^2 * KL(p_teacher || p_student), per-token mean.

    Hinton et al.'s soft-target loss: both distributions are softened by T, and T^2 keeps the gradient scale
    of the soft term independent of T. Computed in fp32 whatever the autocast dtype.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} "
            "differ (teacher and student must share the vocabulary)"
        )
    vocab = student_logits.size(-1)
    s = student_logits.reshape(-1, vocab).float()
    t = teacher_logits.reshape(-1, vocab).float()
    ce = F.cross_entropy(s, targets.reshape(-1))
    if alpha == 1.0:
        return ce
    log_p_s = F.log_softmax(s / temperature, dim=-1)
    log_p_t = F.log_softmax(t / temperature, dim=-1)
    kl = F.kl_div(log_p_s, log_p_t, log_target=True, reduction="batchmean")  # sum_v p_t (log p_t - log p_s)
    return alpha * ce + (1.0 - alpha) * temperature**2 * kl


def configure_optimizer(model: nn.Module, cfg: TrainConfig, device_type: str) -> torch.optim.AdamW:
    """AdamW with weight decay on 2D+ parameters only (matrices, embeddings), not on norms/biases (nanoGPT)."""
    params = [p for p in model.parameters() if p.requires_grad]  # parameters() counts a tied weight once
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    extra = {"fused": True} if device_type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), **extra)


def autocast_context(device_type: str, dtype: str):
    """bf16 autocast on CUDA ("auto"), plain fp32 on CPU ("auto"); an explicit dtype is obeyed."""
    if dtype == "bfloat16" or (dtype == "auto" and device_type == "cuda"):
        return torch.autocast(device_type=device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


__all__ = ["learning_rate_at", "logits_of", "kd_loss", "configure_optimizer", "autocast_context"]
