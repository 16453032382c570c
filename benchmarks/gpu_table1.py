"""Table 1 reduced to fit a short GPU check: the reference, Inheritune (Algorithm 1) and same-size random init at
1x steps, for GPT-2 medium at a scale, with `steps` per run. Writes OUT/table1.csv (tidy rows of
`experiments.result_row`, each marked with the card's name) and prints a Markdown table; the runs (and their
checkpoints) live in --runs-dir, so a rerun reads them back.

    python benchmarks/gpu_table1.py --scale small --device cuda --steps 800 --out results/gpu_check/NAME

Part of benchmarks/gpu_check.sh; the full Table 1 (2x steps, seeds, downstream) is `make table1`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inheritune_core.errors import ConfigError, DataError  # noqa: E402
from inheritune_core.experiments import gpt2 as pe  # noqa: E402
from inheritune_core.experiments.runs import result_row  # noqa: E402
from inheritune_core.io import write_csv  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=800, help="steps per run (T)")
    parser.add_argument("--card", required=True, help="the accelerator's name, written into every row")
    parser.add_argument("--out", required=True, help="folder for table1.csv")
    parser.add_argument("--runs-dir", default=None, help="folder of the runs (default: runs/)")
    parser.add_argument("--data", default=None, help="a prepared corpus (default: data/english)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    preset = "gpt2-medium"
    t0 = time.perf_counter()
    try:
        setup = pe.make_setup(
            args.scale,
            args.data,
            device=args.device,
            steps=args.steps,
            runs_dir=args.runs_dir,
            progress=False,
            downstream=False,
        )
        ref = pe.reference(setup, preset)
        inh = pe.inheritune_run(setup, preset, ref, pe.target_layers(preset, args.scale), args.steps)
        rand = pe.random_run(setup, preset, inh.layers, args.steps)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = [
        result_row(ref, table="table1", model=preset, role="reference", method="rand init"),
        *pe.inheritune_rows(inh, "table1", preset),
        result_row(rand, table="table1", model=preset, role="random", method="rand init"),
    ]
    rows = [{**r, "card": args.card} for r in rows]
    path = write_csv(rows, out / "table1.csv")
    wall = {ref.run_id: ref, inh.run_id: inh, rand.run_id: rand}
    print(f"Table 1 reduced ({preset}, scale {args.scale}, T = {args.steps} steps, {args.card}):\n")
    print("| role | layers | steps | tokens | val loss (whole split) | se | train wall (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rec = wall[r["run_id"]]
        print(
            f"| {r['role']} | {r['layers']} | {r['steps']} | {r['tokens']} | {r['value']:.4f} | "
            f"{float(r['se']):.4f} | {rec.result.get('wall_time_s', 0):.0f} |"
        )
    print(f"\n{path} ({time.perf_counter() - t0:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
