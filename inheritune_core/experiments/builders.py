"""The runs an arm can make, each one cached run (`runs.run_or_load`): the reference, a random init, a model
built from a trained run's weights (optionally distilled from a teacher), and Algorithm 1 as one run with
its rounds in sub-folders; plus the rows and curves of a recipe run's rounds.

Every builder takes the run's data stream (`streams.DataStream`: the sampler's seed and first micro-batch),
which `driver.run_arms` derives per arm; the model's initialisation uses `setup.seed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import get_scale
from ..io import atomic_write_json
from ..paper import round_role
from .runs import (
    RunRecord,
    curve_rows,
    make_spec,
    reference_run,
    result_row,
    run_or_load,
    train_config_for,
    train_spec,
)
from .setup import Setup
from .streams import DataStream


def reference(
    setup: Setup, preset: str, sampler: str = "random", stream: DataStream | None = None
) -> RunRecord:
    """The preset's reference at the setup's scale and seed; stream: its data (default: the seed from
    micro-batch 0, the stream of every shared reference)."""
    extra = {} if stream is None or stream.offset == 0 else {"sampler_offset": stream.offset}
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
        **extra,
    )


def _stream_overrides(stream: DataStream | None) -> dict[str, int]:
    """make_spec keywords of a data stream (none: the run's seed from micro-batch 0)."""
    return {} if stream is None else {"data_seed": stream.seed, "sampler_offset": stream.offset}


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
    stream: DataStream | None = None,
    **train_overrides: Any,
) -> RunRecord:
    """A model of n_layer layers trained from a random initialisation (train_overrides: other TrainConfig
    fields, part of the run's identity); stream: its data (default: the setup's seed from micro-batch 0)."""
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
        **_stream_overrides(stream),
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
    stream: DataStream | None = None,
    label: str | None = None,
    **train_overrides: Any,
) -> RunRecord:
    """A model built from trained weights (`build(ref_model) -> GPT`), then trained (optionally distilled);
    label names its folder (default: kind), stream its data (default: the setup's seed from 0)."""
    spec = make_spec(
        f"{preset}-{setup.scale}-{label or kind}-{n_layer}L",
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
        **_stream_overrides(stream),
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
    stream: DataStream | None = None,
) -> RunRecord:
    """Algorithm 1 (`recipe.run_inheritune`) as one cached run: rounds in sub-folders, a summary result.json.

    Rounds start at k/2 (or start_layers) and grow by the scale's grow_step up to max_layers or parity with
    the reference's whole-split validation loss. growth="reinherit" (the paper's reading, see recipe.py):
    every round is inherit(reference, n) trained for `steps`. The rounds read the data stream after the
    reference's (and after each other), so a model never re-reads a window its lineage has read.
    The summary's steps / tokens / windows / FLOPs are the FINAL model's (its lineage within the recipe);
    recipe_steps / recipe_tokens / recipe_flops are what all rounds together cost.
    stream: the data seed and round 1's micro-batch (driver.run_arms derives them); default the setup's
    seed, starting where the reference's stream ended.
    """
    from ..training.accounting import continuation_offset

    k = ref.layers
    start = k // 2 if start_layers is None else start_layers
    grow_step = get_scale(setup.scale).grow_step
    if stream is None:
        stream = DataStream(
            setup.seed,
            continuation_offset(
                ref.result["sampler_end"],
                ref.result["sampler_micro_batch"],
                int(ref.spec.train_config["micro_batch"]),
            ),
        )
    data_offset = stream.offset
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
        data_seed=stream.seed,
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
        role = round_role(i, last=i == len(rounds))
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
        role = round_role(i, last)
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
