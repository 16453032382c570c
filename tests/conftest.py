"""Shared fixtures. Tests run on CPU, single-threaded enough to be deterministic, and fast by default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inheritune_core.data.tokens import atomic_write_tokens
from inheritune_core.io import atomic_write_json
from inheritune_core.paths import data_dir, shared_evaldata_dir


def make_token_data(root: Path, n_train: int = 20_000, n_val: int = 4_000, vocab: int = 50257, seed: int = 0):
    """A small prepared corpus of random token ids in the on-disk format of `prepare_corpus`."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    dtype = np.dtype(np.uint16)
    counts = {}
    for split, n in (("train", n_train), ("val", n_val)):
        counts[split] = atomic_write_tokens(root / f"{split}.bin", [rng.integers(0, vocab, n)], dtype)
    atomic_write_json(
        root / "meta.json",
        {
            "dtype": "uint16",
            "vocab_size": vocab,
            "tokenizer": "gpt2",
            "name": "random",
            "splits": {k: {"tokens": v} for k, v in counts.items()},
        },
    )
    return root


@pytest.fixture
def random_token_data(tmp_path):
    from inheritune_core.data.tokens import load_token_data

    return load_token_data(make_token_data(tmp_path / "random_corpus"))


@pytest.fixture(scope="session")
def bundled_data_dir():
    """The offline default corpus prepared by `make setup` (data/english)."""
    root = data_dir() / "english"
    if not (root / "meta.json").is_file():
        pytest.fail(f"{root} is not prepared: run `make setup` first")
    return root


@pytest.fixture(scope="session")
def evaldata_dir():
    root = shared_evaldata_dir()
    if not root.is_dir():
        pytest.skip(f"offline evaluation data not found at {root}")
    return root
