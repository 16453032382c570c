"""The notebook's one call: every experiment of Appendix B (`table5_lowdata`), as tidy CSVs."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ...data.tokens import load_token_data
from ...paths import LOWDATA_RESULTS
from ...paths import results_dir as default_results_dir
from ..results import write_by_scale
from ..setup import Setup
from .ablations import default_table8_references, epochs_vs_fresh_rows, table8_rows, table9_rows
from .evaluate import evaluate_run, lowdata_rows, reference_rows
from .memory import paper_memory_estimate
from .scales import LOWDATA_SCALES, get_lowdata_scale
from .targets import run_lowdata

# ----------------------------------------------------------------------------------- the notebook's experiment


@dataclass
class LowDataOutput:
    """The CSVs of Appendix B as tidy rows: file name (table5.csv, figure11.csv, ...) -> rows."""

    csvs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def write(self, results_dir: str | os.PathLike | None = None) -> list[Path]:
        """results/table5_lowdata/<name>.csv for every table with rows, each written atomically and
        replacing only the rows of its scale (`experiments.results.write_by_scale`)."""
        out = default_results_dir(results_dir) / LOWDATA_RESULTS
        return [write_by_scale(rows, out / name) for name, rows in self.csvs.items() if rows]

    def frame(self, name: str) -> pd.DataFrame:
        return pd.DataFrame(self.csvs.get(name, []))


@dataclass(frozen=True)
class LowDataOptions:
    """What the Appendix B experiment varies beyond the `Setup` (None: the low-data scale's own value).

    reference, n_layers: the LLaMA-family reference and the target depth. n_layers_sweep: Figure 11's depths
    ([]: skipped). table8_references: Table 8, {reference: n} (None: `default_table8_references`). epochs,
    fresh_epochs, epoch_budget_tokens, fresh_corpus: Figure 13 / Table 9 (`epochs=[]` skips them)."""

    reference: str | None = None
    n_layers: int | None = None
    n_layers_sweep: Sequence[int] | None = None
    table8_references: Mapping[str, int] | None = None
    epochs: Sequence[int] | None = None
    fresh_epochs: Sequence[int] | None = None
    epoch_budget_tokens: int | None = None
    fresh_corpus: str | os.PathLike | None = None


def lowdata_setup(
    scale: str = "tiny",
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    progress: bool = True,
    downstream: bool = True,
    eval_limit: int | None = None,
) -> Setup:
    """The `Setup` of the low-data experiment: no GPT-2 corpus (each reference's own tokenizer prepares its
    corpus, `prepare_lowdata_corpus`); eval_limit None: the low-data scale's."""
    get_lowdata_scale(scale)
    return Setup(
        scale=scale,
        data=None,
        device=device,
        seed=seed,
        runs_dir=Path(runs_dir) if runs_dir else None,
        progress=progress,
        downstream=downstream,
        eval_limit=eval_limit,
    )


def table5_lowdata(setup: Setup, options: LowDataOptions | None = None) -> LowDataOutput:
    """Every experiment of Appendix B, as the notebook runs it (nothing is written: call `.write()`);
    `setup` from `lowdata_setup` (scale, device, seed, runs_dir, progress, downstream, eval_limit), the
    experiment's own choices in `options`.

    - table5.csv (Table 5, Figure 10): the reference itself and its first n layers trained on the budget.
    - figure11.csv: the reference and the same target at every depth of `n_layers_sweep` (None: the scale's;
      []: skipped).
    - table8.csv: one target per reference of `table8_references` ({name: n}; None: `default_table8_references`).
    - figure13.csv, table9.csv: B tokens repeated for E epochs (`epochs`; None: the scale's; []: skipped) vs E*B
      fresh tokens (`fresh_epochs`) read from `fresh_corpus` (a prepared corpus of the reference's tokenizer).
    Every run is cached (run_or_load) and every evaluation stored in its run folder, so a second call trains
    and evaluates nothing. `downstream=False` leaves out the lm-eval columns.
    """
    o = options or LowDataOptions()
    scale, device, seed, runs_dir = setup.scale, setup.device, setup.seed, setup.runs_dir
    downstream, eval_limit, progress = setup.downstream, setup.eval_limit, setup.progress
    reference, n_layers, n_layers_sweep = o.reference, o.n_layers, o.n_layers_sweep
    table8_references, epochs, fresh_epochs = o.table8_references, o.epochs, o.fresh_epochs
    epoch_budget_tokens, fresh_corpus = o.epoch_budget_tokens, o.fresh_corpus
    s = get_lowdata_scale(scale, reference=reference, n_layers=n_layers)
    sweep = list(s.n_layer_sweep if n_layers_sweep is None else n_layers_sweep)
    run_kw = dict(device=device, seed=seed, runs_dir=runs_dir, progress=progress)
    est = paper_memory_estimate(micro_batch=LOWDATA_SCALES["paper"].micro_batch)
    out = LowDataOutput(
        notes=[
            f"{s.description} | reference: {s.reference} | n = {s.n_layers} | Figure 11 n: {sweep}",
            f"paper run, estimated peak GPU memory: {est['total']:.1f} GiB (see estimate_peak_memory)",
        ]
    )

    rows = reference_rows(s.reference, s, device=device, downstream=downstream, limit=eval_limit)
    for n in [s.n_layers, *[k for k in sweep if k != s.n_layers]]:
        record = run_lowdata(s.reference, n, s, **run_kw)
        evaluation = evaluate_run(record, s, limit=eval_limit, device=device) if downstream else None
        rows += lowdata_rows(record, evaluation=evaluation)
    out.csvs["table5.csv"] = [r for r in rows if r["role"] == "reference" or r["layers"] == s.n_layers]
    out.csvs["figure11.csv"] = rows if sweep else []

    references = default_table8_references(s) if table8_references is None else dict(table8_references)
    out.csvs["table8.csv"] = table8_rows(references, s, downstream=downstream, limit=eval_limit, **run_kw)

    epoch_counts = list(s.epoch_sweep if epochs is None else epochs)
    figure13: list[dict[str, Any]] = []
    if epoch_counts:
        figure13 = epochs_vs_fresh_rows(
            s.reference,
            s.n_layers,
            s,
            epochs=epoch_counts,
            fresh_epochs=fresh_epochs,
            budget_tokens=epoch_budget_tokens,
            fresh_data=load_token_data(fresh_corpus) if fresh_corpus else None,
            downstream=downstream,
            limit=eval_limit,
            **run_kw,
        )
    out.csvs["figure13.csv"] = figure13
    out.csvs["table9.csv"] = table9_rows(figure13)
    return out
