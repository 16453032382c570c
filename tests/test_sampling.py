"""Batch samplers: shapes, targets, determinism, resumable position and the DDP split of one global stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inheritune_core.data.sampling import RandomBatchSampler, SequentialBatchSampler, make_sampler
from inheritune_core.errors import DataError

TOKENS = np.arange(1000, dtype=np.uint16)  # token i == position i, so windows are easy to check


@pytest.mark.parametrize("kind", ["random", "sequential"])
def test_batches_are_shifted_windows(kind):
    x, y = make_sampler(kind, TOKENS, micro_batch=4, block_size=16, seed=0).next_batch()
    assert x.shape == y.shape == (4, 16) and x.dtype == y.dtype == torch.int64
    assert torch.equal(y, x + 1)  # targets are the next tokens
    assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(4, 15, dtype=torch.int64))  # contiguous windows
    assert int(y.max()) < len(TOKENS)


def test_works_on_a_memmap(random_token_data):
    x, y = RandomBatchSampler(random_token_data.split("train"), 2, 8, seed=1).next_batch()
    assert x.shape == (2, 8)


def test_random_sampler_is_deterministic_and_seeded():
    a = [RandomBatchSampler(TOKENS, 4, 16, seed=7).next_batch()[0] for _ in range(2)]
    assert torch.equal(a[0], a[1])
    b = RandomBatchSampler(TOKENS, 4, 16, seed=8).next_batch()[0]
    assert not torch.equal(a[0], b)


def test_random_sampler_draws_with_replacement_over_the_whole_corpus():
    s = RandomBatchSampler(TOKENS, 64, 16, seed=0)
    starts = torch.cat([s.next_batch()[0][:, 0] for _ in range(20)])
    assert starts.min() < 50 and starts.max() > 900  # covers the corpus
    assert len(set(starts.tolist())) < len(starts)  # with 1280 draws of 984 offsets, repeats must occur


def test_sequential_sampler_has_no_repetition_within_an_epoch():
    s = SequentialBatchSampler(TOKENS, 4, 16, seed=0)
    n_windows = (len(TOKENS) - 1) // 16
    starts = []
    while len(starts) <= n_windows:
        starts += s.next_batch()[0][:, 0].tolist()
    assert starts[:n_windows] == [16 * i for i in range(n_windows)]  # every window once, in order
    assert starts[n_windows] == 0 and s.epoch == 1  # then the next epoch starts over


@pytest.mark.parametrize("kind", ["random", "sequential"])
def test_resume_continues_the_same_stream(kind):
    full = make_sampler(kind, TOKENS, 4, 16, seed=3)
    expected = [full.next_batch()[0] for _ in range(6)]
    first = make_sampler(kind, TOKENS, 4, 16, seed=3)
    for _ in range(2):
        first.next_batch()
    resumed = make_sampler(kind, TOKENS, 4, 16, seed=3)
    resumed.load_state_dict(first.state_dict())
    for i in range(2, 6):
        assert torch.equal(resumed.next_batch()[0], expected[i])


@pytest.mark.parametrize("kind", ["random", "sequential"])
def test_two_ranks_together_draw_what_one_rank_draws(kind):
    single = make_sampler(kind, TOKENS, 4, 16, seed=5)
    stream = [single.next_batch()[0] for _ in range(6)]
    ranks = [make_sampler(kind, TOKENS, 4, 16, seed=5, rank=r, world_size=2) for r in range(2)]
    for step in range(3):
        for r in range(2):
            assert torch.equal(ranks[r].next_batch()[0], stream[2 * step + r])
    assert (
        ranks[0].state_dict()["consumed"]
        == ranks[1].state_dict()["consumed"]
        == single.state_dict()["consumed"]
    )


def test_state_from_another_sampler_is_refused():
    state = RandomBatchSampler(TOKENS, 4, 16, seed=1).state_dict()
    with pytest.raises(ValueError, match="seed=1, expected 2"):
        RandomBatchSampler(TOKENS, 4, 16, seed=2).load_state_dict(state)
    with pytest.raises(ValueError, match="kind='random'"):
        SequentialBatchSampler(TOKENS, 4, 16, seed=1).load_state_dict(state)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown sampler 'shuffled'"):
        make_sampler("shuffled", TOKENS, 4, 16)
    with pytest.raises(ValueError, match="rank 2 is not in"):
        RandomBatchSampler(TOKENS, 4, 16, rank=2, world_size=2)
    with pytest.raises(DataError, match="fewer than one window"):
        RandomBatchSampler(TOKENS[:10], 4, 16)
