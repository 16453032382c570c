"""Block influence, angular distance and truncated-model loss (analysis.layers) on models where the answer is known,
and the layer selections of Inheritune, ShortGPT and Gromov et al."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inheritune_core.analysis.degeneration import analyze_model
from inheritune_core.analysis.layers import (
    angular_block_layers,
    angular_block_start,
    angular_distances,
    block_influence,
    collect_layer_evidence,
    decoder_parts,
    first_layers,
    last_layers,
    record_hidden_states,
    top_influence_layers,
)
from inheritune_core.errors import ConfigError
from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.models.llama import select_layers, truncate_llama

VOCAB = 64


def tiny_gpt(n_layer: int = 6, identities: tuple[int, ...] = ()) -> GPT:
    """This project's GPT with blocks `identities` made exact identities (both residual branches write 0)."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=32, vocab_size=VOCAB, n_layer=n_layer, n_head=2, n_embd=16, bias=True))
    with torch.no_grad():
        for i in identities:
            block = model.transformer.h[i]
            for proj in (block.attn.c_proj, block.mlp.c_proj):
                proj.weight.zero_()
                proj.bias.zero_()
    return model.eval()


def tiny_llama(n_layers: int = 5, identities: tuple[int, ...] = ()):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=n_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for i in identities:
            model.model.layers[i].self_attn.o_proj.weight.zero_()
            model.model.layers[i].mlp.down_proj.weight.zero_()
    return model.eval()


def tiny_gemma3(n_layers: int = 4):
    """A random Gemma 3 text model: scaled embedding, sliding and global layers, q/k norms, soft-capped logits."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=n_layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=64,
        sliding_window=8,
        layer_types=["sliding_attention", "full_attention"] * (n_layers // 2),
        final_logit_softcapping=30.0,
    )
    return Gemma3ForCausalLM(cfg).eval()


WINDOWS = torch.randint(0, VOCAB, (6, 20), generator=torch.Generator().manual_seed(3))


def model_loss(model, ids: torch.Tensor) -> float:
    out = model(ids)
    logits = out if isinstance(out, torch.Tensor) else out.logits
    return F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB).float(), ids[:, 1:].reshape(-1)).item()


# ------------------------------------------------------------------------------------- known answers


@pytest.mark.parametrize("make", [tiny_gpt, tiny_llama])
def test_identity_blocks_have_zero_influence_and_are_dropped_first(make):
    model = make(identities=(1, 3))
    ev = collect_layer_evidence(model, WINDOWS, attention=False, loss_windows=0)
    bi = ev.influence.mean(0)
    assert bi[1].abs() < 1e-12 and bi[3].abs() < 1e-12
    others = [i for i in range(len(bi)) if i not in (1, 3)]
    assert bool((bi[others] > 1e-4).all())
    L = len(bi)
    # ShortGPT keeps the highest-influence blocks: the two identities are the first to go.
    assert top_influence_layers(bi, L - 2) == others
    # a tie within noise (TIE_TOLERANCE): the earlier block stays on every CPU and BLAS
    assert top_influence_layers(bi, L - 1) == [i for i in range(L) if i != 3]
    # Angular distance: an identity block leaves the hidden state unchanged, so d(h_i, h_i+1) = 0 there.
    ang = ev.mean_angular()
    assert ang[1, 2] < 1e-6 and ang[3, 4] < 1e-6
    assert angular_block_start(ang, 1) == 1  # earliest of the two zero-distance blocks
    assert angular_block_layers(ang, L - 1) == [i for i in range(L) if i != 1]


def test_contiguous_identities_are_the_block_gromov_drops():
    model = tiny_llama(n_layers=6, identities=(2, 3))
    ang = collect_layer_evidence(model, WINDOWS, attention=False, loss_windows=0).mean_angular()
    assert ang[2, 4] < 1e-6
    assert angular_block_start(ang, 2) == 2
    assert angular_block_layers(ang, 4) == [0, 1, 4, 5]


def test_block_influence_and_angular_distance_by_hand():
    h0 = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # (B=1, T=2, d=2)
    h1 = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])  # first token turned by 90 degrees, second unchanged
    h2 = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]])  # second token reversed
    bi = block_influence([h0, h1, h2])
    torch.testing.assert_close(bi, torch.tensor([[0.5, 1.0]], dtype=torch.float64))
    ang = angular_distances([h0, h1, h2])[0]  # last token: (1,0), (1,0), (-1,0)
    torch.testing.assert_close(ang, torch.tensor([[0, 0, 1], [0, 0, 1], [1, 1, 0]], dtype=torch.float64))


# ------------------------------------------------------------------------------------- truncated loss


@pytest.mark.parametrize("make", [tiny_gpt, tiny_llama, tiny_gemma3])
def test_truncated_loss_at_full_depth_is_the_model_loss(make):
    model = make()
    ev = collect_layer_evidence(model, WINDOWS, attention=False, loss_windows=4, batch_size=3)
    assert ev.truncated_loss.shape == (4, len(decoder_parts(model).layers))
    assert ev.truncated_loss[:, -1].mean().item() == pytest.approx(model_loss(model, WINDOWS[:4]), abs=1e-5)


@pytest.mark.parametrize("make", [tiny_llama, tiny_gemma3])
def test_truncated_loss_is_the_loss_of_the_first_n_layer_model(make):
    # The one-pass estimate and a real cut model (select_layers keeps the embedding, final norm and head) agree.
    model = make()
    ev = collect_layer_evidence(model, WINDOWS, attention=False)
    for n in range(1, len(model.model.layers)):
        cut = truncate_llama(model, n)
        assert ev.truncated_loss[:, n - 1].mean().item() == pytest.approx(model_loss(cut, WINDOWS), abs=1e-5)


def test_hidden_states_are_the_blocks_inputs_and_outputs():
    model = tiny_llama()
    with torch.no_grad(), record_hidden_states(model) as states:
        model(WINDOWS[:2])
    torch.testing.assert_close(states[0], model.model.embed_tokens(WINDOWS[:2]))
    assert len(states) == 6 and all(s.shape == (2, 20, 32) for s in states)


def test_attention_statistics_match_analyze_model():
    model = tiny_gpt()
    ev = collect_layer_evidence(model, WINDOWS, attention=True, loss_windows=0, batch_size=4)
    ref = analyze_model(model, WINDOWS, progress=False)
    assert torch.equal(ev.heads.rank, ref.rank) and torch.equal(ev.heads.mass, ref.mass)


def test_select_layers_follows_layer_types_and_keeps_the_chosen_blocks():
    model = tiny_gemma3(n_layers=4)
    cut = select_layers(model, [1, 2])
    assert cut.config.layer_types == ["full_attention", "sliding_attention"]
    torch.testing.assert_close(
        cut.model.layers[0].mlp.up_proj.weight, model.model.layers[1].mlp.up_proj.weight
    )
    torch.testing.assert_close(
        cut.model.layers[1].self_attn.q_proj.weight, model.model.layers[2].self_attn.q_proj.weight
    )
    assert (
        cut.model.layers[1].self_attn.q_proj.weight.data_ptr()
        != model.model.layers[2].self_attn.q_proj.weight.data_ptr()
    )
    with pytest.raises(ConfigError, match="distinct integers in 0..3"):
        select_layers(model, [1, 1])
    with pytest.raises(ConfigError, match="distinct integers in 0..3"):
        select_layers(model, [4])


# ------------------------------------------------------------------------------------- selections


def test_selection_functions_and_their_errors():
    assert first_layers(6, 3) == [0, 1, 2]
    assert last_layers(6, 3) == [3, 4, 5]
    assert top_influence_layers([0.9, 0.1, 0.5, 0.1, 0.7], 3) == [0, 2, 4]
    assert top_influence_layers([0.2, 0.2, 0.2], 2) == [0, 1]  # ties: the earlier block stays
    ang = torch.full((5, 5), 0.5)
    ang[1, 3] = 0.1
    assert angular_block_start(ang, 2) == 1
    assert angular_block_layers(ang, 2) == [0, 3]
    for bad in (0, 7, 2.0, True):
        with pytest.raises(ConfigError, match="in 1..6"):
            first_layers(6, bad)
    with pytest.raises(ConfigError, match="to drop must be in 1..3"):
        angular_block_start(ang, 4)
    with pytest.raises(ValueError, match="expected the"):
        angular_block_start(torch.zeros(2, 5, 5), 1)


def test_evidence_input_errors():
    model = tiny_gpt()
    with pytest.raises(ValueError, match="loss_windows must be in 0..6"):
        collect_layer_evidence(model, WINDOWS, loss_windows=7)
    with pytest.raises(ValueError, match="vocabulary"):
        collect_layer_evidence(model, WINDOWS + VOCAB)
    with pytest.raises(ConfigError, match="LLaMA-layout decoder"):
        decoder_parts(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="at least 2 tokens"):
        collect_layer_evidence(model, WINDOWS[:, :1])
