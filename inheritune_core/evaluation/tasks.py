"""The one task registry: which lm-eval task, metric and few-shot count each paper table uses, and the column
name and label our CSVs and rendered tables give it.

Evaluation (`harness`), the experiments and the report all read this module, so a task list, a metric or a
column name is stated once. It imports nothing heavy (no torch, no lm-eval): `report` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperTask:
    """One scored column of a paper table.

    task: the lm-eval task; metric: the lm-eval metric (`acc`, `acc_norm`, `word_perplexity`...);
    column: the tidy metric name in our CSVs; label: the column header of rendered tables;
    shots: the paper's few-shot count; factor: multiplies lm-eval's value into the paper's units (accuracy in %).
    """

    task: str
    metric: str
    column: str
    label: str
    shots: int = 0
    factor: float = 1.0


def _acc(
    task: str, label: str, *, column: str | None = None, metric: str = "acc", shots: int = 0
) -> PaperTask:
    return PaperTask(task, metric, column or f"{task}_{metric}", label, shots=shots, factor=100.0)


# Table 1: zero-shot next-word prediction (WikiText word perplexity, LAMBADA accuracy).
TABLE1 = (
    PaperTask("wikitext", "word_perplexity", "wikitext_word_perplexity", "Wikitext ppl (↓)"),
    _acc("lambada_openai", "Lambada acc"),
)
# Table 4: zero-shot accuracy, acc_norm for HellaSwag (Open LLM leaderboard convention, as the paper says).
TABLE4 = (
    _acc("arc_easy", "ARC-E acc"),
    _acc("piqa", "PIQA acc"),
    _acc("sciq", "SciQ acc"),
    _acc("hellaswag", "Hellaswag acc_norm", metric="acc_norm"),
    _acc("lambada_openai", "Lambada acc"),
)
# Table 5 (low-data regime): nine 0-shot tasks plus MMLU 5-shot ("All the tasks are evaluated using 0-shot except
# MMLU"). "Winograd" is lm-eval's wsc273; TruthfulQA is reported with the mc2 score (the Open LLM leaderboard's).
TABLE5 = (
    _acc("wsc273", "Winograd", column="winograd_acc"),
    _acc("piqa", "PIQA acc"),
    _acc("boolq", "BoolQ"),
    _acc("winogrande", "WinoGrande"),
    _acc("logiqa", "LogiQA"),
    _acc("mmlu", "MMLU (5-shot)", column="mmlu_5shot_acc", shots=5),
    _acc("wnli", "WNLI"),
    _acc("qnli", "QNLI"),
    _acc("mnli", "MNLI"),
    _acc("truthfulqa_mc2", "TruthfulQA", column="truthfulqa_acc"),
)
PAPER_TABLES: dict[str, tuple[PaperTask, ...]] = {"table1": TABLE1, "table4": TABLE4, "table5": TABLE5}


def tasks_of(table: str) -> tuple[str, ...]:
    """The lm-eval task names of a paper table, in the paper's column order."""
    return tuple(dict.fromkeys(t.task for t in PAPER_TABLES[table]))


def metrics_of(table: str) -> dict[str, tuple[str, ...]]:
    """task -> the lm-eval metrics the table reports for it."""
    out: dict[str, tuple[str, ...]] = {}
    for t in PAPER_TABLES[table]:
        out[t.task] = (*out.get(t.task, ()), t.metric)
    return out


def column_for(task: str, metric: str) -> str:
    """Our CSV metric name for an lm-eval (task, metric); `task_metric` for tasks outside the paper's tables."""
    for specs in PAPER_TABLES.values():
        for t in specs:
            if (t.task, t.metric) == (task, metric):
                return t.column
    return f"{task}_{metric}"


def factor_for(metric: str) -> float:
    """lm-eval's value -> the paper's units: accuracies in percent, perplexities as they are."""
    return 100.0 if metric.startswith("acc") else 1.0


TABLE1_TASKS = tasks_of("table1")
TABLE4_TASKS = tasks_of("table4")
TABLE5_TASKS = tasks_of("table5")
TABLE1_METRICS = metrics_of("table1")
TABLE4_METRICS = metrics_of("table4")
TABLE5_METRICS = metrics_of("table5")
# Few-shot counts the paper used where not 0.
TASK_FEWSHOT: dict[str, int] = {t.task: t.shots for specs in PAPER_TABLES.values() for t in specs if t.shots}
# Column -> rendered header, for every downstream column of every paper table.
COLUMN_LABELS: dict[str, str] = {t.column: t.label for specs in PAPER_TABLES.values() for t in specs}
# Table 5's nine 0-shot columns (their average is the paper's "average of 9") and its MMLU column.
TABLE5_ZERO_SHOT_COLUMNS = tuple(t.column for t in TABLE5 if not t.shots)
MMLU_COLUMN = next(t.column for t in TABLE5 if t.task == "mmlu")

# Offline copies in paths.shared_evaldata_dir(): task -> folder (layouts described in that folder's README).
SHARED_EVALDATA_FOLDERS: dict[str, str] = {
    "lambada_openai": "lambada_openai",
    "piqa": "piqa",
    "arc_easy": "arc_easy",
    "wikitext": "wikitext2_raw",
}
# A folder of local copies holds one subfolder per task, named after the task (any case) or one of these names
# the benchmarks' own releases and other frameworks use for it.
LOCAL_FOLDER_NAMES: dict[str, tuple[str, ...]] = {
    "wsc273": ("winograd_wsc", "winograd", "wsc"),
    "truthfulqa_mc2": ("truthfulqa", "truthful_qa"),
    "truthfulqa_mc1": ("truthfulqa", "truthful_qa"),
    "wikitext": ("wikitext2_raw", "wikitext-2-raw-v1", "wikitext-2-raw"),
    "lambada_openai": ("lambada",),
    "mnli": ("multinli",),
    "logiqa": ("logi_qa",),
    "mmlu": ("hendrycks_test",),
}
# Tasks whose documents are consecutive parts of one text (WikiText's pages): `limit` keeps the first N there;
# elsewhere it scores a seeded random sample, because release files are often sorted (by answer, topic, source).
ORDERED_TASKS: frozenset[str] = frozenset({"wikitext"})

__all__ = [
    "PaperTask",
    "PAPER_TABLES",
    "TABLE1",
    "TABLE4",
    "TABLE5",
    "TABLE1_TASKS",
    "TABLE4_TASKS",
    "TABLE5_TASKS",
    "TABLE1_METRICS",
    "TABLE4_METRICS",
    "TABLE5_METRICS",
    "TASK_FEWSHOT",
    "COLUMN_LABELS",
    "SHARED_EVALDATA_FOLDERS",
    "LOCAL_FOLDER_NAMES",
    "ORDERED_TASKS",
    "TABLE5_ZERO_SHOT_COLUMNS",
    "MMLU_COLUMN",
    "tasks_of",
    "metrics_of",
    "column_for",
    "factor_for",
]
