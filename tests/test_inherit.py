"""Parity tests for every model operation of inherit.py: exactly the asked tensors are copied, the rest keeps a
fresh initialisation, the reference is never modified, and the logits are what they must be."""

from __future__ import annotations

import re

import pytest
import torch

from inheritune_core.config import ConfigError
from inheritune_core.method.inheritance import (
    PARTS,
    distilbert_init,
    distilbert_layers,
    from_layers,
    grow,
    half_width,
    hybrid_stack,
    inherit,
    lazy_layer_init,
    random_init,
    stack,
)
from inheritune_core.models.gpt import GPT, GPTConfig

K = 8  # reference depth: small, but deep enough for layers 4..7, k/4 = 2, grow 4 -> 6 -> 8


def tiny_config(**overrides) -> GPTConfig:
    kw = dict(block_size=32, vocab_size=256, n_layer=K, n_head=4, n_embd=32)
    kw.update(overrides)
    return GPTConfig(**kw)


def trained_like(config: GPTConfig, seed: int) -> GPT:
    """A model whose every tensor (layernorms included) differs from any fresh initialisation."""
    model = random_init(config, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model.eval()


@pytest.fixture
def reference() -> GPT:
    return trained_like(tiny_config(), seed=123)


@pytest.fixture
def idx() -> torch.Tensor:
    return torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(7))


def params(model: GPT) -> dict[str, torch.Tensor]:
    return dict(model.named_parameters())


def block_param_names(i: int, component: str, model: GPT) -> list[str]:
    return [n for n in params(model) if n.startswith(f"transformer.h.{i}.{component}.")]


# ------------------------------------------------------------------------------------------ inherit


def test_inherit_all_layers_reproduces_reference_logits(reference, idx):
    model = inherit(reference, K).eval()
    with torch.no_grad():
        assert torch.equal(model(idx), reference(idx))


@pytest.mark.parametrize("parts", list(PARTS))
def test_inherit_copies_exactly_the_requested_parts(reference, parts):
    n = 3
    model = inherit(reference, n, parts=parts, seed=5)
    fresh = params(random_init(tiny_config(n_layer=n), seed=5))
    ref = params(reference)
    copied = {"transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight"}
    for i in range(n):
        for component in PARTS[parts]:
            copied.update(block_param_names(i, component, model))
    for name, p in params(model).items():
        if name in copied:
            assert torch.equal(p, ref[name]), f"{name} should be the reference's"
        else:
            assert torch.equal(p, fresh[name]), f"{name} should keep the fresh initialisation"
            assert not torch.equal(p, ref[name]), f"{name} must not be the reference's"
    assert model.config.n_layer == n and len(model.transformer.h) == n


def test_inherit_like_official_code_leaves_wpe_and_ln_f_random(reference):
    model = inherit(reference, 2, like_official_code=True, seed=9)
    fresh = random_init(tiny_config(n_layer=2), seed=9)
    assert torch.equal(model.transformer.wte.weight, reference.transformer.wte.weight)
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied
    assert torch.equal(model.transformer.wpe.weight, fresh.transformer.wpe.weight)
    assert torch.equal(model.transformer.ln_f.weight, fresh.transformer.ln_f.weight)
    assert torch.equal(model.transformer.h[1].mlp.c_fc.weight, reference.transformer.h[1].mlp.c_fc.weight)


def test_inherit_keeps_dtype_and_is_reproducible(reference):
    a = inherit(reference.to(torch.bfloat16), 2, parts="attn", seed=3)
    b = inherit(reference, 2, parts="attn", seed=3)
    assert a.transformer.h[0].mlp.c_fc.weight.dtype == torch.bfloat16
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_random_init_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    a, b, c = (random_init(tiny_config(), seed=s) for s in (1, 1, 2))
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.transformer.h[0].attn.c_attn.weight, c.transformer.h[0].attn.c_attn.weight)


# ------------------------------------------------------------------------------------------ purity


def test_no_operation_modifies_the_reference(reference):
    snapshot = {k: v.clone() for k, v in reference.state_dict().items()}
    grown_from = inherit(reference, 4)
    made = [
        grown_from,
        grow(grown_from, reference),
        grow(grown_from, reference, source=[7, 6]),
        from_layers(reference, [3, 3, 1]),
        stack(grown_from),
        hybrid_stack(reference, 4),
        half_width(reference),
        lazy_layer_init(reference, 4),
        distilbert_init(reference, 5),
    ]
    for model in made:  # training the new model must not reach back into the reference either
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
    for key, value in reference.state_dict().items():
        assert torch.equal(value, snapshot[key]), f"reference {key} changed"
    assert reference.config.n_layer == K
    assert [b.attn.layer_idx for b in reference.transformer.h] == list(range(K))


# ------------------------------------------------------------------------------------------ grow


def test_growing_with_the_next_layers_up_to_k_reproduces_the_reference(reference, idx):
    model = inherit(reference, K // 2)
    while model.config.n_layer < K:
        model = grow(model, reference, add=2)
    assert model.config.n_layer == K
    with torch.no_grad():
        assert torch.equal(model.eval()(idx), reference(idx))


def test_grow_keeps_the_trained_model_and_appends_reference_layers(reference):
    trained = trained_like(tiny_config(n_layer=3), seed=77)  # stands for a 3-layer model after training
    grown = grow(trained, reference, add=2)
    g, t, r = params(grown), params(trained), params(reference)
    for name, p in g.items():
        layer = re.match(r"transformer\.h\.(\d+)\.", name)
        if layer is None or int(layer.group(1)) < 3:
            assert torch.equal(p, t[name]), f"{name} should be the grown model's own"
        else:
            assert torch.equal(p, r[name]), f"{name} should be reference layer {layer.group(1)}"
    assert [b.attn.layer_idx for b in grown.transformer.h] == [0, 1, 2, 3, 4]


def test_grow_from_explicit_lazy_layers(reference):
    grown = grow(inherit(reference, 2), reference, source=[6, 7])
    assert grown.config.n_layer == 4
    for dst, src in ((2, 6), (3, 7)):
        assert torch.equal(
            grown.transformer.h[dst].mlp.c_proj.weight, reference.transformer.h[src].mlp.c_proj.weight
        )
    assert grown.transformer.h[3].attn.layer_idx == 3


def test_grow_with_parts_leaves_the_rest_of_new_blocks_fresh(reference):
    grown = grow(inherit(reference, 2), reference, add=1, parts="mlp", seed=4)
    fresh = random_init(tiny_config(n_layer=3), seed=4)
    assert torch.equal(grown.transformer.h[2].mlp.c_fc.weight, reference.transformer.h[2].mlp.c_fc.weight)
    assert torch.equal(grown.transformer.h[2].attn.c_attn.weight, fresh.transformer.h[2].attn.c_attn.weight)
    assert torch.equal(grown.transformer.h[2].ln_1.weight, fresh.transformer.h[2].ln_1.weight)


# ------------------------------------------------------------------------------------------ layer index


def test_moved_blocks_compute_with_their_new_index(reference, idx):
    """Reference layers 4..7 as a 4-layer model == a freshly built 4-layer GPT loaded with those weights,
    and its layer 0 does not reproduce the reference's layer 4 (attention scale 1/1 instead of 1/5)."""
    lazy = lazy_layer_init(reference, 4).eval()
    built = GPT(tiny_config(n_layer=4)).eval()
    state = {}
    for name, value in reference.state_dict().items():
        m = re.match(r"transformer\.h\.(\d+)\.(.*)", name)
        if m is None:
            state[name] = value
        elif int(m.group(1)) >= 4:
            state[f"transformer.h.{int(m.group(1)) - 4}.{m.group(2)}"] = value
    built.load_state_dict(state)
    with torch.no_grad():
        assert torch.equal(lazy(idx), built(idx))
        assert [b.attn.layer_idx for b in lazy.transformer.h] == [0, 1, 2, 3]
        assert lazy.transformer.h[0].attn.scale == pytest.approx(reference.transformer.h[4].attn.scale * 5)
        x = torch.randn(2, 16, 32, generator=torch.Generator().manual_seed(1))
        moved, _ = lazy.transformer.h[0](x)
        original, _ = reference.transformer.h[4](x)
        assert not torch.allclose(moved, original, atol=1e-4)


def test_lazy_layer_init_takes_the_deepest_layers_by_default(reference):
    model = lazy_layer_init(reference, 3)
    for i, src in enumerate((5, 6, 7)):
        assert torch.equal(
            model.transformer.h[i].attn.c_attn.weight, reference.transformer.h[src].attn.c_attn.weight
        )
    chosen = lazy_layer_init(reference, 2, layers=[5, 2])
    assert torch.equal(chosen.transformer.h[1].ln_2.weight, reference.transformer.h[2].ln_2.weight)


# ------------------------------------------------------------------------------------------ stacking


def test_stack_copies_layers_onto_the_next_m(reference, idx):
    small = trained_like(tiny_config(n_layer=2), seed=11)
    stacked = stack(small)
    assert stacked.config.n_layer == 4
    s, m = params(stacked), params(small)
    for name, p in s.items():
        layer = re.match(r"transformer\.h\.(\d+)\.(.*)", name)
        source = name if layer is None else f"transformer.h.{int(layer.group(1)) % 2}.{layer.group(2)}"
        assert torch.equal(p, m[source]), name
    assert [b.attn.layer_idx for b in stacked.transformer.h] == [0, 1, 2, 3]
    assert torch.isfinite(stacked(idx)).all()


def test_hybrid_stack_duplicates_the_first_quarter_into_half(reference):
    model = hybrid_stack(reference, K // 2)  # k/4 = 2 reference layers -> k/2 = 4 layers: 0, 1, 0, 1
    for i, src in enumerate((0, 1, 0, 1)):
        for a, b in zip(model.transformer.h[i].parameters(), reference.transformer.h[src].parameters()):
            assert torch.equal(a, b)
    assert torch.equal(model.transformer.wpe.weight, reference.transformer.wpe.weight)
    assert [b.attn.layer_idx for b in model.transformer.h] == [0, 1, 2, 3]


# ------------------------------------------------------------------------------------------ half width


@pytest.mark.parametrize("bias", [False, True])
def test_half_width_slices_equal_the_reference_slices(bias, idx):
    ref = trained_like(tiny_config(bias=bias), seed=5)
    model = half_width(ref)
    C, c, hd = 32, 16, 8
    assert (model.config.n_embd, model.config.n_head, model.config.n_layer) == (c, 2, K)
    for dst, src in zip(model.transformer.h, ref.transformer.h):
        W, w = src.attn.c_attn.weight, dst.attn.c_attn.weight
        for section in range(3):  # Q, K, V: the kept heads' rows of each section
            assert torch.equal(w[section * c : (section + 1) * c], W[section * C : section * C + c, :c])
        # head h of the new model is head h of the reference (same query rows, same input features)
        q_new = w[:c].view(2, hd, c)
        q_ref = W[:C].view(4, hd, C)[:2, :, :c]
        assert torch.equal(q_new, q_ref)
        assert torch.equal(dst.attn.c_proj.weight, src.attn.c_proj.weight[:c, :c])
        assert torch.equal(dst.mlp.c_fc.weight, src.mlp.c_fc.weight[: 4 * c, :c])
        assert torch.equal(dst.mlp.c_proj.weight, src.mlp.c_proj.weight[:c, : 4 * c])
        assert torch.equal(dst.ln_1.weight, src.ln_1.weight[:c])
        assert torch.equal(dst.ln_2.weight, src.ln_2.weight[:c])
        if bias:
            assert torch.equal(
                dst.attn.c_attn.bias, torch.cat([src.attn.c_attn.bias[s * C : s * C + c] for s in range(3)])
            )
            assert torch.equal(dst.mlp.c_fc.bias, src.mlp.c_fc.bias[: 4 * c])
            assert torch.equal(dst.attn.c_proj.bias, src.attn.c_proj.bias[:c])
    assert torch.equal(model.transformer.wte.weight, ref.transformer.wte.weight[:, :c])
    assert model.lm_head.weight is model.transformer.wte.weight
    assert torch.equal(model.transformer.wpe.weight, ref.transformer.wpe.weight[:, :c])
    assert torch.equal(model.transformer.ln_f.weight, ref.transformer.ln_f.weight[:c])
    logits = model(idx)
    assert logits.shape == (2, 16, 256) and torch.isfinite(logits).all()


def test_half_width_options(reference):
    model = half_width(reference, n_layers=3, n_head=1)
    assert (model.config.n_layer, model.config.n_head, model.config.n_embd) == (3, 1, 8)
    assert torch.equal(
        model.transformer.h[2].mlp.c_fc.weight, reference.transformer.h[2].mlp.c_fc.weight[:32, :8]
    )


# ------------------------------------------------------------------------------------------ DistilBERT


def test_distilbert_layers_match_the_paper():
    assert distilbert_layers(24, 16) == list(range(0, 24, 2)) + [18, 19, 20, 21]  # Section 4.1
    assert distilbert_layers(24, 12) == list(range(0, 24, 2))  # Appendix, Figure 8
    assert distilbert_layers(8, 5) == [0, 2, 4, 6, 6]  # tiny scale: 16 // 3 students of 24 // 3
    assert distilbert_layers(8, 8) == [0, 2, 4, 6, 4, 5, 6, 7]
    assert distilbert_layers(4, 2) == [0, 2]


def test_distilbert_init_copies_the_teacher_layers(reference):
    student = distilbert_init(reference, 5)
    for i, src in enumerate((0, 2, 4, 6, 6)):
        for a, b in zip(student.transformer.h[i].parameters(), reference.transformer.h[src].parameters()):
            assert torch.equal(a, b)
    assert [b.attn.layer_idx for b in student.transformer.h] == list(range(5))
    assert torch.equal(student.transformer.wte.weight, reference.transformer.wte.weight)


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: inherit(r, K + 1), "cannot take 9 layers from a 8-layer reference"),
        (lambda r: inherit(r, 0), "n_layers must be >= 1"),
        (lambda r: inherit(r, -2), "n_layers must be >= 1"),
        (lambda r: inherit(r, 2.0), "n_layers must be an integer"),
        (lambda r: inherit(r, 2, parts="attention"), "unknown parts 'attention'"),
        (lambda r: inherit(r, 2, parts={"attn", "head"}), "unknown block components"),
        (lambda r: inherit(r, 2, like_official_code=True, inherit_wpe=True), "like_official_code"),
        (lambda r: inherit(torch.nn.Linear(2, 2), 2), "reference must be an inheritune_core.models.gpt.GPT"),
        (lambda r: grow(inherit(r, 7), r, add=2), "reference has only 8 layers"),
        (lambda r: grow(inherit(r, 2), r, add=0), "add must be a positive integer"),
        (lambda r: grow(inherit(r, 2), r, source=[8]), "layer index 8 is out of range"),
        (lambda r: grow(inherit(r, 2), r, source=[-1]), "layer index -1 is out of range"),
        (lambda r: grow(inherit(r, 2), r, add=3, source=[5, 6]), "add=3 but source lists 2"),
        (lambda r: grow(random_init(tiny_config(n_embd=64)), r), "differ in n_embd"),
        (lambda r: grow(random_init(tiny_config(n_head=8)), r), "differ in n_head"),
        (lambda r: from_layers(r, []), "no layers given"),
        (lambda r: lazy_layer_init(r, 2, layers=[1, 2, 3]), "n_layers=2 but layers lists 3"),
        (lambda r: hybrid_stack(r, 0), "n_target must be a positive integer"),
        (lambda r: hybrid_stack(r, 4, n_source=5), "n_source=5 exceeds n_target=4"),
        (lambda r: hybrid_stack(r, 20), "cannot take 10 layers"),
        (lambda r: half_width(r, n_head=4), "half_width keeps between 1 and 3"),
        (lambda r: half_width(r, n_layers=9), "cannot take 9 layers"),
        (lambda r: distilbert_init(r, 9), "cannot take 9 layers from a 8-layer teacher"),
        (
            lambda r: distilbert_init(r, 4, student_config=tiny_config(n_layer=4, vocab_size=300)),
            r"student and teacher differ in vocab_size \(300 vs 256\)",
        ),
        (
            lambda r: distilbert_init(r, 4, student_config=tiny_config(n_layer=5)),
            "student_config has 5 layers",
        ),
    ],
)
def test_bad_input_gets_one_clear_error(reference, make, message):
    with pytest.raises(ConfigError, match=message) as info:
        make(reference)
    assert "\n" not in str(info.value)
