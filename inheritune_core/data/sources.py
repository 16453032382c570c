"""Where a named or local corpus comes from: the Hugging Face Hub corpora the paper uses (`HUB_CORPORA`) and
local files or folders, checked before `datasets` reads them (empty, binary, not UTF-8, not Parquet: one line
saying which), split into train/val the way nanoGPT splits OpenWebText.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError

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
