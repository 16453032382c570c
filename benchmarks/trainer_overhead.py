"""The trainer end to end against a bare forward/backward/step loop on the same model, in one process.

Issue 18, item 6: at a CPU scale more tokens per hour is a deeper regime, so the trainer's own costs (sampling,
periodic validation, checkpoints, metrics, the final whole-split validation) must stay small. This prints, for the
settings of a scale (default the byte-level `cpu` scale, `inheritune_core.config.SCALES`, as the depth sweep
`inheritune_core.experiments.depth_sweep` trains them):

- bare: `model(x)`, cross-entropy, backward, clip, AdamW step on batches already in memory (the floor);
- trainer: `inheritune_core.train` for the same steps with the sweep's config (`depth_sweep.train_config`) at
  the scale's evaluation interval, its wall time split into training and the final whole-split validation;
- optionally the bare loop under `torch.compile` and with 1 or 2 threads.

    python benchmarks/trainer_overhead.py --layers 8 --steps 1000 --threads 2 [--compile]

Time it on an idle machine (nothing else training) and name the machine with the numbers (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bare_loop(model, data, opt_cfg: dict, steps: int, compile_: bool) -> float:
    """Seconds for `steps` optimizer steps with no sampling, logging, evaluation or checkpointing."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    tokens = data.split("train")
    rng = np.random.default_rng(0)
    block, micro = opt_cfg["block_size"], opt_cfg["micro_batch"]
    starts = rng.integers(0, len(tokens) - block - 1, size=(steps, micro))
    batches = [
        torch.from_numpy(np.stack([tokens[s : s + block + 1] for s in row]).astype(np.int64))
        for row in starts
    ]
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=opt_cfg["learning_rate"],
        betas=(opt_cfg["beta1"], opt_cfg["beta2"]),
        weight_decay=opt_cfg["weight_decay"],
    )
    fwd = torch.compile(model) if compile_ else model

    def step(b):
        logits = fwd(b[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), b[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for b in batches[:3]:  # warm-up (and compilation)
        step(b)
    t0 = time.perf_counter()
    for b in batches:
        step(b)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--layers", type=int, default=8, help="depth of the model timed")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps timed")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--scale", default="cpu", help="config.SCALES name whose settings are timed")
    p.add_argument("--compile", action="store_true", help="also time the bare loop under torch.compile")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from inheritune_core import train
    from inheritune_core.config import get_scale, model_config_kwargs, optim_kwargs
    from inheritune_core.experiments.depth_sweep import PRESET, train_config
    from inheritune_core.experiments.setup import make_setup
    from inheritune_core.method.inheritance import random_init
    from inheritune_core.models.gpt import GPTConfig
    from inheritune_core.training.validation import validation_loss_of_run

    get_scale(args.scale)
    data = make_setup(args.scale, progress=False, downstream=False).data
    mcfg = GPTConfig(**model_config_kwargs(PRESET, args.scale) | {"n_layer": args.layers})
    opt_cfg = optim_kwargs(PRESET, args.scale)
    tokens = args.steps * opt_cfg["batch_tokens"]
    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} thread(s); scale "
        f"{args.scale}: {args.layers}L w{mcfg.n_embd} block {mcfg.block_size} x {opt_cfg['micro_batch']}, "
        f"{args.steps} steps"
    )

    secs = bare_loop(random_init(mcfg, seed=0), data, opt_cfg, args.steps, False)
    print(f"bare loop (eager):     {secs:7.1f} s  {tokens / secs:9,.0f} tokens/s")
    if args.compile:
        secs_c = bare_loop(random_init(mcfg, seed=0), data, opt_cfg, args.steps, True)
        print(
            f"bare loop (compiled):  {secs_c:7.1f} s  {tokens / secs_c:9,.0f} tokens/s ({secs / secs_c:.2f}x eager)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        # The scale's own evaluation interval (the sweep's budget // 10 would evaluate every 30 steps of a short
        # timing run, an overhead no real run of the scale pays).
        cfg = dataclasses.replace(
            train_config(args.scale, tmp, args.steps, 0, progress=False),
            eval_interval=opt_cfg["eval_interval"],
        )
        final = {}

        def whole_split(m):
            t = time.perf_counter()
            result = validation_loss_of_run(m, data, cfg).to_result()
            final["s"] = time.perf_counter() - t
            return result

        t0 = time.perf_counter()
        train(random_init(mcfg, seed=0), data, cfg, final_eval=whole_split)
        total = time.perf_counter() - t0
    loop = total - final["s"]
    print(
        f"trainer (loop, evals, checkpoints): {loop:7.1f} s  {tokens / loop:9,.0f} tokens/s "
        f"({100 * (loop / secs - 1):+.1f}% vs bare)"
    )
    print(f"trainer final whole-split validation: {final['s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
