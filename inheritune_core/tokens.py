"""Token files on disk: `train.bin` / `val.bin` (flat uint16 or uint32 arrays) plus `meta.json`.

`meta.json` records token counts, dtype, tokenizer name and source hashes. Readers check the files against it,
so a truncated or half-written file is refused with one clear line instead of silently training on less data.
Writers go through `atomic_write_*`: a temp file in the same folder, fsync, then rename, so a file that exists
under its final name is always complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataError(RuntimeError):
    """Missing, truncated or inconsistent data; the message is one line naming the problem and the file."""


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


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits (GPT-2's 50257, LLaMA's 32000, SmolLM2's 49152); uint32 beyond."""
    return np.dtype(np.uint16) if vocab_size <= 65536 else np.dtype(np.uint32)


def atomic_write_tokens(path: str | os.PathLike, chunks: Iterable[np.ndarray], dtype: np.dtype) -> int:
    """Stream token-id chunks to `path` atomically; returns the number of tokens written."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    n = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                arr = np.asarray(chunk)
                if arr.size and (arr.min() < 0 or arr.max() >= np.iinfo(dtype).max + 1):
                    raise DataError(f"token id out of range for {dtype} while writing {path}")
                f.write(arr.astype(dtype, copy=False).tobytes())
                n += arr.size
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


@dataclass
class TokenData:
    """A prepared corpus: train and validation token memmaps plus their metadata.

    The memmaps are opened lazily and re-opened on demand: numpy memmaps keep pages resident, and nanoGPT
    recreates them per batch to avoid a slow memory leak; `split()` does the same.
    """

    root: Path
    meta: dict

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.meta["dtype"])

    @property
    def vocab_size(self) -> int:
        return int(self.meta["vocab_size"])

    @property
    def tokenizer(self) -> str:
        return str(self.meta.get("tokenizer", "gpt2"))

    def num_tokens(self, split: str) -> int:
        shards = self.meta.get("shards", {}).get(split)
        if shards:
            return sum(int(self.meta["splits"][s]["tokens"]) for s in shards)
        return int(self.meta["splits"][split]["tokens"])

    def split(self, split: str):
        """The split's tokens as one array-like (a memmap, or a `ShardedTokens` view over train_NNN.bin)."""
        shards = self.meta.get("shards", {}).get(split)
        if shards:
            from .data import ShardedTokens

            return ShardedTokens(self.root, shards, self.dtype)
        if split not in self.meta["splits"]:
            raise DataError(f"{self.root}: no split {split!r} (have {', '.join(self.meta['splits'])})")
        return np.memmap(self.root / f"{split}.bin", dtype=self.dtype, mode="r")


def load_token_data(root: str | os.PathLike) -> TokenData:
    """Open a prepared corpus folder, checking every file against meta.json (one clear error otherwise)."""
    root = Path(root)
    meta_path = root / "meta.json"
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist (run `make setup` or prepare_corpus first)")
    if not meta_path.is_file():
        raise DataError(f"{meta_path} is missing: {root} is not a prepared corpus (or its preparation did not finish)")
    try:
        meta = json.loads(meta_path.read_text())
        splits = meta["splits"]
        dtype = np.dtype(meta["dtype"])
        int(meta["vocab_size"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise DataError(f"{meta_path} is corrupt ({type(e).__name__}: {e})") from None
    for name, info in splits.items():
        path = root / f"{name}.bin"
        if not path.is_file():
            raise DataError(f"{path} is missing (meta.json lists split {name!r})")
        expected = int(info["tokens"]) * dtype.itemsize
        actual = path.stat().st_size
        if actual != expected:
            raise DataError(
                f"{path} is truncated or corrupt: {actual} bytes, meta.json says {info['tokens']} tokens "
                f"({expected} bytes)"
            )
    return TokenData(root=root, meta=meta)


__all__ = [
    "DataError", "TokenData", "sha256_file", "load_token_data", "token_dtype", "atomic_write_bytes", "atomic_write_text",
    "atomic_write_json", "atomic_write_tokens",
]
