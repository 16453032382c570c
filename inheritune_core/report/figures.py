"""Figures 1 (a, b, d, e), 2 and 9, the layer plan and the layer-selection experiment, drawn from their CSVs
alone (imports no torch).

CSV formats (written by `experiments.attention`, `analysis.plan` and `experiments.layer_selection`):
- layer statistics: model, layer, stat, rank_mean, rank_std, mass_mean, mass_std, n_runs, n_heads, seq_len,
  threshold (one row per model, layer and per-layer statistic over heads: max / min / mean), and optionally
  source ("pretrained" | "toy"), which the captions use to say which models are real pretrained ones;
- attention maps: model, layer, head, kind (causal | full), query, key, weight (and optionally source);
- plan: reference, statistic, layer, n, value, std, n_windows, seq_len, note (`analysis.plan.PLAN_COLUMNS`);
- layer selection: the rows of `experiments.layer_selection` (method, layers, phase, step, val_loss, ...).
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter, ScalarFormatter

from ..report.tables import _deterministic_matplotlib
from ..report.tables import save_figure as _save_figure
from . import checks, scales
from . import depth_sweep as _depth_sweep

LAYER_STATS_COLUMNS = ("model", "layer", "stat", "rank_mean", "rank_std", "mass_mean", "mass_std")
MAPS_COLUMNS = ("model", "layer", "head", "kind", "query", "key", "weight")
PLAN_COLUMNS = ("reference", "statistic", "layer", "n", "value", "std", "n_windows", "seq_len", "note")
SELECTION_COLUMNS = ("reference", "method", "layers", "n_layers", "step", "val_loss")


# The checks (report/checks.py) each of these column sets stands for: numbers, a unique key, a complete last line.
_FORMATS = {
    LAYER_STATS_COLUMNS: checks.LAYER_STATS,
    MAPS_COLUMNS: checks.MAPS,
    PLAN_COLUMNS: checks.PLAN,
    SELECTION_COLUMNS: checks.SELECTION,
}


def read_csv_checked(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """A results CSV with `columns`, after every check of report/checks.py (ResultsCSVError names the file and
    the line of the first fault)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results CSV {path} does not exist (run its notebook first)")
    # the format whose columns include the ones asked for (figure9 asks for a few of the layer statistics)
    fmt = next((f for cols, f in _FORMATS.items() if set(columns) <= set(cols)), None)
    fmt = checks.CsvFormat(
        fmt.name if fmt else "results", tuple(columns), fmt.numeric if fmt else (), fmt.key if fmt else ()
    )
    text = checks.read_checked_text(path, checks.CsvFormat(fmt.name, required=()))  # text, header, rows
    df = pd.read_csv(io.StringIO(text))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise checks.ResultsCSVError(f"{path} lacks columns {missing}")
    checks.check_text(path, text, fmt)  # numbers and the key, once the columns are known to be there
    return df


def one_trained_scale(frame: pd.DataFrame) -> pd.DataFrame:
    """The pretrained models (no scale) and the models trained at one scale: the largest in the CSV other than
    the test scale smoke (report/scales.py), so a smoke run never adds its toy models beside tiny's."""
    if "scale" not in frame.columns:
        return frame
    scale = frame["scale"].fillna("").astype(str)
    shown = scales.shown(scale)
    return frame[(scale == "") | (scale == shown)] if shown else frame


def models_note(frame: pd.DataFrame) -> str:
    """Caption text naming the real pretrained models and the toy ones trained here (from `source`)."""
    if "source" not in frame.columns:
        return ""
    kinds = frame.drop_duplicates("model").groupby("source", sort=False)["model"].apply(list).to_dict()
    parts = []
    if kinds.get("pretrained"):
        parts.append("pretrained models: " + "; ".join(kinds["pretrained"]))
    if kinds.get("toy"):
        parts.append("toy GPT-2s trained here (not pretrained): " + "; ".join(kinds["toy"]))
    text = ". ".join(parts)
    return text[:1].upper() + text[1:] + "." if parts else ""


def _with_note(title: str, frame: pd.DataFrame) -> str:
    note = models_note(frame)
    return f"{title}. {note}" if note else title


def _suptitle(fig, title: str, fontsize: int = 9) -> None:
    """A figure title wrapped to the figure's width (about 12 characters per inch at 9 pt)."""
    width = max(40, int(fig.get_figwidth() * 12 * 9 / fontsize))
    fig.suptitle(textwrap.fill(title, width=width), fontsize=fontsize)


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
        _suptitle(fig, title)
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
        _suptitle(fig, title)
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
    fig, axes = plt.subplots(len(models), ncols, figsize=(2.6 * ncols, 2.7 * len(models)), squeeze=False)
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
            role = (
                f" ({sub['role'].iloc[0]})"
                if "role" in sub.columns and isinstance(sub["role"].iloc[0], str)
                else ""
            )
            ax.set_title(f"{textwrap.fill(model, 34)}\nL{layer} H{head}{role}", fontsize=7)
    if title:
        _suptitle(fig, title)
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
    stats = one_trained_scale(read_csv_checked(results / "layer_stats.csv", LAYER_STATS_COLUMNS))
    paths = save_figure(
        draw_layer_stats(
            stats,
            stat="max",
            title=_with_note("Figure 1 (a, b, d, e): max over heads, mean +- std over runs", stats),
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
        maps,
        kind=kind,
        title=_with_note(f"Figure 2: {kind} attention, head {heads}, mean over strings", maps),
    )
    return save_figure(fig, Path(paper_dir) / "figures", "figure2")


def render_figure9(results_dir: str | os.PathLike, paper_dir: str | os.PathLike) -> list[Path]:
    """Figure 9: max rank per layer, reference vs Inheritune model, from figure9/layer_stats.csv."""
    stats = one_trained_scale(
        read_csv_checked(
            Path(results_dir) / "figure9" / "layer_stats.csv", ["model", "layer", "stat", "rank_mean"]
        )
    )
    fig = draw_rank_comparison(
        stats,
        stat="max",
        quantity="rank",
        title=_with_note("Figure 9: max rank over heads per layer (mean +- std over runs)", stats),
    )
    return save_figure(fig, Path(paper_dir) / "figures", "figure9")


# ------------------------------------------------------------- the layer plan and the layer-selection experiment


def draw_plan(frame: pd.DataFrame, title: str | None = None):
    """Four panels for one reference (`analysis.plan`'s CSV): (a) attention max k* and m* per layer, lazy layers
    shaded; (b) block influence; (c) angular distance to the next layer and across the suggested cut; (d) zero-
    shot loss of the first-n-layer model against n, with the uniform guess, the suggested n and k/2."""
    plt = _deterministic_matplotlib()
    refs = list(dict.fromkeys(frame["reference"]))
    if len(refs) != 1:
        raise ValueError(f"a plan figure shows one reference, the CSV holds {refs}")

    def stat(name: str) -> pd.DataFrame:
        return frame[frame["statistic"] == name]

    def scalar(name: str) -> float:
        rows = stat(name)
        if rows.empty:
            raise ValueError(f"the plan CSV has no {name!r} row")
        return float(rows["value"].iloc[0])

    L = int(stat("max_rank")["layer"].max()) + 1
    suggested, paper = int(scalar("suggested_n")), int(scalar("paper_n"))
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    (a, b), (c, d) = axes
    lazy = stat("lazy")
    for layer in lazy[lazy["value"] > 0]["layer"].astype(int):
        a.axvspan(layer - 0.5, layer + 0.5, color="tab:red", alpha=0.15, linewidth=0)
    for name, label in (("max_rank", "max k* over heads"), ("max_mass", "max m* over heads")):
        rows = stat(name).sort_values("layer")
        mean, std = rows["value"].to_numpy(), np.nan_to_num(rows["std"].to_numpy())
        a.plot(rows["layer"], mean, marker="o", markersize=3, label=label)
        a.fill_between(rows["layer"], mean - std, mean + std, alpha=0.2)
    a.set_title("(a) attention rank and mass (lazy layers shaded)", fontsize=9)
    a.set_ylim(bottom=0)
    a.legend(fontsize=7)
    bi = stat("block_influence").sort_values("layer")
    b.bar(bi["layer"], bi["value"], color="tab:green")
    b.set_yscale("log")
    b.set_title("(b) block influence 1 - cos(h_l, h_l+1) (ShortGPT)", fontsize=9)
    ang = stat("angular_distance")
    for span in dict.fromkeys([1, L - suggested] if L - suggested >= 1 else [1]):
        rows = ang[ang["n"] == span].sort_values("layer")
        c.plot(rows["layer"], rows["value"], marker="o", markersize=3, label=f"d(h_l, h_l+{span})")
    c.set_title("(c) angular distance, last token (Gromov et al.)", fontsize=9)
    c.set_ylim(bottom=0)
    c.legend(fontsize=7)
    for ax in (a, b, c):
        ax.set_xlabel("layer l")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss = stat("truncated_loss").sort_values("n")
    if not loss.empty:
        d.plot(loss["n"], loss["value"], marker="o", markersize=3, label="first-n model, zero-shot")
    d.axhline(scalar("uniform_loss"), color="gray", linestyle=":", label="uniform guess")
    d.axvline(suggested, color="tab:red", linestyle="--", label=f"suggested n = {suggested}")
    d.axvline(paper, color="tab:purple", linestyle="-.", label=f"paper k/2 = {paper}")
    d.set_yscale("log")  # a cut model can be off by 100+ nats (Gemma 3's first layer alone)
    d.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    d.yaxis.set_major_formatter(ScalarFormatter())
    d.yaxis.set_minor_formatter(NullFormatter())
    d.set_xlabel("n (layers kept, final norm and head kept)")
    d.set_ylabel("val loss (nats, log scale)")
    d.set_title("(d) zero-shot loss of the truncated model", fontsize=9)
    d.xaxis.set_major_locator(MaxNLocator(integer=True))
    d.legend(fontsize=7)
    windows = int(stat("max_rank")["n_windows"].iloc[0])
    seq_len = int(stat("max_rank")["seq_len"].iloc[0])
    fig.suptitle(
        title or f"Which layers to inherit: {refs[0]} ({L} layers; {windows} windows of {seq_len} tokens)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def render_plan(plan_dir: str | os.PathLike, paper_dir: str | os.PathLike | None = None) -> list[Path]:
    """The figure of plan_dir/plan.csv: beside it (plan_dir/plan.{png,pdf}, what the CLI writes) or, with
    `paper_dir`, as paper/figures/plan_<name>.{png,pdf} (the notebook and `make paper`)."""
    plan_dir = Path(plan_dir)
    frame = read_csv_checked(plan_dir / "plan.csv", PLAN_COLUMNS)
    if paper_dir is None:
        return save_figure(draw_plan(frame), plan_dir, "plan")
    return save_figure(draw_plan(frame), Path(paper_dir) / "figures", f"plan_{plan_dir.name}")


def render_plans(results_dir: str | os.PathLike, paper_dir: str | os.PathLike) -> list[Path]:
    """Every results/plan/<name>/plan.csv -> paper/figures/plan_<name>.{png,pdf}."""
    paths: list[Path] = []
    for csv in sorted((Path(results_dir) / "plan").glob("*/plan.csv")):
        paths += render_plan(csv.parent, paper_dir)
    return paths


def draw_layer_selection(frame: pd.DataFrame, title: str | None = None):
    """(a) validation loss of each selection before training (zero-shot) and after the same short budget,
    log scale (zero-shot losses of cut models reach 20+ nats); (b) the validation curves."""
    plt = _deterministic_matplotlib()
    methods = list(dict.fromkeys(frame["method"]))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    last_step = frame.groupby("method", sort=False)["step"].max()
    before = [float(frame[(frame.method == m) & (frame.step == 0)]["val_loss"].iloc[0]) for m in methods]
    after = [
        float(frame[(frame.method == m) & (frame.step == last_step[m])]["val_loss"].iloc[0]) for m in methods
    ]
    x = np.arange(len(methods))
    a.bar(x - 0.2, before, width=0.4, label="before training (zero-shot)", color="tab:gray")
    a.bar(x + 0.2, after, width=0.4, label=f"after {int(last_step.max())} steps", color="tab:blue")
    for i, v in enumerate(after):
        a.text(x[i] + 0.2, v, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    a.set_yscale("log")
    a.set_xticks(x, [m.replace(" (", "\n(") for m in methods], fontsize=7)
    a.set_ylabel("val loss (nats)")
    a.legend(fontsize=7)
    a.set_title("(a) before and after the same training budget", fontsize=9)
    for m in methods:
        rows = frame[frame.method == m].sort_values("step")
        b.plot(rows["step"], rows["val_loss"], marker="o", markersize=3, label=m)
    b.set_yscale("log")
    b.set_xlabel("step")
    b.set_ylabel("val loss (nats)")
    b.legend(fontsize=7)
    b.set_title("(b) validation loss while training", fontsize=9)
    ref = frame["reference"].iloc[0]
    n = int(frame["n_layers"].iloc[0])
    fig.suptitle(title or f"Which {n} layers of {ref} to inherit", fontsize=10)
    fig.tight_layout()
    return fig


def render_layer_selection(results_dir: str | os.PathLike, paper_dir: str | os.PathLike) -> list[Path]:
    """paper/figures/layer_selection.{png,pdf} from results/layer_selection/layer_selection.csv."""
    frame = read_csv_checked(Path(results_dir) / "layer_selection" / "layer_selection.csv", SELECTION_COLUMNS)
    return save_figure(draw_layer_selection(frame), Path(paper_dir) / "figures", "layer_selection")


ATTENTION_FIGURES = {
    "figure1": ("figure1/layer_stats.csv", render_figure1),
    "figure2": ("figure2/maps.csv", render_figure2),
    "figure9": ("figure9/layer_stats.csv", render_figure9),
    "plan": ("plan", render_plans),
    "layer_selection": ("layer_selection/layer_selection.csv", render_layer_selection),
    "depth_sweep": ("depth_sweep/depth_sweep.csv", _depth_sweep.render),  # report/depth_sweep.py
}


def render_attention_figures(
    results_dir: str | os.PathLike, paper_dir: str | os.PathLike, names: Sequence[str] | None = None
) -> dict[str, list[Path] | None]:
    """Every attention figure (or those in `names`) whose CSV exists; the others are skipped with a printed note."""
    done: dict[str, list[Path] | None] = {}
    for name, (csv, render) in ATTENTION_FIGURES.items():
        if names is not None and name not in names:
            continue
        if not (Path(results_dir) / csv).exists():
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
    "draw_plan",
    "render_plan",
    "render_plans",
    "draw_layer_selection",
    "render_layer_selection",
    "models_note",
]


def main(argv: list[str] | None = None) -> int:
    """`python -m inheritune_core.report.figures plan DIR`: draw DIR/plan.png from DIR/plan.csv (the plan CLI
    calls this in a separate process, so the analysis room never imports the report room)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "plan":
        print("usage: python -m inheritune_core.report.figures plan DIR", file=sys.stderr)
        return 2
    try:
        paths = render_plan(args[1])
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("\n".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
