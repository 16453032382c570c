"""Attention degeneration: approximate rank k*, column mass m*, per-layer statistics and the lazy-layer report.

Definitions (paper, Section 2), for one T x T attention matrix A and a threshold t (0.9 in the paper):
- approximate rank k* = min{k : sum_{i<=k} sigma_i^2 / sum_i sigma_i^2 >= t}, singular values in decreasing order;
- mass m* = min{m : sum of the m largest column shares ||A[:, j]||^2 / ||A||_F^2 >= t}.
A single-column matrix (all attention on one token) has k* = m* = 1; these are the "degenerate" heads, and a
layer whose every head is degenerate is a *lazy layer*.

Protocol (paper, Figure 1): R = 100 runs, each a window of T = 100 consecutive validation tokens drawn with a
seed; per run and layer take the max of k* over heads (also min and mean here), then mean and std over runs.

How it is computed, and why:
- Batched: the matrices of every run, layer and head are flattened into one (N, T, T) batch, cut into a few
  chunks (at most `max_batch` matrices each, which bounds the float64 working memory, and at least one per CPU
  thread), and each chunk goes through ONE `torch.linalg.svdvals` call; there is no Python loop over matrices.
  On the CPU the chunks run in parallel, each single-threaded (see `_one_thread_per_matrix` for the measured
  reason: multi-threaded LAPACK on 100 x 100 matrices is 10-20x slower on a busy 2-core machine).
- float64: float32 SVD noise (~1e-7 of ||A||^2) is close to the tie tolerance below and could decide the
  threshold comparison; in float64 the computation noise (~1e-15) is far below it, so only genuine ties (and
  the rounding already present in float32 inputs) fall inside the tolerance.
- Ties: an exact tie such as the 10 x 10 identity (every sigma_i^2 = 1, so the 9 largest hold exactly 90%) must
  give 9, but float rounding can put the cumulative share a few ulps below 0.9 and return 10. The comparison
  is therefore `cumulative_share >= threshold - tol` with `tol = 1e-6` (absolute, on the share scale). 1e-6 is
  above the rounding noise of float32 inputs (attention probabilities are float32, relative error ~6e-8 per
  entry) and far below any difference that matters for the statistic.
- `method="gram"` computes sigma^2 as the eigenvalues of A A^T (one `eigvalsh` call): the same numbers up to
  ~1e-15 of ||A||_F^2 in float64, and usually faster on CPU. The default stays the SVD the paper describes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .attention import iter_attention
from .windows import sample_windows  # noqa: F401 - re-exported: its home before analysis.windows

DEFAULT_THRESHOLD = 0.9
DEFAULT_TIE_TOL = 1e-6
DEFAULT_MAX_BATCH = 4096  # matrices per svdvals call: 4096 x 100 x 100 float64 = 330 MB
PER_LAYER_STATS = ("max", "min", "mean")  # reductions over heads; "max" is the paper's statistic


# --------------------------------------------------------------------------------------------------------------
# k* and m* of a batch of matrices
# --------------------------------------------------------------------------------------------------------------


def _check_matrices(attn: torch.Tensor) -> None:
    if not isinstance(attn, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor of attention matrices, got {type(attn).__name__}")
    if attn.dim() < 2 or attn.shape[-1] != attn.shape[-2]:
        raise ValueError(
            f"expected square matrices in the last two dims (..., T, T), got shape {tuple(attn.shape)}"
        )
    if attn.shape[-1] == 0:
        raise ValueError("attention matrices are empty (T = 0)")


def _check_method(method: str) -> None:
    if method not in ("svd", "gram"):
        raise ValueError(f"unknown method {method!r}: use 'svd' or 'gram'")


def _check_threshold(threshold: float, tol: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if not 0.0 <= tol < threshold:
        raise ValueError(f"tie tolerance must be in [0, threshold), got {tol}")


def _smallest_count_reaching(shares_desc: torch.Tensor, threshold: float, tol: float) -> torch.Tensor:
    """For non-negative shares sorted in decreasing order along the last dim: the smallest count whose
    cumulative sum reaches `threshold` of the total, with the tie tolerance described in the module docstring.

    Cumulative sums are non-decreasing, so the answer is 1 + the number of prefixes that fall short.
    """
    cumulative = shares_desc.cumsum(dim=-1)
    total = cumulative[..., -1:]
    if not bool((total > 0).all()):
        raise ValueError("an attention matrix is all zeros: its rank and mass are undefined")
    short = cumulative < (threshold - tol) * total
    return short.sum(dim=-1) + 1


def _as_float64_batch(attn: torch.Tensor) -> tuple[torch.Tensor, torch.Size]:
    _check_matrices(attn)
    lead = attn.shape[:-2]
    flat = attn.detach().reshape(-1, attn.shape[-2], attn.shape[-1]).to(torch.float64)
    if not bool(torch.isfinite(flat).all()):
        raise ValueError("attention matrices contain NaN or inf")
    return flat, lead


def _squared_singular_values(flat: torch.Tensor, method: str) -> torch.Tensor:
    """sigma_i^2 in decreasing order, (N, T), for a float64 batch (N, T, T)."""
    if method == "svd":
        return torch.linalg.svdvals(flat).square()  # svdvals returns them sorted, largest first
    if method == "gram":
        eig = torch.linalg.eigvalsh(flat @ flat.mT)  # ascending; tiny negatives are rounding of zeros
        return eig.flip(-1).clamp_min(0.0)
    raise ValueError(f"unknown method {method!r}: use 'svd' or 'gram'")


def _chunk_slices(n: int, max_batch: int, workers: int) -> list[slice]:
    """At most `max_batch` matrices per chunk, and at least one chunk per worker when there is enough work."""
    if max_batch <= 0:
        raise ValueError(f"max_batch must be positive, got {max_batch}")
    n_chunks = max(-(-n // max_batch), min(workers, n), 1)
    size = -(-n // n_chunks)
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


@contextlib.contextmanager
def _one_thread_per_matrix():
    """Run LAPACK single-threaded for the duration, and yield how many threads torch had.

    Why: torch computes a batched CPU SVD one matrix after another, each on all intra-op threads. For 100 x 100
    matrices that threading is overhead, and on a busy machine it is ruinous: 1,536 SVDs took 27-42 s with 2
    threads vs 1.7-2.9 s with 1 while other jobs shared the 2 cores. So each chunk runs on one thread and chunks
    are spread over a thread pool of the original size (torch releases the GIL inside linalg calls).
    The thread count is global to the process; it is restored on exit.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield n
    finally:
        torch.set_num_threads(n)


def _map_chunks(
    fn: Callable[[torch.Tensor], torch.Tensor], flat: torch.Tensor, max_batch: int
) -> torch.Tensor:
    """fn over chunks of the batch `flat` (N, T, T), results concatenated along dim 0."""
    if flat.device.type != "cpu":
        return torch.cat([fn(flat[part]) for part in _chunk_slices(flat.shape[0], max_batch, 1)])
    with _one_thread_per_matrix() as workers:
        parts = _chunk_slices(flat.shape[0], max_batch, workers)
        if workers <= 1 or len(parts) == 1:
            return torch.cat([fn(flat[part]) for part in parts])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return torch.cat(list(pool.map(lambda part: fn(flat[part]), parts)))


def _rank_of_batch(threshold: float, tol: float, method: str) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda block: _smallest_count_reaching(_squared_singular_values(block, method), threshold, tol)


def _mass_of_batch(threshold: float, tol: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def mass(block: torch.Tensor) -> torch.Tensor:
        col_shares = block.square().sum(dim=-2)  # ||A[:, j]||^2; their sum is ||A||_F^2
        return _smallest_count_reaching(col_shares.sort(dim=-1, descending=True).values, threshold, tol)

    return mass


def rank_and_mass(
    attn: torch.Tensor,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    tol: float = DEFAULT_TIE_TOL,
    method: str = "svd",
    max_batch: int = DEFAULT_MAX_BATCH,
) -> tuple[torch.Tensor, torch.Tensor]:
    """k* and m* of every matrix in `attn` (..., T, T); both int64 tensors of shape attn.shape[:-2]."""
    _check_threshold(threshold, tol)
    _check_method(method)
    flat, lead = _as_float64_batch(attn)
    rank_fn, mass_fn = _rank_of_batch(threshold, tol, method), _mass_of_batch(threshold, tol)
    both = _map_chunks(lambda block: torch.stack([rank_fn(block), mass_fn(block)], dim=-1), flat, max_batch)
    return both[:, 0].reshape(lead), both[:, 1].reshape(lead)


def approx_rank(
    attn: torch.Tensor,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    tol: float = DEFAULT_TIE_TOL,
    method: str = "svd",
    max_batch: int = DEFAULT_MAX_BATCH,
) -> torch.Tensor:
    """Approximate rank k* of every matrix in `attn` (..., T, T) -> int64 tensor of shape attn.shape[:-2]."""
    _check_threshold(threshold, tol)
    _check_method(method)
    flat, lead = _as_float64_batch(attn)
    return _map_chunks(_rank_of_batch(threshold, tol, method), flat, max_batch).reshape(lead)


def column_mass(
    attn: torch.Tensor, threshold: float = DEFAULT_THRESHOLD, *, tol: float = DEFAULT_TIE_TOL
) -> torch.Tensor:
    """Mass m* of every matrix in `attn` (..., T, T) -> int64 tensor of shape attn.shape[:-2]."""
    _check_threshold(threshold, tol)
    flat, lead = _as_float64_batch(attn)
    return _mass_of_batch(threshold, tol)(flat).reshape(lead)


# --------------------------------------------------------------------------------------------------------------
# Per-head numbers of a protocol, and their per-layer summaries
# --------------------------------------------------------------------------------------------------------------


@dataclass
class HeadStats:
    """k* and m* of every run, layer and head: `rank` and `mass` are int64 tensors of shape (R, L, H)."""

    rank: torch.Tensor
    mass: torch.Tensor
    threshold: float
    seq_len: int

    def __post_init__(self) -> None:
        if self.rank.shape != self.mass.shape or self.rank.dim() != 3:
            raise ValueError(
                f"rank and mass must both be (runs, layers, heads), got {tuple(self.rank.shape)} and {tuple(self.mass.shape)}"
            )

    @property
    def n_runs(self) -> int:
        return self.rank.shape[0]

    @property
    def n_layers(self) -> int:
        return self.rank.shape[1]

    @property
    def n_heads(self) -> int:
        return self.rank.shape[2]

    @staticmethod
    def cat(parts: Sequence[HeadStats]) -> HeadStats:
        """Join the stats of consecutive batches of runs (as `analyze_model` produces them)."""
        if not parts:
            raise ValueError("no HeadStats to join")
        first = parts[0]
        for p in parts[1:]:
            if (p.threshold, p.seq_len, p.rank.shape[1:]) != (
                first.threshold,
                first.seq_len,
                first.rank.shape[1:],
            ):
                raise ValueError(
                    "cannot join HeadStats of different thresholds, window lengths or model shapes"
                )
        return HeadStats(
            torch.cat([p.rank for p in parts]),
            torch.cat([p.mass for p in parts]),
            first.threshold,
            first.seq_len,
        )

    def per_layer(self, stat: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Per run and layer, the `stat` ("max" | "min" | "mean") over heads of k* and m*: two (R, L) tensors."""
        if stat not in PER_LAYER_STATS:
            raise ValueError(f"unknown per-layer statistic {stat!r}: use one of {PER_LAYER_STATS}")
        reduce = {
            "max": lambda x: x.amax(dim=-1).double(),
            "min": lambda x: x.amin(dim=-1).double(),
            "mean": lambda x: x.double().mean(dim=-1),
        }[stat]
        return reduce(self.rank), reduce(self.mass)

    def summary(self, model: str | None = None) -> pd.DataFrame:
        """Tidy per-layer table: one row per (layer, stat) with mean and std over runs.

        std is the sample standard deviation (ddof = 1) over runs; it is NaN for a single run.
        Layers are numbered from 0, as the blocks of the model.
        """
        rows = []
        for stat in PER_LAYER_STATS:
            rank, mass = self.per_layer(stat)  # (R, L)
            for layer in range(self.n_layers):
                r, m = rank[:, layer].numpy(), mass[:, layer].numpy()
                rows.append(
                    {
                        "layer": layer,
                        "stat": stat,
                        "rank_mean": float(r.mean()),
                        "rank_std": float(r.std(ddof=1)) if r.size > 1 else float("nan"),
                        "mass_mean": float(m.mean()),
                        "mass_std": float(m.std(ddof=1)) if m.size > 1 else float("nan"),
                        "n_runs": self.n_runs,
                        "n_heads": self.n_heads,
                        "seq_len": self.seq_len,
                        "threshold": self.threshold,
                    }
                )
        frame = pd.DataFrame(rows)
        if model is not None:
            frame.insert(0, "model", model)
        return frame

    def per_head_frame(self) -> pd.DataFrame:
        """Long table of the raw numbers: run, layer, head, rank, mass (for re-analysis without the model)."""
        R, L, H = self.rank.shape
        run, layer, head = np.meshgrid(np.arange(R), np.arange(L), np.arange(H), indexing="ij")
        return pd.DataFrame(
            {
                "run": run.ravel(),
                "layer": layer.ravel(),
                "head": head.ravel(),
                "rank": self.rank.numpy().ravel(),
                "mass": self.mass.numpy().ravel(),
            }
        )


def head_stats(
    attn: torch.Tensor,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    tol: float = DEFAULT_TIE_TOL,
    method: str = "svd",
    max_batch: int = DEFAULT_MAX_BATCH,
) -> HeadStats:
    """k* and m* of attention probabilities of shape (R, L, H, T, T) (runs, layers, heads, query, key)."""
    if not isinstance(attn, torch.Tensor) or attn.dim() != 5:
        shape = tuple(attn.shape) if isinstance(attn, torch.Tensor) else type(attn).__name__
        raise ValueError(f"expected attention of shape (runs, layers, heads, T, T), got {shape}")
    rank, mass = rank_and_mass(attn, threshold, tol=tol, method=method, max_batch=max_batch)
    return HeadStats(rank=rank, mass=mass, threshold=threshold, seq_len=attn.shape[-1])


def attention_stats(
    attn: torch.Tensor,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    tol: float = DEFAULT_TIE_TOL,
    method: str = "svd",
    model: str | None = None,
) -> pd.DataFrame:
    """(R, L, H, T, T) attention -> the tidy per-layer summary of `HeadStats.summary`."""
    return head_stats(attn, threshold, tol=tol, method=method).summary(model=model)


# --------------------------------------------------------------------------------------------------------------
# Lazy layers
# --------------------------------------------------------------------------------------------------------------


def lazy_layer_report(
    stats: HeadStats,
    *,
    max_rank: int = 1,
    max_mass: int = 1,
    tol: float = 0.1,
    min_share: float | None = None,
) -> pd.DataFrame:
    """Which layers are lazy: every head degenerate (k* <= max_rank and m* <= max_mass).

    Per layer, the test is on the paper's plotted statistic, the mean over runs of the max over heads:
    lazy iff mean max k* <= max_rank + tol and mean max m* <= max_mass + tol. With the defaults a layer whose
    heads are all single-column in every run is lazy, and one where a run now and then has a rank-2 head is too
    as long as that happens in at most ~10% of runs (tol = 0.1). `all_degenerate_frac` gives the exact share of
    runs in which every head of the layer was degenerate.

    min_share: also call a layer lazy when every head is degenerate in at least this share of the runs (the
    paper's definition read per window). Real pretrained models need it: SmolLM2-135M's layer 23 has all nine
    heads single-column in 63% of windows, but a rank-2 head in the others lifts its mean max k* to ~1.5.
    """
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if min_share is not None and not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share must be in (0, 1], got {min_share}")
    max_r, max_m = stats.per_layer("max")  # (R, L)
    degenerate = (stats.rank <= max_rank) & (stats.mass <= max_mass)  # (R, L, H)
    all_degenerate = degenerate.all(dim=-1).double()  # (R, L)
    rows = []
    for layer in range(stats.n_layers):
        rank_mean, mass_mean = float(max_r[:, layer].mean()), float(max_m[:, layer].mean())
        share = float(all_degenerate[:, layer].mean())
        lazy = rank_mean <= max_rank + tol and mass_mean <= max_mass + tol
        rows.append(
            {
                "layer": layer,
                "max_rank_mean": rank_mean,
                "max_mass_mean": mass_mean,
                "all_degenerate_frac": share,
                "lazy": lazy or (min_share is not None and share >= min_share),
            }
        )
    return pd.DataFrame(rows)


def lazy_layers(stats: HeadStats, **kwargs) -> list[int]:
    """The indices of the lazy layers (see `lazy_layer_report` for the criterion and its options)."""
    report = lazy_layer_report(stats, **kwargs)
    return [int(layer) for layer in report.loc[report["lazy"], "layer"]]


# --------------------------------------------------------------------------------------------------------------
# The protocol: windows of validation tokens, a model, and attention maps
# --------------------------------------------------------------------------------------------------------------


def analyze_model(
    model,
    windows: torch.Tensor,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    batch_size: int = 10,
    tol: float = DEFAULT_TIE_TOL,
    method: str = "svd",
    progress: bool = True,
) -> HeadStats:
    """k* and m* of every run, layer and head of `model` (this project's GPT or a Hugging Face decoder).

    Attention is computed `batch_size` windows at a time and reduced at once, so the (R, L, H, T, T)
    probabilities of a large model never sit in memory together.
    """
    parts = [
        head_stats(attn, threshold, tol=tol, method=method)
        for attn in iter_attention(model, windows, batch_size=batch_size, progress=progress)
    ]
    return HeadStats.cat(parts)


def maps_frame(maps: torch.Tensor, layers: Sequence[int], heads: Sequence[int], kind: str) -> pd.DataFrame:
    """Attention maps (len(layers), len(heads), T, T) -> long table layer, head, kind, query, key, weight."""
    if maps.dim() != 4 or maps.shape[:2] != (len(layers), len(heads)):
        raise ValueError(
            f"maps of shape {tuple(maps.shape)} do not match {len(layers)} layers x {len(heads)} heads"
        )
    nl, nh, T, _ = maps.shape
    li, hi, qi, ki = np.meshgrid(np.arange(nl), np.arange(nh), np.arange(T), np.arange(T), indexing="ij")
    return pd.DataFrame(
        {
            "layer": np.asarray(layers)[li.ravel()],
            "head": np.asarray(heads)[hi.ravel()],
            "kind": kind,
            "query": qi.ravel(),
            "key": ki.ravel(),
            "weight": maps.detach().double().cpu().numpy().ravel(),
        }
    )


__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_TIE_TOL",
    "HeadStats",
    "analyze_model",
    "approx_rank",
    "attention_stats",
    "column_mass",
    "head_stats",
    "lazy_layer_report",
    "lazy_layers",
    "maps_frame",
    "rank_and_mass",
    "sample_windows",
]
