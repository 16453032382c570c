"""Figures 1 (a, b, d, e), 2 and 9 drawn from the analysis CSVs alone (imports no torch).

CSV formats (written by the notebooks from `analysis.HeadStats.summary` and `analysis.maps_frame`):
- layer statistics: model, layer, stat, rank_mean, rank_std, mass_mean, mass_std, n_runs, n_heads, seq_len,
  threshold (one row per model, layer and per-layer statistic over heads: max / min / mean);
- attention maps: model, layer, head, kind (causal | full), query, key, weight.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..report.tables import _deterministic_matplotlib
from ..report.tables import save_figure as _save_figure

LAYER_STATS_COLUMNS = ("model", "layer", "stat", "rank_mean", "rank_std", "mass_mean", "mass_std")
MAPS_COLUMNS = ("model", "layer", "head", "kind", "query", "key", "weight")


def read_csv_checked(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results CSV {path} does not exist (run its notebook first)")
    df = pd.read_csv(path)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks columns {missing}")
    return df


def draw_layer_stats(
    frame: pd.DataFrame,
    quantities: Sequence[str] = ("rank", "mass"),
    stat: str = "max",
    title: str | None = None,
):
    """One panel per model and quantity: the per-layer `stat` over heads, mean +- std over runs (Figure 1)."""
    plt = _deterministic_matplotlib()
    df = frame[frame["stat"] == stat]
    if df.empty:
        raise ValueError(f"no rows with stat == {stat!r}")
    models = list(dict.fromkeys(df["model"]))
    fig, axes = plt.subplots(
        len(quantities), len(models), figsize=(3.6 * len(models), 2.6 * len(quantities)), squeeze=False
    )
    for col, model in enumerate(models):
        sub = df[df["model"] == model].sort_values("layer")
        for row, q in enumerate(quantities):
            ax = axes[row][col]
            mean, std = sub[f"{q}_mean"].to_numpy(), np.nan_to_num(sub[f"{q}_std"].to_numpy())
            ax.plot(sub["layer"], mean, marker="o", markersize=3)
            ax.fill_between(sub["layer"], mean - std, mean + std, alpha=0.25)
            ax.set_xlabel("layer")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(f"{stat} {q} (k*)" if q == "rank" else f"{stat} {q} (m*)")
            ax.set_title(f"{model}", fontsize=9)
            ax.set_ylim(bottom=0)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def draw_rank_comparison(
    frame: pd.DataFrame, stat: str = "max", quantity: str = "rank", title: str | None = None
):
    """Figure 9: the per-layer statistic of several models side by side, one panel each, shared y axis."""
    plt = _deterministic_matplotlib()
    df = frame[frame["stat"] == stat]
    models = list(dict.fromkeys(df["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 2.8), squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        sub = df[df["model"] == model].sort_values("layer")
        ax.bar(
            sub["layer"],
            sub[f"{quantity}_mean"],
            yerr=np.nan_to_num(sub[f"{quantity}_std"].to_numpy()),
            capsize=2,
        )
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel(f"{stat} {quantity} over heads")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def draw_attention_maps(maps: pd.DataFrame, kind: str = "full", title: str | None = None):
    """Figure 2: one row per model, one panel per (layer, head); darker = more attention."""
    plt = _deterministic_matplotlib()
    df = maps[maps["kind"] == kind]
    if df.empty:
        raise ValueError(f"no attention maps of kind {kind!r}")
    models = list(dict.fromkeys(df["model"]))
    panels = {
        m: list(dict.fromkeys(zip(df[df.model == m]["layer"], df[df.model == m]["head"]))) for m in models
    }
    ncols = max(len(p) for p in panels.values())
    fig, axes = plt.subplots(len(models), ncols, figsize=(2.2 * ncols, 2.3 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        for col in range(ncols):
            ax = axes[row][col]
            ax.axis("off")
            if col >= len(panels[model]):
                continue
            layer, head = panels[model][col]
            sub = df[(df.model == model) & (df.layer == layer) & (df["head"] == head)]
            T = int(sub["query"].max()) + 1
            grid = np.zeros((T, T))
            grid[sub["query"].to_numpy(), sub["key"].to_numpy()] = sub["weight"].to_numpy()
            ax.imshow(grid, cmap="Blues", interpolation="nearest")
            ax.set_title(f"{model}\nL{layer} H{head}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_figure(fig, out_dir: str | os.PathLike, name: str) -> list[Path]:
    """PNG and PDF (deterministic bytes) written atomically to out_dir/name.{png,pdf}."""
    return _save_figure(fig, out_dir, name)


# ------------------------------------------------------------- Figures 1, 2, 9 from their CSVs alone
# The notebooks call these after writing the CSVs, and `make paper` calls `render_attention_figures`, so a
# figure is redrawn identically without a model.


def render_figure1(results_dir: str | os.PathLike, paper_dir: str | os.PathLike) -> list[Path]:
    """Figure 1 (a, b, d, e) from figure1/layer_stats.csv and (c, f) from figure1/curves.csv when present."""
    from . import tables as report

    results, figures = Path(results_dir) / "figure1", Path(paper_dir) / "figures"
    stats = read_csv_checked(results / "layer_stats.csv", LAYER_STATS_COLUMNS)
    paths = save_figure(
        draw_layer_stats(
            stats, stat="max", title="Figure 1 (a, b, d, e): max over heads, mean +- std over runs"
        ),
        figures,
        "figure1",
    )
    if (results / "curves.csv").is_file():
        spec = report.FigureSpec(
            "figure1_curves",
            "figure1/curves.csv",
            "val",
            "Figure 1 (c, f): early vs lazy layers vs random init.",
        )
        paths += save_figure(
            report.draw_curves(spec, report.read_curves_csv(results / "curves.csv")),
            figures,
            "figure1_curves",
        )
    return paths


def render_figure2(
    results_dir: str | os.PathLike, paper_dir: str | os.PathLike, kind: str = "full"
) -> list[Path]:
    """Figure 2's attention maps (`kind` full or causal; both are in figure2/maps.csv)."""
    maps = read_csv_checked(Path(results_dir) / "figure2" / "maps.csv", MAPS_COLUMNS)
    heads = ", ".join(str(h) for h in sorted(maps["head"].unique()))
    fig = draw_attention_maps(
        maps, kind=kind, title=f"Figure 2: {kind} attention, head {heads}, mean over strings"
    )
    return save_figure(fig, Path(paper_dir) / "figures", "figure2")


def render_figure9(results_dir: str | os.PathLike, paper_dir: str | os.PathLike) -> list[Path]:
    """Figure 9: max rank per layer, reference vs Inheritune model, from figure9/layer_stats.csv."""
    stats = read_csv_checked(
        Path(results_dir) / "figure9" / "layer_stats.csv", ["model", "layer", "stat", "rank_mean"]
    )
    fig = draw_rank_comparison(
        stats,
        stat="max",
        quantity="rank",
        title="Figure 9: max rank over heads per layer (mean +- std over runs)",
    )
    return save_figure(fig, Path(paper_dir) / "figures", "figure9")


ATTENTION_FIGURES = {
    "figure1": ("figure1/layer_stats.csv", render_figure1),
    "figure2": ("figure2/maps.csv", render_figure2),
    "figure9": ("figure9/layer_stats.csv", render_figure9),
}


def render_attention_figures(
    results_dir: str | os.PathLike, paper_dir: str | os.PathLike, names: Sequence[str] | None = None
) -> dict[str, list[Path] | None]:
    """Every attention figure (or those in `names`) whose CSV exists; the others are skipped with a printed note."""
    done: dict[str, list[Path] | None] = {}
    for name, (csv, render) in ATTENTION_FIGURES.items():
        if names is not None and name not in names:
            continue
        if not (Path(results_dir) / csv).is_file():
            print(
                f"[report] {name}: skipped, {Path(results_dir) / csv} does not exist (run `make {name}` first)"
            )
            done[name] = None
            continue
        done[name] = render(results_dir, paper_dir)
        print(f"[report] {name}: " + ", ".join(str(p) for p in done[name]))
    return done


__all__ = [
    "draw_attention_maps",
    "draw_layer_stats",
    "draw_rank_comparison",
    "read_csv_checked",
    "save_figure",
    "render_figure1",
    "render_figure2",
    "render_figure9",
    "render_attention_figures",
]
