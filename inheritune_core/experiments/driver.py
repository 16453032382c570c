"""One driver for every declared experiment (`arms.py`): seeds, the reference (shared or one per seed), a
fresh data stream per arm (`streams.py`), the runs (`builders.py`), tidy rows, curves, downstream columns
and the next-scale plan (`plan.py`, from the same declarations).

Per preset: the reference (setup.seed, shared; or one per seed when `Setup.reference_per_seed`), then per
seed and panel every arm in declaration order (an arm may start from an earlier arm's run: `Arm.parent`).
Rows carry their seed (tables show mean and standard deviation over seeds); curves are the first seed's.
Every run prints a line as it starts and ends training or is read back (`runs.announce`), so `make <notebook>`
shows which run is training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import KD_ALPHA, KD_TEMPERATURE, get_preset, get_scale, optim_kwargs, scaled_layers
from ..errors import ConfigError
from . import arms
from .arms import Arm, Experiment, Panel, get_experiment, resolve_layers
from .builders import (
    inheritune_curves,
    inheritune_rows,
    inheritune_run,
    init_run,
    random_run,
    reference,
)
from .downstream import downstream_columns, maybe_downstream
from .plan import next_scale_plan, recipe_depths
from .runs import RunRecord, curve_rows, result_row
from .setup import (
    ExperimentOutput,
    Setup,
    arm_steps,
    check_presets,
    figure1_schedule,
    seed_list,
    target_layers,
    with_seed,
)
from .streams import DataStream, data_stream, micro_batches_per_step, reference_stream


def resolve_steps(expr: str, setup: Setup, preset: str) -> int:
    """An arm's step expression (arms.STEPS) at a setup."""
    return arm_steps(expr, setup.scale, preset, setup.steps)


def _train_config(setup: Setup, preset: str, steps: int, offset: int = 0) -> dict[str, Any]:
    """What a run's data stream depends on: the scale's batch shape, its steps and first micro-batch."""
    return {**optim_kwargs(preset, setup.scale), "max_steps": steps, "sampler_offset": offset}


def stream_key(preset: str, arm: Arm, steps: int) -> str:
    """What names an arm's data stream besides the seed: its preset, run label, depth and steps. The same
    arm in two experiments (Algorithm 1 in Tables 1 and 2) is the same run and reads the same stream."""
    return f"{preset}/{arm.run_label}/{arm.layers}/{steps}"


def reference_stream_of(setup: Setup, experiment: Experiment, preset: str) -> DataStream:
    """The data stream of the reference setup.seed trains (streams.reference_stream)."""
    return reference_stream(
        setup.seed,
        f"{preset}/reference",
        sampler=experiment.sampler,
        per_seed=bool(setup.reference_per_seed),
        train_config=_train_config(setup, preset, setup.T(preset)),
        n_train_tokens=len(setup.data.split("train")),
    )


def panel_streams(
    setup: Setup, experiment: Experiment, panel: Panel, preset: str, seed: int
) -> dict[str, DataStream]:
    """The data stream of every arm of a panel for one seed, without training anything (streams.py).

    A continuation starts after its parent's stream: the reference's (T steps from its first micro-batch)
    or an earlier arm's (stacking's first stage)."""
    ref_seed = seed if setup.reference_per_seed else setup.seed
    ref_setup = with_seed(setup, ref_seed)
    ref_offset = reference_stream_of(ref_setup, experiment, preset).offset
    configs = {"reference": _train_config(setup, preset, setup.T(preset), ref_offset)}
    n_train = len(setup.data.split("train"))
    k = _reference_depth(preset, setup.scale)
    target = target_layers(preset, setup.scale)
    out = {}
    for arm in panel.arms:
        steps = resolve_steps(arm.steps, setup, preset)
        own = _train_config(setup, preset, steps)
        rounds = (
            len(recipe_depths(k, target, get_scale(setup.scale).grow_step)) if arm.build == "recipe" else 1
        )
        stream = data_stream(
            seed,
            stream_key(preset, arm, steps),
            sampler=experiment.sampler,
            train_config=own,
            own_micro_batches=steps * micro_batches_per_step(own) * rounds,
            n_train_tokens=n_train,
            parent=configs[arm.parent] if arm.starts_from_parent else None,
        )
        out[arm.role] = stream
        configs[arm.role] = _train_config(setup, preset, steps, stream.offset)
    return out


def _reference_depth(preset: str, scale: str) -> int:
    return scaled_layers(get_preset(preset).n_layer, get_scale(scale))


def run_arm(
    setup: Setup,
    experiment: Experiment,
    arm: Arm,
    preset: str,
    records: dict[str, RunRecord],
    stream: DataStream,
    ours: int | None,
    lazy: Sequence[int] | None = None,
) -> RunRecord:
    """Train (or read back) one arm for setup.seed: build its model as declared, on its own data stream.
    lazy: the reference's lazy layers, for a "lazy" build (`lazy_selection`)."""
    from ..method import inheritance as inh
    from ..models.gpt import GPTConfig

    ref, parent = records["reference"], records[arm.parent]
    steps = resolve_steps(arm.steps, setup, preset)
    n = resolve_layers(arm.layers, ref.layers, target_layers(preset, setup.scale), ours)
    seed, sampler = setup.seed, experiment.sampler
    train_kw: dict[str, Any] = {}
    if arm.steps == "T_extra":  # Figure 1 (c, f): the extra 10K steps keep the paper's warmup share
        _, warmup, eval_interval = figure1_schedule(setup.scale, preset, setup.steps)
        train_kw = {"warmup_steps": warmup, "eval_interval": eval_interval}
    if arm.teacher:
        train_kw.update(kd_alpha=KD_ALPHA, kd_temperature=KD_TEMPERATURE)
    if arm.build == "recipe":
        return inheritune_run(setup, preset, ref, n, steps, sampler=sampler, parts=arm.parts, stream=stream)
    if arm.build == "random" and not arm.teacher:
        return random_run(setup, preset, n, steps, sampler, arm.run_label, stream=stream, **train_kw)
    init: dict[str, Any] = {"method": arm.build}
    model_overrides = None
    if arm.build == "random":  # a random student of a teacher (vanilla KD): built beside the reference

        def build(m):
            return inh.random_init(GPTConfig.from_dict({**m.config.to_dict(), "n_layer": n}), seed=seed)
    elif arm.build == "inherit":
        init["parts"] = arm.parts

        def build(m):
            return inh.inherit(m, n, parts=arm.parts, seed=seed)
    elif arm.build == "half_width":
        cfg = ref.result["model_config"]
        heads = cfg["n_head"] // 2
        init["n_head"] = heads
        model_overrides = {"n_head": heads, "n_embd": heads * (cfg["n_embd"] // cfg["n_head"])}

        def build(m):
            return inh.half_width(m, seed=seed)
    elif arm.build == "lazy":
        layers, _ = lazy_selection(ref.layers, n, lazy)
        init["layers"] = layers

        def build(m):
            return inh.lazy_layer_init(m, n, layers=layers, seed=seed)
    else:
        fn = {
            "stack": lambda m: inh.stack(m, seed=seed),
            "hybrid_stack": lambda m: inh.hybrid_stack(m, n, seed=seed),
            "distilbert": lambda m: inh.distilbert_init(m, n, seed=seed),
        }[arm.build]

        def build(m):
            return fn(m)

    if arm.teacher:
        init["teacher"] = "reference"
    return init_run(
        setup,
        preset,
        parent,
        arm.run_kind,
        n,
        steps,
        init,
        build,
        teacher=ref if arm.teacher else None,
        sampler=sampler,
        model_overrides=model_overrides,
        parents=[ref] if parent is not ref else [],
        stream=stream,
        label=arm.run_label,
        **train_kw,
    )


def random_identity(arm: Arm, setup: Setup, preset: str, k: int, ours: int | None) -> tuple[int, int] | None:
    """`arms.random_identity` of an arm at a setup, with Ours' depth so far (None: the target)."""
    n = resolve_layers(arm.layers, k, target_layers(preset, setup.scale), ours)
    return arms.random_identity(arm, n, resolve_steps(arm.steps, setup, preset))


def lazy_selection(k: int, n: int, lazy: Sequence[int] | None) -> tuple[list[int], str]:
    """Figure 1 (c, f)'s "lazy" arm: which n of the reference's k layers it starts from, and its label.

    The layers the reference's own lazy-layer analysis found lazy (`attention.figure1`: AttentionOutput.toy_lazy),
    the deepest of them when there are more than n, topped up with the deepest other layers when there are
    fewer; with none (or no analysis), the last n layers, labelled so: a reference without lazy layers cannot
    test the paper's claim about lazy layers, and the label must not say it does."""
    if lazy is None:
        return list(range(k - n, k)), f"last {n} layers (lazy layers not analysed)"
    found = sorted({int(layer) for layer in lazy if 0 <= int(layer) < k})
    if not found:
        return list(range(k - n, k)), f"last {n} layers (no lazy layers in this reference)"
    if len(found) >= n:
        return found[-n:], "lazy layers"
    rest = [layer for layer in range(k - 1, -1, -1) if layer not in found][: n - len(found)]
    return sorted(found + rest), f"{len(found)} lazy + {n - len(found)} last layers"


def _title(panel_title: str, preset: str, k: int) -> str:
    return panel_title.format(preset=preset, k=k, n=k // 2)


def _emit_reference(
    setup: Setup, experiment: Experiment, out: ExperimentOutput, ref: RunRecord, preset: str, curves: bool
) -> None:
    if experiment.reference_row is None:
        return
    table, panel, method = experiment.reference_row
    row = result_row(ref, table=table, model=preset, role="reference", method=method)
    out.rows.append(row if panel is None else dict(row, panel=_title(panel, preset, ref.layers)))
    if experiment.reference_downstream and experiment.downstream_table:
        maybe_downstream(
            setup,
            out,
            downstream_columns(experiment.downstream_table),
            rec=ref,
            table=table,
            model=preset,
            role="reference",
            method=method,
        )
    if curves and experiment.reference_curves:
        title = _title(experiment.panels[0].title, preset, ref.layers)
        out.curves += curve_rows(ref, panel=title, model=preset, role="reference", method=method)


def _emit_arm(
    setup: Setup,
    experiment: Experiment,
    out: ExperimentOutput,
    arm: Arm,
    rec: RunRecord,
    panel: Panel,
    title: str,
    preset: str,
    curves: bool,
    downstream: bool,
    method: str | None = None,
) -> None:
    """The rows, downstream rows and (first seed) curves of one arm's run; method overrides the declared
    label (the lazy arm says which layers it took)."""
    if method is not None:
        arm = dataclasses.replace(arm, method=method, curve_method=None)
    extra = {} if panel.title == "{preset}" else {"panel": title}
    if arm.rows != "none":
        if arm.build == "recipe":
            rows = inheritune_rows(rec, panel.table, preset, arm.method)
            rows = rows if arm.rows == "all" else rows[-1:]
        else:
            rows = [result_row(rec, table=panel.table, model=preset, role=arm.role, method=arm.method)]
        out.rows += [dict(r, **extra) for r in rows]
    if downstream and arm.downstream and experiment.downstream_table:
        maybe_downstream(
            setup,
            out,
            downstream_columns(experiment.downstream_table),
            rec=rec,
            table=panel.table,
            model=preset,
            role=arm.role,
            method=arm.method,
        )
    if curves and arm.curves:
        if arm.build == "recipe":
            out.curves += inheritune_curves(rec, title, preset, arm.method, final_only=True)
        else:
            offset = 0 if arm.curve_offset is None else resolve_steps(arm.curve_offset, setup, preset)
            out.curves += curve_rows(
                rec,
                panel=title,
                model=preset,
                role=arm.role,
                method=arm.curve_method or arm.method,
                step_offset=offset,
            )


class _Progress:
    """`[table1] run 3/13: gpt2-medium random_2x (seed 1337)`: how far an experiment is, one line per run
    (the runs' own lines, `runs.announce`, say whether each trains or is read back)."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total, self.done = name, total, 0

    def step(self, what: str) -> None:
        self.done += 1
        print(f"[{self.name}] run {self.done}/{self.total}: {what}", flush=True)


def run_arms(
    experiment: Experiment | str,
    setup: Setup,
    presets: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    downstream: bool = True,
    lazy_layers: Mapping[str, Sequence[int]] | None = None,
) -> ExperimentOutput:
    """Run every arm of a declared experiment (arms.EXPERIMENTS) for every preset and seed; see the module
    docstring. downstream=False leaves out the lm-eval columns even where arms ask for them; lazy_layers:
    preset -> its reference's lazy layers (Figure 1 (c, f), `lazy_selection`)."""
    exp = get_experiment(experiment) if isinstance(experiment, str) else experiment
    if setup.data is None:
        raise ConfigError(f"{exp.name}: the setup has no corpus (make it with make_setup)")
    out = ExperimentOutput()
    seeds = seed_list(setup, seeds)
    presets = check_presets(list(presets or exp.defaults), exp.allowed)
    out.plan = next_scale_plan(exp.name, setup.scale, presets, len(seeds))
    total = len(presets) * (len(seeds) * len(exp.arms) + (len(seeds) if setup.reference_per_seed else 1))
    progress = _Progress(exp.name, total)
    for preset in presets:
        shared = None
        if not setup.reference_per_seed:
            progress.step(f"{preset} reference (seed {setup.seed})")
            shared = reference(setup, preset, exp.sampler, reference_stream_of(setup, exp, preset))
        if shared is not None:
            out.records[f"{preset}/reference"] = shared
            if not exp.reference_last:
                _emit_reference(setup, exp, out, shared, preset, curves=True)
        for i, seed in enumerate(seeds):
            s = with_seed(setup, seed)
            tag = "" if i == 0 else f"@{seed}"
            ref = shared
            if ref is None:
                progress.step(f"{preset} reference (seed {seed})")
                ref = reference(s, preset, exp.sampler, reference_stream_of(s, exp, preset))
                out.records[f"{preset}/reference{tag}"] = ref
                _emit_reference(setup, exp, out, ref, preset, curves=i == 0)
            for panel in exp.panels:
                title = _title(panel.title, preset, ref.layers)
                key = title if exp.record_key == "panel" else preset
                streams = panel_streams(s, exp, panel, preset, seed)
                records: dict[str, RunRecord] = {"reference": ref}
                ours = None
                lazy = None if lazy_layers is None else lazy_layers.get(preset)
                same: dict[tuple[int, int], tuple[str, RunRecord]] = {}
                for arm in panel.arms:
                    ident = random_identity(arm, s, preset, ref.layers, ours)
                    if ident in same:  # the same model and schedule as an earlier arm: its run, not a copy
                        role, rec = same[ident]
                        progress.step(
                            f"{preset} {arm.role} (seed {seed}): the {role} arm's model ({rec.layers} layers, "
                            f"{rec.steps} steps), so its run"
                        )
                    else:
                        progress.step(f"{preset} {arm.role} (seed {seed})")
                        rec = run_arm(s, exp, arm, preset, records, streams[arm.role], ours, lazy)
                        if ident is not None:
                            same[ident] = (arm.role, rec)
                    records[arm.role] = rec
                    ours = rec.layers if arm.build == "recipe" else ours
                    out.records[f"{key}/{arm.role}{tag}"] = rec
                    method = lazy_selection(ref.layers, rec.layers, lazy)[1] if arm.build == "lazy" else None
                    draw = i == 0 and not (ident in same and same[ident][0] != arm.role)
                    _emit_arm(s, exp, out, arm, rec, panel, title, preset, draw, downstream, method)
        if shared is not None and exp.reference_last:
            _emit_reference(setup, exp, out, shared, preset, curves=True)
    return out


__all__ = [
    "run_arms",
    "run_arm",
    "random_identity",
    "lazy_selection",
    "panel_streams",
    "reference_stream_of",
    "resolve_steps",
    "resolve_layers",
    "stream_key",
]
