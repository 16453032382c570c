"""Figure 13 / Table 9 (B tokens repeated for E epochs vs E*B fresh tokens) and Table 8's row keys."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_token_data
from test_llama import VOCAB, tiny_llama, tiny_tokenizer

from inheritune_core.config import ConfigError
from inheritune_core.data.sampling import make_sampler
from inheritune_core.data.tokens import load_token_data
from inheritune_core.errors import DataError
from inheritune_core.experiments import lowdata

PAPER_BATCH, PAPER_BLOCK = 131_072, 2048


def test_paper_plan_matches_table9():
    plan = lowdata.epochs_vs_fresh_plan(10**9, [1, 10, 20], [10, 20], PAPER_BATCH, PAPER_BLOCK)
    steps_per_epoch = 10**9 // PAPER_BATCH  # 7629: B rounded down to whole optimizer steps
    budget = steps_per_epoch * PAPER_BATCH
    assert [(r.data, r.epochs, r.role, r.method) for r in plan] == [
        ("repeated", 1, "epochs_1", "1 epochs"),
        ("repeated", 10, "epochs_10", "10 epochs"),
        ("repeated", 20, "epochs_20", "20 epochs"),
        ("fresh", 10, "fresh_10b", "10B fresh"),
        ("fresh", 20, "fresh_20b", "20B fresh"),
    ]  # the roles of results/paper_reported/table9.csv
    for r in plan:
        assert r.budget_tokens == budget and r.tokens_seen == r.epochs * budget
        assert r.max_steps == r.epochs * steps_per_epoch  # same steps, same batch: only repetition differs
        assert r.corpus_tokens == (budget if r.data == "repeated" else r.epochs * budget) + 1


def test_plan_drops_one_epoch_fresh_and_rejects_bad_input():
    plan = lowdata.epochs_vs_fresh_plan(100, [2, 1, 2], [1, 3], 32, 16)
    assert [(r.data, r.epochs, r.max_steps, r.budget_tokens) for r in plan] == [
        ("repeated", 1, 3, 96),
        ("repeated", 2, 6, 96),
        ("fresh", 3, 9, 96),
    ]
    with pytest.raises(ConfigError, match="smaller than one batch"):
        lowdata.epochs_vs_fresh_plan(31, [1], [], 32, 16)
    with pytest.raises(ConfigError, match="multiple of block_size"):
        lowdata.epochs_vs_fresh_plan(100, [1], [], 30, 16)
    with pytest.raises(ConfigError, match=r"epochs must be positive integers, got \[0\]"):
        lowdata.epochs_vs_fresh_plan(100, [0], [], 32, 16)


def test_sequential_sampler_repeats_the_budget_exactly_each_epoch():
    run = lowdata.epochs_vs_fresh_plan(100, [3], [], 32, 16)[0]
    tokens = np.arange(run.corpus_tokens)
    sampler = make_sampler("sequential", tokens, micro_batch=2, block_size=16)
    batches = [
        sampler.next_batch()[0] for _ in range(run.max_steps)
    ]  # micro_batch x block = one 32-token step
    per_epoch = run.max_steps // run.epochs
    seen = np.concatenate([b.flatten().numpy() for b in batches[:per_epoch]])
    assert sorted(seen) == list(range(run.budget_tokens))  # every budget token once per epoch
    for e in range(1, run.epochs):
        for i in range(per_epoch):
            assert (batches[e * per_epoch + i] == batches[i]).all()


def test_slice_token_data_is_written_once_and_refuses_a_different_slice(tmp_path):
    data = load_token_data(make_token_data(tmp_path / "corpus", n_train=1000, n_val=200, vocab=VOCAB))
    part = lowdata.slice_token_data(data, 129, tmp_path / "slice", progress=False)
    assert part.num_tokens("train") == 129 and part.num_tokens("val") == 200
    assert np.array_equal(part.split("train"), data.split("train")[:129])
    assert np.array_equal(part.split("val"), data.split("val"))
    mtime = (tmp_path / "slice" / "train.bin").stat().st_mtime_ns
    assert lowdata.slice_token_data(data, 129, tmp_path / "slice").root == part.root
    assert (tmp_path / "slice" / "train.bin").stat().st_mtime_ns == mtime
    with pytest.raises(DataError, match="another corpus slice"):
        lowdata.slice_token_data(data, 130, tmp_path / "slice")
    with pytest.raises(DataError, match="cannot slice 5000 train tokens out of 1000"):
        lowdata.slice_token_data(data, 5000, tmp_path / "other")


def test_default_budgets_and_table8_keys():
    smoke, paper = lowdata.LOWDATA_SCALES["smoke"], lowdata.LOWDATA_SCALES["paper"]
    assert lowdata.default_epoch_budget(smoke) == smoke.batch_tokens
    assert lowdata.default_epoch_budget(paper) == 10**9
    assert lowdata.default_table8_references(smoke) == {"smollm2-135m": 15}
    assert lowdata.default_table8_references(paper)["meta-llama/Llama-2-7b-hf"] == 7
    assert lowdata.table8_key("meta-llama/Llama-2-7b-hf", 7, paper) == (
        "Ours-1.6B (1B)",
        "inheritune_llama2_7b_1b",
    )
    assert lowdata.table8_key("smollm2-135m", 7, smoke) == (
        "Ours-7L (SmolLM2-135M)",
        "inheritune_smollm2-135m_n7",
    )


def test_epochs_vs_fresh_runs_train_once_with_the_right_data(tmp_path):
    from inheritune_core.experiments.runs import TRAINING_COUNTER

    ref_dir = tmp_path / "ref"
    tiny_llama(4).save_pretrained(ref_dir)
    tiny_tokenizer().save_pretrained(ref_dir)
    data = load_token_data(make_token_data(tmp_path / "corpus", n_train=2000, n_val=400, vocab=VOCAB))
    scale = lowdata.get_lowdata_scale(
        "smoke",
        reference=str(ref_dir),
        n_layers=2,
        batch_tokens=32,
        micro_batch=2,
        block_size=16,
        eval_interval=2,
        eval_iters=1,
    )
    kwargs = dict(
        epochs=[1, 2],
        fresh_epochs=[2],
        budget_tokens=32,
        data=data,
        runs_dir=tmp_path / "runs",
        downstream=False,
        progress=False,
    )
    before = TRAINING_COUNTER["trained"]
    rows = lowdata.epochs_vs_fresh_rows(scale=scale, **kwargs)
    assert TRAINING_COUNTER["trained"] == before + 3
    by_role = {r["role"]: r for r in rows}
    assert set(by_role) == {"epochs_1", "epochs_2", "fresh_64"}
    assert [by_role[k]["steps"] for k in ("epochs_1", "epochs_2", "fresh_64")] == [1, 2, 2]
    assert by_role["epochs_2"]["tokens_seen"] == by_role["fresh_64"]["tokens_seen"] == 64
    assert by_role["epochs_2"]["data"] == "repeated" and by_role["fresh_64"]["data"] == "fresh"
    sliced = load_token_data(str(data.root) + "-first32")
    assert sliced.num_tokens("train") == 33  # B + the last window's target token
    assert lowdata.table9_rows(rows) == [{**by_role[k], "table": "table9"} for k in ("epochs_2", "fresh_64")]
    again = lowdata.epochs_vs_fresh_rows(scale=scale, **kwargs)
    assert TRAINING_COUNTER["trained"] == before + 3 and again == rows  # cached: read back, not retrained
    with pytest.raises(ConfigError, match="fresh-token runs need 32001 train tokens"):
        lowdata.epochs_vs_fresh_rows(scale=scale, **{**kwargs, "fresh_epochs": [1000]})


def test_the_cli_defaults_to_tiny_and_every_option_shows_its_default(capsys):
    with pytest.raises(SystemExit):
        lowdata.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--scale", "--reference", "--n-layers", "--device", "--micro-batch"):
        assert option in text
    assert text.count("(default:") == 5 and "(default: tiny)" in text
    assert lowdata.main(["train", "--scale", "huge"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown low-data scale 'huge'")
