"""k* and m* on matrices whose answers are known by hand, batching, the per-layer tables and the lazy report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inheritune_core.analysis.degeneration import (
    DEFAULT_TIE_TOL,
    HeadStats,
    approx_rank,
    attention_stats,
    column_mass,
    head_stats,
    lazy_layer_report,
    lazy_layers,
    maps_frame,
    rank_and_mass,
    sample_windows,
)

METHODS = ("svd", "gram")


def one_column(T: int, col: int = 0) -> torch.Tensor:
    A = torch.zeros(T, T, dtype=torch.float64)
    A[:, col] = 1.0
    return A


def uniform_causal(T: int) -> torch.Tensor:
    """A[i, j] = 1/(i+1) for j <= i: every query attends uniformly to its prefix."""
    return torch.ones(T, T, dtype=torch.float64).tril() / torch.arange(1, T + 1, dtype=torch.float64)[:, None]


def both(A, threshold=0.9, method="svd"):
    return int(approx_rank(A, threshold, method=method)), int(column_mass(A, threshold))


# ---- hand-computed values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_single_column_has_rank_and_mass_one(method):
    # sigma = (sqrt(T), 0, ...) and one column holds all the mass.
    assert both(one_column(12, col=5), method=method) == (1, 1)


@pytest.mark.parametrize("method", METHODS)
def test_identity_8_needs_all_8(method):
    # 7/8 = 0.875 < 0.9 <= 8/8.
    assert both(torch.eye(8, dtype=torch.float64), method=method) == (8, 8)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_identity_10_exact_tie_gives_9(method, dtype):
    # 9/10 = 0.9 exactly: the tie must count as reached whatever the rounding of the SVD.
    assert both(torch.eye(10, dtype=dtype), method=method) == (9, 9)


@pytest.mark.parametrize("method", METHODS)
def test_permutation_matrix_is_like_identity(method):
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    P = torch.eye(10, dtype=torch.float64)[perm]
    assert not torch.equal(P, torch.eye(10, dtype=torch.float64))
    assert both(P, method=method) == (9, 9)
    assert both(torch.eye(8, dtype=torch.float64)[torch.tensor([3, 0, 7, 1, 6, 2, 5, 4])], method=method) == (
        8,
        8,
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_uniform_causal_average_100(method, dtype):
    # Cumulative sigma^2 shares: 0.512, 0.732, 0.831, 0.883, 0.913 -> k* = 5.
    # Column j has squared norm sum_{i>=j} 1/(i+1)^2, decreasing in j; the first 29 hold 0.8976, 30 hold 0.9022.
    assert both(uniform_causal(100).to(dtype), method=method) == (5, 30)


def test_uniform_causal_by_independent_numpy_computation():
    A = uniform_causal(100).numpy()
    s2 = np.linalg.svd(A, compute_uv=False) ** 2
    assert int(np.argmax(np.cumsum(s2) / s2.sum() >= 0.9)) + 1 == 5
    col = np.sort((A**2).sum(axis=0))[::-1]
    assert int(np.argmax(np.cumsum(col) / col.sum() >= 0.9)) + 1 == 30


def test_threshold_is_a_parameter():
    eye = torch.eye(10, dtype=torch.float64)
    assert both(eye, threshold=0.5) == (5, 5)
    assert both(eye, threshold=1.0) == (10, 10)
    # column squared norms 1.635, 0.635, 0.385 of a total H_100 = 5.187: two columns hold 0.44, three 0.51
    assert both(uniform_causal(100), threshold=0.5) == (1, 3)


def test_tie_tolerance_is_tiny_and_explicit():
    # The 10 x 10 identity holds exactly 0.9 in 9 columns. A threshold a hair above (within the 1e-6 tie
    # tolerance) still counts as reached; one visibly above (1e-4) is not.
    eye = torch.eye(10, dtype=torch.float64)
    assert both(eye, threshold=0.9 + 1e-7) == (9, 9)
    assert both(eye, threshold=0.9 + 1e-4) == (10, 10)
    assert int(column_mass(eye, 0.9 + 1e-7, tol=0.0)) == 10
    assert DEFAULT_TIE_TOL == 1e-6


# ---- batching --------------------------------------------------------------------------------------------------


def random_attention(shape, T, seed=0, degenerate_every=3):
    """Causal softmax attention with a few single-column heads mixed in."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(*shape, T, T, generator=g) * 3
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    probs = torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)
    flat = probs.reshape(-1, T, T)
    flat[::degenerate_every] = one_column(T).float()
    return flat.reshape(*shape, T, T)


def numpy_reference(A: np.ndarray, threshold: float = 0.9, tol: float = DEFAULT_TIE_TOL) -> tuple[int, int]:
    """An independent, one-matrix-at-a-time implementation of the paper's two formulas."""
    A = A.astype(np.float64)
    s2 = np.linalg.svd(A, compute_uv=False) ** 2
    k = int(np.argmax(np.cumsum(s2) >= (threshold - tol) * s2.sum())) + 1
    col = np.sort((A**2).sum(axis=0))[::-1]
    m = int(np.argmax(np.cumsum(col) >= (threshold - tol) * col.sum())) + 1
    return k, m


def test_batched_equals_per_matrix_loop():
    attn = random_attention((3, 2, 4), T=12)
    rank, mass = rank_and_mass(attn)
    assert rank.shape == mass.shape == (3, 2, 4)
    assert rank.dtype == torch.int64
    for idx in np.ndindex(3, 2, 4):
        assert (int(rank[idx]), int(mass[idx])) == numpy_reference(attn[idx].numpy()), idx
    assert torch.equal(rank, approx_rank(attn)) and torch.equal(mass, column_mass(attn))
    assert (rank[0, 0, 0], mass[0, 0, 0]) == (1, 1)  # the planted single-column head


def test_chunking_and_gram_method_change_nothing():
    attn = random_attention((5, 3, 2), T=16, seed=1)
    rank, mass = rank_and_mass(attn)
    r2, m2 = rank_and_mass(attn, max_batch=4)
    r3, m3 = rank_and_mass(attn, method="gram", max_batch=7)
    assert torch.equal(rank, r2) and torch.equal(mass, m2)
    assert torch.equal(rank, r3) and torch.equal(mass, m3)


def test_any_leading_dims():
    assert approx_rank(torch.eye(8)).shape == ()
    eyes = torch.eye(8).expand(2, 3, 1, 4, 8, 8)
    assert torch.equal(approx_rank(eyes), torch.full((2, 3, 1, 4), 8))


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.ones(3, 4), "square"),
        (torch.ones(5), "square"),
        (torch.full((4, 4), float("nan")), "NaN"),
        (torch.zeros(2, 4, 4), "all zeros"),
    ],
)
def test_bad_matrices_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        rank_and_mass(bad)


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_bad_threshold_is_refused(threshold):
    with pytest.raises(ValueError, match="threshold"):
        approx_rank(torch.eye(4), threshold)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method"):
        approx_rank(torch.eye(4), method="qr")


# ---- per-layer statistics -------------------------------------------------------------------------------------


def stacked(mats: list[list[list[torch.Tensor]]]) -> torch.Tensor:
    """Nested lists [run][layer][head] of T x T matrices -> (R, L, H, T, T)."""
    return torch.stack([torch.stack([torch.stack(heads) for heads in layers]) for layers in mats])


def test_summary_of_known_heads():
    T = 10
    eye, col = torch.eye(T, dtype=torch.float64), one_column(T)
    # layer 0: heads (identity, single column) in both runs -> per-run max 9, min 1, mean 5
    # layer 1: run 0 (col, col), run 1 (identity, col) -> max (1, 9)
    attn = stacked([[[eye, col], [col, col]], [[eye, col], [eye, col]]])
    stats = head_stats(attn)
    assert stats.rank.tolist() == [[[9, 1], [1, 1]], [[9, 1], [9, 1]]]
    df = stats.summary(model="toy")
    assert list(df.columns[:8]) == [
        "model",
        "layer",
        "stat",
        "rank_mean",
        "rank_std",
        "mass_mean",
        "mass_std",
        "n_runs",
    ]
    row = lambda layer, stat: df[(df.layer == layer) & (df.stat == stat)].iloc[0]
    assert row(0, "max").rank_mean == 9 and row(0, "max").rank_std == 0
    assert row(0, "min").rank_mean == 1
    assert row(0, "mean").rank_mean == 5 and row(0, "mean").mass_mean == 5
    assert row(1, "max").rank_mean == 5 and row(1, "max").rank_std == pytest.approx(np.std([1, 9], ddof=1))
    assert row(1, "mean").rank_mean == pytest.approx((1 + 5) / 2)
    assert len(df) == 2 * 3 and set(df.n_heads) == {2} and set(df.seq_len) == {T}
    assert attention_stats(attn).drop(columns=[]).equals(stats.summary())


def test_per_head_frame_and_cat():
    attn = random_attention((4, 2, 3), T=8, seed=2)
    whole = head_stats(attn)
    joined = HeadStats.cat([head_stats(attn[:1]), head_stats(attn[1:])])
    assert torch.equal(whole.rank, joined.rank) and torch.equal(whole.mass, joined.mass)
    frame = whole.per_head_frame()
    assert len(frame) == 4 * 2 * 3
    pick = frame[(frame.run == 3) & (frame.layer == 1) & (frame["head"] == 2)].iloc[0]
    assert (pick["rank"], pick["mass"]) == (int(whole.rank[3, 1, 2]), int(whole.mass[3, 1, 2]))
    with pytest.raises(ValueError, match="different"):
        HeadStats.cat([whole, head_stats(attn, threshold=0.8)])


def test_head_stats_wants_five_dims():
    with pytest.raises(ValueError, match="runs, layers, heads"):
        head_stats(torch.eye(4).expand(2, 2, 4, 4))


# ---- lazy layers ---------------------------------------------------------------------------------------------


def test_lazy_layer_report_finds_single_column_layers():
    T, R = 8, 10
    eye, col = torch.eye(T, dtype=torch.float64), one_column(T)
    runs = []
    for r in range(R):
        # layer 0: focused; layer 1: every head single column; layer 2: degenerate except one head in run 0
        layer2 = [col, eye if r == 0 else col]
        runs.append([[eye, col], [col, one_column(T, col=3)], layer2])
    stats = head_stats(stacked(runs))
    report = lazy_layer_report(stats)
    assert report.lazy.tolist() == [False, True, False]  # layer 2: mean max rank (8 + 9) / 10 = 1.7
    assert report.loc[1, "all_degenerate_frac"] == 1.0 and report.loc[2, "all_degenerate_frac"] == 0.9
    assert report.loc[2, "max_rank_mean"] == pytest.approx((8 + 9 * 1) / 10)


def test_lazy_tolerance_decides_borderline_layers():
    T, R = 8, 10
    col = one_column(T)
    two_columns = torch.zeros(T, T, dtype=torch.float64)
    two_columns[:4, 0] = 1.0
    two_columns[4:, 1] = 1.0  # rank 2, mass 2
    runs = [[[col, two_columns if r == 0 else col]] for r in range(R)]  # one layer; mean max = 1.1
    stats = head_stats(stacked(runs))
    assert lazy_layers(stats, tol=0.05) == []
    assert lazy_layers(stats, tol=0.2) == [0]
    assert lazy_layers(stats, max_rank=2, max_mass=2, tol=0.0) == [0]
    with pytest.raises(ValueError, match="tol"):
        lazy_layer_report(stats, tol=-1)


# ---- windows and maps ------------------------------------------------------------------------------------------


def test_sample_windows_are_seeded_contiguous_slices(random_token_data):
    val = np.asarray(random_token_data.split("val"))
    w = sample_windows(random_token_data, n_runs=7, seq_len=13, seed=3)
    assert w.shape == (7, 13) and w.dtype == torch.int64
    assert torch.equal(w, sample_windows(val, n_runs=7, seq_len=13, seed=3))
    assert not torch.equal(w, sample_windows(val, n_runs=7, seq_len=13, seed=4))
    for row in w.numpy():
        starts = np.flatnonzero(val[: val.size - 12] == row[0])
        assert any(np.array_equal(val[s : s + 13], row) for s in starts)


def test_sample_windows_refuses_short_arrays():
    with pytest.raises(ValueError, match="cannot hold"):
        sample_windows(np.arange(5), n_runs=1, seq_len=6)
    with pytest.raises(ValueError, match="positive"):
        sample_windows(np.arange(50), n_runs=0, seq_len=6)


def test_maps_frame_is_long_and_labelled():
    maps = torch.rand(2, 3, 4, 4)
    df = maps_frame(maps, layers=[4, 7], heads=[0, 1, 5], kind="full")
    assert len(df) == 2 * 3 * 16 and set(df.kind) == {"full"}
    pick = df[(df.layer == 7) & (df["head"] == 5) & (df["query"] == 2) & (df.key == 1)].iloc[0]
    assert pick.weight == pytest.approx(float(maps[1, 2, 2, 1]))
    with pytest.raises(ValueError, match="do not match"):
        maps_frame(maps, layers=[4], heads=[0, 1, 5], kind="full")


def test_torch_thread_count_is_restored():
    before = torch.get_num_threads()
    rank_and_mass(random_attention((2, 2, 2), T=8))
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError):
        rank_and_mass(torch.zeros(3, 4, 4))  # an error inside a worker restores it too
    assert torch.get_num_threads() == before
