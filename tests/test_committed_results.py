"""The committed tiny-scale CSVs name their runs by the hash of each run's configuration. A change that leaves
what a run computes unchanged (a refactor, a config moved to another module, a new option at its neutral
default) must leave that hash unchanged too, or the committed results point at runs no cache holds and every
notebook retrains from scratch."""

from __future__ import annotations

import csv

import pytest

from inheritune_core.data.tokens import load_token_data
from inheritune_core.paths import PROJECT_DIR, data_dir


def committed_run_id(csv_name: str, role: str) -> str:
    with open(PROJECT_DIR / "results" / csv_name, newline="") as f:
        ids = {r["run_id"] for r in csv.DictReader(f) if r["role"] == role and r["run_id"]}
    assert len(ids) == 1, (csv_name, role, ids)
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


def test_the_committed_lowdata_target_keeps_its_hash():
    from inheritune_core.experiments import lowdata

    corpus = data_dir() / f"bundled-{lowdata.OFFLINE_REFERENCE}"
    if not (corpus / "meta.json").is_file():
        pytest.skip(f"{corpus} is not prepared (the table5_lowdata notebook prepares it)")
    scale = lowdata.LOWDATA_SCALES["tiny"]
    spec = lowdata.lowdata_spec(scale.reference, scale.n_layers, scale, load_token_data(corpus), seed=1337)
    assert spec.run_id == committed_run_id("table5_lowdata/table5.csv", "inheritune")
