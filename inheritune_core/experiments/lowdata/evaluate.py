"""Evaluating the low-data reference and targets with lm-eval, cached in the run folders, as tidy rows."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...config import LOWDATA
from ...evaluation.tasks import column_for, factor_for
from ...experiments.runs import (
    result_row,
    short_hash,
)
from ...io import atomic_write_text
from .scales import HF_EXPORT_DIR, OFFLINE_REFERENCE, LowDataScale, get_lowdata_scale, lowdata_train_config
from .targets import prepare_lowdata_corpus


def reference_val_loss(
    reference: str | None = None,
    scale: str | LowDataScale = "smoke",
    *,
    device: str = "cpu",
    corpus_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> float:
    """The untrained reference's validation loss on the scale's corpus (same fixed windows as the runs)."""
    from ...models.llama import load_llama_reference
    from ...training.trainer import evaluate_loss

    s = get_lowdata_scale(scale, reference=reference)
    model, tokenizer = load_llama_reference(s.reference)
    data = prepare_lowdata_corpus(tokenizer, s.reference, s, out_dir=corpus_dir, progress=progress)
    cfg = lowdata_train_config(s, tempfile.gettempdir(), device=device, progress=False)
    return float(evaluate_loss(model.to(device), data, cfg, device=device))


def evaluate_lowdata(
    model_dir: str | os.PathLike,
    scale: str | LowDataScale = "smoke",
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    device: str | None = None,
):
    """lm-eval scores (DataFrame task, metric, value, stderr, n) of a Hugging Face folder at a scale's tasks.

    A task with no local copy while the Hub cannot be reached is skipped with a printed line (its name and why
    in `table.attrs["skipped"]`); when every task is, the table is empty."""
    from ...evaluation.harness import RESULT_COLUMNS, NothingToEvaluate, evaluate

    s = get_lowdata_scale(scale)
    task_list = list(tasks or s.eval_tasks)
    try:
        return evaluate(
            str(model_dir),
            task_list,
            limit=limit if limit is not None else s.eval_limit,
            device=device,
            strict=False,
        )
    except NothingToEvaluate as e:
        print(f"downstream columns left out: {e}")
        table = pd.DataFrame(columns=list(RESULT_COLUMNS))
        table.attrs["skipped"] = {t: str(e) for t in task_list}
        return table


# lm-eval task -> the metric prefix of results/paper_reported/table5.csv (Table 5's column names).
REFERENCE_DISPLAY = {
    "openlm-research/open_llama_3b": "OpenLLaMA-3B",
    "openlm-research/open_llama_7b": "OpenLLaMA-7B",
    "meta-llama/Llama-2-7b-hf": "LLaMA2-7B",
    OFFLINE_REFERENCE: "SmolLM2-135M",
}


def lowdata_rows(
    record: Any,
    *,
    table: str = "table5",
    evaluation: Any = None,
    extra: Mapping[str, Any] | None = None,
    model: str | None = None,
    role: str = "inheritune",
    method: str | None = None,
) -> list[dict[str, Any]]:
    """Tidy rows (experiments.result_row format, keyed like results/paper_reported/table5.csv) of one run:
    its validation loss, plus one row per lm-eval metric when an evaluation table is given. The paper's own
    run (OpenLLaMA-3B, n = 13, paper scale) is named "Ours-1.5B (1B)" so it lines up with the paper's row.
    `model`, `role`, `method` replace the defaults (Tables 8, 9 key their rows differently)."""
    reference, n = record.spec.preset, record.spec.n_layer
    ref_name = REFERENCE_DISPLAY.get(reference, reference)
    paper_run = reference == LOWDATA.reference and n == LOWDATA.n_layers and record.spec.scale == "paper"
    if model is None:
        model = "Ours-1.5B (1B)" if paper_run else f"Ours-{n}L ({ref_name})"
    base = dict(table=table, model=model, role=role, method=ref_name if method is None else method)
    rows = [result_row(record, **base)]
    if evaluation is not None:
        for r in evaluation.to_dict("records"):
            if r.get("group"):  # a group's subtask (an MMLU subject): the paper reports the group's row
                continue
            metric = column_for(r["task"], r["metric"])
            value = float(r["value"]) * factor_for(r["metric"])  # the paper's percent
            rows.append(result_row(record, **base, metric=metric, value=value))
    return [{**r, **(extra or {})} for r in rows]


def reference_rows(
    reference: str | None = None,
    scale: str | LowDataScale = "smoke",
    *,
    device: str = "cpu",
    downstream: bool = True,
    limit: int | None = None,
    table: str = "table5",
    corpus_dir: str | os.PathLike | None = None,
) -> list[dict[str, Any]]:
    """Rows of the untrained reference itself (Table 5's first row): validation loss on the same corpus and
    windows as the targets, plus its lm-eval scores."""
    from ...models.llama import load_llama_reference, reference_model_dir

    s = get_lowdata_scale(scale, reference=reference)
    ref_model, _ = load_llama_reference(s.reference)
    depth = ref_model.config.num_hidden_layers
    del ref_model
    name = REFERENCE_DISPLAY.get(s.reference, s.reference)
    paper_ref = s.reference == LOWDATA.reference and s.name == "paper"
    base = dict(
        table=table,
        model="OpenLLaMA-3B (1T)" if paper_ref else f"{name} (reference)",
        role="reference",
        method="n/a",
        layers=depth,
        steps="",
    )
    tail = dict(scale=s.name, seed="", run_hash="", run_id="")  # columns in experiments.result_row's order
    rows = [
        {
            **base,
            "metric": "val_loss",
            "value": reference_val_loss(s.reference, s, device=device, corpus_dir=corpus_dir),
            **tail,
        }
    ]
    if downstream:
        evaluation = evaluate_lowdata(reference_model_dir(s.reference), s, limit=limit, device=device)
        for r in evaluation.to_dict("records"):
            if r.get("group"):  # a group's subtask (an MMLU subject): the paper reports the group's row
                continue
            metric = column_for(r["task"], r["metric"])
            value = float(r["value"]) * factor_for(r["metric"])
            rows.append({**base, "metric": metric, "value": value, **tail})
    return rows


def json_copy(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def evaluate_run(
    record: Any,
    scale: str | LowDataScale = "smoke",
    *,
    limit: int | None = None,
    device: str | None = None,
    tasks: Sequence[str] | None = None,
):
    """`evaluate_lowdata` of a finished run's exported target, stored in the run folder and read back after
    (one run feeds Table 5, Table 8 and Figure 11: it is evaluated once)."""
    s = get_lowdata_scale(scale)
    task_list = list(tasks or s.eval_tasks)
    limit = limit if limit is not None else s.eval_limit
    cache = record.run_dir / f"eval-{short_hash({'tasks': task_list, 'limit': limit})}.csv"
    if cache.is_file():
        return pd.read_csv(cache)
    evaluation = evaluate_lowdata(
        record.run_dir / HF_EXPORT_DIR, s, tasks=task_list, limit=limit, device=device
    )
    if not evaluation.attrs.get("skipped"):  # a partial evaluation (offline) is redone once the data is there
        atomic_write_text(cache, evaluation.to_csv(index=False, lineterminator="\n"))
    return evaluation
