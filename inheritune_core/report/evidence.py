"""The claims whose evidence is not one CSV of comparisons: lazy layers (results/figure1/lazy_layers.csv, by
the paper's strict rule, with the relaxed one beside it), the low-data model against 90% of its reference
(results/table5_lowdata/table5.csv), Table 4's average zero-shot accuracy (results/table4/table4.csv, with
Figure 4's runs for the depth precondition) and issue 12's layer selection (results/layer_selection/*.csv).
Each reader returns a claim's verdicts per scale for report/claims.py; the rules are report/verdicts.py's.
Imports no torch.
"""

from __future__ import annotations

from pathlib import Path

from . import checks
from .comparisons import (
    DEPTH,
    Claim,
    Comparison,
    Evidence,
    ScaleResult,
    _float,
    _fmt,
    _scales,
    _values,
    evaluate_comparisons,
    read_rows,
)
from .scales import reportable
from .verdicts import HOLDS, NOT_RESOLVED, _mean, combine, compare

# Roles an issue-12 layer-selection CSV may give Inheritune's own choice (the first n layers).
FIRST_LAYERS_ROLES = ("first", "early", "inheritune")
# Lazy layers: the paper's rule (every head degenerate in every window) and the relaxed one reported beside it.
STRICT_LAZY_SHARE = 1.0
RELAXED_LAZY_SHARE = 0.5


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
