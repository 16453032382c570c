"""The claims ledger: paper/REPRODUCTION.md, one row per claim of the paper, computed from the CSVs alone.

Each row states a claim of the paper, the paper's own numbers (read from results/paper_reported/*.csv, never
typed here), ours at every scale that has results (read from results/<notebook>/*.csv; one column per scale, the
test scale `smoke` never shown), a verdict computed by the rules below, and the command and estimated GPU cost of
running it at the next scale. `make paper` (`python -m inheritune_core.report`) rewrites it; nothing in it is
written by hand. Imports no torch.

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
from . import checks
from .scales import reportable

HOLDS = "holds"
NOT_RESOLVED = "not resolved at this scale"
CONTRADICTED = "contradicted"
LEANS_FOR = "leans for (one seed)"
LEANS_AGAINST = "leans against (one seed)"
NOT_TESTABLE = "not testable at this scale"
SCALE_ORDER = tuple(SCALES)  # smoke, tiny, small, paper
THROUGHPUT_CSV = PROJECT_DIR / "benchmarks" / "throughput.csv"
COMMITTED_REPORTED_DIR = PROJECT_DIR / "results" / "paper_reported"
LEDGER_NAME = "REPRODUCTION.md"
# Roles an issue-12 layer-selection CSV may give Inheritune's own choice (the first n layers).
FIRST_LAYERS_ROLES = ("first", "early", "inheritune")
# Lazy layers: the paper's rule (every head degenerate in every window) and the relaxed one reported beside it.
STRICT_LAZY_SHARE = 1.0
RELAXED_LAZY_SHARE = 0.5
# A one-seed comparison leans one way when its difference exceeds this many standard errors.
LEANS_SE = 4


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


def difference(
    a: Sequence[float], b: Sequence[float], a_se: float | None = None, b_se: float | None = None
) -> tuple[float, float]:
    """d = mean(a) - mean(b) and its sigma: the seed-to-seed std of a side with two or more values, else its
    standard error (0 when none was recorded)."""
    if not a or not b:
        raise ValueError("a comparison needs at least one value on each side")
    s_a = _std(a) if len(a) >= 2 else (a_se or 0.0)
    s_b = _std(b) if len(b) >= 2 else (b_se or 0.0)
    return _mean(a) - _mean(b), math.sqrt(s_a**2 + s_b**2)


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
    d, sigma = difference(a, b, a_se, b_se)
    better = d < 0 if lower_is_better else d > 0
    if len(a) < 2 and len(b) < 2:
        if sigma == 0:
            return Verdict(NOT_RESOLVED, "one seed, no standard error recorded")
        reason = f"one seed; d = {d:+.3g}, {LEANS_SE} se = {LEANS_SE * sigma:.3g}"
        if abs(d) <= LEANS_SE * sigma:
            return Verdict(NOT_RESOLVED, reason)
        return Verdict(LEANS_FOR if better else LEANS_AGAINST, reason)
    reason = f"d = {d:+.3g}, 2σ = {2 * sigma:.3g}"
    if abs(d) <= 2 * sigma:
        return Verdict(NOT_RESOLVED, reason)
    return Verdict(HOLDS if better else CONTRADICTED, reason)


def combine(verdicts: Iterable[str]) -> str:
    """One verdict for a claim from its comparisons' verdicts (the order of the module docstring)."""
    verdicts = list(verdicts)
    if CONTRADICTED in verdicts:
        return CONTRADICTED
    if NOT_TESTABLE in verdicts:
        return NOT_TESTABLE
    if LEANS_AGAINST in verdicts:
        return LEANS_AGAINST
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    if verdicts and all(v in (HOLDS, LEANS_FOR) for v in verdicts):
        return LEANS_FOR
    return NOT_RESOLVED


# ------------------------------------------------------------------------------------------ CSVs
def read_rows(path: str | os.PathLike, fmt: checks.CsvFormat = checks.TABLE) -> list[dict[str, str]]:
    """A results CSV as a list of dicts of strings after the checks of report/checks.py (`fmt`: a tidy table
    by default); [] when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return []
    return checks.read_checked(path, fmt)


_float = checks.number


def _scales(rows: Iterable[dict[str, str]]) -> list[str]:
    """The scales with rows, smallest first; never the test scale `smoke` (report/scales.py)."""
    return reportable(r.get("scale", "") for r in rows)


def _fmt(values: Sequence[float], se: float | None, digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}" + (f" (se {se:.{digits}f})" if se is not None else "")
    return f"{_mean(values):.{digits}f} ± {_std(values):.{digits}f} ({len(values)} seeds)"


# ------------------------------------------------------------------------------------------ claims
DEPTH = "depth"  # precondition: the reference beats a half-depth random model at equal steps (by > 2 sigma)
LAZY = "lazy"  # precondition: a reference at this scale has lazy layers (strict rule)
DEPTH_LABEL = "precondition (depth matters here)"


@dataclass(frozen=True)
class Comparison:
    """'role `a` is better than role `b`' on `metric` (within one model and, if given, one panel), testable
    where its `precondition` (DEPTH, LAZY or None) holds at that scale."""

    a: str
    b: str
    label: str
    metric: str = "val_loss"
    lower_is_better: bool = True
    panel: str | None = None
    precondition: str | None = None


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
class Evidence:
    """What a claim's rows are judged with besides its own CSV: the rows holding the reference and the random
    arms of the DEPTH precondition (None: the claim's own rows), the references with strictly lazy layers per
    scale (LAZY), and the paper's rows whose depth and steps are printed beside ours."""

    depth_rows: list[dict[str, str]] | None = None
    lazy: dict[str, list[str]] = field(default_factory=dict)
    paper_rows: list[dict[str, str]] = field(default_factory=list)


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


def _steps(value: str | None) -> str:
    """100000 -> 100K (the paper's notation); small step counts print as they are; blank -> ?."""
    x = _float(value)
    if x is None:
        return "?"
    n = int(x)
    return f"{n // 1000}K" if n >= 1000 and n % 1000 == 0 else str(n)


def _shape(rows: Sequence[dict[str, str]]) -> str:
    """Depth and steps of a side, "4L/200" (several: joined by "|")."""
    found = dict.fromkeys(f"{r.get('layers') or '?'}L/{_steps(r.get('steps'))}" for r in rows)
    return "|".join(found) or "?"


def _values(rows: Sequence[dict[str, str]]) -> tuple[list[float], float | None]:
    """The values of a side (one per seed) and, for a single run, its standard error."""
    return [float(r["value"]) for r in rows], (_float(rows[0].get("se")) if len(rows) == 1 else None)


def _shared_note(a: Sequence, b: Sequence, b_role: str) -> str:
    """Says so when one side is a single run shared by every seed of the other (its sigma is then its se)."""
    if len(b) == 1 and len(a) >= 2:
        return (
            f"; the {b_role} is one run shared by all seeds (its σ: the validation set's se, no seed spread)"
        )
    return ""


def _val_loss(rows: list[dict[str, str]], model: str, role_ok: Callable[[str], bool]) -> list[dict[str, str]]:
    return [
        r
        for r in rows
        if r["model"] == model
        and role_ok(r["role"])
        and r["metric"] == "val_loss"
        and _float(r["value"]) is not None
    ]


def depth_precondition(rows: list[dict[str, str]], model: str) -> tuple[bool, str]:
    """Whether depth matters for `model` in `rows` (one scale): the reference (k layers) beats the random-init
    arm trained its steps with the depth closest to k/2 (fewer layers than k; a deeper one is the stricter test)
    by more than 2 sigma. Returns (met, the line that says so)."""
    ref = _val_loss(rows, model, lambda role: role == "reference")
    if not ref:
        return False, f"{DEPTH_LABEL}: {model}: not testable: no reference arm at this scale"
    if _float(ref[0]["layers"]) is None:
        return False, f"{DEPTH_LABEL}: {model}: not testable: the reference's depth is not recorded"
    k = int(float(ref[0]["layers"]))
    steps = _float(ref[0]["steps"])
    random = [
        r
        for r in _val_loss(rows, model, lambda role: role.startswith("random"))
        if _float(r["steps"]) == steps and _float(r["layers"]) is not None and float(r["layers"]) < k
    ]
    if not random:
        return False, (
            f"{DEPTH_LABEL}: {model}: not testable: no half-depth random arm at this scale (needed: the reference "
            f"{k}L beating a random {k // 2}L model at {_steps(ref[0]['steps'])} steps by more than 2σ)"
        )
    depths = sorted({float(r["layers"]) for r in random}, key=lambda n: (abs(n - k / 2), -n))
    n = depths[0]
    arm = [r for r in random if float(r["layers"]) == n]
    if n == k / 2:
        which = "half depth"
    elif n > k / 2:
        which = f"deeper than half ({k / 2:g}L): a stricter test"
    else:
        which = f"shallower than half ({k / 2:g}L): a weaker test"
    (rv, rse), (av, ase) = _values(ref), _values(arm)
    d, sigma = difference(rv, av, rse, ase)
    met = sigma > 0 and d < -2 * sigma
    line = (
        f"{DEPTH_LABEL}: {model} reference {_shape(ref)} vs random {_shape(arm)} "
        f"({arm[0]['role']}, {which}): {_fmt(rv, rse, 3)} vs {_fmt(av, ase, 3)} "
        f"(d = {d:+.3g}, 2σ = {2 * sigma:.3g}{_shared_note(av, rv, 'reference')}): "
        + ("met" if met else "not met, so its comparisons are not testable at this scale")
    )
    return met, line


def _paper_shape(paper_rows: list[dict[str, str]], model: str, role: str) -> str | None:
    hit = [r for r in paper_rows if r["model"] == model and r["role"] == role]
    return _shape(hit[:1]) if hit else None


def evaluate_comparisons(
    claim: Claim, rows: list[dict[str, str]], evidence: Evidence | None = None
) -> list[ScaleResult]:
    """Per scale with results (never smoke): the preconditions, one line per model and comparison (ours and the
    paper's depth and steps beside each), and the combined verdict."""
    evidence = evidence or Evidence()
    out = []
    for scale in _scales(rows):
        lines, verdicts = [], []
        at_scale = [r for r in rows if r.get("scale") == scale]
        source = rows if evidence.depth_rows is None else evidence.depth_rows
        depth_rows = [r for r in source if r.get("scale") == scale]
        met: dict[tuple[str, str], bool] = {}
        for model in dict.fromkeys(r["model"] for r in at_scale):
            for c in claim.comparisons:
                a, b = (_side(at_scale, model, role, c) for role in (c.a, c.b))
                if not a or not b:
                    continue
                if c.precondition and (model, c.precondition) not in met:
                    ok, line = _precondition(c.precondition, depth_rows, model, evidence.lazy.get(scale))
                    met[(model, c.precondition)] = ok
                    lines.append(line)
                (av, a_se), (bv, b_se) = _values(a), _values(b)
                v = compare(av, bv, lower_is_better=c.lower_is_better, a_se=a_se, b_se=b_se)
                testable = met.get((model, c.precondition), True) if c.precondition else True
                verdicts.append(v.verdict if testable else NOT_TESTABLE)
                digits = 3 if c.metric.endswith("loss") else 2
                shapes = f"ours {_shape(a)} vs {_shape(b)} steps"
                pa, pb = (_paper_shape(evidence.paper_rows, model, role) for role in (c.a, c.b))
                if pa and pb:
                    shapes += f", paper {pa} vs {pb}"
                lines.append(
                    f"{model} {c.label}: {_fmt(av, a_se, digits)} vs {_fmt(bv, b_se, digits)} "
                    f"({v.reason}{_shared_note(av, bv, c.b)}): {v.verdict}"
                    + ("" if testable else f" (not counted: {NOT_TESTABLE})")
                    + f" [{shapes}]"
                )
        if lines:
            out.append(ScaleResult(scale, lines, combine(verdicts)))
    return out


def _precondition(
    kind: str, rows: list[dict[str, str]], model: str, lazy: list[str] | None
) -> tuple[bool, str]:
    if kind == DEPTH:
        return depth_precondition(rows, model)
    if lazy:
        return True, f"precondition (a reference with lazy layers at this scale): met ({'; '.join(lazy)})"
    return False, (
        "precondition (a reference with lazy layers at this scale): not met: no reference trained at this scale "
        "has a strictly lazy layer, so the 'lazy' arm is its last n layers; early vs lazy is not testable here"
    )


# The ledger reads only each model's scale from the layer statistics (the figure checks the whole format).
LAYER_SCALES = checks.CsvFormat(
    "layer statistics",
    required=("model", "layer"),
    numeric=checks.LAYER_STATS.numeric,
    key=checks.LAYER_STATS.key,
)


def _lazy_rows(results: Path) -> tuple[dict[str, list[dict[str, str]]], dict[str, str]]:
    """results/figure1/lazy_layers.csv grouped by model, and each model's scale (`pretrained`: no scale)."""
    lazy = read_rows(results / "figure1" / "lazy_layers.csv", checks.LAZY_LAYERS)
    stats = read_rows(results / "figure1" / "layer_stats.csv", LAYER_SCALES)
    scale_of = {r["model"]: r.get("scale", "") for r in stats}
    by_model: dict[str, list[dict[str, str]]] = {}
    for r in lazy:
        by_model.setdefault(r["model"], []).append(r)
    return by_model, {m: scale_of.get(m) or "pretrained" for m in by_model}


def _lazy_at(layers: list[dict[str, str]], share: float) -> list[int]:
    return [int(float(r["layer"])) for r in layers if float(r["all_degenerate_frac"]) >= share]


def strictly_lazy_references(results: Path) -> dict[str, list[str]]:
    """Scale -> the references trained at that scale with strictly lazy layers ("model: layers [..]")."""
    by_model, scale_of = _lazy_rows(results)
    found: dict[str, list[str]] = {}
    for model, layers in by_model.items():
        strict = _lazy_at(layers, STRICT_LAZY_SHARE)
        if strict:
            found.setdefault(scale_of[model], []).append(f"{model}: layers {strict}")
    return found


def lazy_layer_results(results: Path) -> list[ScaleResult]:
    """Lazy layers by the paper's strict rule (every head rank-1 and single-column in every window) in the
    references of results/figure1 (trained GPT-2s per scale; the pretrained ones, with no scale, under
    `pretrained`); the relaxed rule (at least 50% of windows) on its own line, deciding nothing."""
    by_model, scale_of = _lazy_rows(results)
    by_scale: dict[str, list[str]] = {}
    verdicts: dict[str, list[str]] = {}
    for model, layers in by_model.items():
        scale = scale_of[model]
        if scale not in (*reportable([scale]), "pretrained"):
            continue  # the test scale gets no verdict
        strict = _lazy_at(layers, STRICT_LAZY_SHARE)
        relaxed = _lazy_at(layers, RELAXED_LAZY_SHARE)
        deep = [i for i in strict if i >= len(layers) // 2]
        lines = by_scale.setdefault(scale, [])
        lines.append(
            f"{model}: lazy layers (strict: every head degenerate in every window) {strict or 'none'} of "
            f"{len(layers)}"
        )
        if relaxed != strict:
            shares = ", ".join(
                f"{int(float(r['layer']))}: {float(r['all_degenerate_frac']):.0%}"
                for r in layers
                if int(float(r["layer"])) in relaxed
            )
            lines.append(
                f"{model}: relaxed rule (every head degenerate in ≥ {RELAXED_LAZY_SHARE:.0%} of windows; not "
                f"the paper's definition, decides nothing): layers {relaxed} ({shares})"
            )
        # one model per scale: finding lazy deep layers shows the claim; not finding them cannot refute it
        verdicts.setdefault(scale, []).append(HOLDS if deep else NOT_RESOLVED)
    order = [s for s in (*reportable(by_scale), "pretrained") if s in by_scale]
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
            ours_rows, ref_rows = (
                [
                    r
                    for r in at
                    if r["metric"] == metric and r["role"] == role and _float(r["value"]) is not None
                ]
                for role in ("inheritune", "reference")
            )
            if not ours_rows or not ref_rows:
                continue
            (ours, ours_se), (ref, ref_se) = _values(ours_rows), _values(ref_rows)
            target = 0.9 * _mean(ref)
            # a single reference's standard error scales with the threshold (0.9 x its score)
            v = compare(
                ours, [target], lower_is_better=False, a_se=ours_se, b_se=0.9 * ref_se if ref_se else None
            )
            verdicts.append(v.verdict)
            lines.append(
                f"{metric}: ours {_fmt(ours, ours_se, 2)} vs 90% of the reference's {_mean(ref):.2f} = "
                f"{target:.2f} ({v.reason}): {v.verdict}"
            )
        if lines:
            out.append(ScaleResult(scale, lines, combine(verdicts)))
    return out


TABLE4_COMPARISONS = (
    Comparison(
        "inheritune",
        "reference",
        "Ours vs reference",
        metric="average",
        lower_is_better=False,
        precondition=DEPTH,
    ),
    Comparison(
        "inheritune", "random", "Ours vs random", metric="average", lower_is_better=False, precondition=DEPTH
    ),
)


def table4_average_results(results: Path) -> list[ScaleResult]:
    """Table 4's average zero-shot accuracy. The paper averages its five tasks (the `average` rows, written
    when a run has all five). Where the runs lack some (offline, SciQ and HellaSwag have no local copy), the
    average is taken over the tasks that every run of that scale and model has, and a line names them: such a
    number is never passed off as the paper's average. The DEPTH precondition reads Figure 4's runs (the same
    models, results/figure4/figure4.csv)."""
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
    evidence = Evidence(depth_rows=read_rows(results / "figure4" / "figure4.csv"))
    out = evaluate_comparisons(claim, averaged, evidence)
    for result in out:
        result.lines.extend(notes.get(result.scale, []))
    return out


def layer_selection_results(results: Path) -> list[ScaleResult]:
    """Issue 12's layer-selection experiment (results/layer_selection/*.csv, tidy rows with `role`,
    `metric`, `value`, `scale`): the first n layers against every other selection, on val_loss."""
    rows = [
        r
        for p in sorted((results / "layer_selection").glob("*.csv"))
        for r in read_rows(p, checks.SELECTION if p.name == "layer_selection.csv" else checks.TABLE)
    ]
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
        for r in read_rows(path, checks.THROUGHPUT)
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
    # the CPU scales are those before `small` (tiny, and any CPU scale config.SCALES lists between them)
    cpu = (
        scale in SCALE_ORDER
        and "small" in SCALE_ORDER
        and SCALE_ORDER.index(scale) < SCALE_ORDER.index("small")
    )
    device = "cpu" if cpu else "cuda"
    command = f"`make {claim.notebook} SCALE={scale} DEVICE={device}`"
    if claim.plan is None:
        return f"{command}; cost not estimated (not GPT-2 training runs)"
    plan = [
        r for r in read_rows(results / claim.plan, checks.NEXT_SCALE_PLAN) if r.get("next_scale") == scale
    ]
    if not plan:
        return f"{command}; cost: run the notebook once at a smaller scale to write {claim.plan}"
    flops = sum(float(r["train_flops"]) + (_float(r["teacher_flops"]) or 0.0) for r in plan)
    runs = sum(int(float(r["runs"])) for r in plan)
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
]
