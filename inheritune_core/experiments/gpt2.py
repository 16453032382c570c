"""The experiments behind the paper's GPT-2 tables and figures, one function per notebook.

Notebooks hold no training logic: they set parameters, call one function here, write the tidy CSVs it
returns and render the table/figure with `report.py`. Every training run goes through `experiments.py`, so a
run that already finished (in this notebook or another: a reference model is shared by all) is read back.

Depths at reduced scales. The paper's depths (24-layer reference, 16-layer target, 12 -> 14 -> 16 growth)
are divided by the scale's depth_divisor. The target depth is the paper's target as a *fraction* of the
reference (16/24, 18/36, 24/48, 16/32) rounded up to an even number and kept at least 2 layers below the
reference, so that stacking (half then doubled) and growth by 2 stay possible: at `tiny`, GPT-2 medium's
8-layer reference gets a 6-layer target, grown 4 -> 6. At `paper` the targets are exactly the paper's.

Steps (equal budgets where the paper compares at equal budgets). T (per round, per run) is the scale's
max_steps unless `steps` is given; "2x" runs use 2T; the distillation comparison (Figure 3/8) trains every
model of a panel, Inheritune included (one round of inherit(reference, n)), for T_KD = T/2 (the paper: 50K vs
100K steps); Figure 1 (c, f)'s half-depth models train for T/10 (the paper's 10K after a 100K reference).
Every paper step count is scaled by the same factor T_scale / 100K. Algorithm 1 re-inherits each round
(recipe.py), so Inheritune's final model has seen T steps, like the paper's "16 layers, Ours, 100K".

Uncertainty. Every final number is the validation loss over the whole validation split with its standard
error (`training.validation`), and the training experiments take `seeds`: the target runs are repeated per
seed (the reference, trained with setup.seed, is shared), rows carry their seed and the tables show the mean
and standard deviation over seeds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import (
    FIGURE1_EXTRA_STEPS,
    KD_ALPHA,
    KD_MAX_STEPS,
    KD_TEMPERATURE,
    MODEL_PRESETS,
    OPTIM_PRESETS,
    PAPER_TARGET_LAYERS,
    SCALES,
    get_preset,
    get_scale,
    model_config_kwargs,
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
from ..training.accounting import gpt_flops_per_token


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
        return steps_at(self.scale, preset, self.steps)


@dataclass
class ExperimentOutput:
    """Tidy rows for the table CSV and the curves CSV, plus the runs they came from, and what running the same
    experiment at the next scale would cost (`next_scale_plan`, for the claims ledger)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, RunRecord] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)

    def write(self, results_dir: str | Path, name: str, table: str | None = None) -> list[Path]:
        """results/<name>/<table>.csv (if rows), results/<name>/curves.csv (if curves) and
        results/<name>/plan.csv (if a plan), atomically."""
        out = Path(results_dir) / name
        written = []
        if self.rows:
            written.append(write_csv(self.rows, out / f"{table or name}.csv"))
        if self.curves:
            written.append(write_csv(self.curves, out / "curves.csv"))
        if self.plan:
            written.append(write_csv(self.plan, out / "plan.csv"))
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
    """A Setup from notebook parameters; `data` defaults to the bundled corpus (data/english), `eval_limit`
    to the scale's (config.Scale.eval_limit: a few documents at smoke, every document at paper)."""
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
        eval_limit=eval_limit if eval_limit is not None else get_scale(scale).eval_limit,
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
    setup: Setup,
    preset: str,
    n_layer: int,
    steps: int,
    sampler: str = "random",
    label: str = "random",
    **train_overrides: Any,
) -> RunRecord:
    """A model of n_layer layers trained from a random initialisation (train_overrides: other TrainConfig
    fields, part of the run's identity)."""
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
        **train_overrides,
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
    growth: str = "reinherit",
) -> RunRecord:
    """Algorithm 1 (`recipe.run_inheritune`) as one cached run: rounds in sub-folders, a summary result.json.

    Rounds start at k/2 (or start_layers) and grow by the scale's grow_step up to max_layers or parity with
    the reference's whole-split validation loss. growth="reinherit" (the paper's reading, see recipe.py):
    every round is inherit(reference, n) trained for `steps`. The rounds read the data stream after the
    reference's (and after each other), so a model never re-reads a window its lineage has read.
    The summary's steps / tokens / windows / FLOPs are the FINAL model's (its lineage within the recipe);
    recipe_steps / recipe_tokens / recipe_flops are what all rounds together cost.
    """
    from ..training.accounting import continuation_offset

    k = ref.layers
    start = k // 2 if start_layers is None else start_layers
    grow_step = get_scale(setup.scale).grow_step
    data_offset = continuation_offset(
        ref.result["sampler_end"],
        ref.result["sampler_micro_batch"],
        int(ref.spec.train_config["micro_batch"]),
    )
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
            "growth": growth,
            "data_offset": data_offset,
        },
        parents=[ref],
        sampler=sampler,
    )

    def build_and_train(run_dir: Path) -> None:
        import json

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
            growth=growth,
            data_offset=data_offset,
        )
        last = rows[-1]
        rounds = [{**r, "run_dir": Path(r["run_dir"]).name} for r in rows]
        stage = [json.loads((Path(r["run_dir"]) / "result.json").read_text()) for r in rows]
        lineage = stage if growth == "continue" else stage[-1:]  # the rounds the final model was trained in
        atomic_write_json(
            run_dir / "result.json",
            {
                "final_val_loss": last["val_loss"],
                "val_loss_full": last["val_loss"],
                "val_loss_se": last["val_loss_se"],
                "val_tokens": last["val_tokens"],
                "best_val_loss": min(r["val_loss"] for r in rows),
                "steps": last["model_steps"],
                "tokens_seen": last["model_tokens"],
                "recipe_steps": last["total_steps"],
                "recipe_tokens": last["total_tokens_seen"],
                "growth": growth,
                "windows_seen": sum(r["windows_seen"] for r in lineage),
                # rounds read disjoint ranges of the stream, so their distinct windows add up (sequential)
                "distinct_windows": sum(r["distinct_windows"] for r in lineage),
                "flops_per_token": stage[-1]["flops_per_token"],
                "train_flops": sum(r["train_flops"] for r in lineage),
                "recipe_flops": sum(r["train_flops"] for r in stage),
                "sampler": stage[-1]["sampler"],
                "sampler_start": lineage[0]["sampler_start"],
                "sampler_end": stage[-1]["sampler_end"],
                "sampler_micro_batch": stage[-1]["sampler_micro_batch"],
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
    """One row per round: earlier rounds as inheritune_roundN, the last as inheritune (the final model).

    steps / tokens are what each round's model has seen in total (T per round with growth="reinherit"),
    value / se its whole-split validation loss."""
    rows = []
    rounds = round_records(rec)
    for i, r in enumerate(rounds, start=1):
        role = "inheritune" if i == len(rounds) else f"inheritune_round{i}"
        row = result_row(rec, table=table, model=model, role=role, method=method, value=float(r["val_loss"]))
        row.update(
            layers=int(r["layers"]),
            steps=int(r["model_steps"]),
            tokens=int(r["model_tokens"]),
            se=float(r["val_loss_se"]),
            val_tokens=int(r["val_tokens"]),
        )
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

    Each task's numbers are cached in the run's folder (downstream-<task>-limit<N>-sampled.json: `evaluate`'s
    default sample of N documents, seeded random except for ordered tasks such as WikiText), so re-running a
    notebook does not re-evaluate."""
    import json

    from ..errors import EvaluationError
    from ..evaluation.harness import evaluate

    values: dict[str, float] = {}
    notes: list[str] = []
    loaded = None
    for task, wanted in tasks.items():
        cache = rec.final_dir / f"downstream-{task}-limit{setup.eval_limit}-sampled.json"
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
def seed_list(setup: Setup, seeds: Sequence[int] | None) -> list[int]:
    """The target seeds of an experiment: `seeds`, or the setup's one seed. The reference is always trained
    with setup.seed and shared by every target seed (issue 11: the reference may be shared)."""
    if seeds is None:
        return [setup.seed]
    out = list(seeds)
    if not out or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in out):
        raise ConfigError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    if len(set(out)) != len(out):
        raise ConfigError(f"seeds must be distinct, got {seeds!r}")
    return out


def with_seed(setup: Setup, seed: int) -> Setup:
    """The same setup with another seed (model initialisation and data order of the target runs)."""
    return dataclasses.replace(setup, seed=seed)


def table1(
    setup: Setup, sizes: Sequence[str] = ("gpt2-medium",), seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Table 1 (+ Figure 5): reference vs Inheritune (Algorithm 1 from k/2 to the target) vs same-size random
    init at T and 2T steps; downstream Wikitext perplexity and LAMBADA accuracy for reference, random, Ours.

    seeds: the target runs (Inheritune, random 1x, 2x) are repeated per seed (rows carry `seed`; the table
    shows mean and standard deviation), the reference (setup.seed) is shared; curves are the first seed's."""
    out = ExperimentOutput()
    seeds = seed_list(setup, seeds)
    sizes = _check_presets(sizes, ["gpt2-medium", "gpt2-large", "gpt2-xlarge"])
    out.plan = next_scale_plan("table1", setup.scale, sizes, len(seeds))
    for preset in sizes:
        T = setup.T(preset)
        ref = reference(setup, preset)
        out.records[f"{preset}/reference"] = ref
        out.rows.append(result_row(ref, table="table1", model=preset, role="reference", method="rand init"))
        _maybe_downstream(
            setup,
            out,
            TABLE1_TASKS,
            rec=ref,
            table="table1",
            model=preset,
            role="reference",
            method="rand init",
        )
        out.curves += curve_rows(ref, panel=preset, model=preset, role="reference", method="rand init")
        for i, seed in enumerate(seeds):
            s = with_seed(setup, seed)
            inh = inheritune_run(s, preset, ref, target_layers(preset, setup.scale), T)
            rand = random_run(s, preset, inh.layers, T)
            rand2 = random_run(s, preset, inh.layers, 2 * T, label="random2x")
            tag = "" if i == 0 else f"@{seed}"
            out.records.update(
                {
                    f"{preset}/inheritune{tag}": inh,
                    f"{preset}/random{tag}": rand,
                    f"{preset}/random_2x{tag}": rand2,
                }
            )
            out.rows.append(result_row(rand, table="table1", model=preset, role="random", method="rand init"))
            out.rows.append(
                result_row(rand2, table="table1", model=preset, role="random_2x", method="rand init")
            )
            out.rows += inheritune_rows(inh, "table1", preset)
            for rec, role, method in ((rand, "random", "rand init"), (inh, "inheritune", "Ours")):
                _maybe_downstream(
                    setup, out, TABLE1_TASKS, rec=rec, table="table1", model=preset, role=role, method=method
                )
            if i == 0:
                out.curves += curve_rows(rand, panel=preset, model=preset, role="random", method="rand init")
                out.curves += curve_rows(
                    rand2, panel=preset, model=preset, role="random_2x", method="rand init (2x)"
                )
                out.curves += inheritune_curves(inh, preset, preset, final_only=True)
    return out


def table2(
    setup: Setup, sizes: Sequence[str] = ("gpt2-medium",), seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Table 2 (+ Figure 6): half width (every layer), stacking (target/2 trained T, stacked, retrained T),
    hybrid stacking (reference layers 0..target/2-1 duplicated) and Inheritune, all at T steps; per seed
    (reference shared; curves of the first seed)."""
    from ..method.inheritance import half_width, hybrid_stack, stack

    out = ExperimentOutput()
    seeds = seed_list(setup, seeds)
    sizes = _check_presets(sizes, ["gpt2-medium", "gpt2-large", "gpt2-xlarge"])
    out.plan = next_scale_plan("table2", setup.scale, sizes, len(seeds))
    for preset in sizes:
        T = setup.T(preset)
        ref = reference(setup, preset)
        target = target_layers(preset, setup.scale)
        out.records[f"{preset}/reference"] = ref
        for i, seed in enumerate(seeds):
            s = with_seed(setup, seed)
            inh = inheritune_run(s, preset, ref, target, T)
            n = inh.layers
            heads = ref.result["model_config"]["n_head"] // 2
            hw = init_run(
                s,
                preset,
                ref,
                "half_width",
                ref.layers,
                T,
                {"method": "half_width", "n_head": heads},
                lambda m, s=s: half_width(m, seed=s.seed),
                model_overrides={
                    "n_head": heads,
                    "n_embd": heads
                    * (ref.result["model_config"]["n_embd"] // ref.result["model_config"]["n_head"]),
                },
            )
            half = max(1, n // 2)
            stage1 = random_run(s, preset, half, T, label="stacking-stage1")
            stk = init_run(
                s,
                preset,
                stage1,
                "stacking",
                2 * half,
                T,
                {"method": "stack"},
                lambda m, s=s: stack(m, seed=s.seed),
            )
            hyb = init_run(
                s,
                preset,
                ref,
                "hybrid_stacking",
                n,
                T,
                {"method": "hybrid_stack"},
                lambda m, n=n, s=s: hybrid_stack(m, n, seed=s.seed),
            )
            tag = "" if i == 0 else f"@{seed}"
            out.records.update(
                {
                    f"{preset}/inheritune{tag}": inh,
                    f"{preset}/half_width{tag}": hw,
                    f"{preset}/stacking_stage1{tag}": stage1,
                    f"{preset}/stacking{tag}": stk,
                    f"{preset}/hybrid_stacking{tag}": hyb,
                }
            )
            for rec, role, method in (
                (hw, "half_width", "half-width"),
                (stk, "stacking", "stacking"),
                (hyb, "hybrid_stacking", "hybrid-stacking"),
            ):
                out.rows.append(result_row(rec, table="table2", model=preset, role=role, method=method))
                if i == 0:
                    out.curves += curve_rows(
                        rec,
                        panel=preset,
                        model=preset,
                        role=role,
                        method=method,
                        step_offset=T if role == "stacking" else 0,
                    )
            out.rows += inheritune_rows(inh, "table2", preset)[-1:]
            if i == 0:
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


def table3(
    setup: Setup, sizes: Sequence[str] = ("gpt2-medium",), seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Table 3 (+ Figure 7): a target-depth model initialised from the reference's first layers with only
    some sub-modules copied (single round, T steps), everything else freshly initialised; per seed."""
    from ..method.inheritance import inherit

    out = ExperimentOutput()
    seeds = seed_list(setup, seeds)
    sizes = _check_presets(sizes)
    out.plan = next_scale_plan("table3", setup.scale, sizes, len(seeds))
    for preset in sizes:
        T = setup.T(preset)
        ref = reference(setup, preset)
        n = target_layers(preset, setup.scale)
        for i, seed in enumerate(seeds):
            s = with_seed(setup, seed)
            for role, (parts, label) in TABLE3_PARTS.items():
                rec = init_run(
                    s,
                    preset,
                    ref,
                    f"inherit-{parts}",
                    n,
                    T,
                    {"method": "inherit", "parts": parts},
                    lambda m, parts=parts, n=n, s=s: inherit(m, n, parts=parts, seed=s.seed),
                )
                out.records[f"{preset}/{role}" + ("" if i == 0 else f"@{seed}")] = rec
                out.rows.append(result_row(rec, table="table3", model=preset, role=role, method=label))
                if i == 0:
                    out.curves += curve_rows(rec, panel=preset, model=preset, role=role, method=label)
    return out


def steps_at(scale: str, preset: str, steps: int | None = None) -> int:
    """T of a preset at a scale: `steps` when given, else the scale's max_steps (the paper's 100K at paper)."""
    return steps or optim_kwargs(preset, scale)["max_steps"]


def kd_steps(setup: Setup, preset: str) -> int:
    """The distillation comparison's steps: the paper's 50K at `paper`, else half of T (50K of 100K)."""
    return kd_steps_at(setup.scale, preset, setup.steps)


def kd_steps_at(scale: str, preset: str, steps: int | None = None) -> int:
    if steps is None and get_scale(scale).depth_divisor == 1:
        return KD_MAX_STEPS
    return max(1, steps_at(scale, preset, steps) // 2)


def distillation(
    setup: Setup, preset: str = "gpt2-medium", seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Figure 3 (target-depth student) and Figure 8 (k/2 student): vanilla KD (random student), DistilBERT
    KD (student from teacher layers), scratch and Inheritune; the teacher is the reference.

    Equal budgets: every model of a panel is trained for the same T_KD steps (the paper's 50K; T/2 at reduced
    scales) at the panel's depth. "Ours" is therefore ONE round, inherit(reference, n) trained T_KD steps
    (n = the target depth for Figure 3, k/2 for Figure 8), as Section 4.1 ("Both baselines are trained for 50K
    steps") and Table 3's directly initialised 16-layer "Ours" imply; running the growth loop here would give
    "Ours" up to three times the steps, and possibly a shallower model than the panel's."""
    from ..method.inheritance import distilbert_init, inherit, random_init
    from ..models.gpt import GPTConfig

    out = ExperimentOutput()
    out.plan = next_scale_plan("figure3", setup.scale, [preset], len(seed_list(setup, seeds)))
    steps = kd_steps(setup, preset)
    ref = reference(setup, preset)
    kd = {"kd_alpha": KD_ALPHA, "kd_temperature": KD_TEMPERATURE}
    groups = [
        (target_layers(preset, setup.scale), "16-layer student", True),
        (ref.layers // 2, "12-layer student", False),
    ]
    for i, seed in enumerate(seed_list(setup, seeds)):
        s = with_seed(setup, seed)
        for n, panel, with_vanilla in groups:
            runs: list[tuple[RunRecord, str, str]] = []
            if with_vanilla:
                vanilla = init_run(
                    s,
                    preset,
                    ref,
                    "kd",
                    n,
                    steps,
                    {"method": "random", "teacher": "reference"},
                    lambda m, n=n, s=s: random_init(
                        GPTConfig.from_dict({**m.config.to_dict(), "n_layer": n}), seed=s.seed
                    ),
                    teacher=ref,
                    **kd,
                )
                runs.append((vanilla, "kd", "vanilla KD"))
            distil = init_run(
                s,
                preset,
                ref,
                "distilbert_kd",
                n,
                steps,
                {"method": "distilbert_init", "teacher": "reference"},
                lambda m, n=n, s=s: distilbert_init(m, n, seed=s.seed),
                teacher=ref,
                **kd,
            )
            runs.append((distil, "distilbert_kd", "DistilBERT-style KD"))
            runs.append((random_run(s, preset, n, steps), "random", "scratch"))
            ours = init_run(
                s,
                preset,
                ref,
                "inherit-all",
                n,
                steps,
                {"method": "inherit", "parts": "all"},
                lambda m, n=n, s=s: inherit(m, n, seed=s.seed),
            )
            runs.append((ours, "inheritune", "Ours"))
            table = "figure3" if with_vanilla else "figure8"
            for rec, role, method in runs:
                out.records[f"{panel}/{role}" + ("" if i == 0 else f"@{seed}")] = rec
                out.rows.append(
                    dict(result_row(rec, table=table, model=preset, role=role, method=method), panel=panel)
                )
                if i == 0:
                    out.curves += curve_rows(rec, panel=panel, model=preset, role=role, method=method)
    out.rows.append(
        dict(
            result_row(ref, table="figure3", model=preset, role="reference", method="teacher"),
            panel="teacher",
        )
    )
    return out


def fineweb(
    setup: Setup,
    sizes: Sequence[str] = ("gpt2-medium", "gpt2-large-dagger"),
    with_downstream: bool = False,
    seeds: Sequence[int] | None = None,
) -> ExperimentOutput:
    """Figure 4 / Table 4: training without repetition (sequential sampler) on FineWeb-Edu (or the given
    corpus): reference, Inheritune to the target depth and same-size random init, T steps each.

    No window is read twice in a model's lineage: the reference reads windows 0.., Inheritune's rounds read
    the windows after the reference's and after each other's (`inheritune_run`), and every run records its
    distinct windows in result.json."""
    out = ExperimentOutput()
    seeds = seed_list(setup, seeds)
    sizes = _check_presets(sizes, ["gpt2-medium", "gpt2-large-dagger"])
    out.plan = next_scale_plan("figure4", setup.scale, sizes, len(seeds))
    for preset in sizes:
        T = setup.T(preset)
        ref = reference(setup, preset, sampler="sequential")
        out.records[f"{preset}/reference"] = ref
        out.rows.append(result_row(ref, table="table4", model=preset, role="reference", method="rand init"))
        out.curves += curve_rows(ref, panel=preset, model=preset, role="reference", method="rand init")
        if with_downstream:
            _maybe_downstream(
                setup,
                out,
                TABLE4_TASKS,
                rec=ref,
                table="table4",
                model=preset,
                role="reference",
                method="rand init",
            )
        for i, seed in enumerate(seeds):
            s = with_seed(setup, seed)
            inh = inheritune_run(s, preset, ref, target_layers(preset, setup.scale), T, sampler="sequential")
            rand = random_run(s, preset, inh.layers, T, sampler="sequential")
            tag = "" if i == 0 else f"@{seed}"
            out.records[f"{preset}/random{tag}"] = rand
            out.records[f"{preset}/inheritune{tag}"] = inh
            out.rows.append(result_row(rand, table="table4", model=preset, role="random", method="rand init"))
            out.rows += inheritune_rows(inh, "table4", preset)[-1:]
            if i == 0:
                out.curves += curve_rows(rand, panel=preset, model=preset, role="random", method="rand init")
                out.curves += inheritune_curves(inh, preset, preset, final_only=True)
            if with_downstream:
                for rec, role, method in ((rand, "random", "rand init"), (inh, "inheritune", "Ours")):
                    _maybe_downstream(
                        setup,
                        out,
                        TABLE4_TASKS,
                        rec=rec,
                        table="table4",
                        model=preset,
                        role=role,
                        method=method,
                    )
    return out


# ------------------------------------------------------------------------------------------ Figure 1 (c, f)
FIGURE1_ROLES = {  # role -> (run kind, init options, the legend's label)
    "early": ("early", {"method": "inherit", "layers": "first"}, "early layers"),
    "lazy": ("lazy", {"method": "lazy_layer_init", "layers": "last"}, "lazy layers"),
    "random": ("random", {"method": "random"}, "random init"),
}


def figure1_extra_steps(setup: Setup, preset: str) -> tuple[int, int, int]:
    """`figure1_schedule` for a setup."""
    return figure1_schedule(setup.scale, preset, setup.steps)


def figure1_schedule(scale: str, preset: str, steps: int | None = None) -> tuple[int, int, int]:
    """(steps, warmup_steps, eval_interval) of Figure 1 (c, f)'s half-depth models.

    Section 2: the references are "trained ... for 100K steps" and the half-depth variants "fine-tuned ...
    for an additional 10K steps" (config.FIGURE1_EXTRA_STEPS); scaled like every other step count, that is
    T x 10K / 100K (20 steps at `tiny`, 10K at `paper`). The warmup keeps the paper's share of such a run
    (C.1's 2K warmup of 10K steps), capped by the scale's warmup; evaluations every tenth of the run so
    the curve has points."""
    paper = OPTIM_PRESETS[preset]
    if steps is None and get_scale(scale).depth_divisor == 1:
        extra = FIGURE1_EXTRA_STEPS
    else:
        extra = max(1, round(steps_at(scale, preset, steps) * FIGURE1_EXTRA_STEPS / paper.max_steps))
    scale_kw = optim_kwargs(preset, scale)
    warmup = min(scale_kw["warmup_steps"], round(extra * paper.warmup_steps / FIGURE1_EXTRA_STEPS))
    eval_interval = max(1, min(scale_kw["eval_interval"], extra // 10))
    return extra, warmup, eval_interval


def figure1_training(
    setup: Setup, presets: Sequence[str] = ("gpt2-medium",), seeds: Sequence[int] | None = None
) -> ExperimentOutput:
    """Figure 1 (c, f): a half-depth model (paper: 12 of 24, 18 of 36 layers) initialised from the trained
    reference's FIRST layers ("early"), from its LAST ("lazy") layers, or at random, then trained for the
    paper's extra 10K steps scaled to the setup (`figure1_extra_steps`), once per seed; the reference (T
    steps, setup.seed) is shared.

    Rows (table "figure1"): one per model and seed, val_loss on the whole validation split with its standard
    error, steps and tokens; plus the reference's row. Curves: the first seed's, one panel per preset
    ("gpt2-medium: 4 of 8 layers"). Write them with `out.write(results_dir, "figure1", table="figure1_cf")`
    (results/figure1/figure1_cf.csv and results/figure1/curves.csv); the claims ledger reads figure1_cf.csv."""
    from ..method.inheritance import inherit, lazy_layer_init

    out = ExperimentOutput()
    seeds = seed_list(setup, seeds)
    presets = _check_presets(presets)
    out.plan = next_scale_plan("figure1", setup.scale, presets, len(seeds))
    for preset in presets:
        ref = reference(setup, preset)
        k = ref.layers
        n = k // 2
        panel = f"{preset}: {n} of {k} layers"
        steps, warmup, eval_interval = figure1_extra_steps(setup, preset)
        train_kw = {"warmup_steps": warmup, "eval_interval": eval_interval}
        out.records[f"{preset}/reference"] = ref
        out.rows.append(
            dict(
                result_row(ref, table="figure1", model=preset, role="reference", method="reference"),
                panel=panel,
            )
        )
        for i, seed in enumerate(seeds):
            s = with_seed(setup, seed)
            builds = {
                "early": lambda m, s=s, n=n: inherit(m, n, seed=s.seed),
                "lazy": lambda m, s=s, n=n: lazy_layer_init(m, n, seed=s.seed),
            }
            for role, (kind, init, label) in FIGURE1_ROLES.items():
                if role == "random":
                    rec = random_run(s, preset, n, steps, label="figure1-random", **train_kw)
                else:
                    rec = init_run(s, preset, ref, kind, n, steps, init, builds[role], **train_kw)
                out.records[f"{preset}/{role}" + ("" if i == 0 else f"@{seed}")] = rec
                out.rows.append(
                    dict(result_row(rec, table="figure1", model=preset, role=role, method=label), panel=panel)
                )
                if i == 0:
                    out.curves += curve_rows(rec, panel=panel, model=preset, role=role, method=label)
    return out


def fineweb_data_path() -> Path:
    """FineWeb-Edu prepared by `python -m inheritune_core.data prepare --name fineweb-edu` when present,
    else the bundled corpus (offline; still trained without repetition)."""
    fw = default_data_dir() / "fineweb-edu"
    return fw if (fw / "meta.json").is_file() else default_data_dir() / "english"


# ------------------------------------------------------------------------------------------ run plans
@dataclass(frozen=True)
class PlannedRun:
    """One training run an experiment makes: what it costs is steps x batch_tokens tokens at its model's
    FLOPs per token (training.accounting), plus a teacher's forward pass under distillation."""

    role: str
    model_config: dict[str, Any]
    steps: int
    batch_tokens: int
    teacher_config: dict[str, Any] | None = None


EXPERIMENT_PRESETS = {  # experiment -> the presets its notebook runs by default
    "table1": ("gpt2-medium",),
    "table2": ("gpt2-medium",),
    "table3": ("gpt2-medium",),
    "figure1": ("gpt2-medium",),
    "figure3": ("gpt2-medium",),
    "figure4": ("gpt2-medium", "gpt2-large-dagger"),
}


def run_plan(
    experiment: str,
    scale: str,
    presets: Sequence[str] | None = None,
    seeds: int = 1,
    steps: int | None = None,
) -> list[PlannedRun]:
    """Every training run `experiment` (a notebook: table1, table2, table3, figure1, figure3, figure4) makes
    at a scale, without running anything (torch-free): the claims ledger prices the next scale with it.
    Inheritune's recipe is counted at its worst case (every round up to the target depth); the shared
    reference is counted once."""
    if experiment not in EXPERIMENT_PRESETS:
        raise ConfigError(f"unknown experiment {experiment!r}; choose one of {', '.join(EXPERIMENT_PRESETS)}")
    return [
        r
        for preset in presets or EXPERIMENT_PRESETS[experiment]
        for r in _preset_plan(experiment, scale, preset, seeds, steps)
    ]


def plan_flops(plan: Sequence[PlannedRun]) -> tuple[float, float]:
    """(training FLOPs, teachers' forward FLOPs) of planned runs: tokens x 6N + 12 L H Q T per token."""
    train = teacher = 0.0
    for run in plan:
        tokens = run.steps * run.batch_tokens
        train += tokens * gpt_flops_per_token(run.model_config)
        if run.teacher_config is not None:
            teacher += tokens * gpt_flops_per_token(run.teacher_config) / 3
    return train, teacher


# What the throughput benchmark measures (benchmarks/throughput.py, gpu_check.sh): GPT-2 medium, paper size.
BENCHMARK_MODEL = ("gpt2-medium", "paper")


def next_scale_plan(
    experiment: str, scale: str, presets: Sequence[str], seeds: int = 1
) -> list[dict[str, Any]]:
    """One row (for results/<name>/plan.csv): what this experiment costs at the scale after `scale`, with the
    same presets and number of seeds, at each scale's own T; [] after `paper`. The claims ledger turns the
    FLOPs into GPU-hours with the benchmark's tokens/s x `benchmark_flops_per_token` (report/ imports no
    experiment code, so the plan travels as a CSV like every other result)."""
    order = list(SCALES)
    if order.index(scale) + 1 >= len(order):
        return []
    nxt = order[order.index(scale) + 1]
    plan = run_plan(experiment, nxt, presets, seeds)
    train, teacher = plan_flops(plan)
    return [
        {
            "experiment": experiment,
            "scale": scale,
            "next_scale": nxt,
            "presets": " ".join(presets),
            "seeds": seeds,
            "runs": len(plan),
            "tokens": sum(r.steps * r.batch_tokens for r in plan),
            "train_flops": train,
            "teacher_flops": teacher,
            "benchmark": " ".join(BENCHMARK_MODEL),
            "benchmark_flops_per_token": gpt_flops_per_token(model_config_kwargs(*BENCHMARK_MODEL)),
        }
    ]


def _preset_plan(experiment: str, scale: str, preset: str, seeds: int, steps: int | None) -> list[PlannedRun]:
    kw = optim_kwargs(preset, scale)
    T, batch = steps_at(scale, preset, steps), kw["batch_tokens"]
    base = model_config_kwargs(preset, scale)
    k, target, grow_step = base["n_layer"], target_layers(preset, scale), get_scale(scale).grow_step

    def model(n_layer: int, **over: Any) -> dict[str, Any]:
        return {**base, "n_layer": n_layer, **over}

    def run(role: str, cfg: dict[str, Any], n_steps: int, teacher: bool = False) -> PlannedRun:
        return PlannedRun(role, cfg, n_steps, batch, model(k) if teacher else None)

    def recipe() -> list[PlannedRun]:
        depths = list(range(k // 2, target, grow_step)) + [target]
        return [run(f"inheritune_{n}L", model(n), T) for n in depths]

    plan = [run("reference", model(k), T)]
    for _ in range(seeds):
        if experiment == "table1":
            plan += recipe() + [run("random", model(target), T), run("random_2x", model(target), 2 * T)]
        elif experiment == "table2":
            heads = base["n_head"] // 2
            head_dim = base["n_embd"] // base["n_head"]
            half = max(1, target // 2)
            plan += recipe() + [
                run("half_width", model(k, n_head=heads, n_embd=heads * head_dim), T),
                run("stacking_stage1", model(half), T),
                run("stacking", model(2 * half), T),
                run("hybrid_stacking", model(target), T),
            ]
        elif experiment == "table3":
            plan += [run(role, model(target), T) for role in TABLE3_PARTS]
        elif experiment == "figure1":
            extra = figure1_schedule(scale, preset, steps)[0]
            plan += [run(role, model(k // 2), extra) for role in FIGURE1_ROLES]
        elif experiment == "figure3":
            t_kd = kd_steps_at(scale, preset, steps)
            for n, vanilla in ((target, True), (k // 2, False)):
                if vanilla:
                    plan.append(run("kd", model(n), t_kd, teacher=True))
                plan += [
                    run("distilbert_kd", model(n), t_kd, teacher=True),
                    run("random", model(n), t_kd),
                    run("inheritune", model(n), t_kd),
                ]
        elif experiment == "figure4":
            plan += recipe() + [run("random", model(target), T)]
    return plan


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
