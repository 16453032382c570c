"""Depth-gap sweep: at which CPU budget does a k-layer reference beat a random k/2-layer model at equal steps?

Issue 18: at `tiny` an 8-layer reference is no better than a 4-layer random model, so "Ours matches the
reference" is empty there. This sweep measures the *depth gap* (validation loss of the k/2-layer model minus the
k-layer model's, both trained from random initialisation for the same steps on the same data) against the tokens
seen, over seeds, for one candidate configuration at a time, and says where the gap passes 4 sigma.

Every run goes through the package's own trainer (`inheritune_core.training.train`: cosine schedule, AdamW,
whole-split validation at the end, exact resume), on the byte-level bundled corpus (`data/english-byte`, made by
`python -m inheritune_core.data prepare --tokenizer byte`). Runs are cached under runs/depth_sweep/, so a killed
sweep resumes where it stopped and rerunning it only collects.

    python benchmarks/depth_sweep.py run --budgets 10000,5000,2500 --seeds 0,1,2 --workers 2
    python benchmarks/depth_sweep.py collect      # results/depth_sweep/depth_sweep.csv (+ curves.csv)
    python benchmarks/depth_sweep.py plot         # paper/figures/depth_sweep.png from the CSV alone

sigma of a gap is the standard error of the difference of the two seed means (sample std over seeds of each
arm, / sqrt(n_seeds), added in quadrature); the validation split is shared by both arms, so its own standard
error (the `se` column) is reported but not added.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inheritune_core.paths import data_dir, paper_dir, results_dir, runs_dir  # noqa: E402


@dataclass(frozen=True)
class Candidate:
    """One configuration of the sweep: everything but depth, budget and seed."""

    name: str
    tokenizer: str = "byte"
    n_embd: int = 128
    n_head: int = 4
    block_size: int = 64
    micro_batch: int = 12
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    vocab_size: int = 320  # 257 byte ids padded to a multiple of 64, as nanoGPT pads GPT-2's vocabulary
    reference_layers: int = 8

    @property
    def batch_tokens(self) -> int:
        return self.micro_batch * self.block_size


# nanoGPT's well-known CPU character-level configuration (issue 18), with an 8-layer reference so that
# Algorithm 1 can start at 4 layers and grow to 6.
CANDIDATES = {"byte-w128-b64": Candidate("byte-w128-b64")}


def run_dir(c: Candidate, layers: int, steps: int, seed: int) -> Path:
    return runs_dir() / "depth_sweep" / c.name / f"{layers}L-{steps}steps-seed{seed}"


def train_one(c: Candidate, layers: int, steps: int, seed: int, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    from inheritune_core import TrainConfig, train
    from inheritune_core.data.tokens import load_token_data
    from inheritune_core.method.inheritance import random_init
    from inheritune_core.models.gpt import GPTConfig
    from inheritune_core.training.validation import validation_loss

    data = load_token_data(data_dir() / f"english-{c.tokenizer}")
    model = random_init(
        GPTConfig(
            n_layer=layers,
            n_embd=c.n_embd,
            n_head=c.n_head,
            block_size=c.block_size,
            vocab_size=c.vocab_size,
            bias=False,
            scale_attn_by_inverse_layer_idx=True,
        ),
        seed=seed,
    )
    cfg = TrainConfig(
        out_dir=str(run_dir(c, layers, steps, seed)),
        max_steps=steps,
        batch_tokens=c.batch_tokens,
        micro_batch=c.micro_batch,
        block_size=c.block_size,
        learning_rate=c.learning_rate,
        min_lr=c.min_lr,
        warmup_steps=c.warmup_steps,
        eval_interval=max(1, steps // 10),
        eval_iters=40,
        log_interval=max(1, steps // 100),
        seed=seed,
        progress=False,
    )

    def whole_split(m):
        v = validation_loss(m, data, c.block_size)
        return {"val_loss_full": v.mean, "val_loss_se": v.se, "val_tokens": v.tokens}

    train(model, data, cfg, final_eval=whole_split)


def jobs(c: Candidate, budgets: list[int], seeds: list[int]) -> list[tuple[int, int, int]]:
    """Largest budget first (the point that decides), deeper model first within a seed (the longest job)."""
    half = c.reference_layers // 2
    return [
        (layers, b, s)
        for b in sorted(budgets, reverse=True)
        for s in seeds
        for layers in (c.reference_layers, half)
    ]


def cmd_run(args: argparse.Namespace) -> None:
    c = CANDIDATES[args.candidate]
    todo = [j for j in jobs(c, args.budgets, args.seeds) if not (run_dir(c, *j) / "result.json").is_file()]
    print(f"{len(todo)} runs to train ({args.workers} at a time, {args.threads} thread(s) each)", flush=True)
    running: list[tuple[subprocess.Popen, tuple[int, int, int], float]] = []
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    while todo or running:
        while todo and len(running) < args.workers:
            job = todo.pop(0)
            argv = [sys.executable, __file__, "one", "--candidate", c.name, "--threads", str(args.threads)]
            argv += ["--layers", str(job[0]), "--steps", str(job[1]), "--seed", str(job[2])]
            running.append((subprocess.Popen(argv, env=env), job, time.time()))
            print(f"start {job[0]}L {job[1]} steps seed {job[2]}", flush=True)
        time.sleep(2)
        for p, job, t0 in list(running):
            if p.poll() is not None:
                running.remove((p, job, t0))
                print(
                    f"done  {job[0]}L {job[1]} steps seed {job[2]}: rc {p.returncode}, {time.time() - t0:.0f} s",
                    flush=True,
                )


FIELDS = (
    "candidate tokenizer n_embd n_head block_size batch_tokens learning_rate layers steps tokens seed "
    "val_loss se val_tokens wall_time_s"
).split()


def cmd_collect(args: argparse.Namespace) -> None:
    from inheritune_core.io import write_csv

    rows, curves = [], []
    for c in CANDIDATES.values():
        base = runs_dir() / "depth_sweep" / c.name
        for d in sorted(base.glob("*L-*steps-seed*")):
            if not (d / "result.json").is_file():
                continue
            r = json.loads((d / "result.json").read_text())
            layers, steps, seed = (
                int(x) for x in d.name.replace("L-", " ").replace("steps-seed", " ").split()
            )
            meta = {k: v for k, v in asdict(c).items() if k in FIELDS} | {"candidate": c.name}
            rows.append(
                meta
                | {
                    "batch_tokens": c.batch_tokens,
                    "layers": layers,
                    "steps": steps,
                    "tokens": steps * c.batch_tokens,
                    "seed": seed,
                    "val_loss": r["val_loss_full"],
                    "se": r["val_loss_se"],
                    "val_tokens": r["val_tokens"],
                    "wall_time_s": round(float(r["wall_time_s"]), 1),
                }
            )
            with open(d / "metrics.csv", newline="") as f:
                for m in csv.DictReader(f):
                    if m["val_loss"]:
                        curves.append(
                            {"candidate": c.name, "layers": layers, "budget": steps, "seed": seed}
                            | {
                                "step": int(m["step"]),
                                "tokens": int(m["tokens"]),
                                "val_loss": float(m["val_loss"]),
                            }
                        )
    rows.sort(key=lambda r: (r["candidate"], r["steps"], r["layers"], r["seed"]))
    curves.sort(key=lambda r: (r["candidate"], r["budget"], r["layers"], r["seed"], r["step"]))
    if not rows:
        raise SystemExit(f"error: no finished sweep run under {runs_dir() / 'depth_sweep'}; run `run` first")
    out = results_dir() / "depth_sweep"
    print(write_csv(rows, out / "depth_sweep.csv"), f"{len(rows)} runs")
    print(write_csv(curves, out / "curves.csv"), f"{len(curves)} points")
    for line in gap_lines(rows):
        print(line)


def gaps(rows: list[dict]) -> list[dict]:
    """Per (candidate, steps): mean val loss of each depth over seeds, the gap (half - reference) and its sigma."""
    out = []
    keys = sorted({(r["candidate"], int(r["steps"])) for r in rows})
    for cand, steps in keys:
        sel = [r for r in rows if r["candidate"] == cand and int(r["steps"]) == steps]
        depths = sorted({int(r["layers"]) for r in sel})
        if len(depths) != 2:
            continue
        half, ref = depths
        a = [float(r["val_loss"]) for r in sel if int(r["layers"]) == half]
        b = [float(r["val_loss"]) for r in sel if int(r["layers"]) == ref]
        n = min(len(a), len(b))
        if n < 2:
            sigma = math.nan
        else:
            sigma = math.sqrt(_var(a) / len(a) + _var(b) / len(b))
        gap = sum(a) / len(a) - sum(b) / len(b)
        tokens = int(sel[0]["tokens"])
        out.append(
            dict(
                candidate=cand,
                steps=steps,
                tokens=tokens,
                half=half,
                reference=ref,
                n_half=len(a),
                n_ref=len(b),
                gap=gap,
                sigma=sigma,
                passes=bool(n >= 3 and gap > 4 * sigma),
            )
        )
    return out


def _var(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def gap_lines(rows: list[dict]) -> list[str]:
    return [
        f"{g['candidate']}: {g['steps']} steps ({g['tokens']:,} tokens): {g['half']}L - {g['reference']}L = "
        f"{g['gap']:+.4f} (sigma {g['sigma']:.4f}, seeds {g['n_half']}/{g['n_ref']}) -> "
        f"{'passes 4 sigma' if g['passes'] else 'does not pass 4 sigma'}"
        for g in gaps(rows)
    ]


def cmd_plot(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = results_dir() / "depth_sweep" / "depth_sweep.csv"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for cand in sorted({r["candidate"] for r in rows}):
        g = [x for x in gaps(rows) if x["candidate"] == cand]
        xs = [x["tokens"] / 1e6 for x in g]
        ax.errorbar(
            xs,
            [x["gap"] for x in g],
            yerr=[2 * x["sigma"] for x in g],
            marker="o",
            capsize=3,
            label=f"{cand}: gap ± 2σ",
        )
        ax.plot(xs, [4 * x["sigma"] for x in g], ls="--", color="grey", label="4σ")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("tokens seen (millions of bytes)")
    ax.set_ylabel("val loss: random k/2 layers − k layers")
    ax.set_title("Depth gap vs budget (8L reference vs 4L, equal steps)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = paper_dir() / "figures" / "depth_sweep.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    def ints(s: str) -> list[int]:
        return [int(x) for x in s.split(",") if x]

    r = sub.add_parser(
        "run", help="train the missing runs", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    r.add_argument("--candidate", default="byte-w128-b64", choices=sorted(CANDIDATES), help="configuration")
    r.add_argument("--budgets", type=ints, default=[10000, 5000, 2500], help="steps per run, comma-separated")
    r.add_argument("--seeds", type=ints, default=[0, 1, 2], help="seeds, comma-separated")
    r.add_argument("--workers", type=int, default=2, help="runs trained at once")
    r.add_argument("--threads", type=int, default=1, help="torch threads per run")
    o = sub.add_parser(
        "one", help="train one run (used by run)", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    o.add_argument("--candidate", default="byte-w128-b64", choices=sorted(CANDIDATES), help="configuration")
    o.add_argument("--layers", type=int, required=True, help="depth")
    o.add_argument("--steps", type=int, required=True, help="optimizer steps")
    o.add_argument("--seed", type=int, required=True, help="initialisation and data seed")
    o.add_argument("--threads", type=int, default=1, help="torch threads")
    sub.add_parser("collect", help="write results/depth_sweep/*.csv from the finished runs")
    sub.add_parser("plot", help="draw paper/figures/depth_sweep.png from the CSV")
    args = p.parse_args(argv)
    if args.command == "run":
        cmd_run(args)
    elif args.command == "one":
        train_one(CANDIDATES[args.candidate], args.layers, args.steps, args.seed, args.threads)
    elif args.command == "collect":
        cmd_collect(args)
    else:
        cmd_plot(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
