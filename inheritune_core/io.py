"""Files other steps read: atomic writes (temp file in the same folder, fsync, rename), hashes, tidy CSVs.

A file that exists under its final name is always complete, so a killed writer never leaves a half-written CSV,
checkpoint or token file behind for a reader to trust.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import math
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError


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


def read_metrics(path: str | os.PathLike) -> list[dict[str, float | None]]:
    """A trainer's metrics.csv as rows of floats (None where a cell is empty); no torch needed to read it."""
    with open(path, newline="") as f:
        return [
            {k: (float(v) if v not in ("", None) else None) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


# ----------------------------------------------------------------------------------------- one owner per folder

LOCK_FILE = ".lock"
_HELD_LOCKS: dict[str, int] = {}  # folders whose lock this process holds -> nesting depth


def _lock_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text else "another process"


@contextlib.contextmanager
def run_folder_lock(folder: str | os.PathLike, *, wait: bool = True) -> Iterator[None]:
    """Hold the exclusive lock of a run (or data) folder: every process that writes into a folder holds it.

    An `fcntl.flock` on `folder/.lock`, which holds the holder's "pid@host" while it is held. The rule: a second
    process waits for the first, after printing one line to stderr ("waiting for pid 123@host on <folder>"),
    then sees what the first one left (a finished run is read back, not trained again); with wait=False it is
    refused at once (ConfigError). The kernel drops the lock when its holder dies, so a killed process never
    leaves a folder locked. Re-entrant within a process: `run_or_load` holds a run's folder while `train` writes
    into it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    if _HELD_LOCKS.get(key):
        _HELD_LOCKS[key] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[key] -= 1
        return
    # O_RDWR without O_TRUNC: opening must not erase the holder's pid that a waiter is about to print.
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(fd)
            if not wait:
                raise ConfigError(
                    f"{folder} is in use by {holder} (its lock file {folder / LOCK_FILE})"
                ) from None
            print(f"waiting for {holder} on {folder}", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}@{socket.gethostname()}\n".encode(), 0)
        _HELD_LOCKS[key] = 1
        try:
            yield
        finally:
            del _HELD_LOCKS[key]
            os.ftruncate(fd, 0)  # a stale pid would only mislead; the lock itself goes with the descriptor
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def remove_orphan_temps(folder: str | os.PathLike, pattern: str = ".*.tmp") -> list[Path]:
    """Delete what killed atomic writes left in `folder` (their temp files: `.ckpt.pt.x1y2.tmp`, ...).

    Call it while holding the folder's `run_folder_lock`, so no live writer's temp file can be removed.
    Returns the paths removed (directories too, for download folders' `.pip-*`).
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in sorted(folder.glob(pattern)):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "sha256_file",
    "write_csv",
    "read_metrics",
    "run_folder_lock",
    "remove_orphan_temps",
]
