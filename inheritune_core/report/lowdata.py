"""Appendix B's figures and tables (Figures 10, 11, 13; Tables 8, 9) drawn from results CSVs only. No torch.

`experiments.lowdata.table5_lowdata` (the `table5_lowdata` notebook) writes the CSVs under
`results/table5_lowdata/`:
- `table5.csv`   the reference and the target (Table 5's rows)                     -> Figure 10
- `figure11.csv` the same for every depth n of the sweep                            -> Figure 11
- `figure13.csv` B tokens repeated for E epochs, E*B fresh tokens (columns epochs,
                 data, tokens_seen, budget_tokens on top of the tidy table format)  -> Figure 13
- `table8.csv`, `table9.csv`                                                         -> Tables 8, 9
and this module draws them beside the paper's own numbers (`results/paper_reported/`, the format of
`report.tables`, whose helpers it reuses so every output is byte-identical when re-rendered from the same CSVs).

The paper prints no numbers for Figures 10, 11 and 13 (plots only). What it does print is placed on them:
Table 5's rows (Figure 10; the n = 13 point of Figure 11; the 8-epoch point of Figure 13) and Table 9's
10/20 epochs vs 10B/20B fresh tokens (Figure 13).
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..config import LOWDATA
from ..paper import MMLU_COLUMN, TABLE5_ZERO_SHOT_COLUMNS
from ..paths import LOWDATA_RESULTS
from ..paths import paper_dir as _default_paper_dir
from ..paths import results_dir as _default_results_dir
from . import tables as report

MMLU = MMLU_COLUMN
# Table 5's nine 0-shot tasks: Figures 10 and 13 plot their average beside MMLU (5-shot).
NINE_TASKS = TABLE5_ZERO_SHOT_COLUMNS
AVERAGE = "average_9"

CAPTIONS = {
    "figure10": "Figure 10: average of 9 tasks (0-shot) and MMLU (5-shot) of the target vs the reference and "
    "the paper's baselines.",
    "figure11": "Figure 11: the target's scores as a function of n, the number of inherited layers.",
    "figure13": "Figure 13: B tokens repeated for E epochs vs E*B fresh tokens seen once.",
}
PANEL_TITLES = {AVERAGE: "Average of 9 tasks (0-shot)", MMLU: "MMLU (5-shot)", "val_loss": "Validation loss"}
COLORS = {
    ("paper", "inheritune"): "#f4a582",
    ("paper", "other"): "#bababa",
    ("ours", "inheritune"): "#b2182b",
    ("ours", "other"): "#2166ac",
    "repeated": "#b2182b",
    "fresh": "#2166ac",
}


# ------------------------------------------------------------------------------------------------ data
def _reported_dir(results: Path) -> Path:
    """The paper's numbers: results/paper_reported if this results folder has one, else the committed copy."""
    local = results / "paper_reported"
    return local if local.is_dir() else report.COMMITTED_REPORTED_DIR


def _read_ours(path: Path) -> pd.DataFrame:
    """Our rows of one scale: the largest in the CSV other than the test scale (report.at_shown_scale)."""
    return report.at_shown_scale(report.read_table_csv(path))[0]


def _read_optional(path: Path) -> pd.DataFrame | None:
    return report.read_table_csv(path) if path.is_file() else None


def _numeric(df: pd.DataFrame) -> pd.DataFrame:
    """Values as floats (blank: NaN); the CSVs are read as text so the tables print the paper's digits."""
    df = df.copy()
    df["value"] = pd.to_numeric(df["value"].replace("", float("nan")))
    return df


def scores_by_model(df: pd.DataFrame) -> dict[tuple[str, str], dict[str, float]]:
    """(model, role) -> {metric: value} in first-seen order, plus AVERAGE over the nine tasks present and
    `n_tasks` (how many of the nine the average is over: a reduced scale evaluates fewer)."""
    df = _numeric(df)
    out: dict[tuple[str, str], dict[str, float]] = {}
    for (model, role), sub in df.groupby(["model", "role"], sort=False):
        scores = {m: float(v) for m, v in zip(sub["metric"], sub["value"]) if not math.isnan(v)}
        present = [scores[m] for m in NINE_TASKS if m in scores]
        if present:
            scores[AVERAGE] = sum(present) / len(present)
        scores["n_tasks"] = float(len(present))
        out[(model, role)] = scores
    return out


def _scales(df: pd.DataFrame) -> str:
    return ", ".join(report._ordered_unique(df["scale"])) if "scale" in df else "?"


# ------------------------------------------------------------------------------------------------ drawing
def _save(fig, out_dir: Path, name: str) -> list[Path]:
    return report.save_figure(fig, out_dir, name)


def _suptitle(fig, caption: str, scale: str, width: int) -> None:
    fig.suptitle(textwrap.fill(f"{caption} Ours at scale: {scale}.", width=width), fontsize=8)


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=8, color="#555555")


def draw_figure10(ours: pd.DataFrame, reported: pd.DataFrame | None):
    """Two panels (average of 9 tasks, MMLU): one horizontal bar per model, the paper's then ours."""
    plt = report._deterministic_matplotlib()
    bars: list[tuple[str, str, str, dict[str, float]]] = []  # (label, source, role, scores)
    if reported is not None:
        for (model, role), sc in scores_by_model(reported).items():
            bars.append((f"{model} [paper]", "paper", role, sc))
    for (model, role), sc in scores_by_model(ours).items():
        bars.append((f"{model} [ours]", "ours", role, sc))
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 0.32 * len(bars) + 1.6), squeeze=False)
    for ax, metric in zip(axes[0], (AVERAGE, MMLU)):
        drawn = [(label, src, role, sc) for label, src, role, sc in bars if metric in sc]
        ax.set_title(PANEL_TITLES[metric])
        if not drawn:
            _empty(ax, "not evaluated")
            continue
        ys = list(range(len(drawn)))[::-1]
        for y, (_label, src, role, sc) in zip(ys, drawn):
            color = COLORS[(src, "inheritune" if role == "inheritune" else "other")]
            ax.barh(y, sc[metric], color=color, height=0.7)
            note = (
                ""
                if metric != AVERAGE or sc["n_tasks"] == len(NINE_TASKS)
                else f" ({int(sc['n_tasks'])}/9 tasks)"
            )
            ax.text(sc[metric], y, f" {sc[metric]:.2f}{note}", va="center", fontsize=6)
        ax.set_yticks(ys, [d[0] for d in drawn], fontsize=7)
        ax.set_xlim(0, max(d[3][metric] for d in drawn) * 1.35)
        ax.set_xlabel("accuracy (%)")
    _suptitle(fig, CAPTIONS["figure10"], _scales(ours), 120)
    fig.tight_layout()
    return fig


def _line_panels(fig_width: float = 10.5):
    plt = report._deterministic_matplotlib()
    fig, axes = plt.subplots(1, 3, figsize=(fig_width, 3.3), squeeze=False)
    return fig, dict(zip((AVERAGE, MMLU, "val_loss"), axes[0]))


def draw_figure11(sweep: pd.DataFrame, reported_table5: pd.DataFrame | None):
    """Average of 9, MMLU and validation loss against n; the reference as a dashed line; the paper's n = 13
    target (Table 5) as a star (the paper prints no other Figure 11 values)."""
    fig, axes = _line_panels()
    scores = scores_by_model(sweep)
    df = _numeric(sweep)
    targets = df[df["role"] != "reference"]
    layers_of = {
        (m, r): int(float(layer)) for m, r, layer in zip(targets["model"], targets["role"], targets["layers"])
    }
    paper = scores_by_model(reported_table5) if reported_table5 is not None else {}
    paper_target = next((sc for (m, r), sc in paper.items() if r == "inheritune"), {})
    for metric, ax in axes.items():
        points = sorted(
            (layers_of[k], sc[metric]) for k, sc in scores.items() if k in layers_of and metric in sc
        )
        ax.set_title(PANEL_TITLES[metric])
        ax.set_xlabel("n (inherited layers)")
        drawn = False
        if points:
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="o",
                color=COLORS["repeated"],
                label="ours",
                linewidth=1.2,
            )
            drawn = True
        for (model, role), sc in scores.items():
            if role == "reference" and metric in sc:
                ax.axhline(
                    sc[metric],
                    color=COLORS[("ours", "other")],
                    linestyle="--",
                    linewidth=1,
                    label=f"{model} [ours]",
                )
                drawn = True
        if metric in paper_target:
            ax.plot(
                [LOWDATA.n_layers],
                [paper_target[metric]],
                marker="*",
                markersize=10,
                linestyle="none",
                color=COLORS[("paper", "inheritune")],
                label=f"paper: n={LOWDATA.n_layers} (Table 5)",
            )
            drawn = True
        if drawn:
            ax.legend(fontsize=6)
        else:
            _empty(ax, "not evaluated")
    _suptitle(fig, CAPTIONS["figure11"], _scales(sweep), 140)
    fig.tight_layout()
    return fig


_FRESH_ROLE = re.compile(r"fresh_(\d+(?:\.\d+)?)b$")


def _paper_epoch_points(table9: pd.DataFrame | None, table5: pd.DataFrame | None) -> dict[str, list]:
    """The paper's printed points on Figure 13's axes (epochs of 1B tokens): Table 9 (10/20 epochs, 10B/20B
    fresh = 10/20 passes' worth) and Table 5's target (8 epochs)."""
    points: dict[str, list] = {"repeated": [], "fresh": [], "table5": []}
    if table9 is not None:
        for (_model, role), sc in scores_by_model(table9).items():
            fresh = _FRESH_ROLE.match(role)
            if role.startswith("epochs_"):
                points["repeated"].append((int(role.split("_")[1]), sc))
            elif fresh:
                points["fresh"].append((float(fresh.group(1)), sc))
    if table5 is not None:
        points["table5"] += [(8, sc) for (m, r), sc in scores_by_model(table5).items() if r == "inheritune"]
    return points


def draw_figure13(
    runs: pd.DataFrame, reported_table9: pd.DataFrame | None, reported_table5: pd.DataFrame | None
):
    """Average of 9, MMLU and validation loss against E: B repeated E times vs E*B fresh tokens (x = E*B/B)."""
    for col in ("epochs", "data"):
        if col not in runs.columns:
            raise ValueError(
                f"figure13 CSV: missing column {col!r} (write it with lowdata.epochs_vs_fresh_rows)"
            )
    fig, axes = _line_panels()
    scores = scores_by_model(runs)
    epochs_of = {
        (m, r): (int(float(e)), d)
        for m, r, e, d in zip(runs["model"], runs["role"], runs["epochs"], runs["data"])
    }
    paper = _paper_epoch_points(reported_table9, reported_table5)
    budget = report._ordered_unique(runs["budget_tokens"]) if "budget_tokens" in runs else []
    for metric, ax in axes.items():
        ax.set_title(PANEL_TITLES[metric])
        ax.set_xlabel("epochs of B (fresh: tokens / B)")
        drawn = False
        for data, label in (("repeated", "B repeated E times [ours]"), ("fresh", "E*B fresh tokens [ours]")):
            pts = sorted(
                (epochs_of[k][0], sc[metric])
                for k, sc in scores.items()
                if epochs_of.get(k, (0, ""))[1] == data and metric in sc
            )
            if data == "fresh":  # E = 1 fresh is the 1-epoch run: start the fresh line there
                pts = sorted(
                    set(pts)
                    | {
                        (1, sc[metric])
                        for k, sc in scores.items()
                        if epochs_of.get(k) == (1, "repeated") and metric in sc
                    }
                )
            if pts:
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    marker="o",
                    color=COLORS[data],
                    label=label,
                    linewidth=1.2,
                    linestyle="-" if data == "repeated" else "--",
                )
                drawn = True
        for key, marker, label in (
            ("repeated", "s", "1B repeated [paper, Table 9]"),
            ("fresh", "D", "fresh tokens [paper, Table 9]"),
            ("table5", "*", "8 epochs [paper, Table 5]"),
        ):
            pts = [(x, sc[metric]) for x, sc in paper[key] if metric in sc]
            if pts:
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    marker=marker,
                    linestyle="none",
                    color=COLORS[("paper", "inheritune" if key != "fresh" else "other")],
                    label=label,
                )
                drawn = True
        if drawn:
            ax.legend(fontsize=6)
        else:
            _empty(ax, "not evaluated")
    scale = _scales(runs) + (f"; B = {', '.join(budget)} tokens" if budget else "")
    _suptitle(fig, CAPTIONS["figure13"], scale, 140)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------ render
def _dirs(results_dir, paper_dir) -> tuple[Path, Path]:
    results = Path(results_dir) if results_dir is not None else _default_results_dir()
    paper = Path(paper_dir) if paper_dir is not None else _default_paper_dir()
    return results, paper


def _source(results: Path, name: str, csv: str) -> Path | None:
    src = results / LOWDATA_RESULTS / csv
    if not src.is_file():
        print(f"[report] {name}: skipped, {src} does not exist (run `make table5_lowdata` first)")
        return None
    return src


def render_figure10(
    results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> list[Path] | None:
    """paper/figures/figure10.png/.pdf from table5.csv and the paper's Table 5; None when the CSV is absent."""
    results, paper = _dirs(results_dir, paper_dir)
    src = _source(results, "figure10", "table5.csv")
    if src is None:
        return None
    fig = draw_figure10(_read_ours(src), _read_optional(_reported_dir(results) / "table5.csv"))
    return _save(fig, paper / "figures", "figure10")


def render_figure11(
    results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> list[Path] | None:
    """paper/figures/figure11.png/.pdf from figure11.csv (the n sweep)."""
    results, paper = _dirs(results_dir, paper_dir)
    src = _source(results, "figure11", "figure11.csv")
    if src is None:
        return None
    fig = draw_figure11(_read_ours(src), _read_optional(_reported_dir(results) / "table5.csv"))
    return _save(fig, paper / "figures", "figure11")


def render_figure13(
    results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> list[Path] | None:
    """paper/figures/figure13.png/.pdf from figure13.csv (epochs vs fresh tokens)."""
    results, paper = _dirs(results_dir, paper_dir)
    src = _source(results, "figure13", "figure13.csv")
    if src is None:
        return None
    reported = _reported_dir(results)
    fig = draw_figure13(
        _read_ours(src),
        _read_optional(reported / "table9.csv"),
        _read_optional(reported / "table5.csv"),
    )
    return _save(fig, paper / "figures", "figure13")


def render_table8(
    results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> list[Path] | None:
    """paper/tables/table8.md/.tex: MMLU by reference model, ours beside the paper's (report.render_table)."""
    return report.render_table("table8", results_dir, paper_dir)


def render_table9(
    results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> list[Path] | None:
    """paper/tables/table9.md/.tex: repeated vs fresh tokens, ours beside the paper's (report.render_table)."""
    return report.render_table("table9", results_dir, paper_dir)


RENDERERS = {
    "figure10": render_figure10,
    "figure11": render_figure11,
    "figure13": render_figure13,
    "table8": render_table8,
    "table9": render_table9,
}


def render_lowdata_all(
    results_dir: str | os.PathLike | None = None,
    paper_dir: str | os.PathLike | None = None,
    names: Sequence[str] | None = None,
) -> list[Path]:
    """Every Appendix B figure and table whose CSV exists (the others are skipped with a printed note);
    returns the written paths. Table 5 itself is report/tables.py's (`tables.render_table("table5")`)."""
    unknown = sorted(set(names or ()) - set(RENDERERS))
    if unknown:
        raise ValueError(f"unknown low-data figures/tables {unknown}; choose from {', '.join(RENDERERS)}")
    written: list[Path] = []
    for name in names or RENDERERS:
        written += RENDERERS[name](results_dir, paper_dir) or []
    return written


__all__ = [
    "render_lowdata_all",
    "render_figure10",
    "render_figure11",
    "render_figure13",
    "render_table8",
    "render_table9",
    "draw_figure10",
    "draw_figure11",
    "draw_figure13",
    "scores_by_model",
    "NINE_TASKS",
    "RENDERERS",
]
