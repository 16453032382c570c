"""The paper's vocabulary, stated once and torch-free: the downstream tasks of each paper table (lm-eval task,
metric, few-shot count, our CSV column and its rendered label), the role names our tidy rows use, and the
labels of the model presets. Every room reads it (base room: it imports nothing of the package), the report
included; the paper's numbers (presets, scales, step counts) are in `config.py`, the list of tables and
figures in `registry.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

# ----------------------------------------------------------------------------------------------- model labels
# preset -> (the label of tables and figures, the ledger's short label)
MODEL_LABELS: dict[str, tuple[str, str]] = {
    "gpt2-medium": ("GPT-2 Medium", "medium"),
    "gpt2-large": ("GPT-2 Large", "large"),
    "gpt2-large-dagger": ("GPT-2 Large†", "large†"),
    "gpt2-xlarge": ("GPT-2 xLarge", "xlarge"),
}
MODEL_NAMES = {preset: long for preset, (long, _) in MODEL_LABELS.items()}
MODEL_SHORT = {preset: short for preset, (_, short) in MODEL_LABELS.items()}

# --------------------------------------------------------------------------------------------------- roles
# The `role` of a tidy row: which model of a comparison it is (experiments/arms.py declares them per table,
# report/claims.py compares them). A recipe's earlier rounds are `inheritune_round<N>`.
REFERENCE = "reference"
INHERITUNE = "inheritune"
RANDOM = "random"
RANDOM_2X = "random_2x"
# A random model of half the reference's depth at T: the precondition of parity (does depth matter here?).
RANDOM_HALF = "random_half"
HALF_WIDTH = "half_width"
STACKING_STAGE1 = "stacking_stage1"
STACKING = "stacking"
HYBRID_STACKING = "hybrid_stacking"
ATTN_LN = "attn_ln"
MLP_LN = "mlp_ln"
ATTN_MLP_NO_LN = "attn_mlp_no_ln"
KD = "kd"
DISTILBERT_KD = "distilbert_kd"
EARLY = "early"
LAZY = "lazy"
ROLES = (
    REFERENCE,
    INHERITUNE,
    RANDOM,
    RANDOM_2X,
    RANDOM_HALF,
    HALF_WIDTH,
    STACKING_STAGE1,
    STACKING,
    HYBRID_STACKING,
    ATTN_LN,
    MLP_LN,
    ATTN_MLP_NO_LN,
    KD,
    DISTILBERT_KD,
    EARLY,
    LAZY,
)


def round_role(i: int, last: bool) -> str:
    """The role of round i (1-based) of Algorithm 1: `inheritune` for the final model."""
    return INHERITUNE if last else f"{INHERITUNE}_round{i}"


# ------------------------------------------------------------------------------------- downstream tasks
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


__all__ = [
    "MODEL_LABELS",
    "MODEL_NAMES",
    "MODEL_SHORT",
    "ROLES",
    "round_role",
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
    "TABLE5_ZERO_SHOT_COLUMNS",
    "MMLU_COLUMN",
    "tasks_of",
    "metrics_of",
    "column_for",
    "factor_for",
]
