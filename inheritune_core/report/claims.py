"""The claims ledger: paper/REPRODUCTION.md, one row per claim of the paper, computed from the CSVs alone.

Each row states a claim of the paper, the paper's own numbers (read from results/paper_reported/*.csv, never
typed here), ours at every scale that has results (read from results/<notebook>/*.csv), a verdict computed by
the rules below, and the command and estimated GPU cost of running it at the next scale. `make paper`
(`python -m inheritune_core.report`) rewrites it; nothing in it is written by hand. Imports no torch.

Verdict rules, per scale. A claim is made of comparisons "A is better than B" (lower loss, higher accuracy).
For each: d = mean(A) - mean(B) over seeds, sigma = sqrt(s_A^2 + s_B^2), where s is the standard deviation
over seeds of a side with two or more seeds, and for a side with a single run (the shared reference) the
standard error of its whole-split validation loss when recorded (else 0).
- `holds`: |d| > 2 sigma, in the claimed direction;
- `contradicted`: |d| > 2 sigma, against it;
- `not resolved at this scale`: |d| <= 2 sigma, or both sides have a single seed.
A claim holds at a scale when every comparison it has there holds, is contradicted when any is, and is not
resolved otherwise. For a parity claim ("Ours matches the reference") `not resolved` means the two are within
noise of each other: parity is not excluded, but it is not shown either. The lazy-layer row is an existence
claim: it holds when one reference (trained here or pretrained) has lazy layers in its deeper half, and is
not resolved otherwise (one model cannot refute it).

Cost of the next scale: the FLOPs of every run the claim's notebook makes there (6N + 12 L H Q T per token,
plus a teacher's forward pass under distillation), which the notebook wrote to results/<name>/plan.csv
(`experiments.gpt2.next_scale_plan`), divided by the effective FLOP/s of the throughput benchmark
(benchmarks/throughput.csv: our own GPU measurement when one was recorded, else the best stated figure for the
official code) on GPT-2 medium. Smaller models use a GPU less well, so the hours are a lower bound.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import paper
from ..config import SCALES
from ..io import atomic_write_text
from ..paths import PROJECT_DIR
from ..paths import paper_dir as _default_paper_dir
from ..paths import results_dir as _default_results_dir

HOLDS = "holds"
NOT_RESOLVED = "not resolved at this scale"
CONTRADICTED = "contradicted"
SCALE_ORDER = tuple(SCALES)  # smoke, tiny, small, paper
THROUGHPUT_CSV = PROJECT_DIR / "benchmarks" / "throughput.csv"
COMMITTED_REPORTED_DIR = PROJECT_DIR / "results" / "paper_reported"
LEDGER_NAME = "REPRODUCTION.md"
# Roles an issue-12 layer-selection CSV may give Inheritune's own choice (the first n layers).
FIRST_LAYERS_ROLES = ("first", "early", "inheritune")


# ------------------------------------------------------------------------------------------ verdicts
@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _std(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def compare(
    a: Sequence[float],
    b: Sequence[float],
    *,
    lower_is_better: bool = True,
    a_se: float | None = None,
    b_se: float | None = None,
) -> Verdict:
    """The verdict of "A is better than B" from the values of each side (one per seed); see the module
    docstring. a_se / b_se: the standard error of a single-run side (used only when it has one value)."""
    if not a or not b:
        raise ValueError("compare needs at least one value on each side")
    if len(a) < 2 and len(b) < 2:
        return Verdict(NOT_RESOLVED, "one seed")
    s_a = _std(a) if len(a) >= 2 else (a_se or 0.0)
    s_b = _std(b) if len(b) >= 2 else (b_se or 0.0)
    sigma = math.sqrt(s_a**2 + s_b**2)
    d = _mean(a) - _mean(b)
    reason = f"d = {d:+.3g}, 2σ = {2 * sigma:.3g}"
    if abs(d) <= 2 * sigma:
        return Verdict(NOT_RESOLVED, reason)
    better = d < 0 if lower_is_better else d > 0
    return Verdict(HOLDS if better else CONTRADICTED, reason)


def combine(verdicts: Iterable[str]) -> str:
    """One verdict for a claim from its comparisons' verdicts."""
    verdicts = list(verdicts)
    if CONTRADICTED in verdicts:
        return CONTRADICTED
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return NOT_RESOLVED


# ------------------------------------------------------------------------------------------ CSVs
def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """A tidy CSV as a list of dicts of strings; [] when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _float(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    x = float(value)
    return None if math.isnan(x) else x


def _scales(rows: Iterable[dict[str, str]]) -> list[str]:
    found = {r.get("scale", "") for r in rows} - {""}
    return [s for s in SCALE_ORDER if s in found] + sorted(found - set(SCALE_ORDER))


def _fmt(values: Sequence[float], se: float | None, digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}" + (f" (se {se:.{digits}f})" if se is not None else "")
    return f"{_mean(values):.{digits}f} ± {_std(values):.{digits}f} ({len(values)} seeds)"


# ------------------------------------------------------------------------------------------ claims
@dataclass(frozen=True)
class Comparison:
    """'role `a` is better than role `b`' on `metric` (within one model and, if given, one panel)."""

    a: str
    b: str
    label: str
    metric: str = "val_loss"
    lower_is_better: bool = True
    panel: str | None = None


@dataclass(frozen=True)
class PaperNumbers:
    """Which of the paper's numbers a claim prints: rows of results/paper_reported/<table>.csv."""

    table: str
    roles: tuple[str, ...]
    metric: str = "val_loss"


@dataclass(frozen=True)
class ScaleResult:
    scale: str
    lines: list[str]
    verdict: str


@dataclass(frozen=True)
class Claim:
    key: str
    text: str  # the claim, in the paper's words where it has them
    where: str  # section / table / figure of the paper
    results: str  # our CSV, relative to results/
    notebook: str  # the make target that produces it
    comparisons: tuple[Comparison, ...] = ()
    paper: tuple[PaperNumbers, ...] = ()
    paper_note: str = ""  # for claims the paper makes without printing numbers
    plan: str | None = None  # results/<name>/plan.csv, the cost of the next scale (None: not GPT-2 runs)
    custom: Callable[[Path], list[ScaleResult]] | None = field(default=None, compare=False)
    optional: bool = False  # listed only when its results exist (issue 12's layer selection)


def _side(rows: list[dict[str, str]], model: str, role: str, c: Comparison) -> list[dict[str, str]]:
    """The rows (one per seed) of one role of a comparison."""
    return [
        r
        for r in rows
        if r["model"] == model
        and r["role"] == role
        and r["metric"] == c.metric
        and (c.panel is None or r.get("panel") == c.panel)
        and _float(r["value"]) is not None
    ]


def evaluate_comparisons(claim: Claim, rows: list[dict[str, str]]) -> list[ScaleResult]:
    """Per scale with results: one line per model and comparison, and the combined verdict."""
    out = []
    for scale in _scales(rows):
        lines, verdicts = [], []
        at_scale = [r for r in rows if r.get("scale") == scale]
        models = list(dict.fromkeys(r["model"] for r in at_scale))
        for model in models:
            for c in claim.comparisons:
                a, b = (_side(at_scale, model, role, c) for role in (c.a, c.b))
                if not a or not b:
                    continue
                av, bv = [float(r["value"]) for r in a], [float(r["value"]) for r in b]
                a_se = _float(a[0].get("se")) if len(a) == 1 else None
                b_se = _float(b[0].get("se")) if len(b) == 1 else None
                v = compare(av, bv, lower_is_better=c.lower_is_better, a_se=a_se, b_se=b_se)
                verdicts.append(v.verdict)
                digits = 3 if c.metric.endswith("loss") else 2
                lines.append(
                    f"{model} {c.label}: {_fmt(av, a_se, digits)} vs {_fmt(bv, b_se, digits)} "
                    f"({v.reason}): {v.verdict}"
                )
        if lines:
            out.append(ScaleResult(scale, lines, combine(verdicts)))
    return out


def lazy_layer_results(results: Path) -> list[ScaleResult]:
    """Lazy layers (rank-1, single-column attention in every head) found in the trained GPT-2 references of
    results/figure1; the pretrained references (no scale) are listed as evidence under `pretrained`."""
    lazy = read_rows(results / "figure1" / "lazy_layers.csv")
    stats = read_rows(results / "figure1" / "layer_stats.csv")
    scale_of = {r["model"]: r.get("scale", "") for r in stats}
    by_scale: dict[str, list[str]] = {}
    verdicts: dict[str, list[str]] = {}
    for model in dict.fromkeys(r["model"] for r in lazy):
        layers = [r for r in lazy if r["model"] == model]
        found = [int(r["layer"]) for r in layers if r["lazy"].strip().lower() == "true"]
        deep = [i for i in found if i >= len(layers) // 2]
        scale = scale_of.get(model) or "pretrained"
        by_scale.setdefault(scale, []).append(f"{model}: lazy layers {found or 'none'} of {len(layers)}")
        # one model per scale: finding lazy deep layers shows the claim; not finding them cannot refute it
        verdicts.setdefault(scale, []).append(HOLDS if deep else NOT_RESOLVED)
    order = [s for s in (*SCALE_ORDER, "pretrained") if s in by_scale]
    # an existence claim: one reference with lazy deep layers shows it at that scale
    return [ScaleResult(s, by_scale[s], HOLDS if HOLDS in verdicts[s] else NOT_RESOLVED) for s in order]


def lowdata_results(results: Path) -> list[ScaleResult]:
    """Table 5: our low-data Inheritune model against 90% of its reference's score, task by task."""
    rows = read_rows(results / "table5_lowdata" / "table5.csv")
    out = []
    for scale in _scales(rows):
        at = [r for r in rows if r.get("scale") == scale and r["metric"] != "val_loss"]
        lines, verdicts = [], []
        for metric in dict.fromkeys(r["metric"] for r in at):
            ours = [float(r["value"]) for r in at if r["metric"] == metric and r["role"] == "inheritune"]
            ref = [float(r["value"]) for r in at if r["metric"] == metric and r["role"] == "reference"]
            if not ours or not ref:
                continue
            target = 0.9 * _mean(ref)
            v = compare(ours, [target], lower_is_better=False)
            verdicts.append(v.verdict)
            lines.append(
                f"{metric}: ours {_fmt(ours, None, 2)} vs 90% of the reference's {_mean(ref):.2f} = "
                f"{target:.2f} ({v.reason}): {v.verdict}"
            )
        if lines:
            out.append(ScaleResult(scale, lines, combine(verdicts)))
    return out


TABLE4_COMPARISONS = (
    Comparison("inheritune", "reference", "Ours vs reference", metric="average", lower_is_better=False),
    Comparison("inheritune", "random", "Ours vs random", metric="average", lower_is_better=False),
)


def table4_average_results(results: Path) -> list[ScaleResult]:
    """Table 4's average zero-shot accuracy. The paper averages its five tasks (the `average` rows, written
    when a run has all five). Where the runs lack some (offline, SciQ and HellaSwag have no local copy), the
    average is taken over the tasks that every run of that scale and model has, and a line names them: such a
    number is never passed off as the paper's average."""
    from ..paper import PAPER_TABLES

    columns = [t.column for t in PAPER_TABLES["table4"]]
    rows = read_rows(results / "table4" / "table4.csv")
    averaged, notes = [], {}
    for scale in _scales(rows):
        for model in dict.fromkeys(r["model"] for r in rows if r.get("scale") == scale):
            group = [r for r in rows if r.get("scale") == scale and r["model"] == model]
            runs: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
            for r in group:
                runs.setdefault((r["role"], r["seed"]), {})[r["metric"]] = r
            if all("average" in metrics for metrics in runs.values()):
                averaged += [metrics["average"] for metrics in runs.values()]
                continue
            shared = [
                c
                for c in columns
                if all(_float(m.get(c, {}).get("value")) is not None for m in runs.values())
            ]
            if not shared:
                continue
            for metrics in runs.values():
                first = metrics[shared[0]]
                value = _mean([float(metrics[c]["value"]) for c in shared])
                averaged.append({**first, "metric": "average", "value": str(value), "se": ""})
            missing = [c for c in columns if c not in shared]
            notes.setdefault(scale, []).append(
                f"{model}: average of the {len(shared)} of {len(columns)} tasks every run has "
                f"({', '.join(shared)}); not evaluated: {', '.join(missing)}"
            )
    claim = Claim(
        key="table4_average", text="", where="", results="", notebook="", comparisons=TABLE4_COMPARISONS
    )
    out = evaluate_comparisons(claim, averaged)
    for result in out:
        result.lines.extend(notes.get(result.scale, []))
    return out


def layer_selection_results(results: Path) -> list[ScaleResult]:
    """Issue 12's layer-selection experiment (results/layer_selection/*.csv, tidy rows with `role`,
    `metric`, `value`, `scale`): the first n layers against every other selection, on val_loss."""
    rows = [r for p in sorted((results / "layer_selection").glob("*.csv")) for r in read_rows(p)]
    rows = [r for r in rows if {"role", "metric", "value", "model"} <= set(r)]
    first = next((role for role in FIRST_LAYERS_ROLES if any(r["role"] == role for r in rows)), None)
    if first is None:
        return []
    others = [r for r in dict.fromkeys(r["role"] for r in rows) if r != first]
    claim = Claim(
        key="layer_selection",
        text="",
        where="",
        results="",
        notebook="",
        comparisons=tuple(Comparison(first, o, f"first n vs {o}") for o in others),
    )
    return evaluate_comparisons(claim, rows)


CLAIMS: tuple[Claim, ...] = (
    Claim(
        key="lazy_layers",
        text="Deeper layers of a trained reference are lazy: every head's attention is rank-1 and "
        "single-column",
        where="Section 2, Figure 1 (a, b, d, e)",
        results="figure1/lazy_layers.csv",
        notebook="figure1",
        paper_note="Figure 1 (a, b, d, e): many deeper layers of GPT-2 medium and large (no numbers printed)",
        custom=lazy_layer_results,
    ),
    Claim(
        key="parity",
        text="Inheritune's k/2-start model reaches the reference's validation loss at equal steps",
        where="Table 1, Section 4.1",
        results="table1/table1.csv",
        notebook="table1",
        comparisons=(Comparison("inheritune", "reference", "Ours vs reference"),),
        paper=(PaperNumbers("table1", ("reference", "inheritune")),),
        plan="table1/plan.csv",
    ),
    Claim(
        key="random_1x",
        text="Inheritune beats a same-size model trained from random init for the same steps",
        where="Table 1",
        results="table1/table1.csv",
        notebook="table1",
        comparisons=(Comparison("inheritune", "random", "Ours vs random 1x"),),
        paper=(PaperNumbers("table1", ("random", "inheritune")),),
        plan="table1/plan.csv",
    ),
    Claim(
        key="random_2x",
        text="Inheritune beats a same-size model trained from random init for twice the steps",
        where="Table 1",
        results="table1/table1.csv",
        notebook="table1",
        comparisons=(Comparison("inheritune", "random_2x", "Ours vs random 2x"),),
        paper=(PaperNumbers("table1", ("random_2x", "inheritune")),),
        plan="table1/plan.csv",
    ),
    Claim(
        key="early_vs_lazy",
        text="Early layers are a better initialisation than lazy layers or random init",
        where="Section 2, Figure 1 (c, f)",
        results="figure1/figure1_cf.csv",
        notebook="figure1",
        comparisons=(
            Comparison("early", "lazy", "early vs lazy"),
            Comparison("early", "random", "early vs random"),
        ),
        paper_note="Figure 1 (c, f): curves only (no numbers printed)",
        plan="figure1/plan.csv",
    ),
    Claim(
        key="attn_mlp",
        text="Inheriting attention and MLP beats inheriting either alone",
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
        text="Inheritune beats stacking, hybrid stacking and half width",
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
        text="Inheritune beats vanilla KD and DistilBERT-style KD at equal steps",
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
        text="Without data repetition, Inheritune matches the reference and beats same-size random init",
        where="Section 5, Figure 4",
        results="figure4/figure4.csv",
        notebook="figure4",
        comparisons=(
            Comparison("inheritune", "reference", "Ours vs reference"),
            Comparison("inheritune", "random", "Ours vs random"),
        ),
        paper_note="Figure 4: training-loss curves only (no numbers printed); ours: whole-split validation loss",
        plan="figure4/plan.csv",
    ),
    Claim(
        key="table4_average",
        text="Without repetition, Inheritune has the best average zero-shot accuracy",
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
                    steps = f" {int(r['steps']) // 1000}K" if r.get("steps") else ""
                    cells.append(f"{r['method']}{layers}{steps} {r['value']}")
            parts.append(f"{MODEL_SHORT.get(model, model)}: " + ", ".join(cells))
    notes = [claim.paper_note] if claim.paper_note else []
    return "<br>".join(parts + notes) or "–"


def lowdata_paper_summary(reported_dir: Path) -> str:
    """Table 5 of the paper, summarised from its CSV: on how many tasks Ours-1.5B reaches 90% of its
    reference's score."""
    rows = [r for r in read_rows(reported_dir / "table5.csv") if r.get("source", "paper") == "paper"]
    ref = {r["metric"]: float(r["value"]) for r in rows if r["role"] == "reference"}
    ours = {r["metric"]: float(r["value"]) for r in rows if r["role"] == "inheritune"}
    tasks = [m for m in ours if m in ref]
    if not tasks:
        return "–"
    reached = [m for m in tasks if ours[m] >= 0.9 * ref[m]]
    return (
        f"Ours-1.5B ≥ 90% of its reference on {len(reached)} of {len(tasks)} tasks ({', '.join(reached)}); "
        "the paper also counts a task where it beats two same-size baselines"
    )


# ------------------------------------------------------------------------------------------ cost
@dataclass(frozen=True)
class Throughput:
    tokens_per_s: float  # GPT-2 medium at the paper's size and 1024-token context
    label: str


def read_throughput(path: str | os.PathLike = THROUGHPUT_CSV) -> Throughput | None:
    """The throughput the costs use: our own GPU measurement of the fast path (benchmarks/gpu_check.sh
    records it), else the highest stated figure of the official code; GPT-2 medium, paper size, 1024 tokens."""
    rows = [
        r
        for r in read_rows(path)
        if (r.get("preset"), r.get("scale"), r.get("block_size")) == ("gpt2-medium", "paper", "1024")
        and _float(r.get("tokens_per_s"))
    ]
    measured = [r for r in rows if r.get("source") == "measured" and r.get("path", "").startswith("fast")]
    stated = [r for r in rows if r.get("source") == "stated" and r.get("path") == "official code"]
    pick = max(measured or stated, key=lambda r: float(r["tokens_per_s"]), default=None)
    if pick is None:
        return None
    tps = float(pick["tokens_per_s"])
    compiled = "compiled" if pick.get("compiled", "").lower() == "true" else "eager"
    return Throughput(
        tps, f"{pick['source']}: {pick['path']} on {pick['card']}, {compiled}, {tps:,.0f} tokens/s"
    )


def next_scale(scales: Sequence[str]) -> str | None:
    """The scale after the largest one with results (tiny when there are none); None after `paper`."""
    done = [SCALE_ORDER.index(s) for s in scales if s in SCALE_ORDER]
    i = max(done) + 1 if done else SCALE_ORDER.index("tiny")
    return SCALE_ORDER[i] if i < len(SCALE_ORDER) else None


def next_step(claim: Claim, scales: Sequence[str], results: Path, throughput: Throughput | None) -> str:
    """The command that runs the claim's notebook at the next scale, and what it costs (from its plan.csv)."""
    scale = next_scale(scales)
    if scale is None:
        return "done at the paper's scale"
    device = "cpu" if scale == "tiny" else "cuda"
    command = f"`make {claim.notebook} SCALE={scale} DEVICE={device}`"
    if claim.plan is None:
        return f"{command}; cost not estimated (not GPT-2 training runs)"
    plan = [r for r in read_rows(results / claim.plan) if r.get("next_scale") == scale]
    if not plan:
        return f"{command}; cost: run the notebook once at a smaller scale to write {claim.plan}"
    flops = sum(float(r["train_flops"]) + float(r["teacher_flops"] or 0) for r in plan)
    runs = sum(int(r["runs"]) for r in plan)
    if device == "cpu":
        return f"{command}; {runs} runs, {flops:.2e} FLOPs (a CPU scale)"
    if throughput is None:
        return f"{command}; {runs} runs, {flops:.2e} FLOPs (no throughput figure in {THROUGHPUT_CSV.name})"
    hours = flops / (throughput.tokens_per_s * float(plan[0]["benchmark_flops_per_token"])) / 3600
    return f"{command}; {runs} runs, {flops:.2e} FLOPs, ≥ {hours:.2g} GPU-hours"


# ------------------------------------------------------------------------------------------ the ledger
@dataclass
class LedgerRow:
    claim: Claim
    paper: str
    ours: list[ScaleResult]
    next: str


def build_ledger(
    results_dir: str | os.PathLike, reported_dir: str | os.PathLike, throughput: Throughput | None
) -> list[LedgerRow]:
    results, reported = Path(results_dir), Path(reported_dir)
    rows = []
    for claim in CLAIMS:
        if claim.custom is not None:
            ours = claim.custom(results)
        else:
            ours = evaluate_comparisons(claim, read_rows(results / claim.results))
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


def ledger_markdown(rows: Sequence[LedgerRow], throughput: Throughput | None) -> str:
    doc = (__doc__ or "").split("\n\n")
    rules = "\n\n".join(p for p in doc if p.startswith(("Verdict rules", "- `", "A claim holds", "Cost")))
    lines = [
        "# Reproduction ledger: what our runs show, claim by claim",
        "",
        "Generated by `make paper` (`python -m inheritune_core.report`) from `results/*/*.csv` and the paper's "
        "numbers in `results/paper_reported/`; do not edit by hand.",
        "",
        rules,
        "",
        f"Throughput used for the costs: {throughput.label}."
        if throughput
        else "No throughput figure found.",
        "",
        "| Claim | Paper | Ours | Verdict | Next scale: command, cost |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        c = row.claim
        ours = "<br>".join(f"**{o.scale}**: " + "; ".join(o.lines) for o in row.ours) or "no results yet"
        verdict = "<br>".join(f"{o.scale}: **{o.verdict}**" for o in row.ours) or "–"
        lines.append(
            "| "
            + " | ".join(_cell(x) for x in (f"**{c.text}** ({c.where})", row.paper, ours, verdict, row.next))
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
]
