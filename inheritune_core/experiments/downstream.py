"""Downstream columns: zero-shot lm-eval metrics of a run's final model in the paper's units, cached in the
run's folder. The task lists (task, metric, column, factor) are `evaluation.tasks.PAPER_TABLES`."""

from __future__ import annotations

from typing import Any

from ..evaluation.tasks import PAPER_TABLES
from ..io import atomic_write_json
from .runs import RunRecord, result_row
from .setup import ExperimentOutput, Setup


def downstream_columns(table: str) -> dict[str, list[tuple[str, str, float]]]:
    """lm-eval task -> [(metric as evaluate() names it, our tidy metric name, factor to the paper's units)]."""
    out: dict[str, list[tuple[str, str, float]]] = {}
    for t in PAPER_TABLES[table]:
        out.setdefault(t.task, []).append((t.metric, t.column, t.factor))
    return out


TABLE1_TASKS = downstream_columns("table1")
TABLE4_TASKS = downstream_columns("table4")


def downstream_available() -> bool:
    try:
        from ..evaluation import harness  # noqa: F401
    except ImportError:
        return False
    return True


def downstream_rows(
    setup: Setup,
    rec: RunRecord,
    tasks: dict[str, list[tuple[str, str, float]]],
    *,
    table: str,
    model: str,
    role: str,
    method: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Zero-shot lm-eval metrics of a run's final model (in the paper's units), and notes on tasks that could
    not be evaluated (no local data offline, documents longer than a small model's context...).

    Each task's numbers are cached in the run's folder (downstream-<task>-limit<N>-sampled.json: `evaluate`'s
    default sample of N documents, seeded random except for ordered tasks such as WikiText), so re-running a
    notebook does not re-evaluate."""
    import json

    from ..errors import EvaluationError
    from ..evaluation.harness import evaluate

    values: dict[str, float] = {}
    notes: list[str] = []
    loaded = None
    for task, wanted in tasks.items():
        cache = rec.final_dir / f"downstream-{task}-limit{setup.eval_limit}-sampled.json"
        if not cache.is_file():
            loaded = loaded or rec.load_model(setup.device)
            try:
                df = evaluate(loaded, [task], limit=setup.eval_limit, device=setup.device)
            except (EvaluationError, ConnectionError) as e:
                # ConnectionError: a task with no local copy whose data lives on the (unreachable) Hub.
                first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                notes.append(f"{task} left out for {rec.run_id}: {first_line}")
                continue
            got = {
                name: float(df[(df["task"] == task) & (df["metric"] == metric)]["value"].iloc[0]) * factor
                for metric, name, factor in wanted
                if ((df["task"] == task) & (df["metric"] == metric)).any()
            }
            atomic_write_json(cache, got)
        values.update(json.loads(cache.read_text()))
    rows = [
        result_row(rec, table=table, model=model, role=role, method=method, metric=k, value=v)
        for k, v in values.items()
    ]
    if table == "table4" and len(values) == len(tasks):  # the paper's average over all five tasks
        rows.append(
            result_row(
                rec,
                table=table,
                model=model,
                role=role,
                method=method,
                metric="average",
                value=sum(values.values()) / len(values),
            )
        )
    return rows, notes


def maybe_downstream(setup: Setup, out: ExperimentOutput, tasks, **kw) -> None:
    if not setup.downstream:
        return
    if not downstream_available():
        note = "downstream columns left out: inheritune_core.evaluation is not available"
        if note not in out.notes:
            out.notes.append(note)
        return
    rows, notes = downstream_rows(setup, **kw, tasks=tasks)
    out.rows += rows
    out.notes += notes


__all__ = [
    "downstream_available",
    "downstream_rows",
    "maybe_downstream",
    "downstream_columns",
    "TABLE1_TASKS",
    "TABLE4_TASKS",
]
