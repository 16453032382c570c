"""The depth sweep (beyond the paper, issue 18): does depth matter at a scale? The *depth gap* (validation loss of
a random k/2-layer model minus that of a random k-layer model, equal steps) against the training budget.

Inheritune's parity claim ("the small model matches the reference") is only informative where the reference
beats a random half-depth model trained for the same steps; at `tiny` it does not (issue 18), so parity there is
free. This sweep measures the precondition directly, for any scale, derived from the scale alone:
- k is GPT-2 medium's 24 layers at the scale (`config.model_config_kwargs("gpt2-medium", scale)`: 8 at tiny and
  cpu), the half depth k // 2; width, heads, block, vocabulary and optimizer are the scale's
  (`config.optim_kwargs`), with `max_steps` = the budget and `eval_interval` = budget // 10;
- each run is a random initialisation (`method.inheritance.random_init`, the run's seed, which also seeds its
  batches) trained by the package's trainer (`inheritune_core.train`) on the scale's corpus
  (`experiments.setup.make_setup`: data/english-byte at cpu), and ends with the run's final validation
  (`training.validation.validation_loss_of_run`: the whole split, or the scale's `val_windows`);
- a run's folder is `runs_dir()/depth_sweep/<scale>/<L>L-<steps>steps-seed<s>/`; one holding result.json is read
  back, never retrained, and an interrupted one resumes from its checkpoint.

`sweep` trains what is missing (in this process, or `workers` subprocesses of `threads` torch threads each) and
returns the tidy rows (one per run: scale, layers, steps, tokens, seed, val_loss, se, val_tokens, wall_time_s and
the scale's configuration) and curves (each run's periodic validation losses); `.write(results_dir,
"depth_sweep")` puts them in results/depth_sweep/depth_sweep.csv and curves.csv, replacing only that scale's
rows. The gap statistics and the figure are the report's (report/depth_sweep.py), from the CSVs alone.

    python -m inheritune_core.experiments.depth_sweep run --scale cpu --workers 2 --threads 1
    python -m inheritune_core.experiments.depth_sweep collect --scale cpu   # CSVs from the finished runs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import get_scale, model_config_kwargs, optim_kwargs
from ..errors import ConfigError
from ..io import read_metrics
from ..paths import results_dir as default_results_dir
from ..paths import runs_dir as default_runs_dir
from .runs import METRICS_FILE, RESULT_FILE, TRAINING_COUNTER
from .setup import ExperimentOutput

NAME = "depth_sweep"
MODULE = "inheritune_core.experiments.depth_sweep"  # not __name__: "__main__" under `python -m`
PRESET = "gpt2-medium"  # the reference of Table 1: 24 layers, 8 at tiny and cpu
DEFAULT_SCALE = "cpu"
DEFAULT_SEEDS = (0, 1, 2)


def depths(scale: str) -> tuple[int, int]:
    """(k, k // 2): the scale's reference depth and the half depth it is compared with."""
    k = model_config_kwargs(PRESET, scale)["n_layer"]
    if k < 2:
        raise ConfigError(f"scale {scale}: a {k}-layer reference has no half depth to compare with")
    return k, k // 2


def default_budgets(scale: str) -> list[int]:
    """The scale's steps, half and quarter (10000, 5000, 2500 at cpu; 200, 100, 50 at tiny)."""
    t = optim_kwargs(PRESET, scale)["max_steps"]
    return list(dict.fromkeys(b for b in (t, t // 2, t // 4) if b > 0))


def run_dir(
    scale: str, layers: int, steps: int, seed: int, runs_dir: str | os.PathLike | None = None
) -> Path:
    """runs_dir/depth_sweep/<scale>/<L>L-<steps>steps-seed<s>/ (the naming finished folders are found by)."""
    base = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    return base / NAME / scale / f"{layers}L-{steps}steps-seed{seed}"


def jobs(scale: str, budgets: Sequence[int], seeds: Sequence[int]) -> list[tuple[int, int, int]]:
    """(layers, steps, seed) of every run: largest budget first (the point that decides), and within a seed
    the deeper model first (the longest job), so parallel workers finish together."""
    k, half = depths(scale)
    return [(layers, b, s) for b in sorted(budgets, reverse=True) for s in seeds for layers in (k, half)]


def _check(scale: str, budgets: Sequence[int], seeds: Sequence[int], workers: int) -> None:
    get_scale(scale)
    for what, xs in (("budgets", budgets), ("seeds", seeds)):
        if (
            not xs
            or any(isinstance(x, bool) or not isinstance(x, int) for x in xs)
            or len(set(xs)) != len(xs)
        ):
            raise ConfigError(f"{what} must be a non-empty list of distinct integers, got {list(xs)!r}")
    if min(budgets) <= 0 or min(seeds) < 0:
        raise ConfigError(f"budgets must be > 0 and seeds >= 0, got {list(budgets)!r} and {list(seeds)!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")


def train_config(scale: str, out_dir: str | os.PathLike, steps: int, seed: int, **extra: Any):
    """The trainer's config of one run: the scale's, with max_steps = steps and an evaluation every tenth."""
    from ..training.config import TrainConfig

    kwargs = optim_kwargs(PRESET, scale)
    kwargs.update(max_steps=steps, eval_interval=max(1, steps // 10), log_interval=max(1, steps // 100))
    return TrainConfig(out_dir=str(out_dir), seed=seed, **kwargs, **extra)


def train_one(
    scale: str,
    layers: int,
    steps: int,
    seed: int,
    *,
    data: str | os.PathLike | None = None,
    runs_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    progress: bool = False,
    threads: int | None = None,
) -> Path:
    """Train (or resume) one run of the sweep; its folder. A folder with result.json is returned untouched."""
    out = run_dir(scale, layers, steps, seed, runs_dir)
    if (out / RESULT_FILE).is_file():
        return out
    import torch

    from ..method.inheritance import random_init
    from ..models.gpt import GPTConfig
    from ..training.trainer import train
    from ..training.validation import validation_loss_of_run
    from .setup import make_setup

    if threads:
        torch.set_num_threads(threads)
    corpus = make_setup(scale, data=data, progress=progress, downstream=False).data
    model = random_init(GPTConfig(**model_config_kwargs(PRESET, scale) | {"n_layer": layers}), seed=seed)
    cfg = train_config(scale, out, steps, seed, device=device, progress=progress)
    train(
        model,
        corpus,
        cfg,
        resume=True,
        final_eval=lambda m: validation_loss_of_run(m, corpus, cfg).to_result(),
    )
    return out


def _train_in_subprocesses(
    scale: str, todo: list[tuple[int, int, int]], workers: int, threads: int, common: list[str], log
) -> list[tuple[int, int, int]]:
    """`workers` processes of `python -m ... one` at a time, each with `threads` threads; the failed jobs."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    todo, running, failed = list(todo), [], []
    while todo or running:
        while todo and len(running) < workers:
            job = todo.pop(0)
            argv = [sys.executable, "-m", MODULE, "one", "--scale", scale, "--threads", str(threads)]
            argv += ["--layers", str(job[0]), "--steps", str(job[1]), "--seed", str(job[2]), *common]
            running.append((subprocess.Popen(argv, env=env), job, time.time()))
            log(f"start {job[0]}L {job[1]} steps seed {job[2]}")
        time.sleep(0.5)
        for entry in list(running):
            proc, job, t0 = entry
            if proc.poll() is None:
                continue
            running.remove(entry)
            if proc.returncode == 0:
                TRAINING_COUNTER["trained"] += 1
            else:
                failed.append(job)
            log(
                f"done  {job[0]}L {job[1]} steps seed {job[2]}: rc {proc.returncode}, {time.time() - t0:.0f} s"
            )
    return failed


def sweep(
    scale: str = DEFAULT_SCALE,
    budgets: Sequence[int] | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    workers: int = 1,
    threads: int | None = None,
    progress: bool = True,
    *,
    data: str | os.PathLike | None = None,
    device: str = "cpu",
    runs_dir: str | os.PathLike | None = None,
) -> ExperimentOutput:
    """Train the sweep's missing runs (see the module docstring) and return the rows and curves of every run
    asked for. budgets: steps per run (None: `default_budgets(scale)`); workers > 1 trains in subprocesses of
    `threads` torch threads each (None: the cores shared out); workers = 1 in this process."""
    budgets = default_budgets(scale) if budgets is None else list(budgets)
    seeds = list(seeds)
    _check(scale, budgets, seeds, workers)
    every = jobs(scale, budgets, seeds)
    todo = [j for j in every if not (run_dir(scale, *j, runs_dir) / RESULT_FILE).is_file()]
    TRAINING_COUNTER["loaded"] += len(every) - len(todo)

    def log(line: str) -> None:
        print(f"[{NAME}] {line}", flush=True)

    log(f"scale {scale}: {len(every)} runs, {len(every) - len(todo)} read back, {len(todo)} to train")
    if todo and workers > 1:
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        common = ["--device", device]
        common += ["--data", str(data)] if data else []
        common += ["--runs-dir", str(runs_dir)] if runs_dir else []
        failed = _train_in_subprocesses(scale, todo, workers, threads, common, log)
        if failed:
            raise RuntimeError(f"{len(failed)} depth-sweep runs failed (layers, steps, seed): {failed}")
    for i, job in enumerate(todo if workers == 1 else (), 1):
        log(f"run {i}/{len(todo)}: {job[0]}L {job[1]} steps seed {job[2]}: training")
        train_one(
            scale, *job, data=data, runs_dir=runs_dir, device=device, progress=progress, threads=threads
        )
        TRAINING_COUNTER["trained"] += 1
    return collect(scale, runs_dir, only=every)


def config_columns(scale: str) -> dict[str, Any]:
    """The scale's settings every row carries, so a CSV says what it measured."""
    m, o = model_config_kwargs(PRESET, scale), optim_kwargs(PRESET, scale)
    return {
        "tokenizer": get_scale(scale).tokenizer,
        "n_embd": m["n_embd"],
        "n_head": m["n_head"],
        "block_size": m["block_size"],
        "batch_tokens": o["batch_tokens"],
        "learning_rate": o["learning_rate"],
    }


def _parse_name(name: str) -> tuple[int, int, int] | None:
    """(layers, steps, seed) of a folder named <L>L-<steps>steps-seed<s>; None for another name."""
    try:
        layers, rest = name.split("L-", 1)
        steps, seed = rest.split("steps-seed", 1)
        return int(layers), int(steps), int(seed)
    except ValueError:
        return None


def read_run(scale: str, folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One finished run's row and curve points (from result.json and metrics.csv; no torch)."""
    layers, steps, seed = _parse_name(folder.name)
    try:
        result = json.loads((folder / RESULT_FILE).read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{folder / RESULT_FILE} is corrupt ({e}); delete {folder} to retrain it") from None
    if "val_loss_full" not in result:
        raise ConfigError(f"{folder / RESULT_FILE} has no final validation (val_loss_full); delete {folder}")
    cfg = config_columns(scale)
    row = {
        "scale": scale,
        "layers": layers,
        "steps": steps,
        "tokens": int(result.get("tokens_seen", steps * cfg["batch_tokens"])),
        "seed": seed,
        "val_loss": float(result["val_loss_full"]),
        "se": float(result["val_loss_se"]),
        "val_tokens": int(result["val_tokens"]),
        "wall_time_s": round(float(result["wall_time_s"]), 1),
        **cfg,
    }
    curves = [
        {"scale": scale, "layers": layers, "budget": steps, "seed": seed}
        | {"step": int(m["step"]), "tokens": int(m["tokens"]), "val_loss": float(m["val_loss"])}
        for m in read_metrics(folder / METRICS_FILE)
        if m.get("val_loss") is not None
    ]
    return row, curves


def collect(
    scale: str = DEFAULT_SCALE,
    runs_dir: str | os.PathLike | None = None,
    only: Sequence[tuple[int, int, int]] | None = None,
) -> ExperimentOutput:
    """The rows and curves of the scale's finished runs (those in `only`, (layers, steps, seed), when given)."""
    get_scale(scale)
    base = run_dir(scale, 1, 1, 0, runs_dir).parent
    out = ExperimentOutput()
    wanted = None if only is None else set(only)
    for folder in sorted(base.glob("*L-*steps-seed*")) if base.is_dir() else ():
        key = _parse_name(folder.name)
        if key is None or (wanted is not None and key not in wanted) or not (folder / RESULT_FILE).is_file():
            continue
        row, curves = read_run(scale, folder)
        out.rows.append(row)
        out.curves += curves
    if wanted is not None and len(out.rows) != len(wanted):
        found = {(r["layers"], r["steps"], r["seed"]) for r in out.rows}
        raise ConfigError(f"depth-sweep runs without result.json under {base}: {sorted(wanted - found)}")
    out.rows.sort(key=lambda r: (r["steps"], r["layers"], r["seed"]))
    out.curves.sort(key=lambda r: (r["budget"], r["layers"], r["seed"], r["step"]))
    return out


# ---------------------------------------------------------------------------------------------------- CLI
def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.split("\n\n")[0], formatter_class=fmt
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train the missing runs, then write the CSVs", formatter_class=fmt)
    one = sub.add_parser("one", help="train one run (what `run --workers N` starts)", formatter_class=fmt)
    col = sub.add_parser("collect", help="write the CSVs from the finished runs", formatter_class=fmt)
    for s in (run, one, col):
        s.add_argument("--scale", default=DEFAULT_SCALE, help="config.SCALES name")
        s.add_argument("--runs-dir", default=None, help="runs folder (None: $INHERITUNE_RUNS_DIR or runs/)")
    for s in (run, col):
        s.add_argument("--results-dir", default=None, help="results folder (None: results/)")
    for s in (run, one):
        s.add_argument("--data", default=None, help="prepared corpus (None: the scale's bundled one)")
        s.add_argument("--device", default="cpu", help="cpu | cuda")
    run.add_argument(
        "--budgets",
        type=_ints,
        default=None,
        help="steps per run, comma-separated (None: the scale's steps, half and quarter: 10000,5000,2500 at cpu)",
    )
    run.add_argument("--seeds", type=_ints, default=list(DEFAULT_SEEDS), help="seeds, comma-separated")
    run.add_argument("--workers", type=int, default=1, help="runs trained at once (subprocesses when > 1)")
    run.add_argument(
        "--threads", type=int, default=None, help="torch threads per run (None: cores / workers)"
    )
    one.add_argument("--layers", type=int, required=True, help="depth")
    one.add_argument("--steps", type=int, required=True, help="optimizer steps (the budget)")
    one.add_argument("--seed", type=int, required=True, help="initialisation and data seed")
    one.add_argument("--threads", type=int, default=None, help="torch threads (None: torch's default)")
    return p


def _write(out: ExperimentOutput, scale: str, results_dir: str | None) -> None:
    if not out.rows:
        raise ConfigError(f"no finished depth-sweep run at scale {scale}: run `run` first")
    for path in out.write(default_results_dir(results_dir), NAME):
        print(path)
    # The gap statistics are the report's (report/depth_sweep.py); the experiments room never imports the
    # report room (tests/test_architecture.py), so they are printed by its own command, from the CSV just written.
    csv = default_results_dir(results_dir) / NAME / f"{NAME}.csv"
    subprocess.run(
        [sys.executable, "-m", "inheritune_core.report.depth_sweep", "summary", str(csv)], check=False
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "one":
            train_one(
                args.scale,
                args.layers,
                args.steps,
                args.seed,
                data=args.data,
                runs_dir=args.runs_dir,
                device=args.device,
                threads=args.threads,
            )
        elif args.command == "run":
            out = sweep(
                args.scale,
                args.budgets,
                args.seeds,
                args.workers,
                args.threads,
                progress=False,
                data=args.data,
                device=args.device,
                runs_dir=args.runs_dir,
            )
            _write(out, args.scale, args.results_dir)
        else:
            _write(collect(args.scale, args.runs_dir), args.scale, args.results_dir)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # a worker's run failed (its own traceback is above)
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "NAME",
    "PRESET",
    "DEFAULT_SCALE",
    "DEFAULT_SEEDS",
    "depths",
    "default_budgets",
    "run_dir",
    "jobs",
    "train_config",
    "train_one",
    "sweep",
    "collect",
    "read_run",
    "config_columns",
    "main",
]
