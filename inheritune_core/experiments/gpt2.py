"""The experiments behind the paper's GPT-2 tables and figures, one function per notebook.

Notebooks hold no training logic: they set parameters, call one function here, write the tidy CSVs it
returns and render the table/figure with `inheritune_core.report`. Each function is a thin wrapper: the
experiment is a list of declared arms (`arms.py`), run by one driver (`driver.run_arms`: seeds, a fresh
data stream per arm, cached runs, rows, curves, downstream columns, the next-scale plan of `plan.py`).
Depth and step arithmetic is in `setup.py`, the run builders in `builders.py`, the data streams in
`streams.py`. The reference is trained once per preset (setup.seed) and shared by every notebook, or once
per seed when `Setup.reference_per_seed` (config.Scale.reference_per_seed) is on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .arms import DISTILLATION, FIGURE1, FINEWEB, TABLE1, TABLE2, TABLE3, TABLE3_PARTS
from .builders import (
    inheritune_curves,
    inheritune_rows,
    inheritune_run,
    init_run,
    random_run,
    reference,
    round_records,
)
from .downstream import TABLE1_TASKS, TABLE4_TASKS, downstream_available, downstream_rows
from .driver import run_arms
from .plan import (
    BENCHMARK_MODEL,
    EXPERIMENT_PRESETS,
    PlannedRun,
    next_scale_plan,
    plan_flops,
    run_plan,
)
from .results import read_rows
from .setup import (
    ExperimentOutput,
    Setup,
    figure1_extra_steps,
    figure1_schedule,
    fineweb_data_path,
    kd_steps,
    kd_steps_at,
    make_setup,
    seed_list,
    steps_at,
    target_layers,
    with_seed,
)


def table1(
    setup: Setup, sizes: Sequence[str] = ("gpt2-medium",), seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Table 1 (+ Figure 5): reference vs Inheritune (Algorithm 1 from k/2 to the target) vs random init of
    Ours' depth at T and 2T steps; downstream Wikitext perplexity and LAMBADA accuracy for reference, random,
    Ours. Rows carry their seed; curves are the first seed's."""
    return run_arms(TABLE1, setup, sizes, seeds)


def table2(
    setup: Setup, sizes: Sequence[str] = ("gpt2-medium",), seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Table 2 (+ Figure 6): half width (every layer), stacking (Ours' depth / 2 trained T, stacked,
    retrained T on new data), hybrid stacking (reference layers duplicated) and Inheritune, all at T steps."""
    return run_arms(TABLE2, setup, sizes, seeds)


def table3(
    setup: Setup, sizes: Sequence[str] = ("gpt2-medium",), seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Table 3 (+ Figure 7): a target-depth model initialised from the reference's first layers with only
    some sub-modules copied (`arms.TABLE3_PARTS`; single round, T steps), the rest freshly initialised."""
    return run_arms(TABLE3, setup, sizes, seeds)


def distillation(
    setup: Setup, preset: str = "gpt2-medium", seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Figure 3 (target-depth student) and Figure 8 (k/2 student): vanilla KD (random student), DistilBERT
    KD (student from teacher layers), scratch and Inheritune; the teacher is the reference.

    Equal budgets: every model of a panel is trained for the same T_KD steps (the paper's 50K; T/2 at reduced
    scales) at the panel's depth. "Ours" is therefore ONE round, inherit(reference, n) trained T_KD steps,
    as Section 4.1 ("Both baselines are trained for 50K steps") and Table 3's directly initialised 16-layer
    "Ours" imply; running the growth loop here would give "Ours" up to three times the steps."""
    return run_arms(DISTILLATION, setup, [preset], seeds)


def fineweb(
    setup: Setup,
    sizes: Sequence[str] = ("gpt2-medium", "gpt2-large-dagger"),
    with_downstream: bool = False,
    seeds: Sequence[int] | None = None,
) -> ExperimentOutput:
    """Figure 4 / Table 4: training without repetition (sequential sampler) on FineWeb-Edu (or the given
    corpus): reference, Inheritune to the target depth and random init of Ours' depth, T steps each.

    No window is read twice in a model's lineage: the reference reads windows 0.., Inheritune's rounds read
    windows after the reference's and after each other's, and every run records its distinct windows in
    result.json; the seed picks where a run starts (streams.py), so seeds read different windows."""
    return run_arms(FINEWEB, setup, sizes, seeds, downstream=with_downstream)


FIGURE1_ROLES = {arm.role: arm for arm in FIGURE1.arms}


def figure1_training(
    setup: Setup,
    presets: Sequence[str] = ("gpt2-medium",),
    seeds: Sequence[int] | None = None,
    lazy_layers: dict[str, Sequence[int]] | None = None,
) -> ExperimentOutput:
    """Figure 1 (c, f): a half-depth model (paper: 12 of 24, 18 of 36 layers) initialised from the trained
    reference's FIRST layers ("early"), from its lazy layers ("lazy"), or at random, then trained for the
    paper's extra 10K steps scaled to the setup (`figure1_extra_steps`), once per seed.

    lazy_layers: preset -> the layers the reference's own analysis finds lazy (`attention.figure1(...)
    .toy_lazy`); the "lazy" arm takes them (`driver.lazy_selection`), and where there are none it takes the
    last n layers and its rows and curves say "last n layers (no lazy layers in this reference)".

    Rows (table "figure1"): one per model and seed, plus the reference's row. Curves: the first seed's, one
    panel per preset ("gpt2-medium: 4 of 8 layers"). Write them with
    `out.write(results_dir, "figure1", table="figure1_cf")`; the claims ledger reads figure1_cf.csv."""
    return run_arms(FIGURE1, setup, presets, seeds, lazy_layers=lazy_layers)


# ------------------------------------------------------------------------------------------ redraws
FIGURE_SOURCES = {"figure5": "table1", "figure6": "table2", "figure7": "table3", "figure8": "figure3"}
REDRAW_PANELS = {"figure8": ("12-layer student",)}  # a redraw's panels of its source (None: all)


def filter_curves(curves: list[dict[str, Any]], panels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    return [c for c in curves if not panels or c["panel"] in panels]


def redraw(
    name: str,
    results_dir: str | Path,
    scale: str,
    *,
    retrain: bool = False,
    setup: Setup | None = None,
    sizes: Sequence[str] | None = None,
) -> ExperimentOutput:
    """Figures 5-8: the validation curves of another notebook's runs (`FIGURE_SOURCES`).

    By default they are read from that notebook's CSV (results/<source>/curves.csv, the rows of `scale`,
    of `sizes` when given) and nothing is trained; retrain=True runs the source experiment instead (with
    `setup`: its runs are read back from the cache when they exist, trained when not). Prints which it did."""
    if name not in FIGURE_SOURCES:
        raise ConfigError(f"unknown redraw {name!r}; choose one of {', '.join(FIGURE_SOURCES)}")
    source, panels = FIGURE_SOURCES[name], REDRAW_PANELS.get(name)
    if retrain:
        if setup is None:
            raise ConfigError(f"{name}: retrain=True needs a setup (gpt2.make_setup(...))")
        runs = {"table1": table1, "table2": table2, "table3": table3}
        out = runs[source](setup, sizes or ("gpt2-medium",)) if source in runs else distillation(setup)
        curves = filter_curves(out.curves, panels)
        print(f"{name}: curves of {source}'s runs (trained where the cache had none)")
        return ExperimentOutput(curves=curves)
    path = Path(results_dir) / source / "curves.csv"
    curves = [
        r
        for r in filter_curves(read_rows(path), panels)
        if r.get("scale") == scale and (not sizes or r["model"] in sizes)
    ]
    if not curves:
        raise ConfigError(
            f"{path} has no {scale} curves{f' of {list(sizes)}' if sizes else ''}: run `make {source} "
            f"SCALE={scale}` first, or pass retrain=True"
        )
    print(f"{name}: redrawn from {path} ({len(curves)} rows at scale {scale}); nothing trained")
    return ExperimentOutput(curves=curves)


__all__ = [
    "ConfigError",
    "Setup",
    "ExperimentOutput",
    "make_setup",
    "target_layers",
    "reference",
    "random_run",
    "init_run",
    "inheritune_run",
    "inheritune_rows",
    "inheritune_curves",
    "round_records",
    "table1",
    "table2",
    "table3",
    "distillation",
    "fineweb",
    "figure1_training",
    "fineweb_data_path",
    "downstream_available",
    "downstream_rows",
    "kd_steps",
    "kd_steps_at",
    "steps_at",
    "seed_list",
    "with_seed",
    "figure1_schedule",
    "figure1_extra_steps",
    "run_plan",
    "plan_flops",
    "next_scale_plan",
    "PlannedRun",
    "EXPERIMENT_PRESETS",
    "BENCHMARK_MODEL",
    "TABLE3_PARTS",
    "FIGURE1_ROLES",
    "FIGURE_SOURCES",
    "REDRAW_PANELS",
    "redraw",
    "filter_curves",
    "TABLE1_TASKS",
    "TABLE4_TASKS",
]
