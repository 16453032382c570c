"""The experiments behind the paper's GPT-2 tables and figures, one function per notebook.

Notebooks hold no training logic: they set parameters, call one function here, write the tidy CSVs it
returns and render the table/figure with `report.py`. Every training run goes through `experiments.py`, so a
run that already finished (in this notebook or another: a reference model is shared by all) is read back.

Depths at reduced scales. The paper's depths (24-layer reference, 16-layer target, 12 -> 14 -> 16 growth)
are divided by the scale's depth_divisor. The target depth is the paper's target as a *fraction* of the
reference (16/24, 18/36, 24/48, 16/32) rounded up to an even number and kept at least 2 layers below the
reference, so that stacking (half then doubled) and growth by 2 stay possible: at `tiny`, GPT-2 medium's
8-layer reference gets a 6-layer target, grown 4 -> 6. At `paper` the targets are exactly the paper's.

Steps. T (per round, per run) is the scale's max_steps unless `steps` is given; "2x" runs use 2T; the
distillation comparison (Figure 3/8) uses T/2 (the paper: 50K vs 100K steps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import (
    KD_ALPHA,
    KD_MAX_STEPS,
    KD_TEMPERATURE,
    MODEL_PRESETS,
    PAPER_TARGET_LAYERS,
    get_preset,
    get_scale,
    optim_kwargs,
    scaled_layers,
)
from ..data.tokens import TokenData, load_token_data
from ..errors import ConfigError
from ..evaluation.tasks import PAPER_TABLES
from ..experiments.runs import (
    RunRecord,
    curve_rows,
    make_spec,
    reference_run,
    result_row,
    run_or_load,
    train_config_for,
    train_spec,
)
from ..io import atomic_write_json, write_csv
from ..paths import data_dir as default_data_dir


def _downstream_columns(table: str) -> dict[str, list[tuple[str, str, float]]]:
    """lm-eval task -> [(metric as evaluate() names it, our tidy metric name, factor to the paper's units)]."""
    out: dict[str, list[tuple[str, str, float]]] = {}
    for t in PAPER_TABLES[table]:
        out.setdefault(t.task, []).append((t.metric, t.column, t.factor))
    return out


TABLE1_TASKS = _downstream_columns("table1")
TABLE4_TASKS = _downstream_columns("table4")


@dataclass
class Setup:
    """What every experiment needs: the scale, the data, where runs live, and how to train."""

    scale: str
    data: TokenData
    device: str = "cpu"
    seed: int = 1337
    steps: int | None = None  # T; None: the scale's max_steps
    runs_dir: Path | None = None
    progress: bool = True
    downstream: bool = True  # evaluate with lm-eval when inheritune_core.evaluation is available
    eval_limit: int | None = None  # examples per task (None: all)

    def __post_init__(self) -> None:
        get_scale(self.scale)
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps <= 0):
            raise ConfigError(f"steps must be a positive integer or None, got {self.steps!r}")

    def T(self, preset: str) -> int:
        return self.steps or optim_kwargs(preset, self.scale)["max_steps"]


@dataclass
class ExperimentOutput:
    """Tidy rows for the table CSV and the curves CSV, plus the runs they came from."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, RunRecord] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def write(self, results_dir: str | Path, name: str, table: str | None = None) -> list[Path]:
        """results/<name>/<table>.csv (if rows) and results/<name>/curves.csv (if curves), atomically."""
        out = Path(results_dir) / name
        written = []
        if self.rows:
            written.append(write_csv(self.rows, out / f"{table or name}.csv"))
        if self.curves:
            written.append(write_csv(self.curves, out / "curves.csv"))
        return written


def make_setup(
    scale: str = "tiny",
    data: str | Path | None = None,
    device: str = "cpu",
    seed: int = 1337,
    steps: int | None = None,
    runs_dir: str | Path | None = None,
    progress: bool = True,
    downstream: bool = True,
    eval_limit: int | None = None,
) -> Setup:
    """A Setup from notebook parameters; `data` defaults to the bundled corpus (data/english)."""
    data_path = Path(data) if data else default_data_dir() / "english"
    return Setup(
        scale=scale,
        data=load_token_data(data_path),
        device=device,
        seed=seed,
        steps=steps,
        runs_dir=Path(runs_dir) if runs_dir else None,
        progress=progress,
        downstream=downstream,
        eval_limit=eval_limit,
    )


def target_layers(preset: str, scale: str) -> int:
    """The Inheritune target depth of a preset at a scale (see the module docstring)."""
    p = get_preset(preset)
    if get_scale(scale).depth_divisor == 1:
        return PAPER_TARGET_LAYERS[preset]
    k = scaled_layers(p.n_layer, scale)
    even = 2 * math.ceil(k * PAPER_TARGET_LAYERS[preset] / p.n_layer / 2)
    return max(1, min(even, k - 2))


def _check_presets(sizes: Sequence[str], allowed: Sequence[str] | None = None) -> list[str]:
    allowed = list(allowed or MODEL_PRESETS)
    bad = [s for s in sizes if s not in allowed]
    if bad or not sizes:
        raise ConfigError(f"sizes must be a non-empty list of {', '.join(allowed)}; got {list(sizes)!r}")
    return list(sizes)


# ------------------------------------------------------------------------------------------ run builders
def reference(setup: Setup, preset: str, sampler: str = "random") -> RunRecord:
    return reference_run(
        preset,
        setup.scale,
        setup.data,
        steps=setup.T(preset),
        seed=setup.seed,
        device=setup.device,
        runs_dir=setup.runs_dir,
        progress=setup.progress,
        sampler=sampler,
    )


def _train(setup: Setup, spec, make_model, teacher=None) -> RunRecord:
    return train_spec(
        spec,
        setup.data,
        make_model,
        teacher=teacher,
        device=setup.device,
        runs_dir=setup.runs_dir,
        progress=setup.progress,
    )


def random_run(
    setup: Setup, preset: str, n_layer: int, steps: int, sampler: str = "random", label: str = "random"
) -> RunRecord:
    """A model of n_layer layers trained from a random initialisation."""
    from ..method.inheritance import random_init
    from ..models.gpt import GPTConfig

    spec = make_spec(
        f"{preset}-{setup.scale}-{label}-{n_layer}L",
        "random",
        preset,
        setup.scale,
        setup.data,
        n_layer=n_layer,
        steps=steps,
        seed=setup.seed,
        init={"method": "random"},
        sampler=sampler,
    )
    return _train(
        setup, spec, lambda: random_init(GPTConfig.from_dict(dict(spec.model_config)), seed=setup.seed)
    )


def init_run(
    setup: Setup,
    preset: str,
    ref: RunRecord,
    kind: str,
    n_layer: int,
    steps: int,
    init: dict[str, Any],
    build,
    teacher: RunRecord | None = None,
    sampler: str = "random",
    model_overrides: dict[str, Any] | None = None,
    parents: Sequence[RunRecord] = (),
    **train_overrides: Any,
) -> RunRecord:
    """A model built from trained weights (`build(ref_model) -> GPT`), then trained (optionally distilled)."""
    spec = make_spec(
        f"{preset}-{setup.scale}-{kind}-{n_layer}L",
        kind,
        preset,
        setup.scale,
        setup.data,
        n_layer=n_layer,
        steps=steps,
        seed=setup.seed,
        init=init,
        parents=[ref, *parents] + ([teacher] if teacher is not None and teacher is not ref else []),
        model_overrides=model_overrides,
        sampler=sampler,
        **train_overrides,
    )
    return _train(
        setup,
        spec,
        lambda: build(ref.load_model()),
        teacher=(lambda: teacher.load_model(setup.device)) if teacher is not None else None,
    )


def inheritune_run(
    setup: Setup,
    preset: str,
    ref: RunRecord,
    max_layers: int,
    steps: int,
    start_layers: int | None = None,
    sampler: str = "random",
    parts: str = "all",
) -> RunRecord:
    """Algorithm 1 (`recipe.run_inheritune`) as one cached run: rounds in sub-folders, a summary result.json.

    Rounds start at k/2 (or start_layers) and grow by the scale's grow_step up to max_layers or parity with
    the reference's validation loss (measured on the same fixed validation windows).
    """
    k = ref.layers
    start = k // 2 if start_layers is None else start_layers
    grow_step = get_scale(setup.scale).grow_step
    spec = make_spec(
        f"{preset}-{setup.scale}-inheritune-{start}to{max_layers}L",
        "inheritune",
        preset,
        setup.scale,
        setup.data,
        n_layer=start,
        steps=steps,
        seed=setup.seed,
        init={
            "method": "inheritune",
            "start_layers": start,
            "max_layers": max_layers,
            "grow_step": grow_step,
            "parts": parts,
            "tolerance": 0.0,
        },
        parents=[ref],
        sampler=sampler,
    )

    def build_and_train(run_dir: Path) -> None:
        from ..method.recipe import run_inheritune
        from ..training.trainer import model_config_dict

        cfg = train_config_for(spec, run_dir, setup.device, setup.progress)
        rows = run_inheritune(
            ref.load_model(setup.device),
            setup.data,
            cfg,
            ref.final_val_loss,
            start_layers=start,
            grow_step=grow_step,
            max_layers=max_layers,
            parts=parts,
            seed=setup.seed,
            csv_path=run_dir / "inheritune.csv",
        )
        last = rows[-1]
        rounds = [{**r, "run_dir": Path(r["run_dir"]).name} for r in rows]
        atomic_write_json(
            run_dir / "result.json",
            {
                "final_val_loss": last["val_loss"],
                "best_val_loss": min(r["val_loss"] for r in rows),
                "steps": last["steps"],
                "tokens_seen": last["total_tokens_seen"],
                "wall_time_s": sum(r["wall_time_s"] for r in rows),
                "rounds": rounds,
                "final_stage_dir": rounds[-1]["run_dir"],
                "reached_parity": bool(rows.reached_parity),
                "model_config": model_config_dict(rows.model),
            },
        )

    return run_or_load(spec, build_and_train, setup.runs_dir)


def round_records(rec: RunRecord) -> list[dict[str, Any]]:
    return list(rec.result.get("rounds", []))


def inheritune_rows(rec: RunRecord, table: str, model: str, method: str = "Ours") -> list[dict[str, Any]]:
    """One row per round: earlier rounds as inheritune_roundN, the last as inheritune (the final model)."""
    rows = []
    rounds = round_records(rec)
    for i, r in enumerate(rounds, start=1):
        role = "inheritune" if i == len(rounds) else f"inheritune_round{i}"
        row = result_row(rec, table=table, model=model, role=role, method=method, value=float(r["val_loss"]))
        row.update(layers=int(r["layers"]), steps=int(r["steps"]))
        rows.append(row)
    return rows


def inheritune_curves(
    rec: RunRecord, panel: str, model: str, method: str = "Ours", final_only: bool = False
) -> list[dict[str, Any]]:
    rounds = round_records(rec)
    rows = []
    for i, r in enumerate(rounds, start=1):
        last = i == len(rounds)
        if final_only and not last:
            continue
        role = "inheritune" if last else f"inheritune_round{i}"
        rows += curve_rows(
            rec,
            panel=panel,
            model=model,
            role=role,
            method=method,
            stage_dir=r["run_dir"],
            layers=int(r["layers"]),
        )
    return rows


# ------------------------------------------------------------------------------------------ downstream
def downstream_available() -> bool:
    try:
        from ..evaluation import harness  # noqa: F401
    except ImportError:
        return False
    return True


def downstream_rows(
    setup: Setup,
    rec: RunRecord,
    tasks: dict[str, list[tuple[str, str, float]]],
    *,
    table: str,
    model: str,
    role: str,
    method: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Zero-shot lm-eval metrics of a run's final model (in the paper's units), and notes on tasks that could
    not be evaluated (no local data offline, documents longer than a small model's context...).

    Each task's numbers are cached in the run's folder (downstream-<task>-limit<N>.json), so re-running a
    notebook does not re-evaluate."""
    import json

    from ..errors import EvaluationError
    from ..evaluation.harness import evaluate

    values: dict[str, float] = {}
    notes: list[str] = []
    loaded = None
    for task, wanted in tasks.items():
        cache = rec.final_dir / f"downstream-{task}-limit{setup.eval_limit}.json"
        if not cache.is_file():
            loaded = loaded or rec.load_model(setup.device)
            try:
                df = evaluate(loaded, [task], limit=setup.eval_limit, device=setup.device)
            except (EvaluationError, ConnectionError) as e:
                # ConnectionError: a task with no local copy whose data lives on the (unreachable) Hub.
                first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                notes.append(f"{task} left out for {rec.run_id}: {first_line}")
                continue
            got = {
                name: float(df[(df["task"] == task) & (df["metric"] == metric)]["value"].iloc[0]) * factor
                for metric, name, factor in wanted
                if ((df["task"] == task) & (df["metric"] == metric)).any()
            }
            atomic_write_json(cache, got)
        values.update(json.loads(cache.read_text()))
    rows = [
        result_row(rec, table=table, model=model, role=role, method=method, metric=k, value=v)
        for k, v in values.items()
    ]
    if table == "table4" and len(values) == len(tasks):  # the paper's average over all five tasks
        rows.append(
            result_row(
                rec,
                table=table,
                model=model,
                role=role,
                method=method,
                metric="average",
                value=sum(values.values()) / len(values),
            )
        )
    return rows, notes


def _maybe_downstream(setup: Setup, out: ExperimentOutput, tasks, **kw) -> None:
    if not setup.downstream:
        return
    if not downstream_available():
        note = "downstream columns left out: inheritune_core.evaluation is not available"
        if note not in out.notes:
            out.notes.append(note)
        return
    rows, notes = downstream_rows(setup, **kw, tasks=tasks)
    out.rows += rows
    out.notes += notes


# ------------------------------------------------------------------------------------------ the tables
def table1(setup: Setup, sizes: Sequence[str] = ("gpt2-medium",)) -> ExperimentOutput:
    """Table 1 (+ Figure 5): reference vs Inheritune (grown from k/2 to the target) vs same-size random init
    at T and 2T steps; downstream Wikitext perplexity and LAMBADA accuracy for reference, random, Ours."""
    out = ExperimentOutput()
    for preset in _check_presets(sizes, ["gpt2-medium", "gpt2-large", "gpt2-xlarge"]):
        T = setup.T(preset)
        ref = reference(setup, preset)
        inh = inheritune_run(setup, preset, ref, target_layers(preset, setup.scale), T)
        rand = random_run(setup, preset, inh.layers, T)
        rand2 = random_run(setup, preset, inh.layers, 2 * T, label="random2x")
        out.records.update(
            {
                f"{preset}/reference": ref,
                f"{preset}/inheritune": inh,
                f"{preset}/random": rand,
                f"{preset}/random_2x": rand2,
            }
        )
        out.rows.append(result_row(ref, table="table1", model=preset, role="reference", method="rand init"))
        out.rows.append(result_row(rand, table="table1", model=preset, role="random", method="rand init"))
        out.rows.append(result_row(rand2, table="table1", model=preset, role="random_2x", method="rand init"))
        out.rows += inheritune_rows(inh, "table1", preset)
        for rec, role, method in (
            (ref, "reference", "rand init"),
            (rand, "random", "rand init"),
            (inh, "inheritune", "Ours"),
        ):
            _maybe_downstream(
                setup, out, TABLE1_TASKS, rec=rec, table="table1", model=preset, role=role, method=method
            )
        out.curves += curve_rows(ref, panel=preset, model=preset, role="reference", method="rand init")
        out.curves += curve_rows(rand, panel=preset, model=preset, role="random", method="rand init")
        out.curves += curve_rows(rand2, panel=preset, model=preset, role="random_2x", method="rand init (2x)")
        out.curves += inheritune_curves(inh, preset, preset, final_only=True)
    return out


def table2(setup: Setup, sizes: Sequence[str] = ("gpt2-medium",)) -> ExperimentOutput:
    """Table 2 (+ Figure 6): half width (every layer), stacking (target/2 trained T, stacked, retrained T),
    hybrid stacking (reference layers 0..target/2-1 duplicated) and Inheritune, all at T steps."""
    from ..method.inheritance import half_width, hybrid_stack, stack

    out = ExperimentOutput()
    for preset in _check_presets(sizes, ["gpt2-medium", "gpt2-large", "gpt2-xlarge"]):
        T = setup.T(preset)
        ref = reference(setup, preset)
        target = target_layers(preset, setup.scale)
        inh = inheritune_run(setup, preset, ref, target, T)
        n = inh.layers
        heads = ref.result["model_config"]["n_head"] // 2
        hw = init_run(
            setup,
            preset,
            ref,
            "half_width",
            ref.layers,
            T,
            {"method": "half_width", "n_head": heads},
            lambda m: half_width(m, seed=setup.seed),
            model_overrides={
                "n_head": heads,
                "n_embd": heads
                * (ref.result["model_config"]["n_embd"] // ref.result["model_config"]["n_head"]),
            },
        )
        half = max(1, n // 2)
        stage1 = random_run(setup, preset, half, T, label="stacking-stage1")
        stk = init_run(
            setup,
            preset,
            stage1,
            "stacking",
            2 * half,
            T,
            {"method": "stack"},
            lambda m: stack(m, seed=setup.seed),
        )
        hyb = init_run(
            setup,
            preset,
            ref,
            "hybrid_stacking",
            n,
            T,
            {"method": "hybrid_stack"},
            lambda m, n=n: hybrid_stack(m, n, seed=setup.seed),
        )
        out.records.update(
            {
                f"{preset}/reference": ref,
                f"{preset}/inheritune": inh,
                f"{preset}/half_width": hw,
                f"{preset}/stacking_stage1": stage1,
                f"{preset}/stacking": stk,
                f"{preset}/hybrid_stacking": hyb,
            }
        )
        for rec, role, method in (
            (hw, "half_width", "half-width"),
            (stk, "stacking", "stacking"),
            (hyb, "hybrid_stacking", "hybrid-stacking"),
        ):
            out.rows.append(result_row(rec, table="table2", model=preset, role=role, method=method))
            out.curves += curve_rows(
                rec,
                panel=preset,
                model=preset,
                role=role,
                method=method,
                step_offset=T if role == "stacking" else 0,
            )
        out.rows += inheritune_rows(inh, "table2", preset)[-1:]
        out.curves += curve_rows(
            stage1, panel=preset, model=preset, role="stacking_stage1", method="stacking (stage 1)"
        )
        out.curves += inheritune_curves(inh, preset, preset, final_only=True)
    return out


TABLE3_PARTS = {  # role -> (inherit parts, the paper's label)
    "attn_ln": ("attn_ln", "attn (w/ layernorm)"),
    "mlp_ln": ("mlp_ln", "mlp (w/ layernorm)"),
    "attn_mlp_no_ln": ("attn_mlp", "attn+mlp (w/o layernorm)"),
    "inheritune": ("all", "Ours (attn+mlp w/ layernorm)"),
}


def table3(setup: Setup, sizes: Sequence[str] = ("gpt2-medium",)) -> ExperimentOutput:
    """Table 3 (+ Figure 7): a target-depth model initialised from the reference's first layers with only
    some sub-modules copied (single round, T steps), everything else freshly initialised."""
    from ..method.inheritance import inherit

    out = ExperimentOutput()
    for preset in _check_presets(sizes):
        T = setup.T(preset)
        ref = reference(setup, preset)
        n = target_layers(preset, setup.scale)
        for role, (parts, label) in TABLE3_PARTS.items():
            rec = init_run(
                setup,
                preset,
                ref,
                f"inherit-{parts}",
                n,
                T,
                {"method": "inherit", "parts": parts},
                lambda m, parts=parts, n=n: inherit(m, n, parts=parts, seed=setup.seed),
            )
            out.records[f"{preset}/{role}"] = rec
            out.rows.append(result_row(rec, table="table3", model=preset, role=role, method=label))
            out.curves += curve_rows(rec, panel=preset, model=preset, role=role, method=label)
    return out


def kd_steps(setup: Setup, preset: str) -> int:
    """The distillation comparison's steps: the paper's 50K at `paper`, else half of T (50K of 100K)."""
    if setup.steps is None and get_scale(setup.scale).depth_divisor == 1:
        return KD_MAX_STEPS
    return max(1, setup.T(preset) // 2)


def distillation(setup: Setup, preset: str = "gpt2-medium") -> ExperimentOutput:
    """Figure 3 (target-depth student) and Figure 8 (k/2 student): vanilla KD (random student), DistilBERT
    KD (student from teacher layers), scratch and Inheritune; the teacher is the reference; T/2 steps."""
    from ..method.inheritance import distilbert_init, random_init
    from ..models.gpt import GPTConfig

    out = ExperimentOutput()
    steps = kd_steps(setup, preset)
    ref = reference(setup, preset)
    kd = {"kd_alpha": KD_ALPHA, "kd_temperature": KD_TEMPERATURE}
    groups = [
        (target_layers(preset, setup.scale), "16-layer student", True),
        (ref.layers // 2, "12-layer student", False),
    ]
    for n, panel, with_vanilla in groups:
        runs: list[tuple[RunRecord, str, str]] = []
        if with_vanilla:
            runs.append(
                (
                    init_run(
                        setup,
                        preset,
                        ref,
                        "kd",
                        n,
                        steps,
                        {"method": "random", "teacher": "reference"},
                        lambda m, n=n: random_init(
                            GPTConfig.from_dict({**m.config.to_dict(), "n_layer": n}), seed=setup.seed
                        ),
                        teacher=ref,
                        **kd,
                    ),
                    "kd",
                    "vanilla KD",
                )
            )
        runs.append(
            (
                init_run(
                    setup,
                    preset,
                    ref,
                    "distilbert_kd",
                    n,
                    steps,
                    {"method": "distilbert_init", "teacher": "reference"},
                    lambda m, n=n: distilbert_init(m, n, seed=setup.seed),
                    teacher=ref,
                    **kd,
                ),
                "distilbert_kd",
                "DistilBERT-style KD",
            )
        )
        runs.append((random_run(setup, preset, n, steps), "random", "scratch"))
        inh = inheritune_run(setup, preset, ref, n, steps)
        table = "figure3" if with_vanilla else "figure8"
        for rec, role, method in runs:
            out.records[f"{panel}/{role}"] = rec
            out.rows.append(
                dict(result_row(rec, table=table, model=preset, role=role, method=method), panel=panel)
            )
            out.curves += curve_rows(rec, panel=panel, model=preset, role=role, method=method)
        out.records[f"{panel}/inheritune"] = inh
        out.rows += [dict(r, panel=panel) for r in inheritune_rows(inh, table, preset)[-1:]]
        out.curves += inheritune_curves(inh, panel, preset, final_only=True)
    out.rows.append(
        dict(
            result_row(ref, table="figure3", model=preset, role="reference", method="teacher"),
            panel="teacher",
        )
    )
    return out


def fineweb(
    setup: Setup, sizes: Sequence[str] = ("gpt2-medium", "gpt2-large-dagger"), with_downstream: bool = False
) -> ExperimentOutput:
    """Figure 4 / Table 4: training without repetition (sequential sampler) on FineWeb-Edu (or the given
    corpus): reference, Inheritune to the target depth and same-size random init, T steps each."""
    out = ExperimentOutput()
    for preset in _check_presets(sizes, ["gpt2-medium", "gpt2-large-dagger"]):
        T = setup.T(preset)
        ref = reference(setup, preset, sampler="sequential")
        inh = inheritune_run(setup, preset, ref, target_layers(preset, setup.scale), T, sampler="sequential")
        rand = random_run(setup, preset, inh.layers, T, sampler="sequential")
        runs = ((ref, "reference", "rand init"), (rand, "random", "rand init"), (inh, "inheritune", "Ours"))
        for rec, role, method in runs:
            out.records[f"{preset}/{role}"] = rec
            if role != "inheritune":
                out.rows.append(result_row(rec, table="table4", model=preset, role=role, method=method))
                out.curves += curve_rows(rec, panel=preset, model=preset, role=role, method=method)
            if with_downstream:
                _maybe_downstream(
                    setup, out, TABLE4_TASKS, rec=rec, table="table4", model=preset, role=role, method=method
                )
        out.rows += inheritune_rows(inh, "table4", preset)[-1:]
        out.curves += inheritune_curves(inh, preset, preset, final_only=True)
    return out


def fineweb_data_path() -> Path:
    """FineWeb-Edu prepared by `python -m inheritune_core.data prepare --name fineweb-edu` when present,
    else the bundled corpus (offline; still trained without repetition)."""
    fw = default_data_dir() / "fineweb-edu"
    return fw if (fw / "meta.json").is_file() else default_data_dir() / "english"


# ------------------------------------------------------------------------------------------ redraws
FIGURE_SOURCES = {"figure5": "table1", "figure6": "table2", "figure7": "table3", "figure8": "figure3"}


def filter_curves(curves: list[dict[str, Any]], panels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    return [c for c in curves if not panels or c["panel"] in panels]


__all__ = [
    "Setup",
    "ExperimentOutput",
    "make_setup",
    "target_layers",
    "reference",
    "random_run",
    "init_run",
    "inheritune_run",
    "table1",
    "table2",
    "table3",
    "distillation",
    "fineweb",
    "fineweb_data_path",
    "downstream_available",
    "kd_steps",
    "FIGURE_SOURCES",
    "filter_curves",
    "TABLE1_TASKS",
    "TABLE4_TASKS",
]
