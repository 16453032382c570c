"""Every CSV the report reads is checked before a number of it is used (issue 20, items 3-4). Imports no torch.

A results CSV that was cut short, written twice or damaged must stop `make paper` with one line naming the file
and the line, never render a plausible wrong table: duplicated rows turn 3 seeds into 6 (and change the ±), a
truncated last row turns 3 seeds into 2. `read_checked(path, FORMAT)` returns the rows of a file that passes:
- it is UTF-8 text with a header and no NUL byte;
- the header has the format's columns;
- the file ends with a newline and every row has as many fields as the header (a complete last line);
- the format's numeric columns hold numbers (or nothing, where a value was not measured);
- no two rows share the format's key (e.g. table, model, role, method, layers, steps, metric, scale, seed).
A failure raises `ResultsCSVError` (a `DataError`, and a `ValueError` as the readers raised before), whose
message is one line: the file, the line number (the header is line 1) and what to do. The CLI
(`report/__main__.py`) prints it as an `error:` line and exits 2.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError


class ResultsCSVError(DataError, ValueError):
    """A results CSV the report cannot trust; the message is one line naming the file and the line."""


@dataclass(frozen=True)
class CsvFormat:
    """What a kind of results CSV must hold: required columns, the columns that must be numbers (blank allowed),
    and the key no two rows may share (only the key columns the file has count)."""

    name: str
    required: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()  # numeric columns that may not be blank either (a reader computes with them)


# Tidy tables (ours and the paper's): the key of issue 20 plus the columns that split a table further.
TABLE = CsvFormat(
    "tidy table",
    required=("table", "model", "role", "method", "layers", "steps", "metric", "value"),
    numeric=("value", "se", "layers", "steps", "tokens", "val_tokens", "seed", "epochs", "tokens_seen"),
    key=("table", "model", "role", "method", "layers", "steps", "metric", "scale", "seed", "panel", "source")
    + ("data", "epochs"),
)
CURVES = CsvFormat(
    "tidy curves",
    required=("panel", "model", "role", "method", "layers", "step", "tokens", "split", "loss"),
    numeric=("layers", "step", "tokens", "loss", "seed"),
    key=("panel", "model", "role", "method", "layers", "step", "split", "scale", "seed", "run_hash"),
)
LAYER_STATS = CsvFormat(
    "layer statistics",
    required=("model", "layer", "stat", "rank_mean", "rank_std", "mass_mean", "mass_std"),
    numeric=("layer", "rank_mean", "rank_std", "mass_mean", "mass_std", "n_runs", "n_heads", "seq_len"),
    key=("model", "scale", "layer", "stat"),
)
LAZY_LAYERS = CsvFormat(
    "lazy-layer report",
    required=("model", "layer", "all_degenerate_frac", "lazy"),
    numeric=("layer", "max_rank_mean", "max_mass_mean", "all_degenerate_frac"),
    key=("model", "layer"),
    filled=("layer", "all_degenerate_frac"),
)
MAPS = CsvFormat(
    "attention maps",
    required=("model", "layer", "head", "kind", "query", "key", "weight"),
    numeric=("layer", "head", "query", "key", "weight"),
    key=("model", "role", "layer", "head", "kind", "query", "key"),
)
PLAN = CsvFormat(
    "layer plan",
    required=("reference", "statistic", "layer", "n", "value", "std", "n_windows", "seq_len", "note"),
    numeric=("layer", "n", "value", "std", "n_windows", "seq_len"),
    key=("reference", "statistic", "layer", "n"),
)
SELECTION = CsvFormat(
    "layer selection",
    required=("reference", "method", "layers", "n_layers", "step", "val_loss"),
    numeric=("n_layers", "step", "tokens", "val_loss", "seed"),
    key=("reference", "role", "method", "phase", "step", "scale", "seed"),
)
NEXT_SCALE_PLAN = CsvFormat(
    "next-scale plan",
    required=("experiment", "scale", "next_scale", "runs", "train_flops", "teacher_flops"),
    numeric=("seeds", "runs", "tokens", "train_flops", "teacher_flops", "benchmark_flops_per_token"),
    key=("experiment", "scale", "next_scale", "presets"),
    filled=("runs", "train_flops", "benchmark_flops_per_token"),
)
THROUGHPUT = CsvFormat(
    "throughput benchmark",
    required=("card", "preset", "scale", "block_size", "path", "tokens_per_s", "source"),
    numeric=("micro_batch", "block_size", "tokens_per_s", "mfu", "peak_memory_gb"),
    key=("card", "preset", "scale", "micro_batch", "block_size", "compiled", "path", "source"),
)


def _is_number(text: str) -> bool:
    if text == "":
        return True  # not measured (a blank cell is how the writers record it)
    try:
        float(text)
    except ValueError:
        return False
    return True


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise ResultsCSVError(
            f"{path} is empty: not a results CSV (rerun its notebook or restore it from git)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ResultsCSVError(
            f"{path}: byte {e.start} is not UTF-8 text: not a results CSV (rerun its notebook or restore it)"
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ResultsCSVError(f"{path}: line {line} holds a NUL byte: not a results CSV (restore it)")
    return text


def check_text(path: Path, text: str, fmt: CsvFormat) -> list[dict[str, str]]:
    """The rows of `text` (the content of `path`) once it passes every check of the module docstring."""
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise ResultsCSVError(f"{path}: not a readable CSV ({e})") from None
    header = records[0] if records else []
    missing = [c for c in fmt.required if c not in header]
    if missing:
        raise ResultsCSVError(
            f"{path} is not a {fmt.name} CSV: missing columns {missing} (line 1: {','.join(header)[:80]!r})"
        )
    if not text.endswith(("\n", "\r")):
        raise ResultsCSVError(
            f"{path}: the last line ({len(records)}) is incomplete (the file does not end with a newline): "
            "it was cut short; rerun its notebook or restore it from git"
        )
    rows: list[dict[str, str]] = []
    numeric = [c for c in fmt.numeric if c in header]
    key_columns = [c for c in fmt.key if c in header]
    seen: dict[tuple[str, ...], int] = {}
    for line, record in enumerate(records[1:], start=2):
        if not record:
            continue  # a blank line carries no row
        if len(record) != len(header):
            raise ResultsCSVError(
                f"{path}: line {line} has {len(record)} fields, the header {len(header)}: a row cut short "
                "or garbled; rerun its notebook or restore it from git"
            )
        row = dict(zip(header, record))
        for column in numeric:
            if not _is_number(row[column]) or (column in fmt.filled and row[column] == ""):
                raise ResultsCSVError(f"{path}: line {line}: {column} is {row[column][:40]!r}, not a number")
        key = tuple(row[c] for c in key_columns)
        if key_columns and key in seen:
            raise ResultsCSVError(
                f"{path}: line {line} repeats line {seen[key]} (same {', '.join(key_columns)}): a row written "
                "twice would count twice; remove the duplicate or rerun the notebook"
            )
        seen[key] = line
        rows.append(row)
    return rows


def read_checked(path: str | os.PathLike, fmt: CsvFormat) -> list[dict[str, str]]:
    """The rows of a results CSV (dicts of strings) that passed every check; FileNotFoundError when absent."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results CSV {path} does not exist")
    return check_text(path, _decode(path, path.read_bytes()), fmt)


def read_checked_text(path: str | os.PathLike, fmt: CsvFormat) -> str:
    """The checked text of a results CSV, for a reader that parses it again (pandas)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results CSV {path} does not exist")
    text = _decode(path, path.read_bytes())
    check_text(path, text, fmt)
    return text


def number(text: str | None) -> float | None:
    """A checked numeric cell as a float; None when blank or NaN (not measured)."""
    if text in (None, ""):
        return None
    x = float(text)
    return None if math.isnan(x) else x


__all__ = [
    "ResultsCSVError",
    "CsvFormat",
    "TABLE",
    "CURVES",
    "LAYER_STATS",
    "LAZY_LAYERS",
    "MAPS",
    "PLAN",
    "SELECTION",
    "NEXT_SCALE_PLAN",
    "THROUGHPUT",
    "check_text",
    "read_checked",
    "read_checked_text",
    "number",
]
