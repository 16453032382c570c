"""Token files on disk: `train.bin` / `val.bin` (flat uint16 or uint32 arrays) plus `meta.json`.

`meta.json` records token counts, dtype, the tokenizer's name and vocabulary size (`vocab_size`: 50257 for
GPT-2, not the model's padded 50304) and source hashes. Readers check the files against it, so a truncated or
half-written file is refused with one clear line instead of silently training on less data.

Contents are checked too: each split's entry holds `content` = {tokens, sha256, max_id, file} of its file,
written by `prepare` (or computed once, in one chunked pass, the first time a corpus without it is opened, and
cached into meta.json atomically). `file` is the stamp of the file that was read (size, mtime_ns, ctime_ns,
inode): the cache is trusted only while the file still has that stamp, so a token file edited in place (same
length) is read again, its new ids checked and its new sha256 recorded, rather than trusted (issue 20, item 2;
`tests/test_inputs.py`). ctime cannot be set back by a user, so restoring the mtime does not hide an edit. An id at or beyond the tokenizer's vocabulary is refused when the corpus is opened
(it would index a padding row of the embedding silently, or fail mid-run beyond it), and the trainer records
the sha256s in its checkpoints to refuse resuming a run on another corpus. The corpus *fingerprint* (what run
specs hash) is meta.json without timings and without these cached contents, so caching them changes no run.

Writers go through `atomic_write_*`: a temp file in the same folder, fsync, then rename, so a file that exists
under its final name is always complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..io import _atomic_target, atomic_write_json, run_folder_lock

# The cached description of a token file's contents, inside its meta.json split entry.
CONTENT_KEY = "content"
SCAN_CHUNK_BYTES = 1 << 26  # 64 MiB per read: bounded memory whatever the corpus size
NOTICE_SCAN_BYTES = 1 << 30


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


def file_stamp(path: str | os.PathLike) -> dict[str, int]:
    """What identifies one version of a file without reading it: size, mtime_ns, ctime_ns and inode. Any write,
    replacement (rename) or copy changes at least one of them."""
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}


def describe_tokens(path: str | os.PathLike, dtype: np.dtype) -> dict[str, Any]:
    """The `content` entry of a token file: `scan_tokens` plus the `file_stamp` taken before the scan (a write
    during the scan changes the stamp, so the next opening scans again)."""
    stamp = file_stamp(path)
    return {**scan_tokens(path, dtype), "file": stamp}


def scan_tokens(path: str | os.PathLike, dtype: np.dtype) -> dict[str, Any]:
    """{tokens, sha256, max_id} of a token file, in one pass of bounded-size reads (max_id -1 when empty)."""
    dtype = np.dtype(dtype)
    digest, n, max_id = hashlib.sha256(), 0, -1
    step = SCAN_CHUNK_BYTES - SCAN_CHUNK_BYTES % dtype.itemsize
    with open(path, "rb") as f:
        while block := f.read(step):
            digest.update(block)
            ids = np.frombuffer(block, dtype=dtype)
            if ids.size:
                max_id = max(max_id, int(ids.max()))
            n += ids.size
    return {"tokens": n, "sha256": digest.hexdigest(), "max_id": max_id}


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

    def files(self, split: str) -> list[str]:
        """The meta.json entries (token files without .bin) that make up a split: itself, or its shards."""
        return list(self.meta.get("shards", {}).get(split) or [split])

    def content(self, name: str) -> dict[str, Any]:
        """{tokens, sha256, max_id, file} of one token file: meta.json's cached entry while the file still has
        the stamp it had when it was read, else a scan (kept in `meta`; `load_token_data` writes it back)."""
        entry = self.meta["splits"][name]
        path = self.root / f"{name}.bin"
        cached = entry.get(CONTENT_KEY)
        if not (
            isinstance(cached, dict)
            and cached.get("tokens") == int(entry["tokens"])
            and cached.get("file") == file_stamp(path)
        ):
            # absent, from an older version without a stamp, copied along with a split whose file was since
            # rewritten (a slice of a corpus), or the file was edited in place: the length alone proves nothing
            size = path.stat().st_size
            if size > NOTICE_SCAN_BYTES:  # minutes at paper scale: say why the first opening is slow
                print(
                    f"{path}: reading {size / 2**30:.1f} GiB once for its sha256 and largest token id "
                    "(then cached in meta.json)",
                    file=sys.stderr,
                    flush=True,
                )
            entry[CONTENT_KEY] = describe_tokens(path, self.dtype)
        return entry[CONTENT_KEY]

    def max_token_id(self, split: str) -> int:
        """The largest token id in a split (-1 when empty)."""
        return max(int(self.content(name)["max_id"]) for name in self.files(split))

    def identity(self) -> dict[str, Any]:
        """What the trainer records and compares on resume: each token file's length and sha256, as the file
        is now (`content` reads it again when its stamp changed since the cached sha256 was computed)."""
        return {
            name: {"tokens": int(self.content(name)["tokens"]), "sha256": self.content(name)["sha256"]}
            for name in self.meta["splits"]
        }


def _check_meta(meta: Any, meta_path: Path) -> None:
    """The fields readers rely on, with the types they rely on: one clear line otherwise."""

    def corrupt(why: str) -> DataError:
        return DataError(f"{meta_path} is corrupt ({why}); prepare the corpus again")

    if not isinstance(meta, dict):
        raise corrupt(f"expected a JSON object, got a {type(meta).__name__}")
    for key in ("splits", "dtype", "vocab_size"):
        if key not in meta:
            raise corrupt(f"no {key!r} field")
    splits = meta["splits"]
    if not isinstance(splits, dict) or not splits:
        raise corrupt(f"'splits' must be an object of split -> {{\"tokens\": n}}, got {splits!r:.60}")
    for name, info in splits.items():
        tokens = info.get("tokens") if isinstance(info, dict) else None
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
            raise corrupt(f"split {name!r} has tokens={tokens!r}, not a token count")
    if meta["dtype"] not in ("uint16", "uint32"):
        raise corrupt(f"dtype {meta['dtype']!r} is not uint16 or uint32")
    vocab = meta["vocab_size"]
    if isinstance(vocab, bool) or not isinstance(vocab, int) or vocab <= 0:
        raise corrupt(f"'vocab_size' must be a positive integer, got {vocab!r}")
    shards = meta.get("shards", {})
    if not isinstance(shards, dict) or not all(
        isinstance(v, list) and all(n in splits for n in v) for v in shards.values()
    ):
        raise corrupt("'shards' must map a split to token files listed in 'splits'")
    if "val" not in splits:
        raise DataError(
            f"{meta_path} lists no 'val' split (splits: {', '.join(splits)}): every corpus needs one to "
            "evaluate on; prepare it again"
        )
    if "train" not in splits and not shards.get("train"):
        raise DataError(f"{meta_path} lists no 'train' split (splits: {', '.join(splits)}); prepare it again")


def read_meta_text(meta_path: Path) -> str:
    """meta.json's text; a file that is not UTF-8 (random bytes, another encoding) is one clear line."""
    try:
        return meta_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{meta_path} is corrupt (not UTF-8 text: byte 0x{e.object[e.start]:02x} at offset {e.start}); "
            "prepare the corpus again"
        ) from None


def _cache_contents(data: TokenData, meta_text: str) -> None:
    """Write the scanned contents into meta.json, atomically and under the folder's lock, unless meta.json
    changed meanwhile (a `prepare --force`); a read-only corpus just scans again at its next opening."""
    meta_path = data.root / "meta.json"
    try:
        with run_folder_lock(data.root):
            if meta_path.read_bytes() == meta_text.encode("utf-8"):
                atomic_write_json(meta_path, data.meta)
    except OSError:
        pass


def load_token_data(root: str | os.PathLike) -> TokenData:
    """Open a prepared corpus folder, checking every file against meta.json (one clear error otherwise).

    Sizes are checked on every opening; contents (the largest id against the tokenizer's vocabulary) once,
    from meta.json's cached `content` entries (computed and cached here for a corpus that has none).
    """
    root = Path(root)
    meta_path = root / "meta.json"
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist (run `make setup` or prepare_corpus first)")
    if not meta_path.is_file():
        raise DataError(
            f"{meta_path} is missing: {root} is not a prepared corpus (or its preparation did not finish)"
        )
    meta_text = read_meta_text(meta_path)
    try:
        meta = json.loads(meta_text)
    except json.JSONDecodeError as e:
        raise DataError(f"{meta_path} is corrupt (JSONDecodeError: {e}); prepare the corpus again") from None
    _check_meta(meta, meta_path)
    dtype = np.dtype(meta["dtype"])
    for name, info in meta["splits"].items():
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
    data = TokenData(root=root, meta=meta)
    before = json.dumps(meta, sort_keys=True)
    vocab = data.vocab_size
    for name in meta["splits"]:
        max_id = int(data.content(name)["max_id"])
        if max_id >= vocab:
            raise DataError(
                f"{root / (name + '.bin')} holds token id {max_id}, outside the tokenizer's vocabulary "
                f"({data.tokenizer}: {vocab} ids, 0..{vocab - 1}); it was not written with this tokenizer "
                "(an id in the model's padding rows would train silently): prepare the corpus again"
            )
    if json.dumps(meta, sort_keys=True) != before:
        _cache_contents(data, meta_text)
    return data


__all__ = [
    "ShardedTokens",
    "TokenData",
    "load_token_data",
    "token_dtype",
    "atomic_write_tokens",
    "scan_tokens",
    "describe_tokens",
    "file_stamp",
    "read_meta_text",
    "CONTENT_KEY",
]
