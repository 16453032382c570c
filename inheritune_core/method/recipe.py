"""Inheritune's training recipe: the paper's Algorithm 1.

    1: initialise the target with the reference's first n = k/2 layers        (inherit.inherit)
    2: train it for T steps
    3: while its validation loss is worse than the reference's:
    4:     grow it by inheriting the reference's next layers (2 at a time)    (inherit.grow)
    5:     train it for T steps
    7: return the target

The paper's GPT-2 medium took three rounds (12, 14, 16 layers of 24); large and xlarge one round each.

Optimizer and schedule at each round: every round is a separate training run (its own folder under
`train_cfg.out_dir`, its own `metrics.csv` / `ckpt.pt` / `result.json`) with a FRESH AdamW (no moments carried
over: the grown model has new parameters, and the paper "trains for T steps" after each growth) and a FRESH
linear-warmup + cosine schedule over those T steps, i.e. `train_cfg` as given, repeated. Configurable:
- `steps_per_round` sets T (default `train_cfg.max_steps`);
- `warmup_every_round=False` skips the warmup in rounds 2, 3, ... (the weights are already trained);
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

CSV_COLUMNS = (
    "round",
    "layers",
    "steps",
    "val_loss",
    "reference_val_loss",
    "tokens_seen",
    "total_tokens_seen",
    "wall_time_s",
    "run_dir",
    "reached_parity",
)
CSV_NAME = "inheritune.csv"

TrainFn = Callable[..., Any]  # train(model, data, cfg, teacher=None, resume=True) -> TrainResult-like


class RecipeRows(list):
    """The recipe's rows (one dict per round, the CSV's columns), plus what a caller needs next.

    It *is* the list of rows (so `pandas.DataFrame(rows)` works); `.model` is the final target model (trained
    in place by the last round), `.csv_path` the CSV written, `.reached_parity` whether the last round
    matched the reference.
    """

    model: GPT
    csv_path: Path
    reached_parity: bool


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
) -> RecipeRows:
    """Run Algorithm 1 and write one CSV row per round; see the module docstring for the per-round schedule.

    reference: the trained k-layer reference (never modified).
    train_cfg: the TrainConfig of one round (T = its max_steps); rounds run in train_cfg.out_dir/roundR-NLlayers.
    reference_val_loss: the reference's validation loss to match; None computes it with
      `train.evaluate_loss` on the same fixed validation windows the trainer evaluates on.
    start_layers: n of the first round (default k // 2). grow_step: layers added per round (default 2; the
      last step is shortened so the depth never exceeds max_layers). max_layers: stop there even without
      parity (default k).
    tolerance: parity means val_loss <= reference_val_loss + tolerance (default 0: match or beat it).
    train_fn: the trainer, `train(model, data, cfg, resume=True) -> result` with `.final_val_loss`, `.steps`,
      `.tokens_seen`, `.wall_time_s` (default `inheritune_core.training.trainer.train`; injectable for tests).
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
    if not dataclasses.is_dataclass(train_cfg) or not hasattr(train_cfg, "out_dir"):
        raise ConfigError(f"train_cfg must be a TrainConfig, got {type(train_cfg).__name__}")
    steps = _positive_int(
        train_cfg.max_steps if steps_per_round is None else steps_per_round, "steps_per_round"
    )
    if train_fn is None:
        from ..training.trainer import train as train_fn
    if reference_val_loss is None:
        from ..training.trainer import evaluate_loss

        reference_val_loss = evaluate_loss(ref, data, train_cfg)
    if not isinstance(reference_val_loss, (int, float)) or not math.isfinite(reference_val_loss):
        raise ConfigError(f"reference_val_loss must be a finite number, got {reference_val_loss!r}")
    if log is None:
        from tqdm.auto import tqdm

        log = lambda message: tqdm.write(message, file=sys.stderr)  # beside the trainer's progress bars
    out_dir = Path(train_cfg.out_dir)
    csv_file = out_dir / CSV_NAME if csv_path is None else Path(csv_path)

    rows = RecipeRows()
    model = inherit(ref, start, parts=parts, like_official_code=like_official_code, seed=seed)
    n, round_index, total_tokens = start, 1, 0
    while True:
        cfg = dataclasses.replace(train_cfg, out_dir=str(round_dir(out_dir, round_index, n)), max_steps=steps)
        if round_index > 1 and not warmup_every_round:
            cfg = dataclasses.replace(cfg, warmup_steps=0)
        if round_config is not None:
            cfg = round_config(round_index, n, cfg)
        result = train_fn(model, data, cfg, resume=True)
        val = float(result.final_val_loss)
        parity = val <= reference_val_loss + tolerance
        total_tokens += int(result.tokens_seen)
        rows.append(
            dict(
                round=round_index,
                layers=n,
                steps=int(result.steps),
                val_loss=val,
                reference_val_loss=float(reference_val_loss),
                tokens_seen=int(result.tokens_seen),
                total_tokens_seen=total_tokens,
                wall_time_s=round(float(result.wall_time_s), 3),
                run_dir=str(cfg.out_dir),
                reached_parity=parity,
            )
        )
        _write_csv(csv_file, rows)
        log(
            f"inheritune round {round_index}: {n} layers, val loss {val:.4f} vs reference "
            f"{reference_val_loss:.4f} -> " + ("parity" if parity else "worse")
        )
        if parity or n >= stop:
            break
        add = min(grow_step, stop - n)
        model = grow(model, ref, add=add, parts=parts, seed=seed)
        n, round_index = n + add, round_index + 1

    rows.model, rows.csv_path, rows.reached_parity = model, csv_file, parity
    return rows


__all__ = ["run_inheritune", "RecipeRows", "CSV_COLUMNS", "CSV_NAME", "round_dir"]


# --------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """`python -m inheritune_core.method.recipe`: train (or reuse) a reference, then run Algorithm 1 against it."""
    import argparse

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
        if args.reference:
            load_checkpoint(args.reference, reference)
        else:
            train(reference, data, ref_cfg, resume=True)
        reference = reference.to(device)
        cfg = TrainConfig.from_preset(args.preset, args.scale, out / "inheritune", **overrides)
        rows = run_inheritune(
            reference, data, cfg, reference_val_loss=None, grow_step=args.grow_step, tolerance=args.tolerance
        )
    except (ConfigError, DataError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, (ConfigError, DataError)) else 1
    print(rows.csv_path.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
