"""`plan` (analysis.plan): the suggested n on synthetic models with known lazy layers, the tidy CSV, the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import make_token_data

from inheritune_core.analysis.plan import (
    PLAN_COLUMNS,
    PlanConfig,
    analyze_layers,
    main,
    suggest_n,
)
from inheritune_core.errors import ConfigError
from inheritune_core.io import sha256_file
from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.paths import PROJECT_DIR

VOCAB = 64
MARKER = 15  # the residual dimension that only position 0 writes to


def gpt_with_lazy_layers(n_layer: int, lazy: tuple[int, ...]) -> GPT:
    """This project's GPT in which the blocks `lazy` attend only to the first token, in every head.

    Position 0's embedding alone carries a large value in dimension MARKER, no token embedding or block writes
    to it, and in a lazy block every head's query is a constant (bias only) and its key reads that dimension:
    the score of key 0 exceeds every other by hundreds, so each attention matrix is single-column (k* = m* = 1).
    The other blocks keep the random initialisation (near-uniform causal attention: k* and m* far above 1).
    """
    torch.manual_seed(0)
    cfg = GPTConfig(block_size=32, vocab_size=VOCAB, n_layer=n_layer, n_head=2, n_embd=16, bias=True)
    model = GPT(cfg)
    d, hd = cfg.n_embd, cfg.n_embd // cfg.n_head
    with torch.no_grad():
        model.transformer.wte.weight[:, MARKER] = 0.0
        model.transformer.wpe.weight[:, MARKER] = 0.0
        model.transformer.wpe.weight[0, MARKER] = 10.0
        for block in model.transformer.h:
            for proj in (block.attn.c_proj, block.mlp.c_proj):
                proj.weight[MARKER] = 0.0
                proj.bias[MARKER] = 0.0
        for i in lazy:
            w, b = model.transformer.h[i].attn.c_attn.weight, model.transformer.h[i].attn.c_attn.bias
            w[: 2 * d] = 0.0
            b[: 2 * d] = 0.0
            for h in range(cfg.n_head):
                b[h * hd] = 30.0  # query: constant
                w[d + h * hd, MARKER] = 30.0  # key: the marker dimension
    return model.eval()


WINDOWS = torch.randint(0, VOCAB, (8, 24), generator=torch.Generator().manual_seed(5))


@pytest.mark.parametrize(
    "lazy, expected",
    [
        ((4, 5), 4),  # the paper's picture: a lazy end
        ((1, 4, 5), 4),  # an early degenerate layer does not cut the model short
        ((5,), 5),
        ((1,), 3),  # nothing lazy in the deeper half: k/2
        ((), 3),
    ],
)
def test_suggested_n_on_synthetic_models_with_known_lazy_layers(lazy, expected):
    model = gpt_with_lazy_layers(6, lazy)
    plan = analyze_layers(model, WINDOWS, "synthetic", PlanConfig(n_runs=8, seq_len=24, loss_runs=4))
    assert [int(x) for x in plan.table.layer[plan.table.lazy]] == list(lazy)
    assert bool((plan.table.max_rank[list(lazy)] == 1).all())
    others = [i for i in range(6) if i not in lazy]
    assert bool((plan.table.max_rank[others] > 2).all())
    assert plan.suggestion.n == expected and plan.suggestion.paper_n == 3
    assert "k/2" in plan.suggestion.rule


def test_suggest_n_rule_and_errors():
    assert suggest_n([False] * 8) == (4, suggest_n([False] * 8)[1])
    n, rule = suggest_n([False, False, False, False, False, True, True, True])
    assert n == 5 and "layer 5 is the first lazy layer" in rule
    with pytest.raises(ConfigError, match="at least 2 layers"):
        suggest_n([True])


def test_plan_frame_is_tidy_and_complete():
    model = gpt_with_lazy_layers(4, (3,))
    plan = analyze_layers(model, WINDOWS, "synthetic", PlanConfig(n_runs=8, seq_len=24, loss_runs=3))
    frame = plan.frame()
    assert tuple(frame.columns) == PLAN_COLUMNS
    counts = frame.statistic.value_counts()
    for stat in (
        "max_rank",
        "mean_rank",
        "max_mass",
        "mean_mass",
        "block_influence",
        "lazy",
        "truncated_loss",
    ):
        assert counts[stat] == 4
    assert counts["angular_distance"] == 4 * 5 // 2  # every (l, n) with l + n <= L
    assert frame[frame.statistic == "truncated_loss"].n_windows.unique().tolist() == [3]
    assert frame[frame.statistic == "suggested_n"].value.item() == 3
    assert frame[frame.statistic == "uniform_loss"].value.item() == pytest.approx(np.log(VOCAB))
    text = plan.summary()
    assert "suggested n = 3 (the paper's k/2 = 2)" in text and "ShortGPT" in text and "Gromov" in text


def test_config_errors_are_one_line():
    for kwargs, message in (
        ({"n_runs": 0}, "n_runs must be a positive integer"),
        ({"loss_runs": 200}, "loss_runs must be in 0..n_runs"),
        ({"seq_len": 1}, "seq_len must be at least 2"),
        ({"lazy_share": 0.0}, "lazy_share must be in"),
    ):
        with pytest.raises(ConfigError, match=message) as info:
            PlanConfig(**kwargs)
        assert "\n" not in str(info.value)


def _tiny_reference(root):
    """A random LLaMA model folder with a word-level tokenizer, and a corpus already in its ids."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=VOCAB,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=64,
        )
    )
    words = ["<unk>", "</s>"] + [f"w{i}" for i in range(VOCAB - 2)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="</s>")
    model.save_pretrained(root / "ref")
    tokenizer.save_pretrained(root / "ref")
    corpus = make_token_data(root / "corpus", n_train=2000, n_val=2000, vocab=VOCAB)
    meta = corpus / "meta.json"
    meta.write_text(meta.read_text().replace('"gpt2"', '"tiny-words"'))
    return root / "ref", corpus


def test_cli_writes_csv_and_figure(tmp_path, capsys):
    ref, corpus = _tiny_reference(tmp_path)
    out = tmp_path / "plan"
    args = [
        "--reference",
        str(ref),
        "--data",
        str(corpus),
        "--out",
        str(out),
        "--runs",
        "4",
        "--seq-len",
        "16",
    ]
    assert main(args + ["--loss-runs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "suggested n = 2 (the paper's k/2 = 2)" in printed and "rule:" in printed
    frame = pd.read_csv(out / "plan.csv")
    assert (
        set(frame.reference) == {str(ref)} and (out / "plan.png").is_file() and (out / "plan.pdf").is_file()
    )
    first = sha256_file(out / "plan.png")
    # The figure is redrawn from the CSV alone, byte for byte.
    subprocess.run(
        [sys.executable, "-m", "inheritune_core.report.figures", "plan", str(out)],
        check=True,
        cwd=PROJECT_DIR,
    )
    assert sha256_file(out / "plan.png") == first


def test_cli_bad_input_is_one_error_line(tmp_path, capsys):
    assert main(["--reference", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown reference 'no-such-model'") and "\n" not in err
    assert main(["--reference", "smollm2-135m", "--data", str(tmp_path)]) == 2
    assert "is not a prepared corpus" in capsys.readouterr().err


def test_plan_config_at_a_scale_takes_its_windows_unless_given():
    from inheritune_core.config import SCALES

    smoke = PlanConfig.at_scale("smoke")
    assert (smoke.n_runs, smoke.seq_len, smoke.loss_runs) == (4, 16, 2)
    paper = PlanConfig.at_scale("paper")  # the paper's 100 windows of 100 tokens
    assert (paper.n_runs, paper.seq_len, paper.loss_runs) == (100, 100, 20)
    assert SCALES["tiny"].analysis_windows == SCALES["paper"].analysis_windows == 100
    given = PlanConfig.at_scale("smoke", n_runs=10, seq_len=20, loss_runs=0, lazy_share=0.9)
    assert (given.n_runs, given.seq_len, given.loss_runs, given.lazy_share) == (10, 20, 0, 0.9)


def test_attention_figures_take_the_scales_windows_unless_given():
    from types import SimpleNamespace

    from inheritune_core.experiments.attention import analysis_windows

    assert analysis_windows(SimpleNamespace(scale="smoke"), None, None) == (4, 16)
    assert analysis_windows(SimpleNamespace(scale="tiny"), None, None) == (100, 100)
    assert analysis_windows(SimpleNamespace(scale="smoke"), 7, None) == (7, 16)
