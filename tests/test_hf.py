"""GPT <-> Hugging Face GPT-2 conversion parity, offline exports and the regenerated GPT-2 tokenizer."""

from __future__ import annotations

import base64
import os

import pytest
import torch

from inheritune_core.config import ConfigError
from inheritune_core.errors import DataError
from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.models.hf import (
    PARITY_TOLERANCE,
    export_hf,
    gpt2_ranks_path,
    gpt_to_hf,
    hf_to_gpt,
    load_hf,
    max_logit_difference,
)

VOCAB = 50304


def tiny_gpt(bias: bool = False, scale: bool = True, seed: int = 0, block_size: int = 32) -> GPT:
    torch.manual_seed(seed)
    model = GPT(
        GPTConfig(
            block_size=block_size,
            vocab_size=VOCAB,
            n_layer=3,
            n_head=4,
            n_embd=32,
            bias=bias,
            scale_attn_by_inverse_layer_idx=scale,
        )
    )
    with torch.no_grad():  # non-trivial biases and norms, so a dropped or misplaced one would show
        for name, p in model.named_parameters():
            if name.endswith(".bias") or "ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model.eval()


def ids(T: int = 32, B: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, 50257, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("bias", [False, True])
def test_gpt_to_hf_and_back_give_the_same_logits(scale, bias):
    model = tiny_gpt(bias=bias, scale=scale)
    hf = gpt_to_hf(model)
    assert hf.config.scale_attn_by_inverse_layer_idx is scale
    assert hf.config.activation_function == "gelu"
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()  # tied head
    x = ids()
    assert max_logit_difference(model, hf, x) <= PARITY_TOLERANCE
    back = hf_to_gpt(hf)
    assert back.config.bias is bias and back.config.scale_attn_by_inverse_layer_idx is scale
    assert (back(x) - model(x)).abs().max().item() <= PARITY_TOLERANCE
    assert back.lm_head.weight is back.transformer.wte.weight


def test_the_layer_scale_matters():
    # If the flag were ignored somewhere, both settings would convert to the same function.
    a, b = tiny_gpt(scale=True), tiny_gpt(scale=False)
    with torch.no_grad():  # sharpen attention: at init the logits are too small for the scale to show
        for m in (a, b):
            for block in m.transformer.h:
                block.attn.c_attn.weight.mul_(20)
    assert (a(ids()) - b(ids())).abs().max() > 1e-3
    assert max_logit_difference(a, gpt_to_hf(b), ids()) > 1e-3


def sharp_gpt(scale: bool = True) -> GPT:
    """tiny_gpt with attention logits large enough that the 1/(layer+1) scale changes the output a lot."""
    model = tiny_gpt(scale=scale)
    with torch.no_grad():
        for block in model.transformer.h:
            block.attn.c_attn.weight.mul_(20)
    return model


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_hf_attention_implementations_keep_the_layer_scale(attn):
    # transformers < 5.4.0 dropped the layer scale under SDPA; with these weights dropping it moves the
    # logits by ~0.25, 2500x the tolerance, so a regression cannot pass.
    model, unscaled = sharp_gpt(scale=True), sharp_gpt(scale=False)
    assert max_logit_difference(model, gpt_to_hf(unscaled), ids()) > 1000 * PARITY_TOLERANCE
    hf = gpt_to_hf(model)
    hf.set_attn_implementation(attn)
    assert hf.config._attn_implementation == attn
    assert max_logit_difference(model, hf, ids()) <= PARITY_TOLERANCE
    assert max_logit_difference(unscaled, hf, ids()) > 1000 * PARITY_TOLERANCE


def test_an_export_loaded_with_default_attention_keeps_the_layer_scale(tmp_path, gpt2_ranks):
    model = sharp_gpt()
    hf, _ = load_hf(export_hf(model, tmp_path / "export"))  # whatever attention the release defaults to
    assert hf.config.scale_attn_by_inverse_layer_idx is True
    assert max_logit_difference(model, hf, ids()) <= PARITY_TOLERANCE
    assert max_logit_difference(sharp_gpt(scale=False), hf, ids()) > 1000 * PARITY_TOLERANCE


def test_an_old_transformers_is_refused_for_layer_scaled_models(monkeypatch):
    from inheritune_core.models import hf
    from inheritune_core.models.hf import check_layer_scale_support

    monkeypatch.setattr(hf, "transformers_version", lambda: "4.57.6")
    with pytest.raises(ConfigError, match=r"ignores scale_attn_by_inverse_layer_idx .*fixed in 5\.4\.0"):
        gpt_to_hf(tiny_gpt(scale=True))
    check_layer_scale_support(scaled=False)  # models without the layer scale are fine on any release
    assert gpt_to_hf(tiny_gpt(scale=False)).config.scale_attn_by_inverse_layer_idx is False


def test_bias_free_export_has_zero_biases():
    hf = gpt_to_hf(tiny_gpt(bias=False))
    biases = [p for n, p in hf.named_parameters() if n.endswith(".bias")]
    assert biases and all(bool((b == 0).all()) for b in biases)
    assert hf_to_gpt(hf).config.bias is False  # zero biases come back as a bias-free model


def test_hf_gpt2_with_biases_converts_and_bias_false_is_refused():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=VOCAB,
        n_positions=32,
        n_embd=32,
        n_layer=2,
        n_head=4,
        activation_function="gelu",
        scale_attn_by_inverse_layer_idx=False,
    )
    hf = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():
        for n, p in hf.named_parameters():
            if n.endswith(".bias"):
                p.normal_(0, 0.1)
    model = hf_to_gpt(hf)
    assert model.config.bias is True
    assert max_logit_difference(model, hf, ids()) <= PARITY_TOLERANCE
    with pytest.raises(ValueError, match="non-zero biases"):
        hf_to_gpt(hf, bias=False)


def test_hf_to_gpt_refuses_the_tanh_gelu_unless_allowed():
    from transformers import GPT2Config, GPT2LMHeadModel

    hf = GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4))
    assert hf.config.activation_function == "gelu_new"  # what real GPT-2 checkpoints use
    with pytest.raises(ConfigError, match="gelu_new"):
        hf_to_gpt(hf)
    model = hf_to_gpt(hf.eval(), allow_gelu_approximation=True)
    assert max_logit_difference(model, hf, ids()) < 1e-2  # close, not equal: the documented approximation


def test_a_model_with_stale_layer_indices_is_refused():
    model = tiny_gpt()
    blocks = model.transformer.h
    blocks[0], blocks[1] = blocks[1], blocks[0]
    with pytest.raises(ValueError, match="reindex_layers"):
        gpt_to_hf(model)
    model.reindex_layers()
    assert max_logit_difference(model, gpt_to_hf(model), ids()) <= PARITY_TOLERANCE


@pytest.fixture(scope="module")
def gpt2_ranks():
    try:
        return gpt2_ranks_path()
    except DataError as e:
        pytest.fail(str(e))


def _tiktoken_gpt2(ranks_path):
    try:
        from inheritune_core.data.tokenizer import load_tokenizer

        return load_tokenizer("gpt2")
    except ImportError:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        pat = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
        return tiktoken.Encoding(
            "gpt2",
            pat_str=pat,
            mergeable_ranks=load_tiktoken_bpe(str(ranks_path)),
            special_tokens={"<|endoftext|>": 50256},
        )


def test_export_loads_offline_with_equal_logits_and_tokenizer(tmp_path, gpt2_ranks):
    from transformers import GPT2TokenizerFast

    model = tiny_gpt(bias=False, scale=True)
    out = export_hf(model, tmp_path / "export")
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no temp folder left behind
    hf, tok = load_hf(out)
    assert max_logit_difference(model, hf, ids()) <= PARITY_TOLERANCE
    fast = GPT2TokenizerFast.from_pretrained(out, local_files_only=True)
    enc = _tiktoken_gpt2(gpt2_ranks)
    assert fast("Hello world").input_ids == [15496, 995]
    texts = [
        "Hello world",
        " Hello world",
        "naïve café 😀 — 1234567  two  spaces\n\nnew para",
        "It's the dog's bone, isn't it?",
        "<|endoftext|>after",
        "   \t leading whitespace",
    ]
    for text in texts:
        assert fast(text).input_ids == enc.encode(text, allowed_special="all"), text
        assert tok(text).input_ids == fast(text).input_ids
    assert fast.eos_token_id == 50256 and len(fast) == 50257
    assert fast.decode(enc.encode(texts[2])) == texts[2]


def test_recovered_merges_cover_every_multi_byte_token(gpt2_ranks):
    from inheritune_core.models.hf import gpt2_vocab_and_merges

    vocab, merges = gpt2_vocab_and_merges(gpt2_ranks)
    n_lines = sum(1 for line in gpt2_ranks.read_text().splitlines() if line)
    assert len(vocab) == 50257 and len(merges) == n_lines - 256
    assert merges[0] == "Ġ t"  # GPT-2's first merge (space + "t")
    first = base64.b64decode(gpt2_ranks.read_text().split()[0])
    assert len(first) == 1


def test_export_never_overwrites_silently(tmp_path, gpt2_ranks):
    out = tmp_path / "export"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_hf(tiny_gpt(), out)
    assert (out / "keep.txt").read_text() == "user data"
    export_hf(tiny_gpt(seed=3), out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / "config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    assert oct(os.stat(out).st_mode & 0o777) != oct(0o700)  # readable by others, like any folder


def test_export_of_a_transformers_model_needs_its_tokenizer(tmp_path, gpt2_ranks):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=50257,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
        )
    )
    with pytest.raises(ValueError, match="tokenizer"):
        export_hf(llama, tmp_path / "llama")
    gpt_dir = export_hf(tiny_gpt(), tmp_path / "gpt")
    tok = AutoTokenizer.from_pretrained(gpt_dir)
    out = export_hf(llama, tmp_path / "llama", tokenizer=tok)
    loaded, _ = load_hf(out)
    x = ids(T=8)
    assert torch.allclose(loaded(x).logits, llama.eval()(x).logits, atol=1e-5)


def test_non_models_are_refused(tmp_path):
    with pytest.raises(TypeError, match="GPT or a transformers"):
        export_hf(torch.nn.Linear(2, 2), tmp_path / "x")
