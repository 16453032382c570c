"""Generate the paper notebooks (table1..table4, figure3..figure8) so they stay consistent.

Run `python scripts/make_notebooks.py` after changing this file; the .ipynb files are outputs (committed, so a
visitor can open them), never edited by hand. Every notebook has the same shape: a title and the paper's
setting in markdown, a cell tagged `parameters` (papermill injects `-p` values after it), one call into
`inheritune_core.paper_experiments`, the tidy CSVs written under results/<name>/, and the table or figure
rendered by `inheritune_core.report` from those CSVs alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"

SCALES_MD = """\
**Scales** (`scale` parameter; see `inheritune_core.config.SCALES`): `smoke` (the test suite: seconds,
numbers meaningless), `tiny` (2-core CPU, about a minute a run on the bundled corpus), `small` (one GPU, 10-30
minutes a run), `paper` (the paper's models and steps). Depths shrink with the scale (GPT-2 medium's 24 layers
are 8 at `tiny`); the Inheritune target is the paper's fraction of the reference depth rounded up to an even
number (16 of 24 -> 6 of 8 at `tiny`). Runs are cached under `runs_dir` by a hash of their full configuration:
a finished run is read back, never retrained, and the reference models are shared with every other notebook.
"""


def parameters_source(sizes: list[str] | None, data_note: str = "the bundled corpus (data/english)") -> str:
    lines = [
        'scale = "tiny"  # smoke | tiny | small | paper',
        'device = "cpu"  # cpu | cuda',
    ]
    if sizes is not None:
        lines.append(f"sizes = {sizes!r}  # GPT-2 presets to run (default kept small for a CPU)")
    lines += [
        "steps = None  # steps per run/round (T); None: the scale's",
        "seed = 1337",
        f"data = None  # a prepared corpus folder; None: {data_note}",
        "runs_dir = None  # None: runs/ (or $INHERITUNE_RUNS_DIR)",
        "results_dir = None  # None: results/ (or $INHERITUNE_RESULTS_DIR)",
        "paper_dir = None  # None: paper/ (rendered tables and figures)",
        "progress = True  # tqdm bars while training",
    ]
    return "\n".join(lines)


SETUP_CODE = """\
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display

from inheritune_core.experiments import gpt2 as pe
from inheritune_core.report import tables as report
from inheritune_core.experiments.runs import TRAINING_COUNTER
from inheritune_core.paths import paper_dir as default_paper_dir
from inheritune_core.paths import results_dir as default_results_dir

results = Path(results_dir) if results_dir else default_results_dir()
paper = Path(paper_dir) if paper_dir else default_paper_dir()
"""


def setup_line(data_expr: str = "data", downstream: bool = False) -> str:
    extra = ", downstream=downstream, eval_limit=eval_limit" if downstream else ", downstream=False"
    return (
        f"setup = pe.make_setup(scale, {data_expr}, device=device, seed=seed, steps=steps, "
        f"runs_dir=runs_dir, progress=progress{extra})"
    )


def show_table(name: str) -> str:
    return f"""\
paths = report.render_table("{name}", results, paper)
display(Markdown(paths[0].read_text()))
print("runs trained in this notebook:", TRAINING_COUNTER["trained"], "- read back from cache:", TRAINING_COUNTER["loaded"])
"""


def show_figure(name: str) -> str:
    return f"""\
paths = report.render_figure("{name}", results, paper)
display(Image(filename=str(paths[0])))
print("runs trained in this notebook:", TRAINING_COUNTER["trained"], "- read back from cache:", TRAINING_COUNTER["loaded"])
"""


def notebook(title: str, intro: str, params: str, body: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    p = new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell(f"# {title}\n\n{intro}\n\n{SCALES_MD}"), p, new_code_cell(SETUP_CODE)]
    cells += [new_markdown_cell(c[3:]) if c.startswith("md:") else new_code_cell(c) for c in body]
    nb.cells = cells
    return nb


MEDIUM = ["gpt2-medium"]
DOWNSTREAM_PARAMS = (
    "\ndownstream = True  # zero-shot lm-eval columns (needs inheritune_core.evaluate)"
    "\neval_limit = 200  # documents per task (CPU-friendly); None: all, as the paper"
)

NOTEBOOKS = {
    "table1": notebook(
        "Table 1 (and Figure 5): Inheritune vs the reference and same-size models trained from scratch",
        """The paper trains GPT-2 medium (24 layers), large (36) and xlarge (48) from scratch on OpenWebText for
100K steps (Appendix C.1: AdamW 0.9/0.95, weight decay 0.1, 2K warmup, cosine decay, gradient clipping 1;
batch 50K tokens and lr 3e-4 for medium, 16K tokens and lr 2e-4 / 1.5e-4 for large / xlarge). Inheritune
(Algorithm 1) initialises a k/2-layer model with the reference's first k/2 blocks (and embeddings), trains it
for T = 100K steps, and grows it by 2 of the reference's next blocks while its validation loss is worse than
the reference's: medium took three rounds (12 -> 14 -> 16), large and xlarge one (18, 24). Baselines: the
same depth from a random initialisation for 100K and 200K steps. Downstream: zero-shot Wikitext (word
perplexity) and LAMBADA (accuracy) with lm-evaluation-harness.

Here: the reference, the recipe up to the target depth, and random init at the recipe's final depth for T
and 2T steps. The default `sizes` is GPT-2 medium only, so the notebook stays in minutes on a CPU at `tiny`
(each run ~1 min); add "gpt2-large", "gpt2-xlarge" on a GPU.""",
        parameters_source(MEDIUM) + DOWNSTREAM_PARAMS,
        [
            setup_line(downstream=True),
            "out = pe.table1(setup, sizes)\nout.write(results, 'table1')\nfor note in out.notes:\n    print(note)\n"
            "pd.DataFrame(out.rows)",
            "md:## The table: reproduced beside the paper's numbers (and the official logs' final losses)",
            show_table("table1"),
        ],
    ),
    "table2": notebook(
        "Table 2 (and Figure 6): Inheritune vs stacking, hybrid stacking and half width",
        """Baselines of Section 4, all trained for 100K steps in the paper: **stacking** (train k/4 layers
from scratch, copy layers 0..k/4-1 onto k/4..k/2-1, retrain), **hybrid stacking** (the reference's layers
0..k/4-1 duplicated into k/2 layers), **half width** (every layer of the reference with the first half of its
attention heads and MLP neurons). Inheritune's run is the same cached run as Table 1's.

Here the depths follow the recipe's final depth (stacking: half of it trained T steps, stacked, retrained T
steps; half width keeps every reference layer).""",
        parameters_source(MEDIUM),
        [
            setup_line(),
            "out = pe.table2(setup, sizes)\nout.write(results, 'table2')\npd.DataFrame(out.rows)",
            show_table("table2"),
        ],
    ),
    "table3": notebook(
        "Table 3 (and Figure 7): which sub-modules of a block to inherit",
        """A 16-layer GPT-2 medium initialised from the first 16 layers of the 24-layer reference, copying
only: attention with its layernorm, the MLP with its layernorm, attention and MLP without layernorms, or
everything (Inheritune). The rest keeps a fresh initialisation; each is trained for 100K steps in the
paper (single round). Here: the target depth of the scale, T steps each.""",
        parameters_source(MEDIUM),
        [
            setup_line(),
            "out = pe.table3(setup, sizes)\nout.write(results, 'table3')\npd.DataFrame(out.rows)",
            show_table("table3"),
        ],
    ),
    "figure3": notebook(
        "Figure 3 (and Figure 8's runs): distillation baselines vs Inheritune",
        """A 16-layer GPT-2 medium student trained for 50K steps with the 24-layer reference as teacher:
**vanilla KD** (random student; loss = 0.6 x CE + 0.4 x T^2 x KL(teacher || student), T = 1; the reported
validation loss is the student's CE), **DistilBERT-style KD** (student layers 0..11 from alternate teacher
layers, 12..15 from teacher layers 18..21), training from scratch, and Inheritune. The same notebook runs
Figure 8's 12-layer students (DistilBERT-style from alternate layers, scratch, Inheritune); `figure8`
redraws them. Here: T/2 steps (the paper's 50K of 100K).""",
        parameters_source(None),
        [
            setup_line(),
            "out = pe.distillation(setup)\nout.write(results, 'figure3')\npd.DataFrame(out.rows)",
            show_figure("figure3"),
        ],
    ),
    "figure4": notebook(
        "Figure 4: training without data repetition (FineWeb-Edu)",
        """Section 5: GPT-2 large-dagger (32 layers) and GPT-2 medium (24) references trained on FineWeb-Edu
for 100K steps without repeating a token (windows read in order), their 16-layer Inheritune variants and
16-layer models from scratch; the figure shows training loss. Offline the bundled corpus stands in for
FineWeb-Edu (prepare the real one with `python -m inheritune_core.data prepare --name fineweb-edu`); the
sampler is sequential either way. `table4` evaluates the same runs downstream.""",
        parameters_source(
            ["gpt2-medium", "gpt2-large-dagger"], "data/fineweb-edu if prepared, else data/english"
        ),
        [
            setup_line("data or pe.fineweb_data_path()"),
            "out = pe.fineweb(setup, sizes)\nout.write(results, 'figure4')\npd.DataFrame(out.rows)",
            show_figure("figure4"),
        ],
    ),
    "table4": notebook(
        "Table 4: zero-shot downstream accuracy of the FineWeb-Edu models",
        """The runs of Figure 4 (cached: run `figure4` first or let this notebook train them), evaluated
zero-shot with lm-evaluation-harness: ARC-Easy (acc), PIQA (acc), SciQ (acc), HellaSwag (acc_norm), LAMBADA
(acc) and their average. The validation loss of each run is listed too.""",
        parameters_source(
            ["gpt2-medium", "gpt2-large-dagger"], "data/fineweb-edu if prepared, else data/english"
        )
        + DOWNSTREAM_PARAMS,
        [
            setup_line("data or pe.fineweb_data_path()", downstream=True),
            "out = pe.fineweb(setup, sizes, with_downstream=True)\nout.write(results, 'table4')\n"
            "for note in out.notes:\n    print(note)\npd.DataFrame(out.rows)",
            show_table("table4"),
        ],
    ),
}

REDRAWS = {
    "figure5": (
        "table1",
        "Table 1's runs: validation loss of the reference, random init (T and 2T) and Inheritune's final model",
        "pe.table1(setup, sizes)",
        MEDIUM,
        None,
    ),
    "figure6": (
        "table2",
        "Table 2's runs: stacking (its second stage drawn after its first), hybrid stacking, half width, Inheritune",
        "pe.table2(setup, sizes)",
        MEDIUM,
        None,
    ),
    "figure7": ("table3", "Table 3's runs: the sub-module ablation", "pe.table3(setup, sizes)", MEDIUM, None),
    "figure8": (
        "figure3",
        "Figure 3's 12-layer students: DistilBERT-style KD from alternate teacher layers, scratch, Inheritune",
        "pe.distillation(setup)",
        None,
        ["12-layer student"],
    ),
}

for name, (source, what, call, sizes, panels) in REDRAWS.items():
    NOTEBOOKS[name] = notebook(
        f"{name.capitalize().replace('Figure', 'Figure ')}: training curves of {source}'s runs",
        f"""{what}. No new training: the runs are read back from `runs_dir` (they are trained once by
`{source}`, or here if `{source}` was not run with the same parameters). The curves go to
results/{name}/curves.csv and the figure is drawn from that CSV alone.""",
        parameters_source(sizes),
        [
            setup_line(),
            f"out = {call}\ncurves = pe.filter_curves(out.curves, {panels!r})\n"
            f"pe.ExperimentOutput(curves=curves).write(results, '{name}')\npd.DataFrame(curves).tail()",
            show_figure(name),
        ],
    )


def main() -> int:
    NOTEBOOK_DIR.mkdir(exist_ok=True)
    for name, nb in NOTEBOOKS.items():
        for i, cell in enumerate(nb.cells):  # stable ids: regenerating gives identical files
            cell["id"] = f"{name}-{i}"
        nbformat.validate(nb)
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        text = nbformat.writes(nb) + "\n"
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
