"""Batch samplers: token array -> (x, y) micro-batches, deterministic, resumable and DDP-aware.

Both samplers define one *global* stream of micro-batches, numbered 0, 1, 2, ... and fully determined by the
seed. Under DDP, global micro-batch i goes to rank i % world_size. So 2 ranks with 1 accumulation step together
draw exactly what 1 rank with 2 accumulation steps draws, and a DDP run can be compared with (and resumed from)
a single-process run. The only state is `consumed`, the number of global micro-batches all ranks together have
drawn; ranks move in lockstep, so it is the same on every rank and one rank's checkpoint resumes them all.

`offset` starts a sampler at global micro-batch `offset` of the stream instead of 0. A model that continues
another's lineage (an Inheritune round after its reference, the next round after the previous one) starts
where the previous run stopped, so with the sequential sampler no window is read twice in one lineage until
the corpus is exhausted (Section 5, "without data repetition"). `drawn_windows()` lists the start offsets of
every window drawn so far (the accounting in result.json and the tests read it).

- `RandomBatchSampler`: windows drawn uniformly *with replacement*, as the paper's GPT-2 runs on OpenWebText
  (and nanoGPT). The offsets of global micro-batch i come from a generator seeded with (seed, i), so jumping to
  any position costs nothing and no RNG state has to be saved.
- `SequentialBatchSampler`: consecutive non-overlapping windows, no repetition until the corpus is exhausted
  (then it wraps to the next epoch), as the paper's FineWeb-Edu runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import DataError


class _BaseSampler:
    kind = "base"

    def __init__(
        self,
        tokens: np.ndarray,
        micro_batch: int,
        block_size: int,
        seed: int = 1337,
        rank: int = 0,
        world_size: int = 1,
        offset: int = 0,
    ):
        if micro_batch <= 0 or block_size <= 0:
            raise ValueError(f"micro_batch and block_size must be positive, got {micro_batch}, {block_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a non-negative integer (global micro-batches), got {offset!r}")
        if len(tokens) < block_size + 1:
            raise DataError(
                f"only {len(tokens)} tokens, fewer than one window of block_size+1={block_size + 1} tokens"
            )
        self.tokens = tokens
        self.micro_batch = micro_batch
        self.block_size = block_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.offset = offset  # global micro-batch index of this sampler's first batch
        self.consumed = 0  # global micro-batches drawn by all ranks together

    def _offsets(self, index: int) -> np.ndarray:
        """Start offsets of global micro-batch `index`; each sampler kind defines its own."""
        raise NotImplementedError

    def batch_at(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Global micro-batch `index`: inputs and next-token targets, int64 (micro_batch, block_size)."""
        windows = np.stack([self.tokens[o : o + self.block_size + 1] for o in self._offsets(index)])
        windows = torch.from_numpy(windows.astype(np.int64))
        return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()

    def window_starts(self, index: int) -> np.ndarray:
        """Token offsets of the windows of global micro-batch `index` (what `batch_at(index)` reads)."""
        return np.asarray(self._offsets(index), dtype=np.int64)

    @property
    def position(self) -> int:
        """Global micro-batch index of the next batch: where a run continuing this stream should start."""
        return self.offset + self.consumed

    def drawn_windows(self) -> np.ndarray:
        """Start offsets of every window drawn so far by all ranks together, in stream order."""
        if self.consumed == 0:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([self.window_starts(i) for i in range(self.offset, self.position)])

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's next micro-batch; advances every rank's shared position by world_size."""
        batch = self.batch_at(self.offset + self.consumed + self.rank)
        self.consumed += self.world_size
        return batch

    def state_dict(self) -> dict[str, Any]:
        return dict(
            kind=self.kind,
            seed=self.seed,
            micro_batch=self.micro_batch,
            block_size=self.block_size,
            num_tokens=len(self.tokens),
            offset=self.offset,
            consumed=self.consumed,
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the position; refuses a state from a sampler that would draw a different stream."""
        mine = self.state_dict()
        state = {"offset": 0, **state}  # checkpoints written before offsets existed started at 0
        for key in ("kind", "seed", "micro_batch", "block_size", "num_tokens", "offset"):
            if state.get(key) != mine[key]:
                raise ValueError(
                    f"sampler state does not match this sampler: {key}={state.get(key)!r}, expected {mine[key]!r}"
                )
        self.consumed = int(state["consumed"])


class RandomBatchSampler(_BaseSampler):
    """Windows drawn with replacement (OpenWebText, as the paper's GPT-2 runs)."""

    kind = "random"

    def _offsets(self, index: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, index])
        # A window is block_size+1 tokens (inputs plus the shifted targets).
        return rng.integers(0, len(self.tokens) - self.block_size, size=self.micro_batch)


class SequentialBatchSampler(_BaseSampler):
    """Consecutive non-overlapping windows: no repetition within an epoch (FineWeb-Edu, Section 4.3)."""

    kind = "sequential"

    @property
    def num_windows(self) -> int:
        return (len(self.tokens) - 1) // self.block_size

    @property
    def epoch(self) -> int:
        """Completed passes over the corpus (0 while no window has been repeated)."""
        return self.consumed * self.micro_batch // self.num_windows

    def _offsets(self, index: int) -> np.ndarray:
        window_ids = (index * self.micro_batch + np.arange(self.micro_batch)) % self.num_windows
        return window_ids * self.block_size


SAMPLERS = {"random": RandomBatchSampler, "sequential": SequentialBatchSampler}


def make_sampler(
    kind: str,
    tokens: np.ndarray,
    micro_batch: int,
    block_size: int,
    seed: int = 1337,
    rank: int = 0,
    world_size: int = 1,
    offset: int = 0,
) -> _BaseSampler:
    if kind not in SAMPLERS:
        raise ValueError(f"unknown sampler {kind!r}; choose one of {', '.join(SAMPLERS)}")
    return SAMPLERS[kind](
        tokens, micro_batch, block_size, seed=seed, rank=rank, world_size=world_size, offset=offset
    )


__all__ = ["RandomBatchSampler", "SequentialBatchSampler", "make_sampler", "SAMPLERS"]
