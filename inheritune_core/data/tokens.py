"""Token files on disk: `train.bin` / `val.bin` (flat uint16 or uint32 arrays) plus `meta.json`.

`meta.json` records token counts, dtype, tokenizer name and source hashes. Readers check the files against it,
so a truncated or half-written file is refused with one clear line instead of silently training on less data.
Writers go through `atomic_write_*`: a temp file in the same folder, fsync, then rename, so a file that exists
under its final name is always complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import _atomic_target


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


class ShardedTokens:
    """Several token memmaps (train_000.bin, ...) read as one 1-D array: len() and contiguous slices.

    A window crossing a shard boundary is stitched from both shards, so samplers written for one memmap work
    unchanged on a sharded corpus without concatenating (and copying) 100B tokens.
    """

    def __init__(self, root: str | os.PathLike, names: list[str], dtype: np.dtype):
        self.root, self.names, self.dtype = Path(root), list(names), np.dtype(dtype)
        self.sizes = [(self.root / f"{n}.bin").stat().st_size // self.dtype.itemsize for n in self.names]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    def _shard(self, i: int) -> np.memmap:
        return np.memmap(self.root / f"{self.names[i]}.bin", dtype=self.dtype, mode="r")

    def __getitem__(self, key: slice | int) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            k = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= k < len(self):
                raise IndexError(key)
            return self[k : k + 1][0]
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("ShardedTokens supports contiguous slices only")
        parts = []
        pos = start
        while pos < stop:
            i = int(np.searchsorted(self.offsets, pos, side="right") - 1)
            end = min(stop, int(self.offsets[i + 1]))
            parts.append(np.asarray(self._shard(i)[pos - self.offsets[i] : end - self.offsets[i]]))
            pos = end
        return np.concatenate(parts) if parts else np.zeros(0, dtype=self.dtype)


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
        raise DataError(
            f"{meta_path} is missing: {root} is not a prepared corpus (or its preparation did not finish)"
        )
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


__all__ = ["ShardedTokens", "TokenData", "load_token_data", "token_dtype", "atomic_write_tokens"]
