"""`plan`: which layers of a pretrained decoder to inherit, and how many: per-layer evidence and a suggested n.

    python -m inheritune_core.analysis.plan --reference smollm2-135m [--data DIR] [--out results/plan/NAME]

For every layer of the reference, on `n_runs` windows of `seq_len` validation tokens (read through the
reference's own tokenizer), from one forward pass per batch of windows (`layers.collect_layer_evidence`):
- the paper's attention statistics: max and mean over heads of the approximate rank k* and the mass m*, the
  share of windows in which every head is degenerate (k* = m* = 1), and the lazy-layer flag;
- block influence (ShortGPT, Men et al. 2024) and the angular distance between hidden states l and l+n
  (Gromov et al. 2024);
- the zero-shot validation loss of the first-n-layer model (final norm and LM head kept) for every n, on the
  first `loss_runs` windows.

The suggested n, and the rule it comes from (stated in the output, `SUGGESTION_RULE`): lazy layers transfer
no better than random initialisation (the paper's Figure 1c/f), and Inheritune keeps a prefix of the model,
so the prefix stops before the first lazy layer of the deeper half: n = that layer's index. A layer counts as
lazy here when every head is degenerate in at least `lazy_share` (default half) of the windows, the paper's
definition read per window; "deeper half" (index >= k/2) because the paper's lazy layers are deep ones, and an
early degenerate layer (an attention sink next to the input) says nothing about the layers after it. With no
lazy layer there, n = k/2, the paper's starting depth. The zero-shot truncation loss cannot make this choice:
on SmolLM2-135M the first-n-layer model is worse than a uniform guess for all but the last few n (the hidden
states of the middle layers are not yet in the space the final norm and head read), so it is reported, not
used. Where the statistics disagree (ShortGPT's lowest-influence blocks, Gromov et al.'s most redundant
contiguous block, the lazy layers) the notes say so; `experiments.layer_selection` trains the candidates.

Writes one tidy CSV (`plan.csv`: reference, statistic, layer, n, value, std, n_windows, seq_len, note) and, from
the CLI, one figure (drawn by `report.figures.render_plan` in a separate process: the report room draws every
figure and the analysis room never imports it): for the default --out, results/plan/<name>, it goes where the
committed figures live, paper/figures/plan_<name>.{png,pdf}, so a run leaves no untracked file in results/; for
a folder of your own, beside the CSV (`figure_dir`).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.cli_format import HelpFormatter
from ..errors import ConfigError, DataError
from ..io import write_csv
from .degeneration import DEFAULT_THRESHOLD, lazy_layer_report
from .layers import (
    LayerEvidence,
    angular_block_start,
    collect_layer_evidence,
    tie_ranks,
    top_influence_layers,
)

PLAN_COLUMNS = ("reference", "statistic", "layer", "n", "value", "std", "n_windows", "seq_len", "note")
DEFAULT_LAZY_SHARE = 0.5
SUGGESTION_RULE = (
    "n = the first lazy layer in the deeper half (index >= k/2), lazy = every head degenerate (k* = m* = 1) in "
    "at least {share:.0%} of the windows; with none there, n = k/2 (the paper's start)"
)


@dataclass
class PlanConfig:
    """How much evidence to gather (defaults: the paper's 100 windows of 100 tokens)."""

    n_runs: int = 100
    seq_len: int = 100
    loss_runs: int = 20  # windows for the truncated-model loss (one vocabulary projection per layer each)
    seed: int = 1337
    threshold: float = DEFAULT_THRESHOLD
    lazy_share: float = DEFAULT_LAZY_SHARE
    batch_size: int = 5

    def __post_init__(self) -> None:
        for name in ("n_runs", "seq_len", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.seq_len < 2:
            raise ConfigError(f"seq_len must be at least 2, got {self.seq_len}")
        if not isinstance(self.loss_runs, int) or not 0 <= self.loss_runs <= self.n_runs:
            raise ConfigError(f"loss_runs must be in 0..n_runs ({self.n_runs}), got {self.loss_runs!r}")
        if not 0.0 < self.lazy_share <= 1.0:
            raise ConfigError(f"lazy_share must be in (0, 1], got {self.lazy_share}")

    @classmethod
    def at_scale(
        cls,
        scale: str,
        n_runs: int | None = None,
        seq_len: int | None = None,
        loss_runs: int | None = None,
        **rest: Any,
    ) -> PlanConfig:
        """The scale's windows (config.Scale.analysis_windows / analysis_seq_len: the paper's 100 x 100, smoke
        4 x 16) where n_runs / seq_len are None; loss_runs None: a fifth of the windows (20 of 100), at least 2."""
        from ..config import get_scale

        s = get_scale(scale)
        n_runs = s.analysis_windows if n_runs is None else n_runs
        seq_len = s.analysis_seq_len if seq_len is None else seq_len
        if loss_runs is None:
            loss_runs = min(n_runs, max(2, n_runs // 5)) if isinstance(n_runs, int) else 0
        return cls(n_runs=n_runs, seq_len=seq_len, loss_runs=loss_runs, **rest)


@dataclass
class Suggestion:
    n: int
    paper_n: int
    rule: str
    notes: list[str] = field(default_factory=list)


def suggest_n(lazy: list[bool] | np.ndarray, lazy_share: float = DEFAULT_LAZY_SHARE) -> tuple[int, str]:
    """The suggested number of layers to inherit from per-layer lazy flags -> (n, the rule and its outcome)."""
    flags = [bool(x) for x in lazy]
    k = len(flags)
    if k < 2:
        raise ConfigError(f"a plan needs a model of at least 2 layers, got {k}")
    rule = SUGGESTION_RULE.format(share=lazy_share)
    half = k // 2
    deep_lazy = [layer for layer in range(half, k) if flags[layer]]
    if deep_lazy:
        return deep_lazy[0], f"{rule}: layer {deep_lazy[0]} is the first lazy layer of layers {half}..{k - 1}"
    return half, f"{rule}: no lazy layer among layers {half}..{k - 1}, so k/2 = {half}"


@dataclass
class LayerPlan:
    """The per-layer evidence of one reference and the suggestion drawn from it."""

    reference: str
    config: PlanConfig
    table: pd.DataFrame  # one row per layer: the columns of TABLE_COLUMNS
    angular: np.ndarray  # (L+1, L+1) mean angular distance between hidden states (last token)
    truncated: pd.DataFrame  # n, loss, std: zero-shot loss of the first-n-layer model
    uniform_loss: float  # log(vocabulary size): the loss of a uniform guess
    suggestion: Suggestion

    @property
    def n_layers(self) -> int:
        return len(self.table)

    def frame(self) -> pd.DataFrame:
        """The tidy CSV (PLAN_COLUMNS): one row per (statistic, layer, n)."""
        c, rows = self.config, []

        def add(statistic, value, layer="", n="", std=float("nan"), n_windows=c.n_runs, note=""):
            rows.append(
                {
                    "reference": self.reference,
                    "statistic": statistic,
                    "layer": layer,
                    "n": n,
                    "value": float(value),
                    "std": float(std),
                    "n_windows": n_windows,
                    "seq_len": c.seq_len,
                    "note": note,
                }
            )

        for row in self.table.itertuples():
            for stat in ("max_rank", "mean_rank", "max_mass", "mean_mass", "block_influence"):
                add(stat, getattr(row, stat), layer=row.layer, std=getattr(row, f"{stat}_std"))
            add("all_degenerate_frac", row.all_degenerate_frac, layer=row.layer)
            add("lazy", float(row.lazy), layer=row.layer)
        L = self.n_layers
        for span in range(1, L + 1):
            for layer in range(L - span + 1):
                add("angular_distance", self.angular[layer, layer + span], layer=layer, n=span)
        for row in self.truncated.itertuples():
            add("truncated_loss", row.loss, n=row.n, std=row.std, n_windows=c.loss_runs)
        add("uniform_loss", self.uniform_loss, note="log(vocabulary size)")
        add("suggested_n", self.suggestion.n, n=self.suggestion.n, note=self.suggestion.rule)
        add("paper_n", self.suggestion.paper_n, n=self.suggestion.paper_n, note="the paper's k/2")
        return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))

    def write(self, out_dir: str | os.PathLike) -> Path:
        """out_dir/plan.csv, atomically."""
        return write_csv(self.frame().to_dict("records"), Path(out_dir) / "plan.csv", columns=PLAN_COLUMNS)

    def summary(self) -> str:
        """The short table and the suggestion, as printed by the CLI."""
        t = self.table
        loss = dict(zip(self.truncated.n, self.truncated.loss))
        view = pd.DataFrame(
            {
                "layer": t.layer,
                "max k*": t.max_rank.round(2),
                "max m*": t.max_mass.round(2),
                "all-degenerate": t.all_degenerate_frac.round(2),
                "lazy": np.where(t.lazy, "lazy", ""),
                "influence": t.block_influence.round(4),
                "d(l,l+1)": [round(float(self.angular[i, i + 1]), 3) for i in t.layer],
                "loss first l+1": [
                    round(loss[i + 1], 2) if (i + 1) in loss else float("nan") for i in t.layer
                ],
            }
        )
        s = self.suggestion
        lines = [
            f"plan for {self.reference}: {self.n_layers} layers, {self.config.n_runs} windows of "
            f"{self.config.seq_len} tokens (truncated loss: {self.config.loss_runs} windows; uniform guess "
            f"{self.uniform_loss:.2f} nats)",
            view.to_string(index=False),
            f"suggested n = {s.n} (the paper's k/2 = {s.paper_n})",
            f"rule: {s.rule}",
            *[f"note: {note}" for note in s.notes],
        ]
        return "\n".join(lines)


TABLE_COLUMNS = (
    "layer",
    "max_rank",
    "max_rank_std",
    "mean_rank",
    "mean_rank_std",
    "max_mass",
    "max_mass_std",
    "mean_mass",
    "mean_mass_std",
    "all_degenerate_frac",
    "lazy",
    "block_influence",
    "block_influence_std",
)


def _std(x: torch.Tensor) -> torch.Tensor:
    return x.std(dim=0) if x.shape[0] > 1 else torch.full(x.shape[1:], float("nan"), dtype=x.dtype)


def _notes(
    table: pd.DataFrame, angular: np.ndarray, truncated: pd.DataFrame, uniform: float, n: int
) -> list[str]:
    """Where the statistics agree with the suggestion and where they do not (one sentence each)."""
    L, notes = len(table), []
    bi = table.block_influence.to_numpy()
    # 1 = lowest influence; influences within TIE_TOLERANCE are ties, ordered by layer (not by BLAS noise)
    tied = tie_ranks([float(b) for b in bi])
    by_influence = sorted(range(L), key=lambda i: (tied[i], i))
    order = {layer: rank + 1 for rank, layer in enumerate(by_influence)}
    lazy = [int(x) for x in table.layer[table.lazy]]
    if lazy:
        ranks = ", ".join(f"{layer} (influence rank {order[layer]} of {L}, 1 = lowest)" for layer in lazy)
        notes.append(f"lazy layers: {ranks}")
    else:
        worst = table.sort_values(["all_degenerate_frac", "max_rank"], ascending=[False, True]).iloc[0]
        notes.append(
            f"no lazy layer; the most degenerate is layer {int(worst.layer)} (mean max k* {worst.max_rank:.2f}, "
            f"every head degenerate in {worst.all_degenerate_frac:.0%} of windows)"
        )
    n_drop = L - n
    if n_drop >= 1:
        keep = top_influence_layers(bi, n)
        dropped = sorted(set(range(L)) - set(keep))
        overlap = len(set(dropped) & set(range(n, L)))
        notes.append(
            f"ShortGPT (drop the {n_drop} lowest-influence blocks) drops {dropped}: {overlap} of them in the "
            f"suggestion's dropped range {n}..{L - 1}"
        )
        if n_drop <= L - 1:
            start = angular_block_start(torch.as_tensor(angular), n_drop)
            notes.append(
                f"Gromov et al. (drop the contiguous {n_drop} blocks whose ends are closest) drop "
                f"{start}..{start + n_drop - 1}, d = {angular[start, start + n_drop]:.3f}; dropping "
                f"{n}..{L - 1} has d(h_{n}, h_{L}) = {angular[n, L]:.3f}"
            )
    if len(truncated):
        loss = dict(zip(truncated.n, truncated.loss))
        shallower = truncated[truncated.n < L]
        beats = [int(m) for m in shallower.n if loss[m] < uniform]
        verdict = f"truncations better than uniform: n = {', '.join(map(str, beats))}"
        if not beats and len(shallower):
            best = shallower.iloc[int(np.argmin(shallower.loss.to_numpy()))]
            verdict = (
                f"no truncation below {L} layers beats a uniform guess (best: n = {int(best.n)}, "
                f"{best.loss:.2f} nats), so the loss cannot pick n without retraining"
            )
        notes.append(
            f"zero-shot truncation: the first-{n} model scores {loss.get(n, float('nan')):.2f} nats (full model "
            f"{loss[L]:.2f}, uniform guess {uniform:.2f}); {verdict}"
        )
    return notes


def summarize(
    evidence: LayerEvidence, reference: str, vocab_size: int, config: PlanConfig | None = None
) -> LayerPlan:
    """The plan of a reference from its collected evidence (no model needed)."""
    config = config or PlanConfig()
    if evidence.heads is None:
        raise ConfigError("a plan needs the attention statistics: collect the evidence with attention=True")
    heads = evidence.heads
    max_r, max_m = heads.per_layer("max")
    mean_r, mean_m = heads.per_layer("mean")
    report = lazy_layer_report(heads, min_share=config.lazy_share)
    bi = evidence.influence
    table = pd.DataFrame(
        {
            "layer": np.arange(evidence.n_layers),
            "max_rank": max_r.mean(0).numpy(),
            "max_rank_std": _std(max_r).numpy(),
            "mean_rank": mean_r.mean(0).numpy(),
            "mean_rank_std": _std(mean_r).numpy(),
            "max_mass": max_m.mean(0).numpy(),
            "max_mass_std": _std(max_m).numpy(),
            "mean_mass": mean_m.mean(0).numpy(),
            "mean_mass_std": _std(mean_m).numpy(),
            "all_degenerate_frac": report.all_degenerate_frac.to_numpy(),
            "lazy": report.lazy.to_numpy(dtype=bool),
            "block_influence": bi.mean(0).numpy(),
            "block_influence_std": _std(bi).numpy(),
        },
        columns=list(TABLE_COLUMNS),
    )
    loss = evidence.truncated_loss
    truncated = pd.DataFrame(
        {
            "n": np.arange(1, evidence.n_layers + 1),
            "loss": loss.mean(0).numpy() if len(loss) else np.full(evidence.n_layers, np.nan),
            "std": _std(loss).numpy() if len(loss) else np.full(evidence.n_layers, np.nan),
        }
    )
    if not len(loss):
        truncated = truncated.iloc[0:0]
    angular = evidence.mean_angular().numpy()
    uniform = math.log(vocab_size)
    n, rule = suggest_n(table.lazy.to_numpy(), config.lazy_share)
    suggestion = Suggestion(n, evidence.n_layers // 2, rule, _notes(table, angular, truncated, uniform, n))
    return LayerPlan(reference, config, table, angular, truncated, uniform, suggestion)


def analyze_layers(
    model, windows: torch.Tensor, reference: str, config: PlanConfig | None = None, progress: bool = False
) -> LayerPlan:
    """The plan of an already loaded model on token windows (R, T) of its own vocabulary."""
    config = config or PlanConfig()
    evidence = collect_layer_evidence(
        model,
        windows,
        attention=True,
        loss_windows=min(config.loss_runs, windows.shape[0]),
        batch_size=config.batch_size,
        threshold=config.threshold,
        progress=progress,
    )
    return summarize(evidence, reference, model.config.vocab_size, config)


def plan_name(reference: str | os.PathLike) -> str:
    """The folder name of a reference's plan: its offline or Hub name's last part, or its folder's name."""
    name = Path(str(reference)).name or str(reference)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "reference"


def default_out_dir(reference: str | os.PathLike, results_dir: str | os.PathLike | None = None) -> Path:
    """results/plan/<plan_name(reference)>."""
    from ..paths import results_dir as default_results_dir

    return default_results_dir(results_dir) / "plan" / plan_name(reference)


def plan(
    reference: str,
    data: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    config: PlanConfig | None = None,
    *,
    device: str = "cpu",
    progress: bool = False,
) -> LayerPlan:
    """Load `reference` (an offline name, a Hub name, a local folder or .gguf), read `n_runs` windows of the
    validation split of `data` (a prepared corpus; default: the bundled one) through its tokenizer, compute the
    plan and write `out`/plan.csv (default results/plan/<name>)."""
    from ..data.tokens import load_token_data
    from ..paths import data_dir
    from .attention import load_reference, reference_windows

    config = config or PlanConfig()
    data_path = Path(data) if data is not None else data_dir() / "english"
    if not (data_path / "meta.json").is_file():
        raise DataError(
            f"{data_path} is not a prepared corpus (no meta.json): run `make data` or pass --data"
        )
    model, tokenizer = load_reference(reference, device=device)
    windows = reference_windows(
        load_token_data(data_path), tokenizer, n_runs=config.n_runs, seq_len=config.seq_len, seed=config.seed
    )
    result = analyze_layers(model, windows, str(reference), config, progress=progress)
    result.write(Path(out) if out is not None else default_out_dir(reference))
    return result


def figure_dir(out: Path) -> tuple[Path, str]:
    """Where the CLI draws the figure of out/plan.csv: for the default folder (results/plan/<name>), beside the
    committed figures, paper/figures/plan_<name>.{png,pdf} (what `make paper` draws, so a run leaves no
    untracked file in results/); for a folder of the user's own, beside the CSV."""
    from ..paths import paper_dir, results_dir

    if out.resolve().parent == (results_dir() / "plan").resolve():
        return paper_dir() / "figures", f"plan_{out.name}"
    return out, "plan"


def render_figure(out_dir: str | os.PathLike) -> list[Path]:
    """Draw the figure of out_dir/plan.csv (see `figure_dir`) in a separate process (`report.figures`): the
    analysis room never imports the report room."""
    folder, name = figure_dir(Path(out_dir))
    paper = str(folder.parent) if name != "plan" else None
    code = (
        "import sys; from inheritune_core.report.figures import render_plan; "
        "print(*render_plan(sys.argv[1], sys.argv[2] or None), sep='\\n')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out_dir), paper or ""], capture_output=True, text=True
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(f"drawing the plan figure failed: {lines[-1] if lines else proc.returncode}")
    return [folder / f"{name}.png", folder / f"{name}.pdf"]


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (every option with its help and default; `main` parses with it)."""
    defaults = PlanConfig()
    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.analysis.plan",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--reference", required=True, help="smollm2-135m, gemma3-270m, a Hub name or a folder"
    )
    parser.add_argument("--data", default=None, help="prepared corpus folder (default: data/english)")
    parser.add_argument("--out", default=None, help="output folder (default: results/plan/<name>)")
    parser.add_argument("--runs", type=int, default=defaults.n_runs, help="windows (paper: 100)")
    parser.add_argument(
        "--seq-len", type=int, default=defaults.seq_len, help="tokens per window (paper: 100)"
    )
    parser.add_argument(
        "--loss-runs", type=int, default=defaults.loss_runs, help="windows for the truncated-model loss"
    )
    parser.add_argument(
        "--lazy-share",
        type=float,
        default=defaults.lazy_share,
        help="a layer is lazy when every head is degenerate in at least this share of the windows",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the windows' offsets")
    parser.add_argument("--device", default="cpu", help="where the reference runs: cpu, cuda or cuda:N")
    parser.add_argument(
        "--no-figure",
        action="store_true",
        help="write the CSV only (default: also the figure, in paper/figures/plan_<name> for the default "
        "--out, else beside the CSV)",
    )
    parser.add_argument("--progress", action="store_true", help="show a progress bar (default: quiet)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else default_out_dir(args.reference)
    try:
        config = PlanConfig(
            n_runs=args.runs,
            seq_len=args.seq_len,
            loss_runs=min(args.loss_runs, args.runs),
            seed=args.seed,
            lazy_share=args.lazy_share,
        )
        result = plan(args.reference, args.data, out, config, device=args.device, progress=args.progress)
    except (ConfigError, DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(result.summary())
    print(f"wrote {out / 'plan.csv'}")
    if not args.no_figure:
        try:
            paths = render_figure(out)
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"wrote {paths[0]}")
    return 0


__all__ = [
    "build_parser",
    "figure_dir",
    "render_figure",
    "DEFAULT_LAZY_SHARE",
    "PLAN_COLUMNS",
    "SUGGESTION_RULE",
    "LayerPlan",
    "PlanConfig",
    "Suggestion",
    "analyze_layers",
    "default_out_dir",
    "plan",
    "plan_name",
    "suggest_n",
    "summarize",
]

if __name__ == "__main__":
    sys.exit(main())
