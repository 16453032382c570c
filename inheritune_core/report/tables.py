"""Results CSVs -> the paper's tables (Markdown, LaTeX) and figures (PNG, PDF). Imports no torch.

Computing and drawing are kept apart: notebooks write tidy CSVs under `results/`, and everything under
`paper/` is drawn from those CSVs alone, so `make paper` (`python -m inheritune_core.report`) redraws every
table and figure in seconds without a model in sight.

Two tidy formats:
- table rows (`results/<name>/<table>.csv` reproduced, `results/paper_reported/<table>.csv` from the paper):
  `table, model, role, method, layers, steps, metric, value` plus `source` (paper / official_log) for the
  paper's numbers and `scale, run_hash, seed` for ours. `role` (reference, random, inheritune, ...) is the key
  that puts a reproduced row beside the paper's: at a reduced scale the layer counts differ (8 instead of 24).
- curve rows (`results/<name>/curves.csv`): `panel, model, role, method, layers, step, tokens, split, loss,
  scale, run_hash`; one subplot per panel, one line per (role, layers).

A CSV holds the rows of every scale that was run; a table or figure shows those of the largest scale other than
the test scale `smoke` and names the others (`at_shown_scale`, report/scales.py). Every CSV is checked before it
is read (report/checks.py): a duplicated row, a cut-short last line or a value that is not a number is one error
naming the file and the line, never a plausible wrong table.

Output is deterministic so regenerated files are byte-identical and diffs in git mean a changed number:
Markdown/LaTeX are plain string formatting, PNGs carry no Software tag, PDFs no creation date.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import OPTIM_PRESETS, SCALES
from ..io import atomic_write_bytes, atomic_write_text
from ..paper import MODEL_NAMES, TABLE1, TABLE4, TABLE5
from ..paths import PROJECT_DIR
from ..paths import paper_dir as _default_paper_dir
from ..paths import results_dir as _default_results_dir
from . import checks, scales

TABLE_COLUMNS = list(checks.TABLE.required)  # table, model, role, method, layers, steps, metric, value
CURVE_COLUMNS = list(checks.CURVES.required)  # panel, model, role, method, layers, step, tokens, split, loss

METRIC_NAMES = {
    "val_loss": "Val loss (↓)",
    "train_loss": "Train loss (↓)",
    **{t.column: t.label for t in (*TABLE1, *TABLE4)},
    "average": "Average",
    **{t.column: t.label for t in TABLE5},
}
SOURCE_NAMES = {"paper": "paper", "official_log": "official log", "reproduced": "ours"}
# Losses are shown to 3 decimals, percentages and perplexities to 2 (the paper's own precision).
METRIC_DECIMALS = {"val_loss": 3, "train_loss": 3}


@dataclass(frozen=True)
class TableSpec:
    """One paper table: where its reproduced CSV lives (relative to results/) and its caption."""

    name: str
    reproduced: str
    caption: str


@dataclass(frozen=True)
class FigureSpec:
    """One paper figure drawn from a curves CSV (relative to results/)."""

    name: str
    curves: str
    split: str
    caption: str
    panels: tuple[str, ...] = ()  # empty: every panel in the CSV
    roles: tuple[str, ...] = field(default=())  # empty: every role


TABLES: dict[str, TableSpec] = {
    "table1": TableSpec(
        "table1",
        "table1/table1.csv",
        "Table 1: Inheritune vs the reference and same-size random init (1x and 2x steps).",
    ),
    "table2": TableSpec(
        "table2", "table2/table2.csv", "Table 2: Inheritune vs stacking, hybrid stacking and half width."
    ),
    "table3": TableSpec(
        "table3", "table3/table3.csv", "Table 3: which sub-modules of a block are inherited."
    ),
    "table4": TableSpec(
        "table4",
        "table4/table4.csv",
        "Table 4: FineWeb-Edu without repetition, zero-shot downstream accuracy.",
    ),
    "table5": TableSpec(
        "table5",
        "table5_lowdata/table5.csv",
        "Table 5: low-data regime (OpenLLaMA reference), zero-shot / 5-shot accuracy.",
    ),
    "table8": TableSpec("table8", "table5_lowdata/table8.csv", "Table 8: MMLU (5-shot) by reference model."),
    "table9": TableSpec("table9", "table5_lowdata/table9.csv", "Table 9: repeated vs fresh tokens, MMLU."),
}

FIGURES: dict[str, FigureSpec] = {
    "figure3": FigureSpec(
        "figure3",
        "figure3/curves.csv",
        "val",
        "Figure 3: 16-layer GPT-2 medium, distillation baselines vs Inheritune.",
        panels=("16-layer student",),
    ),
    "figure4": FigureSpec(
        "figure4", "figure4/curves.csv", "train", "Figure 4: FineWeb-Edu without repetition, training loss."
    ),
    "figure5": FigureSpec(
        "figure5",
        "figure5/curves.csv",
        "val",
        "Figure 5: Inheritune vs reference and random init (Table 1's runs).",
    ),
    "figure6": FigureSpec(
        "figure6",
        "figure6/curves.csv",
        "val",
        "Figure 6: Inheritune vs initialisation baselines (Table 2's runs).",
    ),
    "figure7": FigureSpec(
        "figure7", "figure7/curves.csv", "val", "Figure 7: sub-module ablation (Table 3's runs)."
    ),
    "figure8": FigureSpec(
        "figure8",
        "figure8/curves.csv",
        "val",
        "Figure 8: 12-layer GPT-2 medium, DistilBERT-style KD vs scratch vs Inheritune.",
        panels=("12-layer student",),
    ),
}


# ----------------------------------------------------------------------------------------------- tables
def read_table_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A tidy table CSV with `value` kept as text, so the paper's numbers print exactly as printed; raises
    checks.ResultsCSVError (one line: the file and the line) for a file that fails report/checks.py."""
    # checks.TABLE: the columns, numbers where numbers belong, one row per key, a complete last line
    text = checks.read_checked_text(path, checks.TABLE)
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _format_cell(metric: str, cell: pd.DataFrame) -> str:
    """Our value(s) of one metric: one seed prints the value and, for a loss, its standard error over the
    validation windows ("3.512 (se 0.004)"); several seeds print mean ± standard deviation over seeds."""
    values = [float(v) for v in cell["value"] if v != "" and not math.isnan(float(v))]
    if not values:
        return "–"
    d = METRIC_DECIMALS.get(metric, 2)
    if len(values) == 1:
        se = cell["se"].iloc[0] if "se" in cell else ""
        return f"{values[0]:.{d}f}" + (f" (se {float(se):.{d}f})" if se not in ("", None) else "")
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return f"{mean:.{d}f} ± {std:.{d}f} ({len(values)} seeds)"


def _format_tokens(value: object) -> str:
    """Tokens the compact way: 5.1B, 48M, 102K."""
    if value in ("", None):
        return "–"
    n = float(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(int(n))


def _paper_tokens(model: str, steps: str) -> str:
    """The paper's tokens for a row: its steps times the model's batch in tokens (Appendix C.1)."""
    if steps in ("", None) or model not in OPTIM_PRESETS:
        return "–"
    return _format_tokens(int(float(steps)) * OPTIM_PRESETS[model].batch_tokens)


def _format_steps(value: str) -> str:
    """100000 -> 100K (the paper's notation); small step counts print as they are."""
    if value in ("", None):
        return "–"
    n = int(float(value))
    return f"{n // 1000}K" if n >= 1000 and n % 1000 == 0 else str(n)


def _ordered_unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


@dataclass
class TableData:
    """A rendered-ready table: header and string cells, plus a note on the scale the run was at."""

    caption: str
    header: list[str]
    rows: list[list[str]]
    note: str


def build_table(spec: TableSpec, reproduced: pd.DataFrame, reported: pd.DataFrame | None) -> TableData:
    """Rows keyed by (model, role) in the paper's order (then roles only we ran); for every metric, the
    paper's value (and the official log's, where one exists) beside ours."""
    reported = reported if reported is not None else pd.DataFrame(columns=TABLE_COLUMNS + ["source"])
    reproduced, also = at_shown_scale(reproduced)
    keys = _ordered_unique(zip(reported["model"], reported["role"]))
    keys += [k for k in _ordered_unique(zip(reproduced["model"], reproduced["role"])) if k not in keys]
    metrics = _ordered_unique(list(reported["metric"]) + list(reproduced["metric"]))
    sources = [s for s in ("paper", "official_log") if s in set(reported.get("source", []))]

    header = ["Model", "Method", "Layers (paper)", "Layers (ours)", "Steps (paper)", "Steps (ours)"]
    header += ["Tokens (paper)", "Tokens (ours)"]
    columns: list[tuple[str, str]] = []
    for metric in metrics:
        for source in sources:
            if ((reported["metric"] == metric) & (reported["source"] == source)).any():
                columns.append((metric, source))
        columns.append((metric, "reproduced"))
    header += [f"{METRIC_NAMES.get(m, m)} ({SOURCE_NAMES[s]})" for m, s in columns]

    def lookup(df: pd.DataFrame, model: str, role: str, **eq: str) -> pd.DataFrame:
        mask = (df["model"] == model) & (df["role"] == role)
        for col, val in eq.items():
            mask &= df[col] == val
        return df[mask]

    rows = []
    for model, role in keys:
        rep = lookup(reported, model, role)
        ours = lookup(reproduced, model, role)
        method = rep["method"].iloc[0] if len(rep) else ours["method"].iloc[0]
        paper_layers = rep["layers"].iloc[0] if len(rep) else "–"
        our_layers = ours["layers"].iloc[0] if len(ours) else "–"
        paper_steps = _format_steps(rep["steps"].iloc[0]) if len(rep) else "–"
        our_steps = _format_steps(ours["steps"].iloc[0]) if len(ours) else "–"
        paper_tokens = _paper_tokens(model, rep["steps"].iloc[0]) if len(rep) else "–"
        our_tokens = _format_tokens(ours["tokens"].iloc[0]) if len(ours) and "tokens" in ours else "–"
        row = [
            MODEL_NAMES.get(model, model),
            method,
            paper_layers or "–",
            our_layers or "–",
            paper_steps,
            our_steps,
            paper_tokens,
            our_tokens,
        ]
        for metric, source in columns:
            if source == "reproduced":
                row.append(_format_cell(metric, lookup(reproduced, model, role, metric=metric)))
            else:
                cell = lookup(reported, model, role, metric=metric, source=source)
                row.append(cell["value"].iloc[0] if len(cell) else "–")
        rows.append(row)

    note = _scale_note(reproduced, also)
    return TableData(caption=spec.caption, header=header, rows=rows, note=note)


def at_shown_scale(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows of the scale a table or figure shows (report/scales.py: the largest present other than the test
    scale `smoke`, so a smoke run never replaces tiny's numbers), and the other scales the CSV holds."""
    if "scale" not in df or df.empty:
        return df, []
    shown = scales.shown(df["scale"])
    others = [s for s in scales.ordered(df["scale"]) if s != shown]
    if not others:
        return df, []
    return df[df["scale"] == shown], others


def _scale_note(reproduced: pd.DataFrame, also: Sequence[str] = ()) -> str:
    shown = _ordered_unique(reproduced["scale"]) if "scale" in reproduced else []
    scale_text = f"scale `{', '.join(shown)}`" if shown else "an unrecorded scale"
    if shown == [scales.TEST_SCALE]:
        scale_text += " (the test suite's scale: its numbers mean nothing)"
    if also:
        scale_text += (
            f", the largest scale in the CSV other than the test scale (it also holds "
            f"{', '.join(f'`{s}`' for s in also)}, not shown here)"
        )
    units = [s for s in shown if s in SCALES and SCALES[s].tokenizer != "gpt2"]
    if units:  # a byte-level scale counts bytes, not GPT-2 tokens
        scale_text += f"; at {', '.join(f'`{s}`' for s in units)} a token is a byte (its vocabulary's unit)"
    return (
        f"Ours: reproduced at {scale_text} (see `inheritune_core.config.SCALES`); paper: the paper's "
        "models and steps. Rows are matched on their role, so layer counts differ at reduced scales. "
        "Tokens (paper): steps x the batch of Appendix C.1. Ours: one seed prints the whole-split validation "
        "loss with its standard error (se); several seeds print mean ± standard deviation over seeds."
    )


def table_to_markdown(t: TableData) -> str:
    lines = [
        f"**{t.caption}**",
        "",
        "| " + " | ".join(t.header) + " |",
        "|" + "|".join("---" for _ in t.header) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in t.rows]
    lines += ["", t.note, ""]
    return "\n".join(lines)


_LATEX_ESCAPES = {
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "↓": r"$\downarrow$",
    "†": r"$^\dagger$",
    "–": "--",
    "`": "",
}


def _latex_escape(s: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in s)


def table_to_latex(t: TableData) -> str:
    spec = "ll" + "r" * (len(t.header) - 2)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_latex_escape(h) for h in t.header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(_latex_escape(c) for c in r) + r" \\" for r in t.rows]
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{_latex_escape(t.caption)} {_latex_escape(t.note)}}}",
        r"\end{table}",
        "",
    ]
    return "\n".join(lines)


# The paper's numbers are committed with the code; a results folder elsewhere may carry its own copy.
COMMITTED_REPORTED_DIR = PROJECT_DIR / "results" / "paper_reported"


def render_table(
    name: str,
    results_dir: str | os.PathLike | None = None,
    paper_dir: str | os.PathLike | None = None,
    reported_dir: str | os.PathLike | None = None,
) -> list[Path] | None:
    """Render paper/tables/<name>.md and .tex from the reproduced and reported CSVs.

    reported_dir: where <name>.csv of the paper's numbers is (default: results_dir/paper_reported if it
    exists, else the committed results/paper_reported). Returns the written paths, or None (with a printed
    note) when the reproduced CSV does not exist yet.
    """
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; choose one of {', '.join(TABLES)}")
    spec = TABLES[name]
    results = Path(results_dir) if results_dir is not None else _default_results_dir()
    out = (Path(paper_dir) if paper_dir is not None else _default_paper_dir()) / "tables"
    src = results / spec.reproduced
    if not src.is_file():
        print(f"[report] {name}: skipped, {src} does not exist (run `make {src.parent.name}` first)")
        return None
    if reported_dir is None:
        reported_dir = results / "paper_reported"
        reported_dir = reported_dir if reported_dir.is_dir() else COMMITTED_REPORTED_DIR
    reported_path = Path(reported_dir) / f"{name}.csv"
    reported = read_table_csv(reported_path) if reported_path.is_file() else None
    table = build_table(spec, read_table_csv(src), reported)
    md, tex = out / f"{name}.md", out / f"{name}.tex"
    atomic_write_text(md, table_to_markdown(table))
    atomic_write_text(tex, table_to_latex(table))
    return [md, tex]


# ---------------------------------------------------------------------------------------------- figures
def read_curves_csv(path: str | os.PathLike) -> pd.DataFrame:
    """A tidy curves CSV, checked like a table CSV (report/checks.py `CURVES`)."""
    text = checks.read_checked_text(path, checks.CURVES)
    return pd.read_csv(
        io.StringIO(text),
        keep_default_na=False,
        dtype={"panel": str, "model": str, "role": str, "method": str, "split": str},
    )


def _deterministic_matplotlib():
    # matplotlib is imported only when a figure is drawn (tables render without it), and the Agg backend has
    # to be chosen before pyplot is imported.
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    # Fixed style, no timestamps or hash salts: the same CSV gives the same bytes.
    matplotlib.rcParams.update(
        {
            "svg.hashsalt": "inheritune",
            "pdf.compression": 6,
            "font.size": 9,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )
    return plt


def figure_bytes(fig) -> tuple[bytes, bytes]:
    """PNG and PDF bytes of a figure with the volatile metadata removed."""
    png, pdf = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
    fig.savefig(
        pdf, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
    )
    return png.getvalue(), pdf.getvalue()


def draw_curves(spec: FigureSpec, curves: pd.DataFrame):
    """One subplot per panel; one line per (role, layers) with the method and depth in the legend."""
    plt = _deterministic_matplotlib()
    curves, also = at_shown_scale(curves)
    df = curves[curves["split"] == spec.split]
    if spec.panels:
        df = df[df["panel"].isin(spec.panels)]
    if spec.roles:
        df = df[df["role"].isin(spec.roles)]
    if df.empty:
        raise ValueError(f"{spec.name}: no '{spec.split}' rows to draw in the curves CSV")
    panels = _ordered_unique(df["panel"])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    shown = ", ".join(_ordered_unique(df["scale"])) if "scale" in df else "?"
    shown += f" (also in the CSV, not drawn: {', '.join(also)})" if also else ""
    for ax, panel in zip(axes[0], panels):
        sub = df[df["panel"] == panel]
        for (_role, layers), line in sub.groupby(["role", "layers"], sort=False):
            line = line.sort_values("step")
            label = f"{line['method'].iloc[0]} ({layers}L)"
            ax.plot(line["step"], line["loss"], label=label, linewidth=1.2)
        ax.set_title(MODEL_NAMES.get(panel, panel))
        ax.set_xlabel("step")
        ax.set_ylabel(f"{spec.split} loss")
        ax.legend(fontsize=7)
    title = textwrap.fill(f"{spec.caption} Scale: {shown}.", width=70 * len(panels))
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig


def render_figure(
    name: str, results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> list[Path] | None:
    """Render paper/figures/<name>.png and .pdf from its curves CSV; None (noted) when the CSV is absent."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; choose one of {', '.join(FIGURES)}")
    spec = FIGURES[name]
    results = Path(results_dir) if results_dir is not None else _default_results_dir()
    out = (Path(paper_dir) if paper_dir is not None else _default_paper_dir()) / "figures"
    src = results / spec.curves
    if not src.is_file():
        print(f"[report] {name}: skipped, {src} does not exist (run `make {name}` first)")
        return None
    return save_figure(draw_curves(spec, read_curves_csv(src)), out, name)


def save_figure(fig, out_dir: str | os.PathLike, name: str) -> list[Path]:
    """Write out_dir/name.png and .pdf (deterministic bytes, atomically) and close the figure."""
    import matplotlib.pyplot as plt  # already imported by whoever drew `fig`

    try:
        png, pdf = figure_bytes(fig)
    finally:
        plt.close(fig)
    paths = [Path(out_dir) / f"{name}.png", Path(out_dir) / f"{name}.pdf"]
    atomic_write_bytes(paths[0], png)
    atomic_write_bytes(paths[1], pdf)
    return paths


def render(
    name: str, results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> list[Path] | None:
    """Render one table or figure by its paper name (table1, figure5, ...)."""
    if name in TABLES:
        return render_table(name, results_dir, paper_dir)
    if name in FIGURES:
        return render_figure(name, results_dir, paper_dir)
    raise ValueError(f"unknown table or figure {name!r}; choose one of {', '.join([*TABLES, *FIGURES])}")


def show(paths: Iterable[Path] | None) -> None:
    """Display rendered tables (.md) and figures (.png) in a notebook; nothing when a renderer skipped (None)."""
    # IPython only where a notebook shows something; `make paper` renders without it.
    from IPython.display import Image, Markdown, display

    for path in paths or ():
        if path.suffix == ".md":
            display(Markdown(path.read_text()))
        elif path.suffix == ".png":
            display(Image(filename=str(path)))


def render_all(
    results_dir: str | os.PathLike | None = None, paper_dir: str | os.PathLike | None = None
) -> dict[str, list[Path] | None]:
    """Every table and figure whose CSV exists (the others are skipped with a printed note)."""
    return {name: render(name, results_dir, paper_dir) for name in [*TABLES, *FIGURES]}


__all__ = [
    "TABLES",
    "FIGURES",
    "TableSpec",
    "FigureSpec",
    "read_table_csv",
    "read_curves_csv",
    "build_table",
    "table_to_markdown",
    "table_to_latex",
    "render_table",
    "render_figure",
    "render",
    "render_all",
    "show",
    "draw_curves",
]
