"""The paper's GPT-2: sizes against Table 10, shapes, the two attention paths, layer scaling, config errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from inheritune_core.config import MODEL_PRESETS, PADDED_VOCAB_SIZE, ConfigError
from inheritune_core.models.gpt import GPT, GPTConfig


def tiny_config(**kw) -> GPTConfig:
    return GPTConfig(**{**dict(block_size=32, vocab_size=512, n_layer=3, n_head=4, n_embd=32), **kw})


def analytic_params(cfg: GPTConfig) -> int:
    """wte (tied with the head) + wpe + per layer (12 C^2 matrices + 2 LayerNorm weights) + ln_f, no biases."""
    C = cfg.n_embd
    return cfg.vocab_size * C + cfg.block_size * C + cfg.n_layer * (12 * C * C + 2 * C) + C


def reported(text: str) -> float:
    return float(text[:-1]) * (1e9 if text.endswith("B") else 1e6)


@pytest.mark.parametrize("preset", sorted(MODEL_PRESETS))
def test_parameter_count_matches_table10(preset):
    cfg = GPTConfig.from_preset(preset)
    assert cfg.vocab_size == PADDED_VOCAB_SIZE and cfg.block_size == 1024
    with torch.device("meta"):  # no memory, no init time: a 1.5B model builds in milliseconds
        model = GPT(cfg)
    n = model.num_params(non_embedding=False)
    assert n == analytic_params(cfg)
    # Table 10 rounds (and counts GPT-2's 50257-token vocabulary); the padded vocabulary adds ~0.05M.
    assert abs(n - reported(MODEL_PRESETS[preset].reported_params)) / n < 0.04, (preset, n)


def test_gpt2_medium_is_355m():
    with torch.device("meta"):
        model = GPT(GPTConfig.from_preset("gpt2-medium"))
    assert round(model.num_params(non_embedding=False) / 1e6) == 355
    assert model.config.n_layer == 24 and model.config.n_embd == 1024 and model.config.n_head == 16


def test_parameter_names_follow_hugging_face():
    names = set(dict(GPT(tiny_config(n_layer=1)).named_parameters()))
    for name in (
        "transformer.wte.weight",
        "transformer.wpe.weight",
        "transformer.h.0.ln_1.weight",
        "transformer.h.0.attn.c_attn.weight",
        "transformer.h.0.attn.c_proj.weight",
        "transformer.h.0.mlp.c_fc.weight",
        "transformer.h.0.mlp.c_proj.weight",
        "transformer.ln_f.weight",
    ):
        assert name in names
    model = GPT(tiny_config())
    assert model.lm_head.weight is model.transformer.wte.weight  # tied


def test_output_shapes():
    torch.manual_seed(0)
    model = GPT(tiny_config())
    idx = torch.randint(0, 512, (2, 17))
    logits = model(idx)
    assert logits.shape == (2, 17, 512)
    logits2, attn = model(idx, return_attn=True)
    assert logits2.shape == (2, 17, 512) and len(attn) == 3
    assert all(a.shape == (2, 4, 17, 17) for a in attn)
    assert model.attention_probs(idx).shape == (2, 3, 4, 17, 17)


def test_sequence_longer_than_block_is_refused():
    with pytest.raises(ValueError, match="exceeds block_size"):
        GPT(tiny_config())(torch.zeros(1, 33, dtype=torch.long))


@pytest.mark.parametrize("scale_by_layer", [True, False])
def test_fast_path_equals_analysis_path(scale_by_layer):
    torch.manual_seed(1)
    model = GPT(tiny_config(scale_attn_by_inverse_layer_idx=scale_by_layer)).eval()
    idx = torch.randint(0, 512, (3, 32))
    with torch.no_grad():
        fast = model(idx)
        slow, _ = model(idx, return_attn=True)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)


def test_attention_rows_are_causal_distributions():
    torch.manual_seed(2)
    probs = GPT(tiny_config()).attention_probs(torch.randint(0, 512, (2, 20)))
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]), atol=1e-5, rtol=0)
    future = torch.ones(20, 20, dtype=torch.bool).triu(1)
    assert (probs[..., future] == 0).all()
    assert (probs >= 0).all()


def test_layer_scale_is_inverse_sqrt_head_dim_over_layer_index():
    model = GPT(tiny_config(n_layer=4, n_embd=64, n_head=4))
    hd = 16
    for i, block in enumerate(model.transformer.h):
        assert block.attn.layer_idx == i
        assert block.attn.scale == pytest.approx(1 / math.sqrt(hd) / (i + 1))
    plain = GPT(tiny_config(scale_attn_by_inverse_layer_idx=False))
    assert all(b.attn.scale == pytest.approx(1 / math.sqrt(8)) for b in plain.transformer.h)


def test_attention_probs_match_a_hand_computation_with_layer_scaling():
    """Layer 2's probabilities recomputed from its weights: softmax(QK^T / sqrt(hd) / 3 + causal mask)."""
    torch.manual_seed(3)
    model = GPT(tiny_config())
    idx = torch.randint(0, 512, (1, 10))
    probs = model.attention_probs(idx)
    with torch.no_grad():
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(10))
        for block in model.transformer.h[:2]:
            x, _ = block(x)
        h = model.transformer.h[2].ln_1(x)
        q, k, _ = model.transformer.h[2].attn.c_attn(h).split(32, dim=2)
        q, k = (t.view(1, 10, 4, 8).transpose(1, 2) for t in (q, k))
        logits = q @ k.transpose(-2, -1) / math.sqrt(8) / 3
        logits = logits.masked_fill(torch.ones(10, 10, dtype=torch.bool).triu(1), float("-inf"))
        expected = F.softmax(logits, dim=-1)
    torch.testing.assert_close(probs[:, 2], expected, atol=1e-6, rtol=1e-5)


def test_reindex_layers_changes_the_scale():
    model = GPT(tiny_config())
    model.transformer.h = torch.nn.ModuleList(list(model.transformer.h)[::-1])
    model.reindex_layers()
    assert [b.attn.layer_idx for b in model.transformer.h] == [0, 1, 2]


def test_scales_shrink_the_preset():
    smoke = GPTConfig.from_preset("gpt2-medium", "smoke")
    assert (smoke.n_layer, smoke.n_embd, smoke.n_head, smoke.block_size) == (4, 32, 4, 32)
    assert GPTConfig.from_preset("gpt2-medium", "paper", n_layer=16).n_layer == 16


def test_n_head_must_divide_n_embd():
    with pytest.raises(ConfigError, match="n_head=5 does not divide n_embd=32"):
        tiny_config(n_head=5)


def test_unknown_preset_and_scale():
    with pytest.raises(ConfigError, match="unknown model preset 'gpt2-huge'"):
        GPTConfig.from_preset("gpt2-huge")
    with pytest.raises(ConfigError, match="unknown scale 'giant'"):
        GPTConfig.from_preset("gpt2-medium", "giant")


def test_config_round_trip_and_unknown_keys():
    cfg = tiny_config()
    assert GPTConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown keys"):
        GPTConfig.from_dict({**cfg.to_dict(), "n_kv_head": 2})
