"""Which data each training run reads: its own stream, a function of (its seed, its arm), never a copy of
another run's (issue 18; the paper: "data is randomly sampled with replacement during batch creation").

A run's stream is the sampler's (seed, offset) pair (data.sampling): `TrainConfig.seed` seeds the sampler and
`TrainConfig.sampler_offset` (a recipe's `data_offset`) is the global micro-batch it starts at.
- The reference reads (its seed, from 0): unchanged, so its run and every cached copy keep their hash.
  Under the sequential sampler a reference trained per seed starts at a window its seed picks
  (`reference_stream`), or every seed's reference would read the same windows.
- Every other run reads `derive_data_seed(seed, key)`, where the key names the arm (its run label and steps):
  two arms of one experiment, or one arm under two seeds, draw different batches. The model's own
  initialisation keeps the run's seed (`RunSpec.seed`); only the data seed is derived.
- A continuation (a model that starts from a trained run's weights: an inherited arm after its reference,
  stacking's second stage after its first, Algorithm 1's rounds after the reference) starts after its
  parent's last micro-batch, so it never re-reads its parent's stream.
- The sequential sampler (Figure 4, no repetition) ignores the seed, so there the seed picks the starting
  window instead: anywhere in the epoch for a fresh run, and for a continuation a place after the parent's
  windows that leaves room for the whole run before the epoch wraps onto the parent's windows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..training.accounting import continuation_offset


@dataclass(frozen=True)
class DataStream:
    """A run's sampler seed and the global micro-batch (of its own micro_batch windows) it starts at."""

    seed: int
    offset: int = 0


def derive_data_seed(seed: int, key: str) -> int:
    """A 32-bit data seed from (the run's seed, its arm's key): stable across processes and platforms."""
    digest = hashlib.sha256(f"{int(seed)}/{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def micro_batches_per_step(train_config: Mapping[str, Any]) -> int:
    """Global micro-batches one optimizer step draws."""
    return int(train_config["batch_tokens"]) // (
        int(train_config["micro_batch"]) * int(train_config["block_size"])
    )


def stream_span(train_config: Mapping[str, Any], steps: int | None = None) -> tuple[int, int]:
    """(first, one past the last) global micro-batch a run of this train config reads."""
    start = int(train_config.get("sampler_offset", 0))
    n = int(train_config["max_steps"] if steps is None else steps)
    return start, start + n * micro_batches_per_step(train_config)


def epoch_micro_batches(n_train_tokens: int, micro_batch: int, block_size: int) -> int:
    """Micro-batches of consecutive windows in one pass over the training split (the sequential sampler)."""
    return max(1, ((n_train_tokens - 1) // block_size) // micro_batch)


def reference_stream(
    seed: int, key: str, *, sampler: str, per_seed: bool, train_config: Mapping[str, Any], n_train_tokens: int
) -> DataStream:
    """The reference's stream: (seed, 0), except a per-seed reference under the sequential sampler."""
    if sampler != "sequential" or not per_seed:
        return DataStream(int(seed), 0)
    epoch = epoch_micro_batches(
        n_train_tokens, int(train_config["micro_batch"]), int(train_config["block_size"])
    )
    return DataStream(int(seed), derive_data_seed(seed, key) % epoch)


def data_stream(
    seed: int,
    key: str,
    *,
    sampler: str,
    train_config: Mapping[str, Any],
    own_micro_batches: int,
    n_train_tokens: int,
    parent: Mapping[str, Any] | None = None,
) -> DataStream:
    """The stream of a non-reference run (see the module docstring).

    train_config: the run's (its micro_batch and block_size); own_micro_batches: how many global
    micro-batches it reads at most (a recipe: every round); parent: the train config of the run whose
    weights it starts from (None for a fresh run)."""
    data_seed = derive_data_seed(seed, key)
    micro_batch, block_size = int(train_config["micro_batch"]), int(train_config["block_size"])
    start = parent_start = parent_end = 0
    if parent is not None:
        p0, p1 = stream_span(parent)
        parent_start = continuation_offset(p0, int(parent["micro_batch"]), micro_batch)
        start = parent_end = continuation_offset(p1, int(parent["micro_batch"]), micro_batch)
    if sampler != "sequential":
        return DataStream(data_seed, start)
    epoch = epoch_micro_batches(n_train_tokens, micro_batch, block_size)
    if parent is None:
        return DataStream(data_seed, data_seed % epoch)
    room = epoch - (parent_end - parent_start) - own_micro_batches  # shifts that keep off the parent
    return DataStream(data_seed, start + (data_seed % (room + 1) if room > 0 else 0))


__all__ = [
    "DataStream",
    "reference_stream",
    "derive_data_seed",
    "data_stream",
    "stream_span",
    "micro_batches_per_step",
    "epoch_micro_batches",
]
