"""The committed tiny-scale CSVs name their runs by the hash of each run's configuration. A change that leaves
what a run computes unchanged (a refactor, a config moved to another module, a new option at its neutral
default) must leave that hash unchanged too, or the committed results point at runs no cache holds and every
notebook retrains from scratch."""

from __future__ import annotations

import csv

import pytest

from inheritune_core.data.tokens import load_token_data
from inheritune_core.paths import PROJECT_DIR, data_dir


def committed_run_id(csv_name: str, role: str, scale: str = "tiny", seed: str | None = None) -> str:
    with open(PROJECT_DIR / "results" / csv_name, newline="") as f:
        ids = {
            r["run_id"]
            for r in csv.DictReader(f)
            if r["role"] == role and r["run_id"] and r["scale"] == scale and seed in (None, r["seed"])
        }
    assert len(ids) == 1, (csv_name, role, scale, ids)
    return ids.pop()


def test_the_committed_gpt2_reference_keeps_its_hash(bundled_data_dir):
    from inheritune_core.experiments.runs import make_spec

    spec = make_spec(
        "gpt2-medium-tiny-reference",
        "reference",
        "gpt2-medium",
        "tiny",
        load_token_data(bundled_data_dir),
        seed=1337,
        init={"method": "random"},
    )
    assert spec.run_id == committed_run_id("table1/table1.csv", "reference")


def test_the_committed_cpu_references_keep_their_hashes():
    """The byte-level `cpu` scale trains one reference per seed; the corpus is prepared on demand (seconds)."""
    from inheritune_core.experiments.runs import make_spec
    from inheritune_core.experiments.setup import make_setup

    data = make_setup("cpu", downstream=False, progress=False).data
    for seed in (1337, 1338, 1339):
        spec = make_spec(
            "gpt2-medium-cpu-reference",
            "reference",
            "gpt2-medium",
            "cpu",
            data,
            seed=seed,
            init={"method": "random"},
        )
        assert spec.run_id == committed_run_id("table1/table1.csv", "reference", "cpu", str(seed)), seed


def test_the_committed_lowdata_target_keeps_its_hash():
    from inheritune_core.experiments import lowdata

    corpus = data_dir() / f"bundled-{lowdata.OFFLINE_REFERENCE}"
    if not (corpus / "meta.json").is_file():
        pytest.skip(f"{corpus} is not prepared (the table5_lowdata notebook prepares it)")
    scale = lowdata.LOWDATA_SCALES["tiny"]
    spec = lowdata.lowdata_spec(scale.reference, scale.n_layers, scale, load_token_data(corpus), seed=1337)
    assert spec.run_id == committed_run_id("table5_lowdata/table5.csv", "inheritune")
