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
(`training.validation.validation_loss`, capped by `TrainConfig.val_windows`; its standard error is in
`val_loss_se`), not on the trainer's few periodic batches. `reference_val_loss` must be measured the same way (None measures it here).

Data (`data_offset`, `carry_data`): round 1's sampler starts at global micro-batch `data_offset` (where the
reference's training stopped, so an inherited model does not re-read its reference's windows), and each
round starts where the previous one stopped: with the sequential sampler (FineWeb-Edu, Section 5 "without
data repetition") no window is read twice in a lineage until the corpus is exhausted.

Optimizer and schedule at each round: every round is a separate training run (its own folder under
`train_cfg.out_dir`, its own `metrics.csv` / `ckpt.pt` / `result.json`) with a FRESH AdamW (no moments carried
over) and a FRESH linear-warmup + cosine schedule over its T steps, i.e. `train_cfg` as given, repeated.
Configurable (fields of `RecipeConfig`, the recipe's one settings object):
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import SCALES
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
    """The run's final validation: the whole validation split at the training context, or the fixed subset of
    `cfg.val_windows` windows (`training.validation.validation_loss_of_run`)."""
    from ..training.validation import validation_loss

    return validation_loss(
        model, data, cfg.block_size, dtype=cfg.dtype, max_windows=getattr(cfg, "val_windows", None)
    )


@dataclass
class RecipeConfig:
    """Algorithm 1's settings: everything but the reference, the data and one round's TrainConfig.

    start_layers: n of the first round (None: k // 2). grow_step: layers added per round (the last step is
      shortened so the depth never exceeds max_layers). max_layers: stop there even without parity (None: k).
    tolerance: parity means val_loss <= reference_val_loss + tolerance (0: match or beat it).
    growth: "reinherit" (each round inherit(reference, n), the paper's reading) or "continue" (grow the
      trained model).
    steps_per_round: T (None: train_cfg.max_steps). warmup_every_round=False skips the warmup in rounds 2, 3, ...
    round_config(round, n_layers, cfg) -> cfg: rewrites any field of a round's TrainConfig.
    parts, like_official_code, seed: passed to `inherit` / `grow` (what each new block copies).
    data_offset: the sampler position (global micro-batches) of round 1; carry_data: each later round starts
      where the previous stopped (False: every round starts at data_offset).
    csv_path: None writes train_cfg.out_dir/inheritune.csv, rewritten atomically after every round.
    train_fn: the trainer, `train(model, data, cfg, resume=True) -> result` with `.steps`, `.tokens_seen`,
      `.wall_time_s` (None: `inheritune_core.training.loop.train`; injectable for tests).
    val_fn: `val_fn(model, data, cfg)` -> .mean/.se/.tokens (None: the run's final validation).
    log: where each round's one-line summary goes (None: stderr, beside the trainer's progress bars).
    """

    start_layers: int | None = None
    grow_step: int = 2
    max_layers: int | None = None
    tolerance: float = 0.0
    growth: str = "reinherit"
    steps_per_round: int | None = None
    warmup_every_round: bool = True
    round_config: Callable[[int, int, Any], Any] | None = None
    parts: str | Iterable[str] = "all"
    like_official_code: bool = False
    seed: int | None = DEFAULT_SEED
    data_offset: int = 0
    carry_data: bool = True
    csv_path: str | Path | None = None
    train_fn: TrainFn | None = None
    val_fn: ValFn | None = None
    log: Callable[[str], None] | None = None

    def depths(self, k: int) -> tuple[int, int]:
        """(first, last) depth of the rounds for a k-layer reference; one ConfigError line for bad settings."""
        start = k // 2 if self.start_layers is None else self.start_layers
        stop = k if self.max_layers is None else self.max_layers
        _positive_int(start, "start_layers")
        _positive_int(stop, "max_layers")
        _positive_int(self.grow_step, "grow_step")
        if not start <= stop <= k:
            raise ConfigError(
                f"need start_layers <= max_layers <= k, got {start} <= {stop} <= {k} (reference depth)"
            )
        tolerance = self.tolerance
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, (int, float))
            or not math.isfinite(tolerance)
        ):
            raise ConfigError(f"tolerance must be a finite number, got {tolerance!r}")
        if self.growth not in GROWTH:
            raise ConfigError(f"unknown growth {self.growth!r}; choose one of {', '.join(GROWTH)}")
        offset = self.data_offset
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ConfigError(f"data_offset must be an integer >= 0, got {offset!r}")
        return start, stop


def run_inheritune(
    reference: GPT,
    data: TokenData,
    train_cfg: Any,
    reference_val_loss: float | None = None,
    recipe: RecipeConfig | None = None,
    **settings: Any,
) -> RecipeRows:
    """Run Algorithm 1 and write one CSV row per round; see the module docstring for growth, validation,
    data and the per-round schedule.

    reference: the trained k-layer reference (never modified).
    train_cfg: the TrainConfig of one round (T = its max_steps); rounds run in train_cfg.out_dir/roundR-NLlayers.
    reference_val_loss: the reference's whole-split validation loss to match; None measures it with `val_fn`.
    recipe: the `RecipeConfig`; `settings` (its field names as keywords, e.g. `grow_step=2`) replace fields of
      it, so `run_inheritune(ref, data, cfg, loss, grow_step=2)` reads as before.
    """
    known = {f.name for f in dataclasses.fields(RecipeConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown recipe settings {unknown}; RecipeConfig has {', '.join(sorted(known))}")
    recipe = dataclasses.replace(recipe or RecipeConfig(), **settings)
    ref = _as_gpt(reference, "reference")
    start, stop = recipe.depths(ref.config.n_layer)
    if not dataclasses.is_dataclass(train_cfg) or not hasattr(train_cfg, "out_dir"):
        raise ConfigError(f"train_cfg must be a TrainConfig, got {type(train_cfg).__name__}")
    steps = train_cfg.max_steps if recipe.steps_per_round is None else recipe.steps_per_round
    _positive_int(steps, "steps_per_round")
    train_fn = recipe.train_fn or _default_train_fn()
    val_fn = default_val_fn if recipe.val_fn is None else recipe.val_fn
    if reference_val_loss is None:
        reference_val_loss = float(val_fn(ref, data, train_cfg).mean)
    if not isinstance(reference_val_loss, (int, float)) or not math.isfinite(reference_val_loss):
        raise ConfigError(f"reference_val_loss must be a finite number, got {reference_val_loss!r}")
    log = recipe.log or _log_to_stderr
    out_dir = Path(train_cfg.out_dir)
    csv_file = out_dir / CSV_NAME if recipe.csv_path is None else Path(recipe.csv_path)

    def build(n: int, previous: GPT | None) -> GPT:
        if recipe.growth == "continue" and previous is not None:
            return grow(previous, ref, add=n - previous.config.n_layer, parts=recipe.parts, seed=recipe.seed)
        return inherit(
            ref, n, parts=recipe.parts, like_official_code=recipe.like_official_code, seed=recipe.seed
        )

    rows = RecipeRows()
    model: GPT | None = None
    n, round_index, offset = start, 1, recipe.data_offset
    totals = _Totals()
    while True:
        model = build(n, model)
        cfg = _round_train_config(train_cfg, recipe, out_dir, round_index, n, steps, offset)
        result = train_fn(model, data, cfg, resume=True)
        val = val_fn(model, data, cfg)
        parity = float(val.mean) <= reference_val_loss + recipe.tolerance
        totals.add(result, fresh_model=recipe.growth != "continue")
        rows.append(_row(round_index, n, recipe.growth, result, totals, val, reference_val_loss, cfg, parity))
        _write_csv(csv_file, rows)
        log(
            f"inheritune round {round_index} ({recipe.growth}): {n} layers, val loss {val.mean:.4f} "
            f"(se {val.se:.4f}) vs reference {reference_val_loss:.4f} -> " + ("parity" if parity else "worse")
        )
        if recipe.carry_data:
            offset = cfg.sampler_offset + micro_batches_per_run(cfg)
        if parity or n >= stop:
            break
        n, round_index = n + min(recipe.grow_step, stop - n), round_index + 1

    rows.model, rows.csv_path, rows.reached_parity, rows.next_offset = model, csv_file, parity, offset
    return rows


def _default_train_fn() -> TrainFn:
    from ..training.loop import train

    return train


def _log_to_stderr(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)  # beside the trainer's progress bars


def _round_train_config(
    train_cfg: Any, recipe: RecipeConfig, out_dir: Path, round_index: int, n: int, steps: int, offset: int
) -> Any:
    """One round's TrainConfig: its own folder, T steps, its data offset, the recipe's per-round changes."""
    cfg = dataclasses.replace(
        train_cfg, out_dir=str(round_dir(out_dir, round_index, n)), max_steps=steps, sampler_offset=offset
    )
    if round_index > 1 and not recipe.warmup_every_round:
        cfg = dataclasses.replace(cfg, warmup_steps=0)
    if recipe.round_config is not None:
        cfg = recipe.round_config(round_index, n, cfg)
    return cfg


@dataclass
class _Totals:
    """Steps and tokens: spent by the recipe so far, and seen by the current round's model."""

    steps: int = 0
    tokens: int = 0
    model_steps: int = 0
    model_tokens: int = 0

    def add(self, result: Any, fresh_model: bool) -> None:
        steps, tokens = int(result.steps), int(result.tokens_seen)
        self.steps, self.tokens = self.steps + steps, self.tokens + tokens
        if fresh_model:  # a fresh inherit(): this model has seen this round only
            self.model_steps, self.model_tokens = steps, tokens
        else:
            self.model_steps, self.model_tokens = self.model_steps + steps, self.model_tokens + tokens


def _row(round_index, n, growth, result, totals, val, reference_val_loss, cfg, parity) -> dict[str, Any]:
    return dict(
        round=round_index,
        layers=n,
        growth=growth,
        steps=int(result.steps),
        model_steps=totals.model_steps,
        model_tokens=totals.model_tokens,
        total_steps=totals.steps,
        val_loss=float(val.mean),
        val_loss_se=float(val.se),
        val_tokens=int(val.tokens),
        reference_val_loss=float(reference_val_loss),
        tokens_seen=int(result.tokens_seen),
        total_tokens_seen=totals.tokens,
        sampler_offset=cfg.sampler_offset,
        wall_time_s=round(float(result.wall_time_s), 3),
        run_dir=str(cfg.out_dir),
        reached_parity=parity,
    )


__all__ = [
    "run_inheritune",
    "RecipeConfig",
    "RecipeRows",
    "CSV_COLUMNS",
    "CSV_NAME",
    "GROWTH",
    "round_dir",
    "default_val_fn",
    "micro_batches_per_run",
]


# --------------------------------------------------------------------------------------------- CLI


def build_parser(prog: str = "python -m inheritune_core.method.recipe"):
    import argparse

    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Inheritune (Algorithm 1) for a Table 10 preset at a scale: trains the k-layer reference "
        "in OUT/reference (reused when finished), then the rounds in OUT/inheritune; writes "
        "OUT/inheritune/inheritune.csv.",
    )
    parser.add_argument(
        "--preset",
        default="gpt2-medium",
        help="the reference: gpt2-medium, gpt2-large, gpt2-large-dagger, gpt2-xlarge",
    )
    parser.add_argument("--scale", default="tiny", help="config.SCALES: " + ", ".join(SCALES))
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
    parser.add_argument("--device", default=None, help="cpu or cuda (None: cuda when available)")
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="T, steps of the reference and of each round (None: the scale's)",
    )
    parser.add_argument(
        "--grow-step", type=int, default=2, help="layers added per round (Algorithm 1's growth)"
    )
    parser.add_argument(
        "--growth",
        choices=GROWTH,
        default="reinherit",
        help="reinherit: each round is inherit(reference, n) trained T steps (the paper's reading); "
        "continue: grow the trained model",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="parity: a round's validation loss <= the reference's + this",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m inheritune_core.method.recipe`: train (or reuse) a reference, then run Algorithm 1 against it."""
    import json

    import torch

    from ..data.tokens import load_token_data
    from ..errors import DataError

    args = build_parser().parse_args(argv)

    from ..errors import TrainingDiverged
    from ..models.gpt import GPTConfig
    from ..training.checkpoint import load_checkpoint
    from ..training.config import TrainConfig
    from ..training.loop import train

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
        recipe = RecipeConfig(
            grow_step=args.grow_step, tolerance=args.tolerance, growth=args.growth, data_offset=offset
        )
        rows = run_inheritune(reference, data, cfg, reference_val_loss=None, recipe=recipe)
    except (ConfigError, DataError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, (ConfigError, DataError)) else 1
    print(rows.csv_path.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
