"""Inheritune's training recipe: the paper's Algorithm 1.

    1: initialise the target with the reference's first n = k/2 layers        (inheritance.inherit)
    2: train it for T steps
    3: while its validation loss is worse than the reference's:
    4:     grow it by inheriting additional layers (2 at a time)
    5:     train it for T steps
    7: return the target

The paper's GPT-2 medium took three rounds (12, 14, 16 layers of 24); large and xlarge one round each.

What "grow" means (`growth`). Algorithm 1's line 4 can be read two ways, and the paper's text decides it:
- `growth="reinherit"` (default, the paper's reading): round r is a NEW model, `inherit(reference, n_r)`
  (the reference's first n_r layers), trained for T steps. Section 3: "Grow: If needed, increase M_tgt's size
  and repeat steps 1-2" (step 1 is "Initialize M_tgt with the first n = k/2 layers of M_ref"); Section 4's
  GPT-2 large walk-through, step 4: "incrementally increase its size by two layers and repeat steps 2-3"
  (step 2 is the initialisation from the reference); and Table 1 lists the three-round GPT-2 medium result as
  "16 layers, Ours, 100K" steps, beside random init at 100K and 200K, and Table 3's directly initialised
  16-layer "Ours" (100K steps) has the same 2.81: every model has seen T steps.
- `growth="continue"`: round r+1 is the TRAINED round-r model with the reference's next layers appended
  (`inheritance.grow`), trained T more steps: the final model has seen up to rounds x T steps.
Every row records both the steps/tokens this round's model has seen in total (`model_steps`,
`model_tokens`) and what the recipe has spent so far (`total_steps`, `total_tokens_seen`).

Validation (`val_fn`): parity is decided on the mean token loss over the whole fixed validation split
(`training.validation.validation_loss`; its standard error is in `val_loss_se`), not on the trainer's few
periodic batches. `reference_val_loss` must be measured the same way (None measures it here).

Data (`data_offset`, `carry_data`): round 1's sampler starts at global micro-batch `data_offset` (where the
reference's training stopped, so an inherited model does not re-read its reference's windows), and each
round starts where the previous one stopped: with the sequential sampler (FineWeb-Edu, Section 5 "without
data repetition") no window is read twice in a lineage until the corpus is exhausted.

Optimizer and schedule at each round: every round is a separate training run (its own folder under
`train_cfg.out_dir`, its own `metrics.csv` / `ckpt.pt` / `result.json`) with a FRESH AdamW (no moments carried
over) and a FRESH linear-warmup + cosine schedule over its T steps, i.e. `train_cfg` as given, repeated.
Configurable:
- `steps_per_round` sets T (default `train_cfg.max_steps`);
- `warmup_every_round=False` skips the warmup in rounds 2, 3, ...;
- `round_config(round, n_layers, cfg) -> cfg` rewrites any field of a round's TrainConfig (e.g. a lower
  learning rate for later rounds).
A round's trainer call uses resume=True, so re-running the recipe after an interruption returns the finished
rounds from their folders (their checkpoints are loaded) and continues the interrupted one.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..data.tokens import TokenData
from ..errors import ConfigError
from ..io import atomic_write_text
from ..method.inheritance import DEFAULT_SEED, _as_gpt, grow, inherit, random_init
from ..models.gpt import GPT

GROWTH = ("reinherit", "continue")
CSV_COLUMNS = (
    "round",
    "layers",
    "growth",
    "steps",
    "model_steps",
    "model_tokens",
    "total_steps",
    "val_loss",
    "val_loss_se",
    "val_tokens",
    "reference_val_loss",
    "tokens_seen",
    "total_tokens_seen",
    "sampler_offset",
    "wall_time_s",
    "run_dir",
    "reached_parity",
)
CSV_NAME = "inheritune.csv"

TrainFn = Callable[..., Any]  # train(model, data, cfg, teacher=None, resume=True) -> TrainResult-like
# val_fn(model, data, cfg) -> an object with .mean, .se and .tokens (training.validation.ValidationLoss)
ValFn = Callable[[GPT, TokenData, Any], Any]


class RecipeRows(list):
    """The recipe's rows (one dict per round, the CSV's columns), plus what a caller needs next.

    It *is* the list of rows (so `pandas.DataFrame(rows)` works); `.model` is the final target model (trained
    in place by the last round), `.csv_path` the CSV written, `.reached_parity` whether the last round
    matched the reference, `.next_offset` the sampler position after the last round.
    """

    model: GPT
    csv_path: Path
    reached_parity: bool
    next_offset: int


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def round_dir(out_dir: str | Path, round_index: int, n_layers: int) -> Path:
    """The folder of one round's training run."""
    return Path(out_dir) / f"round{round_index}-{n_layers}layers"


def micro_batches_per_run(cfg: Any) -> int:
    """Global micro-batches a run of `cfg` draws from its sampler (all ranks and accumulation steps)."""
    return cfg.max_steps * (cfg.batch_tokens // (cfg.micro_batch * cfg.block_size))


def default_val_fn(model: GPT, data: TokenData, cfg: Any):
    """The whole validation split at the training context (`training.validation.validation_loss`)."""
    from ..training.validation import validation_loss

    return validation_loss(model, data, cfg.block_size, dtype=cfg.dtype)


def run_inheritune(
    reference: GPT,
    data: TokenData,
    train_cfg: Any,
    reference_val_loss: float | None,
    start_layers: int | None = None,
    grow_step: int = 2,
    max_layers: int | None = None,
    tolerance: float = 0.0,
    train_fn: TrainFn | None = None,
    parts: str | Iterable[str] = "all",
    steps_per_round: int | None = None,
    warmup_every_round: bool = True,
    round_config: Callable[[int, int, Any], Any] | None = None,
    csv_path: str | Path | None = None,
    like_official_code: bool = False,
    seed: int | None = DEFAULT_SEED,
    log: Callable[[str], None] | None = None,
    growth: str = "reinherit",
    val_fn: ValFn | None = None,
    data_offset: int = 0,
    carry_data: bool = True,
) -> RecipeRows:
    """Run Algorithm 1 and write one CSV row per round; see the module docstring for growth, validation,
    data and the per-round schedule.

    reference: the trained k-layer reference (never modified).
    train_cfg: the TrainConfig of one round (T = its max_steps); rounds run in train_cfg.out_dir/roundR-NLlayers.
    reference_val_loss: the reference's whole-split validation loss to match; None measures it with `val_fn`.
    start_layers: n of the first round (default k // 2). grow_step: layers added per round (default 2; the
      last step is shortened so the depth never exceeds max_layers). max_layers: stop there even without
      parity (default k).
    tolerance: parity means val_loss <= reference_val_loss + tolerance (default 0: match or beat it).
    growth: "reinherit" (each round inherit(reference, n), the paper's reading) or "continue" (grow the
      trained model).
    train_fn: the trainer, `train(model, data, cfg, resume=True) -> result` with `.steps`, `.tokens_seen`,
      `.wall_time_s` (default `inheritune_core.training.trainer.train`; injectable for tests).
    val_fn: `val_fn(model, data, cfg)` -> .mean/.se/.tokens (default: the whole validation split).
    data_offset: the sampler position (global micro-batches) of round 1; carry_data: each later round starts
      where the previous stopped (False: every round starts at data_offset).
    parts, like_official_code, seed: passed to `inherit` / `grow` (what each new block copies).
    csv_path: default train_cfg.out_dir/inheritune.csv, rewritten atomically after every round.
    """
    ref = _as_gpt(reference, "reference")
    k = ref.config.n_layer
    start = k // 2 if start_layers is None else start_layers
    stop = k if max_layers is None else max_layers
    _positive_int(start, "start_layers")
    _positive_int(stop, "max_layers")
    _positive_int(grow_step, "grow_step")
    if not start <= stop <= k:
        raise ConfigError(
            f"need start_layers <= max_layers <= k, got {start} <= {stop} <= {k} (reference depth)"
        )
    if not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance):
        raise ConfigError(f"tolerance must be a finite number, got {tolerance!r}")
    if growth not in GROWTH:
        raise ConfigError(f"unknown growth {growth!r}; choose one of {', '.join(GROWTH)}")
    if isinstance(data_offset, bool) or not isinstance(data_offset, int) or data_offset < 0:
        raise ConfigError(f"data_offset must be an integer >= 0, got {data_offset!r}")
    if not dataclasses.is_dataclass(train_cfg) or not hasattr(train_cfg, "out_dir"):
        raise ConfigError(f"train_cfg must be a TrainConfig, got {type(train_cfg).__name__}")
    steps = _positive_int(
        train_cfg.max_steps if steps_per_round is None else steps_per_round, "steps_per_round"
    )
    if train_fn is None:
        from ..training.trainer import train as train_fn
    val_fn = default_val_fn if val_fn is None else val_fn
    if reference_val_loss is None:
        reference_val_loss = float(val_fn(ref, data, train_cfg).mean)
    if not isinstance(reference_val_loss, (int, float)) or not math.isfinite(reference_val_loss):
        raise ConfigError(f"reference_val_loss must be a finite number, got {reference_val_loss!r}")
    if log is None:
        from tqdm.auto import tqdm

        log = lambda message: tqdm.write(message, file=sys.stderr)  # beside the trainer's progress bars
    out_dir = Path(train_cfg.out_dir)
    csv_file = out_dir / CSV_NAME if csv_path is None else Path(csv_path)

    def build(n: int, previous: GPT | None) -> GPT:
        if growth == "continue" and previous is not None:
            return grow(previous, ref, add=n - previous.config.n_layer, parts=parts, seed=seed)
        return inherit(ref, n, parts=parts, like_official_code=like_official_code, seed=seed)

    rows = RecipeRows()
    model: GPT | None = None
    n, round_index, offset = start, 1, data_offset
    total_steps = total_tokens = model_steps = model_tokens = 0
    while True:
        model = build(n, model)
        cfg = dataclasses.replace(
            train_cfg, out_dir=str(round_dir(out_dir, round_index, n)), max_steps=steps, sampler_offset=offset
        )
        if round_index > 1 and not warmup_every_round:
            cfg = dataclasses.replace(cfg, warmup_steps=0)
        if round_config is not None:
            cfg = round_config(round_index, n, cfg)
        result = train_fn(model, data, cfg, resume=True)
        val = val_fn(model, data, cfg)
        parity = float(val.mean) <= reference_val_loss + tolerance
        round_steps, round_tokens = int(result.steps), int(result.tokens_seen)
        total_steps, total_tokens = total_steps + round_steps, total_tokens + round_tokens
        if growth == "continue":
            model_steps, model_tokens = model_steps + round_steps, model_tokens + round_tokens
        else:  # a fresh inherit(): this model has seen this round only
            model_steps, model_tokens = round_steps, round_tokens
        rows.append(
            dict(
                round=round_index,
                layers=n,
                growth=growth,
                steps=round_steps,
                model_steps=model_steps,
                model_tokens=model_tokens,
                total_steps=total_steps,
                val_loss=float(val.mean),
                val_loss_se=float(val.se),
                val_tokens=int(val.tokens),
                reference_val_loss=float(reference_val_loss),
                tokens_seen=round_tokens,
                total_tokens_seen=total_tokens,
                sampler_offset=cfg.sampler_offset,
                wall_time_s=round(float(result.wall_time_s), 3),
                run_dir=str(cfg.out_dir),
                reached_parity=parity,
            )
        )
        _write_csv(csv_file, rows)
        log(
            f"inheritune round {round_index} ({growth}): {n} layers, val loss {val.mean:.4f} "
            f"(se {val.se:.4f}) vs reference {reference_val_loss:.4f} -> " + ("parity" if parity else "worse")
        )
        if carry_data:
            offset = cfg.sampler_offset + micro_batches_per_run(cfg)
        if parity or n >= stop:
            break
        n, round_index = n + min(grow_step, stop - n), round_index + 1

    rows.model, rows.csv_path, rows.reached_parity, rows.next_offset = model, csv_file, parity, offset
    return rows


__all__ = [
    "run_inheritune",
    "RecipeRows",
    "CSV_COLUMNS",
    "CSV_NAME",
    "GROWTH",
    "round_dir",
    "default_val_fn",
    "micro_batches_per_run",
]


# --------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """`python -m inheritune_core.method.recipe`: train (or reuse) a reference, then run Algorithm 1 against it."""
    import argparse
    import json

    import torch

    from ..data.tokens import load_token_data
    from ..errors import DataError

    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.method.recipe",
        description="Inheritune (Algorithm 1) for a Table 10 preset at a scale: trains the k-layer reference "
        "in OUT/reference (reused when finished), then the rounds in OUT/inheritune; writes "
        "OUT/inheritune/inheritune.csv.",
    )
    parser.add_argument("--preset", default="gpt2-medium")
    parser.add_argument("--scale", default="tiny", help="smoke, tiny, small or paper")
    parser.add_argument("--data", required=True, help="a prepared corpus folder (e.g. data/english)")
    parser.add_argument(
        "--out", required=True, help="folder for the reference and the rounds (e.g. runs/...)"
    )
    parser.add_argument(
        "--reference",
        default=None,
        help="a trained reference's ckpt.pt (from `python -m inheritune_core.training`) instead of "
        "training one in OUT/reference",
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument(
        "--max-steps", type=int, default=None, help="T, steps of the reference and of each round"
    )
    parser.add_argument("--grow-step", type=int, default=2)
    parser.add_argument(
        "--growth",
        choices=GROWTH,
        default="reinherit",
        help="reinherit: each round is inherit(reference, n) trained T steps (the paper's reading, default); "
        "continue: grow the trained model",
    )
    parser.add_argument("--tolerance", type=float, default=0.0)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from ..errors import TrainingDiverged
    from ..models.gpt import GPTConfig
    from ..training.trainer import TrainConfig, load_checkpoint, train

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    overrides: dict[str, Any] = dict(device=device, progress=not args.no_progress)
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    out = Path(args.out)
    try:
        data = load_token_data(args.data)
        ref_cfg = TrainConfig.from_preset(args.preset, args.scale, out / "reference", **overrides)
        reference = random_init(GPTConfig.from_preset(args.preset, args.scale), seed=ref_cfg.seed)
        offset = 0  # a reference given as a checkpoint: where its data stopped is unknown
        if args.reference:
            load_checkpoint(args.reference, reference)
        else:
            train(reference, data, ref_cfg, resume=True)
            offset = int(json.loads((out / "reference" / "result.json").read_text())["sampler_end"])
        reference = reference.to(device)
        cfg = TrainConfig.from_preset(args.preset, args.scale, out / "inheritune", **overrides)
        rows = run_inheritune(
            reference,
            data,
            cfg,
            reference_val_loss=None,
            grow_step=args.grow_step,
            tolerance=args.tolerance,
            growth=args.growth,
            data_offset=offset,
        )
    except (ConfigError, DataError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, (ConfigError, DataError)) else 1
    print(rows.csv_path.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
