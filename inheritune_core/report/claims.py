"""The claims ledger: paper/REPRODUCTION.md, one row per claim of the paper, computed from the CSVs alone.

Each row states a claim of the paper, the paper's own numbers (read from results/paper_reported/*.csv, never
typed here), ours at every scale that has results (read from results/<notebook>/*.csv; one column per scale,
the test scale `smoke` never shown), a verdict computed by the rules below, and the command and estimated GPU
cost of running it at the next scale. `make paper` (`python -m inheritune_core.report`) rewrites it; nothing
in it is written by hand. This module holds the table of claims (CLAIMS), the paper's column and the ledger
itself; the rules below are applied by report/verdicts.py, a claim's comparisons are judged in
report/comparisons.py, the claims with special evidence are read in report/evidence.py, and the last column
comes from report/next_scale.py (every public name stays importable from here). Imports no torch.

Verdict rules, per scale. A claim is made of comparisons "A is better than B" (lower loss, higher accuracy).
For each: d = mean(A) - mean(B) over seeds, sigma = sqrt(s_A^2 + s_B^2), where s is the standard deviation
over seeds of a side with two or more seeds, and for a side with a single run (a reference shared by every
seed, which the row then says) the standard error of its whole-split validation loss when recorded (else 0).
- `holds`: |d| > 2 sigma, in the claimed direction;
- `contradicted`: |d| > 2 sigma, against it;
- `not resolved at this scale`: |d| <= 2 sigma, or both sides have a single seed and differ by at most 4
  standard errors (or record none);
- `leans for (one seed)` / `leans against (one seed)`: both sides have a single seed and differ by more than 4
  standard errors (sigma from the two standard errors), for or against the claim: a large one-seed difference,
  shown rather than hidden, but not a result until more seeds confirm it;
- `not testable at this scale`: the comparison's precondition fails at this scale (below), so its outcome
  would say nothing about the paper's mechanism; its numbers are still shown.
A claim (all of its comparisons) is, at a scale: contradicted when any comparison is; else not testable when
any is; else leans against when any does; holds when every comparison holds; leans for when every one holds or
leans for; and is not resolved otherwise. For a parity claim ("Ours matches the reference") `not resolved` means
the two are within noise of each other: parity is not excluded, but it is not shown either.

Preconditions. Parity with the reference and "beats random init" say something about inheritance only where
depth matters: the reference (k layers) must beat a random-init model of k/2 layers trained the same steps by
more than 2 sigma at that scale, or Ours can match the reference and beat random init just by inheriting the
reference's extra training steps (issue 18). The random arm is taken from the claim's own CSV (Figure 4's for
Table 4): the same model and steps as the reference, fewer layers, the depth closest to k/2. Table 1's random
arm has the target depth, which is k/2 only when growth stopped at round 1; a deeper random arm is a stricter
test (the row says which depth it used), and where no such arm exists the row reads "not testable: no
half-depth random arm at this scale". "Early layers beat lazy layers" needs a reference with lazy layers
(strict rule below) at that scale; without one, the "lazy" arm is only the reference's last n layers.

Lazy layers: the paper's strict definition, "all attention matrices of the layer degenerate": every head rank-1
and single-column in every window (all_degenerate_frac = 1 in results/figure1/lazy_layers.csv). The claim is an
existence claim: it holds when one reference (trained here or pretrained) has strictly lazy layers in its deeper
half, and is not resolved otherwise (one model cannot refute it). The relaxed rule (every head degenerate in at
least 50% of windows) is reported on its own line, as such, and decides nothing.

Cost of the next scale: the FLOPs of every run the claim's notebook makes there (6N + 12 L H Q T per token,
plus a teacher's forward pass under distillation), which the notebook wrote to results/<name>/plan.csv
(`experiments.gpt2.next_scale_plan`), divided by the effective FLOP/s of the throughput benchmark
(benchmarks/throughput.csv: our own GPU measurement when one was recorded, else the best stated figure for the
official code) on GPT-2 medium. Smaller models use a GPU less well, so the hours are a lower bound.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import paper
from ..io import atomic_write_text
from ..paths import PROJECT_DIR
from ..paths import paper_dir as _default_paper_dir
from ..paths import results_dir as _default_results_dir
from .comparisons import (
    DEPTH,
    DEPTH_LABEL,
    LAZY,
    Claim,
    Comparison,
    Evidence,
    PaperNumbers,
    ScaleResult,
    _float,
    depth_precondition,
    evaluate_comparisons,
    read_rows,
)
from .evidence import (
    FIRST_LAYERS_ROLES,
    LAYER_SCALES,
    RELAXED_LAZY_SHARE,
    STRICT_LAZY_SHARE,
    TABLE4_COMPARISONS,
    layer_selection_results,
    lazy_layer_results,
    lowdata_results,
    strictly_lazy_references,
    table4_average_results,
)
from .next_scale import SCALE_ORDER, THROUGHPUT_CSV, Throughput, next_scale, next_step, read_throughput
from .scales import reportable
from .verdicts import (
    CONTRADICTED,
    HOLDS,
    LEANS_AGAINST,
    LEANS_FOR,
    LEANS_SE,
    NOT_RESOLVED,
    NOT_TESTABLE,
    Verdict,
    combine,
    compare,
    difference,
)

COMMITTED_REPORTED_DIR = PROJECT_DIR / "results" / "paper_reported"
LEDGER_NAME = "REPRODUCTION.md"


CLAIMS: tuple[Claim, ...] = (
    Claim(
        key="lazy_layers",
        text="Deeper layers of a trained reference are lazy: all attention matrices of the layer degenerate "
        "(every head rank-1 and single-column, in every window)",
        where="Section 2, Figure 1 (a, b, d, e)",
        results="figure1/lazy_layers.csv",
        notebook="figure1",
        paper_note="Figure 1 (a, b, d, e): many deeper layers of GPT-2 medium and large (no numbers printed)",
        custom=lazy_layer_results,
    ),
    Claim(
        key="parity",
        text="Inheritune's k/2-start model reaches the reference's validation loss at equal steps "
        "(precondition: the reference beats a random half-depth model at equal steps by more than 2σ)",
        where="Table 1, Section 4.1",
        results="table1/table1.csv",
        notebook="table1",
        comparisons=(Comparison("inheritune", "reference", "Ours vs reference", precondition=DEPTH),),
        paper=(PaperNumbers("table1", ("reference", "inheritune")),),
        plan="table1/plan.csv",
        growth=True,
    ),
    Claim(
        key="random_1x",
        text="Inheritune beats a same-size model trained from random init for the same steps "
        "(precondition: as for parity)",
        where="Table 1",
        results="table1/table1.csv",
        notebook="table1",
        comparisons=(Comparison("inheritune", "random", "Ours vs random 1x", precondition=DEPTH),),
        paper=(PaperNumbers("table1", ("random", "inheritune")),),
        plan="table1/plan.csv",
    ),
    Claim(
        key="random_2x",
        text="Inheritune beats a same-size model trained from random init for twice the steps "
        "(precondition: as for parity)",
        where="Table 1",
        results="table1/table1.csv",
        notebook="table1",
        comparisons=(Comparison("inheritune", "random_2x", "Ours vs random 2x", precondition=DEPTH),),
        paper=(PaperNumbers("table1", ("random_2x", "inheritune")),),
        plan="table1/plan.csv",
    ),
    Claim(
        key="early_vs_lazy",
        text="Early layers are a better initialisation than lazy layers or random init "
        "(precondition for early vs lazy: the reference has lazy layers at that scale)",
        where="Section 2, Figure 1 (c, f)",
        results="figure1/figure1_cf.csv",
        notebook="figure1",
        comparisons=(
            Comparison("early", "lazy", "early vs lazy", precondition=LAZY),
            Comparison("early", "random", "early vs random"),
        ),
        paper_note="Figure 1 (c, f): curves only (no numbers printed)",
        plan="figure1/plan.csv",
    ),
    Claim(
        key="attn_mlp",
        text="Inheriting attention and MLP beats inheriting either alone (precondition: none, arms of equal "
        "depth and steps)",
        where="Table 3, Section 4.2",
        results="table3/table3.csv",
        notebook="table3",
        comparisons=(
            Comparison("inheritune", "attn_ln", "Ours vs attn only"),
            Comparison("inheritune", "mlp_ln", "Ours vs mlp only"),
        ),
        paper=(PaperNumbers("table3", ("attn_ln", "mlp_ln", "attn_mlp_no_ln", "inheritune")),),
        plan="table3/plan.csv",
    ),
    Claim(
        key="init_baselines",
        text="Inheritune beats stacking, hybrid stacking and half width (precondition: none, initialisations "
        "compared at equal steps)",
        where="Table 2",
        results="table2/table2.csv",
        notebook="table2",
        comparisons=(
            Comparison("inheritune", "stacking", "Ours vs stacking"),
            Comparison("inheritune", "hybrid_stacking", "Ours vs hybrid stacking"),
            Comparison("inheritune", "half_width", "Ours vs half width"),
        ),
        paper=(PaperNumbers("table2", ("half_width", "stacking", "hybrid_stacking", "inheritune")),),
        plan="table2/plan.csv",
    ),
    Claim(
        key="distillation",
        text="Inheritune beats vanilla KD and DistilBERT-style KD at equal steps (precondition: none)",
        where="Figure 3, Figure 8",
        results="figure3/figure3.csv",
        notebook="figure3",
        comparisons=(
            Comparison("inheritune", "kd", "Ours vs vanilla KD (target depth)", panel="16-layer student"),
            Comparison(
                "inheritune",
                "distilbert_kd",
                "Ours vs DistilBERT KD (target depth)",
                panel="16-layer student",
            ),
            Comparison(
                "inheritune", "distilbert_kd", "Ours vs DistilBERT KD (k/2)", panel="12-layer student"
            ),
        ),
        paper_note="Figures 3 and 8: curves only (no numbers printed)",
        plan="figure3/plan.csv",
    ),
    Claim(
        key="no_repetition",
        text="Without data repetition, Inheritune matches the reference and beats same-size random init "
        "(precondition: as for parity, on these runs)",
        where="Section 5, Figure 4",
        results="figure4/figure4.csv",
        notebook="figure4",
        comparisons=(
            Comparison("inheritune", "reference", "Ours vs reference", precondition=DEPTH),
            Comparison("inheritune", "random", "Ours vs random", precondition=DEPTH),
        ),
        paper_note="Figure 4: training-loss curves only (no numbers printed); ours: whole-split validation loss",
        plan="figure4/plan.csv",
    ),
    Claim(
        key="table4_average",
        text="Without repetition, Inheritune has the best average zero-shot accuracy (precondition: as for "
        "parity, on Figure 4's runs)",
        where="Table 4",
        results="table4/table4.csv",
        notebook="table4",
        comparisons=TABLE4_COMPARISONS,
        paper=(PaperNumbers("table4", ("reference", "random", "inheritune"), metric="average"),),
        plan="figure4/plan.csv",
        custom=table4_average_results,
    ),
    Claim(
        key="lowdata",
        text="The low-data model scores at least 90% of its reference (or beats two baselines) on most tasks",
        where="Appendix B, Table 5",
        results="table5_lowdata/table5.csv",
        notebook="table5_lowdata",
        paper=(),
        paper_note="",
        custom=lowdata_results,
    ),
    Claim(
        key="layer_selection",
        text="The first n layers are the best n layers to inherit (equal-budget training; issue 12)",
        where="this project (issue 12)",
        results="layer_selection",
        notebook="layer_selection",
        paper_note="not in the paper: Inheritune's choice of the first n layers, tested",
        custom=layer_selection_results,
        optional=True,
    ),
)


# ------------------------------------------------------------------------------------------ the paper
MODEL_SHORT = paper.MODEL_SHORT


def paper_numbers(claim: Claim, reported_dir: Path) -> str:
    """The paper's numbers for a claim, from results/paper_reported (source `paper` only)."""
    if claim.key == "lowdata":
        return lowdata_paper_summary(reported_dir)
    parts = []
    for spec in claim.paper:
        rows = [
            r
            for r in read_rows(reported_dir / f"{spec.table}.csv")
            if r.get("source", "paper") == "paper" and r["metric"] == spec.metric and r["role"] in spec.roles
        ]
        for model in dict.fromkeys(r["model"] for r in rows):
            cells = []
            for role in spec.roles:
                hit = [r for r in rows if r["model"] == model and r["role"] == role]
                if hit:
                    r = hit[0]
                    layers = f" {r['layers']}L" if r.get("layers") else ""
                    steps = f" {int(float(r['steps'])) // 1000}K" if r.get("steps") else ""
                    cells.append(f"{r['method']}{layers}{steps} {r['value']}")
            parts.append(f"{MODEL_SHORT.get(model, model)}: " + ", ".join(cells))
    notes = [claim.paper_note] if claim.paper_note else []
    return "<br>".join(parts + notes) or "–"


def lowdata_paper_summary(reported_dir: Path) -> str:
    """Table 5 of the paper, summarised from its CSV: on how many tasks Ours-1.5B reaches 90% of its
    reference's score."""
    rows = [r for r in read_rows(reported_dir / "table5.csv") if r.get("source", "paper") == "paper"]
    ref = {
        r["metric"]: _float(r["value"])
        for r in rows
        if r["role"] == "reference" and _float(r["value"]) is not None
    }
    ours = {
        r["metric"]: _float(r["value"])
        for r in rows
        if r["role"] == "inheritune" and _float(r["value"]) is not None
    }
    tasks = [m for m in ours if m in ref]
    if not tasks:
        return "–"
    reached = [m for m in tasks if ours[m] >= 0.9 * ref[m]]
    return (
        f"Ours-1.5B ≥ 90% of its reference on {len(reached)} of {len(tasks)} tasks ({', '.join(reached)}); "
        "the paper also counts a task where it beats two same-size baselines"
    )


# ------------------------------------------------------------------------------------------ the ledger
@dataclass
class LedgerRow:
    claim: Claim
    paper: str
    ours: list[ScaleResult]
    next: str


def _evidence(claim: Claim, results: Path, reported: Path) -> Evidence:
    """The lazy references (for a LAZY precondition) and the paper's rows (their depth and steps) of a claim."""
    lazy = strictly_lazy_references(results) if any(c.precondition == LAZY for c in claim.comparisons) else {}
    paper_rows = [
        r
        for spec in claim.paper
        for r in read_rows(reported / f"{spec.table}.csv")
        if r.get("source", "paper") == "paper" and r["metric"] == spec.metric
    ]
    return Evidence(lazy=lazy, paper_rows=paper_rows)


def build_ledger(
    results_dir: str | os.PathLike, reported_dir: str | os.PathLike, throughput: Throughput | None
) -> list[LedgerRow]:
    results, reported = Path(results_dir), Path(reported_dir)
    rows = []
    for claim in CLAIMS:
        if claim.custom is not None:
            ours = claim.custom(results)
        else:
            ours = evaluate_comparisons(
                claim, read_rows(results / claim.results), _evidence(claim, results, reported)
            )
        if claim.optional and not ours:
            continue
        rows.append(
            LedgerRow(
                claim,
                paper_numbers(claim, reported),
                ours,
                next_step(claim, [o.scale for o in ours], results, throughput),
            )
        )
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


SCALE_HEADINGS = {"pretrained": "Pretrained models (no scale)"}


def ledger_columns(rows: Sequence[LedgerRow]) -> list[str]:
    """One column per scale with results in any row, smallest first (never smoke), pretrained models last."""
    found = {o.scale for row in rows for o in row.ours}
    return reportable(found - {"pretrained"}) + (["pretrained"] if "pretrained" in found else [])


def ledger_markdown(rows: Sequence[LedgerRow], throughput: Throughput | None) -> str:
    doc = (__doc__ or "").split("\n\n")
    legend = ("Verdict rules", "- `", "A claim", "Preconditions", "Lazy layers", "Cost")
    rules = "\n\n".join(p for p in doc if p.startswith(legend))
    columns = ledger_columns(rows)
    headings = [SCALE_HEADINGS.get(s, f"Ours at `{s}`: verdict, numbers") for s in columns]
    lines = [
        "# Reproduction ledger: what our runs show, claim by claim",
        "",
        "Generated by `make paper` (`python -m inheritune_core.report`) from `results/*/*.csv` and the paper's "
        "numbers in `results/paper_reported/`; do not edit by hand. One column per scale with results (the "
        "test scale `smoke` never appears).",
        "",
        rules,
        "",
        f"Throughput used for the costs: {throughput.label}."
        if throughput
        else "No throughput figure found.",
        "",
        "| " + " | ".join(["Claim", "Paper", *headings, "Next scale: command, cost"]) + " |",
        "|" + "---|" * (3 + len(columns)),
    ]
    for row in rows:
        c = row.claim
        by_scale = {o.scale: o for o in row.ours}
        cells = [
            f"{s}: **{by_scale[s].verdict}**<br>" + "<br>".join(by_scale[s].lines)
            if s in by_scale
            else ("–" if s == "pretrained" else "no results yet")
            for s in columns
        ] or ["no results yet"]
        lines.append(
            "| "
            + " | ".join(_cell(x) for x in (f"**{c.text}** ({c.where})", row.paper, *cells, row.next))
            + " |"
        )
    return "\n".join(lines) + "\n"


def render_ledger(
    results_dir: str | os.PathLike | None = None,
    paper_dir: str | os.PathLike | None = None,
    reported_dir: str | os.PathLike | None = None,
    throughput_csv: str | os.PathLike = THROUGHPUT_CSV,
) -> Path:
    """Write paper/REPRODUCTION.md; returns its path."""
    results = Path(results_dir) if results_dir is not None else _default_results_dir()
    if reported_dir is None:
        reported_dir = results / "paper_reported"
        reported_dir = reported_dir if reported_dir.is_dir() else COMMITTED_REPORTED_DIR
    throughput = read_throughput(throughput_csv)
    rows = build_ledger(results, reported_dir, throughput)
    out = (Path(paper_dir) if paper_dir is not None else _default_paper_dir()) / LEDGER_NAME
    atomic_write_text(out, ledger_markdown(rows, throughput))
    return out


__all__ = [
    "HOLDS",
    "NOT_RESOLVED",
    "CONTRADICTED",
    "LEANS_FOR",
    "LEANS_AGAINST",
    "NOT_TESTABLE",
    "Evidence",
    "depth_precondition",
    "strictly_lazy_references",
    "lazy_layer_results",
    "ledger_columns",
    "CLAIMS",
    "Claim",
    "Comparison",
    "compare",
    "combine",
    "build_ledger",
    "ledger_markdown",
    "render_ledger",
    "read_throughput",
    "next_scale",
    # the rest of the ledger's names, defined in report/verdicts.py, comparisons.py, evidence.py and
    # next_scale.py and importable from here as before the split
    "LEANS_SE",
    "Verdict",
    "difference",
    "DEPTH",
    "DEPTH_LABEL",
    "LAZY",
    "PaperNumbers",
    "ScaleResult",
    "read_rows",
    "evaluate_comparisons",
    "FIRST_LAYERS_ROLES",
    "LAYER_SCALES",
    "STRICT_LAZY_SHARE",
    "RELAXED_LAZY_SHARE",
    "TABLE4_COMPARISONS",
    "lowdata_results",
    "table4_average_results",
    "layer_selection_results",
    "SCALE_ORDER",
    "THROUGHPUT_CSV",
    "Throughput",
    "next_step",
    "COMMITTED_REPORTED_DIR",
    "LEDGER_NAME",
    "MODEL_SHORT",
    "paper_numbers",
    "lowdata_paper_summary",
    "LedgerRow",
    "SCALE_HEADINGS",
]
