"""Training throughput of the paper's GPT-2: the fast path against the paper-math eager path, in one run.

Each path runs full training steps (forward, backward, gradient clipping at 1.0, AdamW (fused on CUDA), bf16
autocast on CUDA, fp32 on CPU) at a preset and scale, and the script prints tokens/s, MFU, peak memory and the
fast/eager ratio as a Markdown table:

- fast: `F.scaled_dot_product_attention` with the layer scaling in its `scale` argument (fused kernels);
- eager: the paper's math as the official code computes it: explicit softmax(QK^T * scale + causal mask) V
  (`GPT.forward(return_attn=True)`), which materialises every (T, T) attention matrix.

MFU uses the PaLM FLOP count (6N + 12 L H Q T per token, `GPT.flops_per_token`) against the card's dense bf16
peak (named in the output); on CPU against a peak measured here with a large fp32 matmul. Each path runs in its
own subprocess so that peak memory (CUDA allocator peak, or process peak RSS on CPU) is the path's own.

    python benchmarks/throughput.py --preset gpt2-medium --scale tiny --device cpu --steps 10
    python benchmarks/throughput.py --preset gpt2-medium --scale paper --device cuda --micro-batch 8 --compile

`--csv PATH` appends one row per path (card, preset, scale, micro_batch, block_size, compiled, path, tokens/s,
MFU, peak memory, source "measured") in the format of benchmarks/throughput.csv, which the claims ledger
(`report.claims`) reads to price the next scale.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inheritune_core.config import get_scale  # noqa: E402
from inheritune_core.models.gpt import GPT, GPTConfig  # noqa: E402
from inheritune_core.training.trainer import TrainConfig, autocast_context, configure_optimizer  # noqa: E402

# Dense bf16 peak FLOP/s by card (vendor datasheets, without sparsity); the first key found in the name wins,
# so the PCIe/NVL variants come before the plain "H100" (the SXM card, "NVIDIA H100 80GB HBM3").
GPU_PEAK_BF16 = {
    "H100 PCIe": 756e12,
    "H100 NVL": 835e12,
    "H100": 989e12,
    "H200": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "A10": 125e12,
    "RTX 4090": 165e12,
}


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    except OSError:
        pass
    return f"{platform.processor() or 'CPU'} ({os.cpu_count()} cores)"


def gpu_peak(name: str) -> tuple[float | None, str]:
    for key, peak in GPU_PEAK_BF16.items():
        if key in name:
            label = "H100 SXM" if key == "H100" else key
            return peak, f"{label} bf16 dense {peak / 1e12:.0f} TFLOP/s"
    return None, f"unknown peak for {name} (MFU n/a)"


def measured_cpu_peak(n: int = 1024, repeats: int = 5) -> float:
    """fp32 matmul FLOP/s of this CPU (best of a few), the fairest 'peak' a CPU run can quote."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def _current_rss() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def run_path(args: argparse.Namespace, path: str) -> dict:
    """Time full training steps of one attention path in this process."""
    device = torch.device(args.device)
    rss_before = _current_rss()  # torch's own libraries: ~0.5 GB of RSS before any model exists
    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset(args.preset, args.scale)).to(device)
    block = model.config.block_size
    cfg = TrainConfig.from_preset(
        args.preset, args.scale, "unused", micro_batch=args.micro_batch, batch_tokens=args.micro_batch * block
    )
    optimizer = configure_optimizer(model, cfg, device.type)

    class Eager(torch.nn.Module):  # the paper-math path, as one module so torch.compile can take it too
        def __init__(self, gpt):
            super().__init__()
            self.gpt = gpt

        def forward(self, idx):
            return self.gpt(idx, return_attn=True)[0]

    net: torch.nn.Module = model if path == "fast" else Eager(model)
    if args.compile:
        net = torch.compile(net)
    x = torch.randint(0, 50257, (args.micro_batch, block + 1), device=device)
    inputs, targets = x[:, :-1], x[:, 1:]

    def step() -> None:
        with autocast_context(device.type, "auto"):
            logits = net(inputs)
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1)
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(args.warmup):  # compilation, allocator warm-up
        step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    seconds = time.perf_counter() - t
    tokens_per_s = args.steps * args.micro_batch * block / seconds
    if device.type == "cuda":
        peak_mem = torch.cuda.max_memory_allocated(device)
    else:
        # Peak RSS (Linux reports KiB) minus the RSS before the model: the path's own memory.
        peak_mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    return dict(
        path=path,
        tokens_per_s=tokens_per_s,
        step_ms=1000 * seconds / args.steps,
        flops_per_token=model.flops_per_token(block),
        peak_mem_bytes=peak_mem,
        params=model.num_params(non_embedding=False),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="gpt2-medium")
    parser.add_argument("--scale", default="tiny")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per path")
    parser.add_argument(
        "--warmup", type=int, default=3, help="untimed steps first (compilation happens here)"
    )
    parser.add_argument("--micro-batch", type=int, default=None, help="default: the scale's micro-batch")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--csv", default=None, help="append the measured rows to this CSV")
    parser.add_argument(
        "--only", choices=["fast", "eager"], help=argparse.SUPPRESS
    )  # the per-path subprocess
    args = parser.parse_args(argv)
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.micro_batch = args.micro_batch or get_scale(args.scale).micro_batch

    if args.only:
        print(json.dumps(run_path(args, args.only)))
        return 0

    results = {}
    for path in ("fast", "eager"):
        cmd = [sys.executable, __file__, "--only", path] + [a for a in (argv or sys.argv[1:])]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"error: the {path} path failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            return 1
        results[path] = json.loads(proc.stdout.strip().splitlines()[-1])

    name = device_name(args.device)
    if args.device.startswith("cuda"):
        peak, peak_text = gpu_peak(name)
    else:
        peak = measured_cpu_peak()
        peak_text = f"measured fp32 matmul peak {peak / 1e9:.1f} GFLOP/s"
    cfg = GPTConfig.from_preset(args.preset, args.scale)
    print(f"device: {name}; MFU against {peak_text}")
    print(
        f"model: {args.preset} at scale {args.scale} ({cfg.n_layer}L/{cfg.n_embd}/{cfg.n_head}H, "
        f"{results['fast']['params'] / 1e6:.1f}M params), micro-batch {args.micro_batch}x{cfg.block_size}, "
        f"{'bf16 autocast' if args.device.startswith('cuda') else 'fp32'}, "
        f"{'fused ' if args.device.startswith('cuda') else ''}AdamW, clip 1.0, compile={args.compile}, "
        f"torch {torch.__version__}, {args.steps} timed steps after {args.warmup} warm-up"
    )
    mem_note = "" if args.device.startswith("cuda") else ", RSS above the idle process"
    print()
    print(f"| path | tokens/s | step (ms) | MFU | peak memory (GB{mem_note}) |")
    print("|---|---:|---:|---:|---:|")
    for path, r in results.items():
        mfu = f"{r['tokens_per_s'] * r['flops_per_token'] / peak:.3f}" if peak else "n/a"
        label = "fast (SDPA)" if path == "fast" else "eager (paper math)"
        print(
            f"| {label} | {r['tokens_per_s']:,.0f} | {r['step_ms']:.1f} | {mfu} | "
            f"{r['peak_mem_bytes'] / 1e9:.3f} |"
        )
    print()
    print(
        f"fast / eager throughput ratio: {results['fast']['tokens_per_s'] / results['eager']['tokens_per_s']:.2f}x"
    )
    if args.csv:
        rows = [
            {
                "card": name,
                "preset": args.preset,
                "scale": args.scale,
                "micro_batch": args.micro_batch,
                "block_size": cfg.block_size,
                "compiled": args.compile,
                "path": "fast (SDPA)" if path == "fast" else "eager (paper math)",
                "tokens_per_s": round(r["tokens_per_s"], 1),
                "mfu": round(r["tokens_per_s"] * r["flops_per_token"] / peak, 4) if peak else "",
                "peak_memory_gb": round(r["peak_mem_bytes"] / 1e9, 3),
                "source": "measured",
                "note": f"torch {torch.__version__}, {args.steps} timed steps, {peak_text}",
            }
            for path, r in results.items()
        ]
        append_csv(Path(args.csv), rows)
        print(f"appended {len(rows)} rows to {args.csv}")
    return 0


CSV_COLUMNS = (
    "card",
    "preset",
    "scale",
    "micro_batch",
    "block_size",
    "compiled",
    "path",
    "tokens_per_s",
    "mfu",
    "peak_memory_gb",
    "source",
    "note",
)


def append_csv(path: Path, rows: list[dict]) -> None:
    """Append rows (header first when the file is new); an existing file must have the same columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file() or path.stat().st_size == 0
    if not new:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if tuple(header) != CSV_COLUMNS:
            raise SystemExit(f"error: {path} has columns {header}, expected {list(CSV_COLUMNS)}")
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
