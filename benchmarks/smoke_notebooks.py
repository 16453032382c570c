"""Seconds each notebook takes at the smoke scale, as a newcomer runs it (issue 21: "every notebook at smoke in
well under a minute on 2 idle cores").

Every registered notebook (`inheritune_core.registry.notebook_names`, `make all` order) is executed by papermill
with its default parameters except `scale="smoke"` and `progress=False`, writing into a temporary folder (runs,
results, paper), so the committed results are untouched. By default the notebooks share one runs folder, as
`make all SCALE=smoke` does (a later notebook reads back the runs an earlier one trained, e.g. the pretrained
references' conversions); `--cold` gives each its own, the cost of running it first. `--no-shared` hides
../shared/evaldata (INHERITUNE_EVALDATA_DIR pointed at an empty folder), as on a user's machine.

    python benchmarks/smoke_notebooks.py [--cold] [--no-shared] [--only table1,figure1]

Prints one line per notebook (seconds, ok/failed) and a Markdown table for benchmarks/RESULTS.md. Time it on an
idle machine (nothing else training) and name the machine with the numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_one(name: str, root: Path, runs: Path) -> tuple[float, str]:
    import papermill

    params = {
        "scale": "smoke",
        "progress": False,
        "runs_dir": str(runs),
        "results_dir": str(root / "results"),
        "paper_dir": str(root / "paper"),
    }
    out = root / "executed" / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{name}.ipynb"),
            str(out),
            parameters=params,
            cwd=str(ROOT / "notebooks"),
            progress_bar=False,
            log_output=False,
        )
        status = "ok"
    except Exception as e:  # a failure is a row of the table, not the end of the benchmark
        status = f"failed: {str(e).strip().splitlines()[-1][:120] if str(e).strip() else type(e).__name__}"
    return time.perf_counter() - t0, status


def main(argv: list[str] | None = None) -> int:
    from inheritune_core import registry

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cold", action="store_true", help="a fresh runs folder per notebook (default: shared)")
    p.add_argument("--no-shared", action="store_true", help="hide ../shared/evaldata, as on a user's machine")
    p.add_argument("--only", default="", help="comma-separated notebook names (default: every notebook)")
    args = p.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or registry.notebook_names()
    unknown = sorted(set(names) - set(registry.notebook_names()))
    if unknown:
        p.error(f"unknown notebooks {unknown}; choose from {', '.join(registry.notebook_names())}")

    rows = []
    with tempfile.TemporaryDirectory(prefix="inheritune-smoke-") as tmp:
        root = Path(tmp)
        if args.no_shared:
            (root / "no-evaldata").mkdir()
            os.environ["INHERITUNE_EVALDATA_DIR"] = str(root / "no-evaldata")
        for name in names:
            runs = root / ("runs-" + name if args.cold else "runs")
            seconds, status = run_one(name, root, runs)
            rows.append((name, seconds, status))
            print(f"{name:16s} {seconds:7.1f} s  {status}", flush=True)
    total = sum(s for _, s, _ in rows)
    print(
        f"\nsmoke notebooks ({'cold' if args.cold else 'shared runs folder'}"
        f"{', no ../shared' if args.no_shared else ''}) on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch threads default; total {total:.0f} s\n"
    )
    print("| notebook | seconds | status |\n|---|---|---|")
    for name, seconds, status in rows:
        print(f"| {name} | {seconds:.1f} | {status} |")
    return 0 if all(s == "ok" for _, _, s in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
