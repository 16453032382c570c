"""Windows of validation tokens: the paper's protocol reads attention on R runs of T consecutive tokens.

Its own module so that `analysis.attention` (which samples windows for a pretrained reference) and
`analysis.degeneration` (which analyses the attention of windows) need not import each other.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.tokens import TokenData


def sample_windows(tokens, n_runs: int = 100, seq_len: int = 100, seed: int = 0) -> torch.Tensor:
    """`n_runs` windows of `seq_len` consecutive tokens at seeded uniform random offsets -> int64 (R, T).

    `tokens` is a 1-D token array (e.g. the validation memmap) or a `TokenData`, whose "val" split is used.
    Offsets are drawn independently (with replacement), as the paper's "100 randomly selected samples".
    """
    if isinstance(tokens, TokenData):
        tokens = tokens.split("val")
    arr = np.asarray(tokens)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D token array, got shape {arr.shape}")
    if n_runs <= 0 or seq_len <= 0:
        raise ValueError(f"n_runs and seq_len must be positive, got {n_runs} and {seq_len}")
    if arr.size < seq_len:
        raise ValueError(f"{arr.size} tokens cannot hold a window of {seq_len}")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, arr.size - seq_len + 1, size=n_runs)
    windows = np.stack([arr[s : s + seq_len] for s in starts]).astype(np.int64)
    return torch.from_numpy(windows)


__all__ = ["sample_windows"]
