"""What a run consumed (training.accounting), where its data stream starts (sampler offsets), and the
whole-split validation loss with its standard error (training.validation)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inheritune_core.data.sampling import RandomBatchSampler, SequentialBatchSampler, make_sampler
from inheritune_core.errors import DataError
from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.training import accounting
from inheritune_core.training.validation import validation_loss, window_starts

TOKENS = np.arange(1000, dtype=np.uint16)  # token i == position i


# ----------------------------------------------------------------------------------------- sampler offsets
@pytest.mark.parametrize("kind", ["random", "sequential"])
def test_an_offset_sampler_continues_the_stream_where_another_stopped(kind):
    first = make_sampler(kind, TOKENS, micro_batch=4, block_size=16, seed=3)
    for _ in range(5):
        first.next_batch()
    second = make_sampler(kind, TOKENS, micro_batch=4, block_size=16, seed=3, offset=first.position)
    assert first.position == 5 and second.position == 5
    x, _ = second.next_batch()
    assert torch.equal(x, first.batch_at(5)[0])  # the sixth batch of one stream
    assert second.state_dict()["offset"] == 5


def test_sequential_windows_of_consecutive_runs_are_disjoint_and_recorded():
    a = SequentialBatchSampler(TOKENS, 4, 16)
    for _ in range(3):
        a.next_batch()
    b = SequentialBatchSampler(TOKENS, 4, 16, offset=a.position)
    for _ in range(2):
        b.next_batch()
    assert list(a.drawn_windows() // 16) == list(range(12))
    assert list(b.drawn_windows() // 16) == list(range(12, 20))
    assert accounting.distinct_windows(b) == (8, True)


def test_a_state_with_another_offset_is_refused_and_an_old_state_means_offset_zero():
    s = RandomBatchSampler(TOKENS, 2, 8, seed=1, offset=4)
    state = s.state_dict()
    with pytest.raises(ValueError, match="offset=4, expected 0"):
        RandomBatchSampler(TOKENS, 2, 8, seed=1).load_state_dict(state)
    old = {k: v for k, v in RandomBatchSampler(TOKENS, 2, 8, seed=1).state_dict().items() if k != "offset"}
    fresh = RandomBatchSampler(TOKENS, 2, 8, seed=1)
    fresh.load_state_dict({**old, "consumed": 3})
    assert fresh.position == 3
    with pytest.raises(ValueError, match="offset must be a non-negative integer"):
        RandomBatchSampler(TOKENS, 2, 8, offset=-1)


# ----------------------------------------------------------------------------------------- windows, FLOPs
def test_distinct_windows_of_each_sampler():
    seq = SequentialBatchSampler(TOKENS, 8, 16)  # 62 windows in the corpus
    for _ in range(10):  # 80 windows drawn: the stream wrapped once
        seq.next_batch()
    assert accounting.distinct_windows(seq) == (seq.num_windows, True) and seq.num_windows == 62
    rnd = RandomBatchSampler(TOKENS, 8, 16, seed=0)
    for _ in range(30):
        rnd.next_batch()
    exact = len(np.unique(rnd.drawn_windows()))
    assert accounting.distinct_windows(rnd) == (exact, True) and exact < 240  # drawn with replacement
    # the expectation used beyond MAX_ENUMERATED_WINDOWS agrees with the enumeration on average
    assert accounting.expected_distinct(240, 984) == pytest.approx(984 * (1 - (1 - 1 / 984) ** 240))
    assert accounting.continuation_offset(sampler_end=5, end_micro_batch=8, micro_batch=3) == 14  # ceil(40/3)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("preset, scale", [("gpt2-medium", "smoke"), ("gpt2-large", "tiny")])
def test_the_torch_free_flop_count_equals_the_models(preset, scale, bias):
    cfg = GPTConfig.from_preset(preset, scale)
    cfg.bias = bias
    model = GPT(cfg)
    assert accounting.gpt_params(cfg.to_dict()) == model.num_params(non_embedding=True)
    assert accounting.gpt_flops_per_token(cfg.to_dict()) == model.flops_per_token()
    assert accounting.gpt_flops_per_token(cfg.to_dict(), 7) == model.flops_per_token(7)


def test_result_json_accounts_for_steps_tokens_windows_and_flops(random_token_data, tmp_path):
    from inheritune_core.method.inheritance import random_init
    from inheritune_core.training.trainer import TrainConfig, train

    model = random_init(GPTConfig.from_preset("gpt2-medium", "smoke", n_layer=6), seed=0)  # 1 layer
    teacher = random_init(GPTConfig.from_preset("gpt2-medium", "smoke"), seed=1)
    cfg = TrainConfig.from_preset(
        "gpt2-medium",
        "smoke",
        tmp_path / "run",
        max_steps=3,
        eval_interval=3,
        progress=False,
        sampler_offset=2,
    )
    train(model, random_token_data, cfg, teacher=teacher, final_eval=lambda m: {"extra_field": 1})
    r = json.loads((tmp_path / "run" / "result.json").read_text())
    assert r["steps"] == 3 and r["tokens_seen"] == 3 * cfg.batch_tokens
    assert r["windows_seen"] == 3 * cfg.batch_tokens // cfg.block_size == r["distinct_windows"]
    assert (r["sampler"], r["sampler_start"], r["sampler_end"]) == ("random", 2, 2 + 3)
    assert r["flops_per_token"] == model.flops_per_token(cfg.block_size)
    assert r["train_flops"] == r["flops_per_token"] * r["tokens_seen"]
    assert r["teacher_flops"] == pytest.approx(teacher.flops_per_token(cfg.block_size) / 3 * r["tokens_seen"])
    assert r["extra_field"] == 1  # final_eval's fields land in result.json


# ----------------------------------------------------------------------------------------- validation
def test_validation_scores_every_window_of_the_split_once(tmp_path):
    from conftest import make_token_data

    from inheritune_core.data.tokens import load_token_data

    data = load_token_data(make_token_data(tmp_path / "d", n_train=2_000, n_val=700))  # 21 windows of 32
    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("gpt2-medium", "smoke")).eval()
    block = 32
    v = validation_loss(model, data, block, batch_tokens=100)  # batches of 3 windows
    val = data.split("val")
    n = (len(val) - 1) // block
    assert (v.windows, v.tokens) == (n, n * block)
    per_window = []
    with torch.no_grad():
        for i in range(n):
            w = torch.from_numpy(val[i * block : i * block + block + 1].astype(np.int64))[None]
            logits = model(w[:, :-1])
            per_window.append(F.cross_entropy(logits[0].float(), w[0, 1:]).item())
    assert v.mean == pytest.approx(np.mean(per_window), abs=1e-5)
    assert v.se == pytest.approx(np.std(per_window, ddof=1) / math.sqrt(n), rel=1e-3)
    assert set(v.to_result()) == {"val_loss_full", "val_loss_se", "val_tokens", "val_windows"}


def test_a_validation_subset_is_fixed_and_evenly_spread():
    starts = window_starts(10_001, 10, max_windows=5)
    assert list(starts) == [0, 2500, 5000, 7490, 9990]  # windows 0, 250, 500, 749, 999 of 1000
    assert list(window_starts(10_001, 10, max_windows=5)) == list(starts)
    assert len(window_starts(10_001, 10)) == 1000
    with pytest.raises(DataError, match="fewer than one window"):
        window_starts(10, 10)


# ------------------------------------------------------------------------------ validation sized for a test
def test_val_windows_caps_a_runs_final_validation_and_none_keeps_the_whole_split(random_token_data, tmp_path):
    """TrainConfig.val_windows (issue 21): N scores a fixed, evenly spaced subset of N windows and result.json
    records it; None (the default of every scale but smoke) scores every window."""
    from inheritune_core.training.trainer import TrainConfig, train
    from inheritune_core.training.validation import validation_loss_of_run

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("gpt2-medium", "smoke"))
    kw = dict(progress=False, max_steps=1, eval_iters=1)
    capped = TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path / "capped", val_windows=5, **kw)
    # smoke itself validates on 64 windows (config.SCALES); None asks for the whole split, as every other scale
    whole = TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path / "whole", val_windows=None, **kw)
    assert TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path / "s", **kw).val_windows == 64
    assert whole.val_windows is None
    n_all = (random_token_data.num_tokens("val") - 1) // whole.block_size
    assert validation_loss_of_run(model, random_token_data, whole).windows == n_all > 5
    first = validation_loss_of_run(model, random_token_data, capped)
    assert (first.windows, first.tokens) == (5, 5 * capped.block_size)
    assert validation_loss_of_run(model, random_token_data, capped) == first  # the same windows every time
    train(
        model,
        random_token_data,
        capped,
        final_eval=lambda m: validation_loss_of_run(m, random_token_data, capped).to_result(),
    )
    saved = json.loads((tmp_path / "capped" / "result.json").read_text())
    assert (saved["val_windows"], saved["val_tokens"]) == (5, 5 * capped.block_size)
    assert saved["train_config"]["val_windows"] == 5


def test_val_windows_is_checked_and_identifies_a_run_only_when_set(tmp_path):
    from inheritune_core.errors import ConfigError
    from inheritune_core.training.config import TrainConfig, identifying_train_config

    with pytest.raises(ConfigError, match="val_windows must be a positive integer, got 0"):
        TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path, val_windows=0)
    default = TrainConfig.from_preset(
        "gpt2-medium", "smoke", tmp_path, val_windows=None
    )  # as at every scale but smoke
    assert "val_windows" not in identifying_train_config(default)  # every recorded run's hash unchanged
    capped = TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path, val_windows=8)
    assert identifying_train_config(capped)["val_windows"] == 8
