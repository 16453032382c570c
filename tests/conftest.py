"""Shared fixtures. Tests run on CPU, single-threaded enough to be deterministic, and fast by default.

Markers (pyproject.toml): `slow` and `gpu` are deselected by default (`make test-all` runs the slow ones);
`needs_evaldata` tests are skipped when ../shared/evaldata (or $INHERITUNE_EVALDATA_DIR) is absent, as on a
user's machine.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from inheritune_core.data.tokens import atomic_write_tokens
from inheritune_core.io import atomic_write_json
from inheritune_core.paths import PROJECT_DIR, data_dir, shared_evaldata_dir


def pytest_collection_modifyitems(config, items):
    if shared_evaldata_dir().is_dir():
        return
    skip = pytest.mark.skip(reason=f"offline evaluation data not found at {shared_evaldata_dir()}")
    for item in items:
        if "needs_evaldata" in item.keywords:
            item.add_marker(skip)


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


class NotebookRun:
    """Runs notebooks/<name>.ipynb under papermill at smoke scale, with runs/, results/ and paper/ under `root`
    (shared by every run of one test, so later notebooks read back the runs of earlier ones)."""

    def __init__(self, root: Path):
        self.root = root

    def __call__(self, name: str, **params) -> Path:
        import papermill

        out = self.root / "executed" / f"{name}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        base = {
            "scale": "smoke",
            "progress": False,
            "runs_dir": str(self.root / "runs"),
            "results_dir": str(self.root / "results"),
            "paper_dir": str(self.root / "paper"),
        }
        papermill.execute_notebook(
            str(PROJECT_DIR / "notebooks" / f"{name}.ipynb"),
            str(out),
            parameters={**base, **params},
            cwd=str(PROJECT_DIR / "notebooks"),
            progress_bar=False,
            log_output=False,
        )
        return out

    def printed(self, name: str, marker: str) -> str:
        """The first printed line of the executed notebook that contains `marker`."""
        nb = nbformat.read(self.root / "executed" / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                for line in output.get("text", "").splitlines():
                    if marker in line:
                        return line
        raise AssertionError(f"{name} printed no line with {marker!r}")


@pytest.fixture
def run_notebook(tmp_path) -> NotebookRun:
    """The one notebook runner of the test suite: `run_notebook("table3", steps=4)` -> the executed copy."""
    return NotebookRun(tmp_path)
