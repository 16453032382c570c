"""The byte-level vocabulary of the CPU scale (issue 18): ids 0-255 are UTF-8 bytes, 256 ends a document; a corpus
prepared with it records the tokenizer in meta.json and round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inheritune_core.data import corpora as D
from inheritune_core.data.tokenizer import ByteTokenizer, load_tokenizer, tokenizer_name
from inheritune_core.data.tokens import load_token_data


def test_bytes_round_trip_and_end_of_text_is_its_own_id():
    tok = load_tokenizer("byte")
    assert isinstance(tok, ByteTokenizer) and load_tokenizer("char").n_vocab == 257
    text = "O brave new world, that has such people in't! — café"
    ids = tok.encode_ordinary(text)
    assert max(ids) < 256 and len(ids) == len(text.encode("utf-8"))
    assert tok.decode(ids + [tok.eot_token]) == text
    assert tokenizer_name(tok) == "byte"
    with pytest.raises(ValueError, match="0-256"):
        tok.decode([257])


def test_a_local_corpus_prepared_with_bytes_records_its_tokenizer(tmp_path, monkeypatch):
    monkeypatch.setenv("INHERITUNE_DATA_DIR", str(tmp_path / "data"))
    docs = [f"Document {i}: to be, or not to be, that is the question. " * (i + 1) for i in range(40)]
    src = tmp_path / "corpus.jsonl"
    src.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    out = D.prepare_corpus(str(src), tmp_path / "out", "byte", progress=False, cache_dir=tmp_path / "hf")
    data = load_token_data(out)
    assert data.tokenizer == "byte" and data.vocab_size == 257 and data.meta["eot_token"] == 256
    assert "tokenizer_source" not in data.meta  # the GPT-2 vocabulary file is not involved
    ids = np.concatenate([np.asarray(data.split("train")), np.asarray(data.split("val"))])
    assert ids.max() == 256 and (ids == 256).sum() == len(docs)
    back = ByteTokenizer().decode(ids.tolist()).replace("\n", "")
    assert sorted(back) == sorted("".join(docs))


def test_the_bundled_byte_corpus_has_its_own_default_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("INHERITUNE_DATA_DIR", str(tmp_path))
    assert D._default_out_dir("bundled", "byte") == tmp_path / "english-byte"
    assert D._default_out_dir("bundled") == tmp_path / "english"
