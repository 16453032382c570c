"""The training state: ONE object holding everything a run carries from step to step, saved and loaded whole.

`TrainState` holds the model, the optimizer, the sampler's position, the step and token counters, the best
validation loss, the elapsed time, the metrics rows, the divergence counters and (when saved) the RNG states.
`to_checkpoint()` is exactly what ckpt.pt holds and `restore(ckpt)` puts all of it back, so resume is
bit-identical on CPU (tests/test_train_resume.py). Everything that is not a tensor is stored as plain types
(ints, floats, strings, lists, dicts): the Python and NumPy RNG states become lists, so a checkpoint loads
with `torch.load(weights_only=True)` (`training.checkpoint`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from .modules import jsonable, model_config_dict

CHECKPOINT_FORMAT = "inheritune-train-v1"


def rng_states() -> dict[str, Any]:
    """Python, NumPy, torch (and CUDA) RNG states, as plain lists and uint8 tensors."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore `rng_states()`; also the tuples and arrays of checkpoints written before the plain-type format."""
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


@dataclass
class TrainState:
    """Model, optimizer, sampler position, counters: what a checkpoint saves and a resume restores."""

    model: nn.Module  # the unwrapped module (no DDP / compile wrapper)
    optimizer: torch.optim.Optimizer
    sampler: Any  # data.sampling's samplers: state_dict() / load_state_dict()
    step: int = 0
    tokens_seen: int = 0
    best_val: float = math.inf
    elapsed_s: float = 0.0  # wall time of earlier sessions of this run
    metrics_rows: list[dict[str, Any]] = field(default_factory=list)
    skipped_steps: int = 0
    bad_steps_in_a_row: int = 0

    def to_checkpoint(self, *, elapsed_s: float, train_config: dict, data: dict) -> dict[str, Any]:
        """ckpt.pt's content: this state plus the run's identity (config, corpus) for the resume checks."""
        return dict(
            format=CHECKPOINT_FORMAT,
            model=self.model.state_dict(),
            model_class=type(self.model).__name__,
            model_config=jsonable(model_config_dict(self.model)),
            optimizer=self.optimizer.state_dict(),
            step=self.step,
            tokens_seen=self.tokens_seen,
            rng=rng_states(),
            sampler=self.sampler.state_dict(),
            train_config=jsonable(train_config),
            metrics_rows=[dict(r) for r in self.metrics_rows],
            best_val_loss=float(self.best_val),
            elapsed_s=float(elapsed_s),
            data=jsonable(data),
            skipped_steps=self.skipped_steps,
            bad_steps_in_a_row=self.bad_steps_in_a_row,
        )

    def restore(self, ckpt: dict[str, Any]) -> None:
        """Everything but the weights (`checkpoint.load_checkpoint` loaded them, after its checks)."""
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.sampler.load_state_dict(ckpt["sampler"])
        set_rng_states(ckpt["rng"])
        self.step, self.tokens_seen = ckpt["step"], ckpt["tokens_seen"]
        self.best_val, self.elapsed_s = ckpt["best_val_loss"], ckpt["elapsed_s"]
        self.metrics_rows = list(ckpt["metrics_rows"])
        # checkpoints written before the divergence policy counted nothing
        self.skipped_steps = ckpt.get("skipped_steps", 0)
        self.bad_steps_in_a_row = ckpt.get("bad_steps_in_a_row", 0)


__all__ = ["TrainState", "CHECKPOINT_FORMAT", "rng_states", "set_rng_states"]
