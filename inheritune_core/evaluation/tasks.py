"""Local evaluation data: where the offline copies of the lm-eval tasks live and how their folders are named.

The paper's task lists (which task, metric and few-shot count each table uses, and our column names) are
`inheritune_core.paper`'s; they are re-exported here for the evaluation code.
"""

from __future__ import annotations

from ..paper import (  # noqa: F401  (re-exported: the evaluation room's view of the paper's task lists)
    COLUMN_LABELS,
    MMLU_COLUMN,
    PAPER_TABLES,
    TABLE1,
    TABLE1_METRICS,
    TABLE1_TASKS,
    TABLE4,
    TABLE4_METRICS,
    TABLE4_TASKS,
    TABLE5,
    TABLE5_METRICS,
    TABLE5_TASKS,
    TABLE5_ZERO_SHOT_COLUMNS,
    TASK_FEWSHOT,
    PaperTask,
    column_for,
    factor_for,
    metrics_of,
    tasks_of,
)

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
