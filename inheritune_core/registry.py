"""Every table and figure of the package, listed once: its notebook (and make target), what it shows of the
paper, the library call that produces it, the CSVs it writes under results/, the names `make paper`
(`python -m inheritune_core.report NAME`) redraws from them, and the artifact whose runs a redraw reads.

Derived from this list (tests/test_registry.py keeps each in step): the Makefile's `NOTEBOOKS` (`python -m
inheritune_core.registry list`), the README's notebook table (`python -m inheritune_core.registry readme`
rewrites it between the `<!-- NOTEBOOK-TABLE -->` markers), the files tests/test_notebooks.py expects a
notebook to write (`outputs`), and the report's list of renderers (report/__main__.py). The claims of the
ledger stay in report/claims.py, keyed by the notebook that produces their CSVs (`Claim.notebook`).

Adding a table: declare its arms (experiments/arms.py) and its entry here, write its notebook source
(notebooks/src/<name>.md) and its renderer (report/). Torch-free, imports nothing of the package.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

README_BEGIN, README_END = "<!-- NOTEBOOK-TABLE -->", "<!-- /NOTEBOOK-TABLE -->"


@dataclass(frozen=True)
class Artifact:
    """One notebook and what it produces.

    name: notebooks/<name>.ipynb, `make <name>`, results/<name>/; description: the README's line.
    experiment: the library call the notebook makes; arms: its declared experiment (experiments/arms.py)
    where it trains GPT-2 arms; csvs: the files it writes under results/ (committed at `tiny`); tables /
    figures: the report names it redraws into paper/tables/<t>.md|.tex and paper/figures/<f>.png|.pdf;
    other_renders: report names that write other files (attention figures, plans, low-data figures);
    redraws: the artifact whose runs and CSVs a redraw reads (it trains nothing by default)."""

    name: str
    description: str
    experiment: str
    csvs: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    other_renders: tuple[str, ...] = ()
    arms: str | None = None
    redraws: str | None = None

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.name}.ipynb"

    @property
    def renders(self) -> tuple[str, ...]:
        """Every `python -m inheritune_core.report` name this artifact's CSVs feed."""
        return (*self.tables, *self.figures, *self.other_renders)

    def outputs(self) -> list[str]:
        """Files (relative to the project) a run of the notebook writes: its CSVs and rendered tables/figures."""
        out = [f"results/{self.name}/{c}" for c in self.csvs]
        out += [f"paper/tables/{t}.{ext}" for t in self.tables for ext in ("md", "tex")]
        out += [f"paper/figures/{f}.{ext}" for f in self.figures for ext in ("png", "pdf")]
        return out


def _curves_redraw(name: str, source: str, what: str) -> Artifact:
    return Artifact(
        name,
        what,
        f"experiments.gpt2.redraw('{name}')",
        ("curves.csv",),
        figures=(name,),
        redraws=source,
    )


# In the order `make all` runs them: a redraw after the artifact whose runs it reads.
ARTIFACTS: tuple[Artifact, ...] = (
    Artifact(
        "figure1",
        "Figure 1: max rank / mass per layer; half-depth init from early vs lazy layers",
        "experiments.attention.figure1 + experiments.gpt2.figure1_training",
        ("layer_stats.csv", "lazy_layers.csv", "figure1_cf.csv", "curves.csv", "plan.csv"),
        other_renders=("figure1",),
        arms="figure1",
    ),
    Artifact(
        "figure2",
        "Figure 2: attention maps, reference vs Inheritune",
        "experiments.attention.figure2",
        ("maps.csv",),
        other_renders=("figure2",),
    ),
    Artifact(
        "figure9",
        "Figure 9: rank per layer, reference vs Inheritune",
        "experiments.attention.figure9",
        ("layer_stats.csv",),
        other_renders=("figure9",),
    ),
    Artifact(
        "table1",
        "Table 1: Inheritune vs reference and random init (1x, 2x steps), growth rounds",
        "experiments.gpt2.table1",
        ("table1.csv", "curves.csv", "plan.csv"),
        tables=("table1",),
        arms="table1",
    ),
    Artifact(
        "table2",
        "Table 2: stacking, hybrid stacking, half width vs Inheritune",
        "experiments.gpt2.table2",
        ("table2.csv", "curves.csv", "plan.csv"),
        tables=("table2",),
        arms="table2",
    ),
    Artifact(
        "table3",
        "Table 3: which sub-modules are inherited",
        "experiments.gpt2.table3",
        ("table3.csv", "curves.csv", "plan.csv"),
        tables=("table3",),
        arms="table3",
    ),
    Artifact(
        "figure3",
        "Figure 3: 16-layer KD, DistilBERT-style KD, scratch, Inheritune",
        "experiments.gpt2.distillation",
        ("figure3.csv", "curves.csv", "plan.csv"),
        figures=("figure3",),
        arms="figure3",
    ),
    Artifact(
        "figure4",
        "Figure 4: FineWeb-Edu without repetition, training-loss curves",
        "experiments.gpt2.fineweb",
        ("figure4.csv", "curves.csv", "plan.csv"),
        figures=("figure4",),
        arms="figure4",
    ),
    Artifact(
        "table4",
        "Table 4: downstream accuracy of the Figure 4 models",
        "experiments.gpt2.fineweb(with_downstream=True)",
        ("table4.csv", "curves.csv", "plan.csv"),
        tables=("table4",),
        arms="figure4",
    ),
    _curves_redraw("figure5", "table1", "Figure 5: Table 1's validation curves (redrawn, no training)"),
    _curves_redraw("figure6", "table2", "Figure 6: Table 2's validation curves (redrawn)"),
    _curves_redraw("figure7", "table3", "Figure 7: Table 3's validation curves (redrawn)"),
    _curves_redraw("figure8", "figure3", "Figure 8: 12-layer KD / scratch / Inheritune"),
    Artifact(
        "table5_lowdata",
        "Table 5, Figures 10/11/13, Tables 8/9: low-data regime (LLaMA family)",
        "experiments.lowdata.table5_lowdata",
        ("table5.csv", "figure11.csv", "figure13.csv", "table8.csv", "table9.csv"),
        tables=("table5", "table8", "table9"),
        other_renders=("figure10", "figure11", "figure13"),
    ),
    Artifact(
        "plan",
        "beyond the paper: which layers to inherit, and how many (per-layer plan of a pretrained model)",
        "analysis.plan.plan",
        other_renders=("plan",),
    ),
    Artifact(
        "layer_selection",
        "beyond the paper: the first n layers against other layer selections",
        "experiments.layer_selection",
        ("layer_selection.csv", "table.csv"),
        other_renders=("layer_selection",),
    ),
    Artifact(
        "depth_sweep",
        "beyond the paper: does depth matter at this scale? the depth gap (k vs k/2 layers, equal steps) "
        "against budget",
        "experiments.depth_sweep.sweep",
        ("depth_sweep.csv", "curves.csv"),
        figures=("depth_sweep",),
    ),
)
BY_NAME: dict[str, Artifact] = {a.name: a for a in ARTIFACTS}


def get_artifact(name: str) -> Artifact:
    if name not in BY_NAME:
        raise KeyError(f"unknown table or figure {name!r}; choose one of {', '.join(BY_NAME)}")
    return BY_NAME[name]


def notebook_names() -> list[str]:
    """Every notebook, in `make all` order (the Makefile's NOTEBOOKS)."""
    return [a.name for a in ARTIFACTS]


def report_names() -> list[str]:
    """Every name `python -m inheritune_core.report` draws, tables and figures first, each once."""
    tables = [t for a in ARTIFACTS for t in a.tables]
    figures = [f for a in ARTIFACTS for f in a.figures]
    others = [o for a in ARTIFACTS for o in a.other_renders]
    return list(dict.fromkeys([*sorted(tables), *sorted(figures), *others]))


def readme_table() -> str:
    """The README's notebook table (between the markers)."""
    lines = ["| notebook | paper | make target |", "|---|---|---|"]
    lines += [f"| `{a.notebook}` | {a.description} | `make {a.name}` |" for a in ARTIFACTS]
    return "\n".join(lines)


def rewrite_readme(path: str | Path) -> bool:
    """Put `readme_table()` between the markers of a README; True when the file changed."""
    from .io import atomic_write_text

    path = Path(path)
    text = path.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"{path} has no {README_BEGIN} ... {README_END} markers")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_BEGIN}\n{readme_table()}\n{README_END}{tail}"
    if new == text:
        return False
    atomic_write_text(path, new)
    return True


def main(argv: list[str] | None = None) -> int:
    """`python -m inheritune_core.registry list|readme [README]`: the notebook names (for the Makefile), or
    rewrite the README's notebook table."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["list"]:
        print(" ".join(notebook_names()))
        return 0
    if args[:1] == ["readme"]:
        from .paths import PROJECT_DIR

        path = Path(args[1]) if len(args) > 1 else PROJECT_DIR / "README.md"
        print(f"{path}: {'rewritten' if rewrite_readme(path) else 'already in step'}")
        return 0
    print("error: usage: python -m inheritune_core.registry list|readme [README]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "Artifact",
    "ARTIFACTS",
    "BY_NAME",
    "get_artifact",
    "notebook_names",
    "report_names",
    "readme_table",
    "rewrite_readme",
]
