"""The depth sweep's statistics and figure, from results/depth_sweep/*.csv alone (imports no torch, nothing of the
experiments; the CSVs are written by `experiments.depth_sweep`).

The depth gap at a budget is the mean validation loss over seeds of the random k/2-layer model minus that of the
random k-layer model, both trained the same steps. Its sigma is the standard error of that difference of means,
sqrt(var_half / n_half + var_ref / n_ref) with the sample variances over seeds; the validation split is shared by
both depths, so its own standard error (the `se` column) is reported but not added. The gap *passes* when each
depth has at least 3 seeds and gap > 4 sigma: the reference then beats the half-depth model clearly, the
precondition under which "Ours matches the reference" means something (issue 18; report/comparisons.py).

    python -m inheritune_core.report depth_sweep                  # paper/figures/depth_sweep.png|pdf
    python -m inheritune_core.report.depth_sweep summary CSV      # one line per budget
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from . import checks, scales
from .tables import _deterministic_matplotlib, save_figure

NAME = "depth_sweep"
MIN_SEEDS = 3
SIGMAS = 4.0

SWEEP = checks.CsvFormat(
    "depth sweep",
    required=("scale", "layers", "steps", "tokens", "seed", "val_loss", "se"),
    numeric=("layers", "steps", "tokens", "seed", "val_loss", "se", "val_tokens", "wall_time_s"),
    key=("scale", "layers", "steps", "seed"),
    filled=("layers", "steps", "tokens", "seed", "val_loss"),
)
SWEEP_CURVES = checks.CsvFormat(
    "depth-sweep curves",
    required=("scale", "layers", "budget", "seed", "step", "tokens", "val_loss"),
    numeric=("layers", "budget", "seed", "step", "tokens", "val_loss"),
    key=("scale", "layers", "budget", "seed", "step"),
    filled=("layers", "budget", "seed", "step", "tokens", "val_loss"),
)


@dataclass(frozen=True)
class Gap:
    """The depth gap at one (scale, budget): half-depth mean minus reference mean, its sigma and the verdict."""

    scale: str
    steps: int
    tokens: int
    reference: int
    half: int
    n_ref: int
    n_half: int
    gap: float
    sigma: float  # NaN with fewer than 2 seeds on a side

    @property
    def passes(self) -> bool:
        enough = min(self.n_ref, self.n_half) >= MIN_SEEDS
        return enough and not math.isnan(self.sigma) and self.gap > SIGMAS * self.sigma

    def line(self) -> str:
        verdict = "passes" if self.passes else "does not pass"
        return (
            f"{self.scale}: {self.steps} steps ({self.tokens:,} tokens): {self.half}L - {self.reference}L = "
            f"{self.gap:+.4f} (sigma {self.sigma:.4f}, seeds {self.n_half}/{self.n_ref}) -> {verdict} "
            f"{SIGMAS:g} sigma"
        )


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _var(xs: list[float]) -> float:
    """Sample variance (n - 1); NaN for fewer than 2 values."""
    if len(xs) < 2:
        return math.nan
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def gaps(rows: list[dict]) -> list[Gap]:
    """One Gap per (scale, steps) holding two depths (the deeper is the reference), smallest budget first."""
    out = []
    for scale, steps in sorted({(str(r["scale"]), int(float(r["steps"]))) for r in rows}):
        sel = [r for r in rows if str(r["scale"]) == scale and int(float(r["steps"])) == steps]
        depths = sorted({int(float(r["layers"])) for r in sel})
        if len(depths) != 2:
            continue
        half, ref = depths
        a = [float(r["val_loss"]) for r in sel if int(float(r["layers"])) == half]
        b = [float(r["val_loss"]) for r in sel if int(float(r["layers"])) == ref]
        sigma = math.sqrt(_var(a) / len(a) + _var(b) / len(b))
        tokens = int(float(sel[0]["tokens"]))
        out.append(Gap(scale, steps, tokens, ref, half, len(b), len(a), _mean(a) - _mean(b), sigma))
    return out


def summary_lines(rows: list[dict]) -> list[str]:
    """One printed line per (scale, budget): the gap, its sigma, the seeds and whether it passes."""
    return [g.line() for g in gaps(rows)] or ["no budget with both depths yet"]


def curve_gaps(curves: list[dict], scale: str) -> dict[int, list[tuple[int, float]]]:
    """Per budget: (tokens, mean over seeds of half minus reference) at each evaluation step both depths have."""
    sel = [c for c in curves if str(c["scale"]) == scale]
    out: dict[int, list[tuple[int, float]]] = {}
    for budget in sorted({int(float(c["budget"])) for c in sel}):
        mine = [c for c in sel if int(float(c["budget"])) == budget]
        depths = sorted({int(float(c["layers"])) for c in mine})
        if len(depths) != 2:
            continue
        by: dict[tuple[int, int], list[float]] = {}
        tokens: dict[int, int] = {}
        for c in mine:
            step = int(float(c["step"]))
            by.setdefault((int(float(c["layers"])), step), []).append(float(c["val_loss"]))
            tokens[step] = int(float(c["tokens"]))
        steps = sorted(s for (layers, s) in by if layers == depths[0] and (depths[1], s) in by)
        out[budget] = [(tokens[s], _mean(by[depths[0], s]) - _mean(by[depths[1], s])) for s in steps]
    return out


def draw(rows: list[dict], curves: list[dict], scale: str):
    """Left: the final gap against tokens with ±2 sigma bars and the 4 sigma line; right: the gap along each
    budget's own cosine schedule (curves.csv)."""
    plt = _deterministic_matplotlib()
    g = [x for x in gaps(rows) if x.scale == scale]
    if not g:
        raise ValueError(f"{NAME}: no budget at scale {scale} holds two depths")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    xs = [x.tokens / 1e6 for x in g]
    bars = [2 * x.sigma if not math.isnan(x.sigma) else 0.0 for x in g]
    left.errorbar(xs, [x.gap for x in g], yerr=bars, marker="o", capsize=3, label="gap ± 2σ (seeds)")
    left.plot(xs, [SIGMAS * x.sigma for x in g], ls="--", color="grey", label=f"{SIGMAS:g}σ: passes above")
    for x, gap in zip(xs, g):
        left.annotate(
            f"n={min(gap.n_ref, gap.n_half)}",
            (x, gap.gap),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    left.axhline(0, color="black", lw=0.5)
    left.set_xlabel("tokens seen per run (millions)")
    left.set_ylabel(f"val loss: {g[0].half}L − {g[0].reference}L")
    left.set_title("(a) final depth gap vs budget", fontsize=9)
    left.legend(fontsize=7)
    for budget, points in curve_gaps(curves, scale).items():
        right.plot([t / 1e6 for t, _ in points], [d for _, d in points], marker=".", label=f"{budget} steps")
    right.axhline(0, color="black", lw=0.5)
    right.set_xlabel("tokens seen (millions)")
    right.set_ylabel("mean over seeds, half − reference")
    right.set_title("(b) the gap along each budget's own cosine schedule", fontsize=9)
    right.legend(fontsize=7, title="run's budget", title_fontsize=7)
    fig.suptitle(
        f"Does depth matter at scale {scale}? Random {g[0].reference}L vs {g[0].half}L, equal steps",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def read(results: str | os.PathLike) -> tuple[list[dict], list[dict]]:
    """The checked rows of results/depth_sweep/depth_sweep.csv and curves.csv."""
    folder = Path(results) / NAME
    for path in (folder / f"{NAME}.csv", folder / "curves.csv"):
        if not path.is_file():  # one line from `make paper`, not a traceback (both are written together)
            raise checks.ResultsCSVError(f"{path} does not exist: run `make {NAME}` (or its `collect`) first")
    return (
        checks.read_checked(folder / f"{NAME}.csv", SWEEP),
        checks.read_checked(folder / "curves.csv", SWEEP_CURVES),
    )


def render(results: str | os.PathLike, paper: str | os.PathLike) -> list[Path]:
    """paper/figures/depth_sweep.{png,pdf} at the largest non-smoke scale in the CSV (report/scales.py)."""
    rows, curves = read(results)
    scale = scales.shown(r["scale"] for r in rows)
    return save_figure(draw(rows, curves, scale), Path(paper) / "figures", NAME)


def main(argv: list[str] | None = None) -> int:
    """`python -m inheritune_core.report.depth_sweep summary CSV`: one line per budget of a sweep CSV."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "summary":
        print("error: usage: python -m inheritune_core.report.depth_sweep summary CSV", file=sys.stderr)
        return 2
    try:
        rows = checks.read_checked(args[1], SWEEP)
    except (FileNotFoundError, checks.ResultsCSVError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "SWEEP",
    "SWEEP_CURVES",
    "Gap",
    "gaps",
    "summary_lines",
    "curve_gaps",
    "draw",
    "read",
    "render",
    "main",
]
