"""Documents -> token files: tokenize records in batches (in parallel for a map-style dataset) and write flat
`train.bin` / `val.bin` splits, or a stream as numbered train shards with a resumable position
(`prepare_state.json`), each file atomically. One code path for the bundled, named and local corpora
(`data.corpora.prepare_corpus` drives it).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataError
from ..io import atomic_write_json, remove_orphan_temps
from .tokenizer import (
    load_tokenizer,
    tokenizer_name,
)
from .tokens import (
    atomic_write_tokens,
    token_dtype,
)

# ----------------------------------------------------------------------------------------------------------------
# Tokenizing records into token files (one code path for bundled, named and local corpora)
# ----------------------------------------------------------------------------------------------------------------

BATCH_DOCS = 256


def _encode_texts(tok: Any, texts: list[str]) -> np.ndarray:
    """Token ids of the documents, each followed by the end-of-text token, as one int64 array."""
    eot = np.array([tok.eot_token], dtype=np.int64)
    parts: list[np.ndarray] = []
    for ids in tok.encode_ordinary_batch(texts):
        parts.append(np.asarray(ids, dtype=np.int64))
        parts.append(eot)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _tokenize_for_map(batch: dict, tok: Any, text_column: str) -> dict:
    ids = [list(x) + [tok.eot_token] for x in tok.encode_ordinary_batch(batch[text_column])]
    return {"ids": ids, "len": [len(x) for x in ids]}


def _is_map_style(records: Any) -> bool:
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        return False
    return isinstance(records, datasets.Dataset)


def _check_text_column(records: Any, text_column: str, where: str) -> None:
    names = getattr(records, "column_names", None)
    if names is not None and text_column not in names:
        raise DataError(f"{where} has no {text_column!r} column (columns: {', '.join(names)})")


def _token_chunks(
    records: Any,
    tok: Any,
    *,
    text_column: str = "text",
    max_tokens: int | None = None,
    num_proc: int | None = None,
    progress: bool = True,
    desc: str = "tokenizing",
) -> Iterator[np.ndarray]:
    """Yield token chunks for an iterable of {"text": ...} records (or a datasets.Dataset, mapped in parallel)."""
    budget = max_tokens if max_tokens is not None else float("inf")
    emitted = 0
    if _is_map_style(records):
        if num_proc is None and len(records) > 20_000:
            num_proc = max(1, min(8, os.cpu_count() or 1))
        if len(records) < 10_000:  # worker start-up would cost more than it saves
            num_proc = None
        fingerprint = hashlib.sha256(
            f"{records._fingerprint}|{tokenizer_name(tok)}|{text_column}".encode()
        ).hexdigest()
        tokenized = records.map(
            _tokenize_for_map,
            batched=True,
            batch_size=1000,
            num_proc=num_proc,
            remove_columns=records.column_names,
            fn_kwargs={"tok": tok, "text_column": text_column},
            new_fingerprint=fingerprint[:32],
            desc=desc,
        )
        bar = tqdm(
            total=int(sum(tokenized["len"])),
            unit="tok",
            unit_scale=True,
            desc=f"{desc} (write)",
            disable=not progress,
        )
        for table in tokenized.with_format("arrow").iter(batch_size=4096):
            chunk = table.column("ids").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            chunk = chunk[: int(min(len(chunk), budget - emitted))]
            emitted += len(chunk)
            bar.update(len(chunk))
            yield chunk
            if emitted >= budget:
                break
        bar.close()
        return
    total = len(records) if hasattr(records, "__len__") else None
    bar = tqdm(total=total, unit="doc", desc=desc, disable=not progress)
    it = iter(records)
    while emitted < budget:
        batch = list(itertools.islice(it, BATCH_DOCS))
        if not batch:
            break
        chunk = _encode_texts(tok, [r[text_column] for r in batch])
        chunk = chunk[: int(min(len(chunk), budget - emitted))]
        emitted += len(chunk)
        bar.update(len(batch))
        yield chunk
    bar.close()


def write_splits(
    splits: Mapping[str, Any],
    out_dir: str | os.PathLike,
    tokenizer: Any = "gpt2",
    *,
    text_column: str = "text",
    max_tokens: int | None = None,
    num_proc: int | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Tokenize each split's records into out_dir/<split>.bin (atomic); returns tokens per split.

    `max_tokens` caps the train split only (the low-data regime's token budget); validation stays whole.
    """
    tok = load_tokenizer(tokenizer)
    dtype = token_dtype(tok.n_vocab)
    out = Path(out_dir)
    counts = {}
    for split, records in splits.items():
        _check_text_column(records, text_column, f"split {split!r}")
        chunks = _token_chunks(
            records,
            tok,
            text_column=text_column,
            max_tokens=max_tokens if split == "train" else None,
            num_proc=num_proc,
            progress=progress,
            desc=f"{split}",
        )
        counts[split] = atomic_write_tokens(out / f"{split}.bin", chunks, dtype)
        if counts[split] == 0:
            raise DataError(f"split {split!r} produced no tokens (empty input?)")
    return counts


STATE_FILE = "prepare_state.json"


def _document_tokens(records: Iterable[Mapping], tok: Any, text_column: str) -> Iterator[np.ndarray]:
    """Token ids of each record's text followed by end-of-text, one array per document (tokenized in batches)."""
    it = iter(records)
    while batch := list(itertools.islice(it, BATCH_DOCS)):
        for ids in tok.encode_ordinary_batch([r[text_column] for r in batch]):
            yield np.asarray([*ids, tok.eot_token], dtype=np.int64)


def write_sharded(
    records: Iterable[Mapping],
    out_dir: str | os.PathLike,
    tokenizer: Any = "gpt2",
    *,
    text_column: str = "text",
    val_tokens: int = 5_000_000,
    shard_tokens: int = 100_000_000,
    max_tokens: int | None = None,
    config: Mapping | None = None,
    progress: bool = True,
) -> dict:
    """Stream records into val.bin (the first documents, >= val_tokens) then train_000.bin, train_001.bin, ...

    Shards end on document boundaries, so the number of records consumed so far is an exact resume position:
    after every shard it is saved to prepare_state.json (atomically), and a killed run started again skips that
    many records and continues with the next shard; finished shards are not rewritten. Returns
    {"splits": {name: {"tokens": n}}, "shards": {"train": [names]}}.
    """
    tok = load_tokenizer(tokenizer)
    dtype = token_dtype(tok.n_vocab)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    remove_orphan_temps(out)  # temp files of a killed atomic write
    state_path = out / STATE_FILE
    cfg = json.loads(json.dumps(dict(config or {})))
    fresh = {"config": cfg, "records_consumed": 0, "val_tokens": None, "shards": []}
    state = fresh
    if state_path.is_file():
        saved = json.loads(state_path.read_text())
        if saved.get("config") == cfg and all(
            (out / f"{s['name']}.bin").is_file()
            and (out / f"{s['name']}.bin").stat().st_size == s["tokens"] * dtype.itemsize
            for s in saved["shards"]
        ):
            state = saved
    budget = max_tokens if max_tokens is not None else float("inf")
    train_total = sum(s["tokens"] for s in state["shards"])
    it = itertools.islice(iter(records), state["records_consumed"], None)
    bar = tqdm(
        initial=train_total,
        total=max_tokens,
        unit="tok",
        unit_scale=True,
        desc="train shards",
        disable=not progress,
    )
    buffer: list[np.ndarray] = []
    buffered = buffered_docs = 0

    def flush(name: str, limit: float = float("inf")) -> int:
        nonlocal buffer, buffered, buffered_docs
        data = np.concatenate(buffer) if buffer else np.zeros(0, dtype=np.int64)
        n = atomic_write_tokens(out / f"{name}.bin", [data[: int(min(len(data), limit))]], dtype)
        state["records_consumed"] += buffered_docs
        buffer, buffered, buffered_docs = [], 0, 0
        return n

    def save_state() -> None:
        atomic_write_json(state_path, state)

    def shard_done() -> None:
        nonlocal train_total
        name = f"train_{len(state['shards']):03d}"
        n = flush(name, limit=budget - train_total)
        state["shards"].append({"name": name, "tokens": n})
        train_total += n
        bar.update(n)
        save_state()

    for ids in _document_tokens(it, tok, text_column):
        if train_total >= budget:
            break
        buffer.append(ids)
        buffered += len(ids)
        buffered_docs += 1
        if state["val_tokens"] is None:  # the first documents of the stream -> validation
            if buffered >= val_tokens:
                state["val_tokens"] = flush("val")
                save_state()
        elif buffered >= min(shard_tokens, budget - train_total):
            shard_done()
    if buffered and state["val_tokens"] is None:
        state["val_tokens"] = flush("val")
        save_state()
    elif buffered and train_total < budget:
        shard_done()
    bar.close()
    if not state["val_tokens"] or not state["shards"]:
        raise DataError(
            f"not enough text for a validation split of {val_tokens} tokens and a train split in {out}"
        )
    splits = {"val": {"tokens": state["val_tokens"]}} | {
        s["name"]: {"tokens": s["tokens"]} for s in state["shards"]
    }
    return {
        "splits": splits,
        "shards": {"train": [s["name"] for s in state["shards"]]},
        "records_consumed": state["records_consumed"],
    }
