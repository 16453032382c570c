"""The layer-selection experiment (experiments.layer_selection) on a tiny random LLaMA reference: which layers each
method keeps, the zero-shot loss, one training run per method, read back from the cache the second time."""

from __future__ import annotations

import pytest
import torch
from test_analysis_plan import _tiny_reference

from inheritune_core.analysis.layers import collect_layer_evidence, top_influence_layers
from inheritune_core.data.tokens import load_token_data
from inheritune_core.errors import ConfigError
from inheritune_core.experiments import layer_selection as ls
from inheritune_core.experiments.runs import TRAINING_COUNTER
from inheritune_core.models.llama import load_pretrained_reference, truncate_llama
from inheritune_core.training.trainer import evaluate_loss


def test_every_method_trains_once_and_reports_zero_shot_and_final_loss(tmp_path):
    ref, corpus = _tiny_reference(tmp_path)
    data = load_token_data(corpus)
    kwargs = dict(reference=str(ref), scale="smoke", n_layers=2, runs_dir=tmp_path / "runs", data=data)
    before = TRAINING_COUNTER["trained"]
    frame = ls.layer_selection(progress=False, **kwargs)
    assert TRAINING_COUNTER["trained"] - before == len(ls.METHODS)
    assert list(dict.fromkeys(frame.method)) == [ls.METHOD_NAMES[m] for m in ls.METHODS]
    kept = dict(zip(frame.method, frame.layers))
    assert kept[ls.METHOD_NAMES["first"]] == "0 1"
    assert kept[ls.METHOD_NAMES["last"]] == "2 3"
    assert kept[ls.METHOD_NAMES["random"]] == "random"
    # ShortGPT's pick is the evidence's top-2 influence blocks on the same windows.
    model, tokenizer = load_pretrained_reference(str(ref))
    from inheritune_core.analysis.attention import reference_windows

    count, tokens = ls.EVIDENCE_WINDOWS["smoke"]
    evidence = collect_layer_evidence(
        model, reference_windows(data, tokenizer, count, tokens, seed=1337), attention=False, loss_windows=0
    )
    assert kept[ls.METHOD_NAMES["shortgpt"]] == " ".join(
        map(str, top_influence_layers(evidence.influence.mean(0), 2))
    )
    # Step 0 is the zero-shot loss of the cut model on the trainer's fixed validation windows.
    first = frame[(frame.method == ls.METHOD_NAMES["first"]) & (frame.step == 0)].val_loss.item()
    from inheritune_core.experiments.lowdata import get_lowdata_scale, lowdata_train_config

    cfg = lowdata_train_config(get_lowdata_scale("smoke"), tmp_path / "x")
    with torch.no_grad():
        expected = evaluate_loss(truncate_llama(model, 2), data, cfg)
    assert first == pytest.approx(expected, abs=1e-5)
    assert set(frame.groupby("method").step.max()) == {2}
    summary = ls.summary(frame)
    assert len(summary) == len(ls.METHODS) and "zero-shot val loss" in summary.columns
    table = ls.table_rows(frame)
    assert [(r["role"], r["metric"]) for r in table[:2]] == [
        ("first", "zero_shot_val_loss"),
        ("first", "val_loss"),
    ]
    assert table[0]["value"] == pytest.approx(first) and {r["steps"] for r in table} == {2}
    # A second call trains nothing.
    again = TRAINING_COUNTER["trained"]
    assert ls.layer_selection(progress=False, **kwargs).equals(frame)
    assert TRAINING_COUNTER["trained"] == again


def test_bad_arguments_are_one_clear_error(tmp_path):
    ref, corpus = _tiny_reference(tmp_path)
    data = load_token_data(corpus)
    for kwargs, message in (
        ({"n_layers": 4}, "n_layers must be in 1..3"),
        ({"methods": ("first", "middle")}, "methods must be a non-empty subset"),
        ({"scale": "huge"}, "unknown low-data scale"),
    ):
        with pytest.raises(ConfigError, match=message):
            ls.layer_selection(str(ref), **{"scale": "smoke", "data": data, "runs_dir": tmp_path, **kwargs})


def test_lazy_versus_early_trains_both_arms_per_seed_on_paired_fresh_data(tmp_path):
    ref, corpus = _tiny_reference(tmp_path)
    data = load_token_data(corpus)
    kwargs = dict(reference=str(ref), scale="smoke", runs_dir=tmp_path / "runs", data=data, progress=False)
    before = TRAINING_COUNTER["trained"]
    frame = ls.lazy_versus_early([3], seeds=(1, 2, 3), **kwargs)
    assert TRAINING_COUNTER["trained"] - before == 6  # two arms x three seeds
    final = frame[frame.step == frame.step.max()]
    assert sorted(zip(final.role, final.seed)) == [(r, s) for r in ("early", "lazy") for s in (1, 2, 3)]
    assert set(frame[frame.role == "lazy"].layers) == {"3"} and set(frame[frame.role == "early"].layers) == {
        "0"
    }
    assert len(set(final[final.role == "lazy"].val_loss)) == 3  # seeds draw different data
    again = TRAINING_COUNTER["trained"]
    assert ls.lazy_versus_early([3], seeds=(1, 2, 3), **kwargs).equals(frame)
    assert TRAINING_COUNTER["trained"] == again
    for bad in ([], [4], [0, 1, 2, 3]):
        with pytest.raises(ConfigError, match="lazy_layers must be"):
            ls.lazy_versus_early(bad, **kwargs)
