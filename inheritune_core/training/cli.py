"""`python -m inheritune_core.training` / `inheritune train`: train one preset model on a prepared corpus."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

import torch

from ..config import SCALES
from ..errors import ConfigError, DataError, TrainingDiverged, TrainingInterrupted
from .checkpoint import no_space_message
from .config import TrainConfig, check_device
from .loop import train


def build_parser(prog: str = "python -m inheritune_core.training") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train the paper's GPT-2 (a Table 10 preset at a scale) on a prepared corpus. One process "
        "owns a run folder at a time: a second one on the same --out prints whom it waits for and waits. "
        "SIGTERM/Ctrl-C checkpoint at the next step and exit (128 + the signal); --resume continues.",
    )
    parser.add_argument(
        "--preset", required=True, help="gpt2-medium, gpt2-large, gpt2-large-dagger, gpt2-xlarge"
    )
    parser.add_argument("--scale", default="tiny", help="config.SCALES: " + ", ".join(SCALES))
    parser.add_argument(
        "--data", required=True, help="a prepared corpus folder (train.bin, val.bin, meta.json)"
    )
    parser.add_argument("--out", required=True, help="the run folder (metrics.csv, ckpt.pt, result.json)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out (or return it if finished)"
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (None: cuda when available)")
    parser.add_argument(
        "--max-steps", type=int, default=None, help="optimizer steps (None: the scale's step count)"
    )
    parser.add_argument(
        "--n-layer",
        type=int,
        default=None,
        help="a paper layer count, scaled like the preset's (None: its own)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (GPU runs)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    from ..data.tokens import load_token_data
    from ..models.gpt import GPT, GPTConfig

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    overrides: dict[str, Any] = dict(device=device, compile=args.compile, progress=not args.no_progress)
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    try:
        if args.n_layer is not None and args.n_layer <= 0:  # it would be scaled up to 1 layer silently
            raise ConfigError(f"--n-layer must be a positive layer count, got {args.n_layer}")
        check_device(device)
        model_cfg = GPTConfig.from_preset(args.preset, args.scale, n_layer=args.n_layer)
        cfg = TrainConfig.from_preset(args.preset, args.scale, args.out, **overrides)
        data = load_token_data(args.data)
        torch.manual_seed(cfg.seed)
        model = GPT(model_cfg)
        result = train(model, data, cfg, resume=args.resume)
    except (ConfigError, DataError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, (ConfigError, DataError)) else 1
    except TrainingInterrupted as e:
        print(f"interrupted by {e}", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:  # a second Ctrl-C, or one while waiting for the folder's lock
        print(f"interrupted: stopped at once; a ckpt.pt in {args.out} resumes the run", file=sys.stderr)
        return 128 + signal.SIGINT
    except OSError as e:
        message = no_space_message(e, args.out)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"done: {result.steps} steps, {result.tokens_seen} tokens, val loss {result.final_val_loss:.4f} "
            f"(best {result.best_val_loss:.4f}); {result.metrics_csv}"
        )
    return 0


__all__ = ["main", "build_parser"]
