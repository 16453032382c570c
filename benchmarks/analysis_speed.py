"""How long the rank/mass analysis takes for the paper's protocol, excluding the forward passes.

The paper's Figure 1 protocol for GPT-2 medium: R = 100 runs of T = 100 tokens, 24 layers x 16 heads, i.e.
38,400 attention matrices of 100 x 100. The target is <= 20 s on a 2-core CPU.

Attention matrices are synthetic causal softmaxes (the statistic's cost does not depend on their values) and are
generated before the clock starts; the timed part is exactly what `analyze_model` does after each forward pass:
`head_stats` (k* via one batched SVD, or eigvalsh of A A^T, per chunk; m* via column norms) and the per-layer
summary. Run:

    .venv/bin/python benchmarks/analysis_speed.py                 # full protocol, both methods
    .venv/bin/python benchmarks/analysis_speed.py --runs 10       # a tenth of it, for a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from inheritune_core.analysis.degeneration import head_stats


def synthetic_attention(runs: int, layers: int, heads: int, T: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(runs, layers, heads, T, T, generator=g) * 2.0
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    return torch.softmax(logits.masked_fill_(~causal, float("-inf")), dim=-1)


def time_protocol(attn: torch.Tensor, method: str, repeats: int) -> tuple[float, float]:
    """Best wall-clock seconds and the CPU seconds (all threads) of that repeat."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        head_stats(attn, method=method).summary()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=["svd", "gram"], choices=["svd", "gram"])
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    attn = synthetic_attention(args.runs, args.layers, args.heads, args.seq_len)
    n = args.runs * args.layers * args.heads
    result = {
        "matrices": n,
        "shape": [args.runs, args.layers, args.heads, args.seq_len, args.seq_len],
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": os.getloadavg()[0],
        "machine": platform.processor() or platform.machine(),
        "seconds": {},
    }
    for method in args.methods:
        wall, cpu = time_protocol(attn, method, args.repeats)
        # On a machine shared with other jobs the wall clock measures the other jobs too; CPU seconds divided by
        # the threads used estimate the wall clock of the same work on an idle machine with that many cores.
        idle_estimate = cpu / max(1, min(torch.get_num_threads(), os.cpu_count() or 1))
        result["seconds"][method] = {"wall": wall, "cpu": cpu, "idle_wall_estimate": idle_estimate}
        print(
            f"{method:>5}: {wall:6.2f} s wall, {cpu:6.2f} s CPU (idle-machine estimate {idle_estimate:5.2f} s) "
            f"for {n} matrices of {args.seq_len}x{args.seq_len} ({1e3 * wall / n:.3f} ms each wall; "
            f"best of {args.repeats})"
        )
    result["load_average_1min_after"] = os.getloadavg()[0]
    print(
        f"load average (1 min) before/after: {result['load_average_1min_before']:.2f} / "
        f"{result['load_average_1min_after']:.2f} on {result['cpu_count']} CPUs (a busy machine inflates the times)"
    )
    if args.json:
        from inheritune_core.io import atomic_write_json

        atomic_write_json(args.json, result)


if __name__ == "__main__":
    main()
