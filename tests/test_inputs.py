"""Issue 20, input checks: files a user hands the package that it used to trust or mis-read (a token file
edited in place, a local source that is empty, binary or not UTF-8, a non-UTF-8 meta.json or evaluation file,
a document whose text is not a string, a `limit` below 1, CUDA asked for on a CPU machine), ties that the BLAS
used to break, and flattened multiple-choice layouts. Each test failed on main before its fix; tiny inputs,
temporary folders, seconds each."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_token_data

from inheritune_core.data import corpora as D
from inheritune_core.data.tokens import load_token_data
from inheritune_core.errors import DataError

PROJECT = Path(__file__).resolve().parent.parent


def _edit_in_place(path: Path, index: int, value: int, keep_mtime: bool = False) -> None:
    """Overwrite one token id, keeping the file's length (and, if asked, its modification time)."""
    st = path.stat()
    ids = np.memmap(path, dtype=np.uint16, mode="r+")
    ids[index] = value
    ids.flush()
    del ids
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# ------------------------------------------------------------------------- item 2: token files edited in place


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["edited", "edited-mtime-restored"])
def test_a_token_file_edited_in_place_is_read_again_not_trusted(tmp_path, keep_mtime):
    root = make_token_data(tmp_path / "corpus")
    before = load_token_data(root)  # caches {tokens, sha256, max_id} in meta.json
    sha = before.identity()["train"]["sha256"]
    assert before.max_token_id("train") < 50257
    _edit_in_place(root / "train.bin", 1234, 50300, keep_mtime=keep_mtime)  # same length: a padding-row id
    with pytest.raises(
        DataError, match=r"train.bin holds token id 50300, outside the tokenizer's vocabulary"
    ):
        load_token_data(root)
    _edit_in_place(
        root / "train.bin", 1234, 7, keep_mtime=keep_mtime
    )  # a valid id: another corpus all the same
    after = load_token_data(root)
    assert after.identity()["train"]["sha256"] != sha
    cached = json.loads((root / "meta.json").read_text())["splits"]["train"]["content"]
    assert cached["sha256"] == after.identity()["train"]["sha256"]  # the new contents were cached


def test_resume_on_a_corpus_edited_in_place_is_refused(tmp_path, capsys):
    from test_reliability import cli_args, single_error_line

    from inheritune_core.training import trainer as T

    root = make_token_data(tmp_path / "corpus")
    out = tmp_path / "run"
    assert T.main(cli_args(root, out)) == 0
    (out / "result.json").unlink()  # an interrupted run: ckpt.pt, no result.json
    _edit_in_place(root / "train.bin", 10, 11)
    capsys.readouterr()
    err = single_error_line(capsys, T.main(cli_args(root, out, "--resume")))
    assert "was trained on another corpus: train.bin" in err


def test_non_utf8_meta_json_is_one_line_naming_the_file(tmp_path):
    root = make_token_data(tmp_path / "corpus")
    (root / "meta.json").write_bytes(b'{"name": "\xff\xfe"}')
    with pytest.raises(DataError, match=r"meta.json is corrupt \(not UTF-8 text: byte 0xff at offset 10\)"):
        load_token_data(root)


# ------------------------------------------------------------------------- item 6: prepare --source


def _prepare_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run(
        [sys.executable, "-m", "inheritune_core.data", "prepare", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_source_without_a_named_corpus_is_refused_not_ignored(tmp_path):
    source = tmp_path / "mine.txt"
    source.write_text("a document\n\nanother one\n")
    proc = _prepare_cli("--source", str(source), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --source is a local copy of a named Hub corpus")
    assert f"pass it as --name {source}" in lines[0]
    assert not (tmp_path / "out").exists()
    with pytest.raises(DataError, match="--source is a local copy"):  # the API refuses it too
        D.prepare_corpus(source=source, out_dir=tmp_path / "out")


SOURCES = {
    "empty": (b"", "is empty (0 bytes)"),
    "binary": (
        b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20,
        "is a binary file, not text (a NUL byte at offset 7)",
    ),
    "latin1": (
        "caf\xe9 au lait\n\nune autre\n".encode("latin-1"),
        "is not UTF-8 text (byte 0xe9 near offset 3)",
    ),
}


@pytest.mark.parametrize("fault", list(SOURCES))
@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_a_local_source_says_whether_it_is_empty_binary_or_not_utf8(tmp_path, fault, suffix):
    data, message = SOURCES[fault]
    source = tmp_path / f"corpus{suffix}"
    source.write_bytes(data)
    for name, kw in ((str(source), {}), ("openwebtext", {"source": source})):
        with pytest.raises(DataError, match=re.escape(f"corpus{suffix} {message}")):
            D.prepare_corpus(name, tmp_path / "out", progress=False, cache_dir=tmp_path / "hf", **kw)
    assert not (tmp_path / "out" / "meta.json").exists()
    proc = _prepare_cli("--name", "openwebtext", "--source", str(source), "--out", str(tmp_path / "cli"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr


def test_a_parquet_source_that_is_not_parquet_is_named(tmp_path):
    source = tmp_path / "corpus.parquet"
    source.write_text("text\nhello\n")
    with pytest.raises(DataError, match=r"corpus.parquet is not a Parquet file"):
        D.prepare_corpus(str(source), tmp_path / "out", progress=False, cache_dir=tmp_path / "hf")
