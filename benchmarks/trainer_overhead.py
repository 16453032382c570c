"""The trainer end to end against a bare forward/backward/step loop on the same model, in one process.

Issue 18, item 6: at a CPU scale more tokens per hour is a deeper regime, so the trainer's own costs (sampling,
periodic validation, checkpoints, metrics, the final whole-split validation) must stay small. This prints, for the
byte-level CPU configuration of `benchmarks/depth_sweep.py`:

- bare: `model(x)`, cross-entropy, backward, clip, AdamW step on batches already in memory (the floor);
- trainer: `inheritune_core.train` for the same steps with the sweep's evaluation and checkpoint settings, its
  wall time split into training and the final whole-split validation;
- optionally the bare loop under `torch.compile` and with 1 or 2 threads.

    python benchmarks/trainer_overhead.py --layers 8 --steps 300 --threads 2 [--compile]

Time it on an idle machine (nothing else training) and name the machine with the numbers (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def bare_loop(model, data, cand, steps: int, compile_: bool) -> float:
    """Seconds for `steps` optimizer steps with no sampling, logging, evaluation or checkpointing."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    tokens = data.split("train")
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(tokens) - cand.block_size - 1, size=(steps, cand.micro_batch))
    batches = [
        torch.from_numpy(np.stack([tokens[s : s + cand.block_size + 1] for s in row]).astype(np.int64))
        for row in starts
    ]
    opt = torch.optim.AdamW(model.parameters(), lr=cand.learning_rate, betas=(0.9, 0.95), weight_decay=0.1)
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
    p.add_argument("--steps", type=int, default=300, help="optimizer steps timed")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--compile", action="store_true", help="also time the bare loop under torch.compile")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from depth_sweep import CANDIDATES

    from inheritune_core import TrainConfig, train
    from inheritune_core.data.tokens import load_token_data
    from inheritune_core.method.inheritance import random_init
    from inheritune_core.models.gpt import GPTConfig
    from inheritune_core.paths import data_dir
    from inheritune_core.training.validation import validation_loss

    cand = CANDIDATES["byte-w128-b64"]
    data = load_token_data(data_dir() / f"english-{cand.tokenizer}")
    mcfg = GPTConfig(
        n_layer=args.layers,
        n_embd=cand.n_embd,
        n_head=cand.n_head,
        block_size=cand.block_size,
        vocab_size=cand.vocab_size,
        bias=False,
        scale_attn_by_inverse_layer_idx=True,
    )
    tokens = args.steps * cand.batch_tokens
    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} thread(s); "
        f"{args.layers}L w{cand.n_embd} block {cand.block_size} x {cand.micro_batch}, {args.steps} steps"
    )

    secs = bare_loop(random_init(mcfg, seed=0), data, cand, args.steps, False)
    print(f"bare loop (eager):     {secs:7.1f} s  {tokens / secs:9,.0f} tokens/s")
    if args.compile:
        secs_c = bare_loop(random_init(mcfg, seed=0), data, cand, args.steps, True)
        print(
            f"bare loop (compiled):  {secs_c:7.1f} s  {tokens / secs_c:9,.0f} tokens/s ({secs / secs_c:.2f}x eager)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(
            out_dir=tmp,
            max_steps=args.steps,
            batch_tokens=cand.batch_tokens,
            micro_batch=cand.micro_batch,
            block_size=cand.block_size,
            learning_rate=cand.learning_rate,
            min_lr=cand.min_lr,
            warmup_steps=cand.warmup_steps,
            eval_interval=max(1, args.steps // 10),
            eval_iters=40,
            log_interval=max(1, args.steps // 100),
            seed=0,
            progress=False,
        )
        final = {}

        def whole_split(m):
            t = time.perf_counter()
            v = validation_loss(m, data, cand.block_size)
            final["s"] = time.perf_counter() - t
            return {"val_loss_full": v.mean}

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
