"""Files other steps read: atomic writes (temp file in the same folder, fsync, rename), hashes, tidy CSVs.

A file that exists under its final name is always complete, so a killed writer never leaves a half-written CSV,
checkpoint or token file behind for a reader to trust.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def _atomic_target(path: Path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates 0600 files; give the final file the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    return fd, Path(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    fd, tmp = _atomic_target(Path(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (downloads and model files can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_csv(
    rows: Iterable[Mapping[str, Any]], path: str | os.PathLike, columns: Sequence[str] | None = None
) -> Path:
    """Write tidy rows to a CSV atomically (all or nothing). Columns: `columns`, else first-seen order."""
    rows = [dict(r) for r in rows]
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            for k in r:
                seen.setdefault(k, None)
        columns = list(seen)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_value(r.get(k, "")) for k in columns})
    path = Path(path)
    atomic_write_text(path, buf.getvalue())
    return path


def _csv_value(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)  # repr: exact round trip
    return "" if v is None else v


__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "sha256_file", "write_csv"]
