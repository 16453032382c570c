"""Result CSVs kept per scale: a run at scale S replaces the rows of scale S in results/<name>/*.csv and keeps
every other scale's rows, so a `smoke` check never overwrites the committed `tiny` results (issue 21).

Rows of other scales are read back as text and written again unchanged (their cells are the same bytes when
the columns are), grouped by scale in config.SCALES order, each scale's rows in the order they were written.
The file is replaced atomically (io.write_csv): a failed write leaves the previous file whole.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..config import SCALES
from ..io import write_csv


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """A tidy CSV as rows of strings ([] when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _scale_order(scale: str) -> tuple[int, str]:
    order = list(SCALES)
    return (order.index(scale) if scale in order else len(order), scale)


def write_by_scale(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write `rows` to `path`, replacing only the rows of their scales (see the module docstring). Rows
    without a `scale` column replace the whole file, as before."""
    rows = [dict(r) for r in rows]
    if not rows or any("scale" not in r for r in rows):
        return write_csv(rows, path)
    mine = {str(r["scale"]) for r in rows}
    old = read_rows(path)
    kept = [r for r in old if r.get("scale") not in mine]
    columns = list(dict.fromkeys([*(old[0].keys() if old else ()), *(k for r in rows for k in r)]))
    by_scale: dict[str, list[dict[str, Any]]] = {}
    for r in kept + rows:
        by_scale.setdefault(str(r.get("scale", "")), []).append(r)
    ordered = [r for s in sorted(by_scale, key=_scale_order) for r in by_scale[s]]
    return write_csv(ordered, path, columns=columns)


__all__ = ["read_rows", "write_by_scale"]
