"""The validation loss that decides parity and fills the tables: the whole validation split, with its error.

The trainer's periodic evaluation (`evaluate_loss`, below) averages `eval_iters` fixed random batches: cheap
enough to draw a loss curve, but at the `tiny` scale that is 5 batches (2,560 tokens), and Algorithm 1 stops
on a comparison of two such numbers. Parity decisions and every final number therefore use
`validation_loss`: the mean next-token cross-entropy over EVERY non-overlapping window of block_size tokens
in the validation split (the paper's D_val), in a fixed order, the same for every model.

Its standard error is computed with the windows as the units (per-window mean losses are independent enough;
tokens inside a window are not): se = std(window means) / sqrt(windows). `max_windows` keeps a fixed,
evenly spaced subset when a split is too large to score whole (never needed by the shipped scales); the
subset depends only on the split's length, so it is the same for every model. A run's final validation
(`validation_loss_of_run`) takes it from `TrainConfig.val_windows` (None, the whole split, except at smoke).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..data.sampling import make_sampler
from ..data.tokens import TokenData
from ..errors import DataError
from .config import TrainConfig
from .distributed import all_reduce_mean, current_dist
from .modules import unwrap
from .optim import autocast_context, logits_of

# Seed of the fixed validation windows: every evaluation of every run sees the same batches.
EVAL_SEED = 4242

# What the tables need: the standard error of a final loss should be below this (issue 11); reported beside
# every loss so a reader can check it.
TARGET_SE = 0.01


@dataclass(frozen=True)
class ValidationLoss:
    """Mean token loss over the scored windows, its standard error, and how much text it covered."""

    mean: float
    se: float
    tokens: int
    windows: int

    def to_result(self) -> dict[str, Any]:
        """The result.json fields (`val_loss_full` is what the tables and parity decisions read)."""
        return {
            "val_loss_full": self.mean,
            "val_loss_se": self.se,
            "val_tokens": self.tokens,
            "val_windows": self.windows,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def window_starts(num_tokens: int, block_size: int, max_windows: int | None = None) -> np.ndarray:
    """Start offsets of the non-overlapping windows (block_size inputs + 1 target) of a split, in order;
    an evenly spaced fixed subset of at most `max_windows` of them when given."""
    n = (num_tokens - 1) // block_size
    if n <= 0:
        raise DataError(
            f"the validation split has {num_tokens} tokens, fewer than one window of {block_size + 1}"
        )
    ids = np.arange(n, dtype=np.int64)
    if max_windows is not None and n > max_windows:
        ids = np.unique(np.linspace(0, n - 1, max_windows).round().astype(np.int64))
    return ids * block_size


@torch.no_grad()
def validation_loss(
    model: torch.nn.Module,
    data: TokenData,
    block_size: int,
    *,
    batch_tokens: int = 2048,
    device: str | torch.device | None = None,
    dtype: str = "auto",
    max_windows: int | None = None,
    split: str = "val",
) -> ValidationLoss:
    """Mean next-token loss of `model` over the whole `split` (see the module docstring) and its standard
    error. Works for our GPT and for Hugging Face models (`.logits`). `batch_tokens` bounds the tokens per
    forward pass (memory of the logits), not the result."""
    tokens = data.split(split)
    starts = window_starts(len(tokens), block_size, max_windows)
    if device is None:
        device = next(unwrap(model).parameters()).device
    device = torch.device(device)
    was_training = model.training
    model.eval()
    batch_size = max(1, batch_tokens // block_size)
    window_means: list[np.ndarray] = []
    try:
        for i in range(0, len(starts), batch_size):
            chunk = np.stack([tokens[s : s + block_size + 1] for s in starts[i : i + batch_size]])
            chunk = torch.from_numpy(chunk.astype(np.int64)).to(device)
            x, y = chunk[:, :-1], chunk[:, 1:]
            with autocast_context(device.type, dtype):
                logits = logits_of(model(x))
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1), reduction="none"
            )
            window_means.append(loss.view(len(x), -1).mean(dim=1).double().cpu().numpy())
    finally:
        model.train(was_training)
    per_window = np.concatenate(window_means)
    n = len(per_window)
    se = float(per_window.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return ValidationLoss(mean=float(per_window.mean()), se=se, tokens=n * block_size, windows=n)


def validation_loss_of_run(
    model: torch.nn.Module, data: TokenData, cfg: TrainConfig, device: str | torch.device | None = None
) -> ValidationLoss:
    """The final validation of a run trained with `cfg`: its context, dtype and window cap (`val_windows`)."""
    return validation_loss(
        model, data, cfg.block_size, device=device, dtype=cfg.dtype, max_windows=cfg.val_windows
    )


@torch.no_grad()
def evaluate_loss(
    model: torch.nn.Module,
    data: TokenData,
    cfg: TrainConfig | None = None,
    *,
    iters: int | None = None,
    micro_batch: int | None = None,
    block_size: int | None = None,
    split: str = "val",
    device: str | torch.device | None = None,
    dtype: str | None = None,
    seed: int = EVAL_SEED,
) -> float:
    """Mean next-token cross-entropy of any model over `iters` fixed random windows of a split.

    The windows depend only on (seed, micro_batch, block_size), so every evaluation of every model sees the
    same text and losses are comparable across steps and runs. Takes its sizes from `cfg` unless given. Under
    DDP the iterations are spread over the ranks and the mean is all-reduced.
    """
    iters = iters or (cfg.eval_iters if cfg else None)
    micro_batch = micro_batch or (cfg.micro_batch if cfg else None)
    block_size = block_size or (cfg.block_size if cfg else None)
    if not (iters and micro_batch and block_size):
        raise ValueError("evaluate_loss needs a TrainConfig or iters, micro_batch and block_size")
    dtype = dtype or (cfg.dtype if cfg else "auto")
    if device is None:
        device = next(unwrap(model).parameters()).device
    device = torch.device(device)
    ctx = current_dist()
    sampler = make_sampler("random", data.split(split), micro_batch, block_size, seed=seed)
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for i in range(ctx.rank, iters, ctx.world_size):
            x, y = sampler.batch_at(i)
            with autocast_context(device.type, dtype):
                logits = logits_of(model(x.to(device)))
            total += F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), y.to(device).reshape(-1)
            ).item()
    finally:
        model.train(was_training)
    return all_reduce_mean(total, ctx, device) * ctx.world_size / iters


__all__ = [
    "ValidationLoss",
    "validation_loss",
    "validation_loss_of_run",
    "evaluate_loss",
    "window_starts",
    "TARGET_SE",
    "EVAL_SEED",
]
