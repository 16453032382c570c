"""Model operations of Inheritune and of every initialisation baseline the paper compares it with.

Every function here is *pure*: it builds a new `GPT` and copies tensors into it; the reference (or teacher,
or model being grown) is never modified, and the new model shares no storage with it.

How a new model is made (`from_layers` does it for all of them):
1. A fresh GPT of the target shape is built with the seeded nanoGPT/GPT-2 initialisation (`random_init`), so
   whatever is *not* copied keeps exactly the initialisation a model trained from scratch would get, and the
   same `seed` gives the same model on every machine (it is built on the CPU in fp32, then moved to the
   reference's device and dtype).
2. The requested tensors are copied: for each target block, the chosen sub-modules (`parts`) of one source
   block, plus the token embedding (tied to the head), and optionally the position embedding and final
   layernorm.

Layer-scaled attention (Appendix C.1: logits times 1/(layer_index+1)) makes a block's computation depend on
its *position*. A block copied to another index (lazy-layer init, grow from explicit layers, stacking,
hybrid stacking, DistilBERT init) computes with its NEW index, exactly as the same weights would in a freshly
built model of the target depth: the scaling is a property of the architecture at that depth, not of the
weights, and the official code (and Hugging Face GPT-2) derive it from the position alone. So a model made of
reference layers 4..7 equals `GPT(4 layers)` loaded with those weights, and its layer 0 does NOT reproduce the
reference's layer-4 attention (that would need a 1/5 scale at index 0). `GPT.reindex_layers()` enforces it.

Which baseline uses which function (the paper's names):
- Inheritune (Algorithm 1, `recipe.py`): `inherit` (first n layers) every round, the paper's reading; `grow`
  (the trained model plus the reference's next layers) for `growth="continue"`.
- Table 3 ablation: `inherit(..., parts="attn_ln" | "mlp_ln" | "attn_mlp" | "all")`.
- Random initialisation: `random_init`.
- Stacking: train `random_init` at k/4 layers, then `stack` (0..m-1 copied onto m..2m-1), retrain.
- Hybrid stacking: `hybrid_stack` (reference layers 0..k/4-1 duplicated into k/2 layers).
- Half width: `half_width` (first half of the heads and MLP neurons of every layer).
- Lazy-layer initialisation (Figure 1c/f): `lazy_layer_init` (the reference's deepest layers).
- DistilBERT-style distillation: `distilbert_init` (alternate teacher layers, plus a deep run of layers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn as nn

from ..errors import ConfigError
from ..models.gpt import GPT, Block, GPTConfig

# Sub-modules of a block, by the name they have in `Block`.
BLOCK_COMPONENTS = ("ln_1", "attn", "ln_2", "mlp")

# Table 3's sub-module choices. "all" (attention and MLP with both layernorms) is Inheritune's default.
PARTS: dict[str, frozenset[str]] = {
    "attn": frozenset({"attn"}),
    "attn_ln": frozenset({"attn", "ln_1"}),
    "mlp": frozenset({"mlp"}),
    "mlp_ln": frozenset({"mlp", "ln_2"}),
    "attn_mlp": frozenset({"attn", "mlp"}),
    "all": frozenset(BLOCK_COMPONENTS),
}

DEFAULT_SEED = 0


# ---------------------------------------------------------------------------------------------- checks


def _as_gpt(model: object, role: str) -> GPT:
    """The GPT inside `model` (a torch.compile wrapper is unwrapped); one clear error for anything else."""
    inner = getattr(model, "_orig_mod", model)
    if not isinstance(inner, GPT):
        raise ConfigError(f"{role} must be an inheritune_core.models.gpt.GPT, got {type(model).__name__}")
    return inner


def _check_n_layers(n_layers: object, k: int, role: str = "reference") -> int:
    if isinstance(n_layers, bool) or not isinstance(n_layers, int):
        raise ConfigError(f"n_layers must be an integer, got {n_layers!r}")
    if n_layers <= 0:
        raise ConfigError(f"n_layers must be >= 1, got {n_layers}")
    if n_layers > k:
        raise ConfigError(f"cannot take {n_layers} layers from a {k}-layer {role}")
    return n_layers


def _check_layer_indices(layers: Iterable[object], k: int, role: str = "reference") -> list[int]:
    out = []
    for i in layers:
        if isinstance(i, bool) or not isinstance(i, int):
            raise ConfigError(f"layer indices must be integers, got {i!r}")
        if not 0 <= i < k:
            raise ConfigError(f"layer index {i} is out of range for a {k}-layer {role} (valid: 0..{k - 1})")
        out.append(i)
    if not out:
        raise ConfigError("no layers given: a model needs at least one block")
    return out


def _resolve_parts(parts: str | Iterable[str]) -> frozenset[str]:
    """A Table 3 name ("all", "attn_ln", ...) or a collection of block components ("attn", "ln_1", ...)."""
    if isinstance(parts, str):
        if parts not in PARTS:
            raise ConfigError(
                f"unknown parts {parts!r}; choose one of {', '.join(PARTS)} "
                f"(or a set of block components {', '.join(BLOCK_COMPONENTS)})"
            )
        return PARTS[parts]
    chosen = frozenset(parts)
    unknown = chosen - set(BLOCK_COMPONENTS)
    if unknown or not chosen:
        raise ConfigError(
            f"unknown block components {sorted(unknown) or '(none given)'}; "
            f"choose from {', '.join(BLOCK_COMPONENTS)}"
        )
    return chosen


# Architecture fields two models must share for blocks and embeddings to be exchangeable.
_SHAPE_FIELDS = ("n_embd", "n_head", "vocab_size", "block_size", "bias", "scale_attn_by_inverse_layer_idx")


def _check_compatible(a: GPTConfig, b: GPTConfig, a_role: str, b_role: str) -> None:
    for name in _SHAPE_FIELDS:
        va, vb = getattr(a, name), getattr(b, name)
        if va != vb:
            raise ConfigError(
                f"{a_role} and {b_role} differ in {name} ({va} vs {vb}): their layers cannot be exchanged"
            )


# ---------------------------------------------------------------------------------------------- building


def random_init(config: GPTConfig, seed: int | None = DEFAULT_SEED) -> GPT:
    """A freshly initialised GPT (the random-initialisation baseline, and the base of every other builder).

    With an integer `seed` the initialisation is reproducible and leaves the global torch RNG untouched;
    `seed=None` draws from (and advances) the global RNG like a plain `GPT(config)`.
    """
    if not isinstance(config, GPTConfig):
        raise ConfigError(f"random_init needs a GPTConfig, got {type(config).__name__}")
    config = GPTConfig.from_dict(config.to_dict())  # our own copy: GPT.reindex_layers() edits n_layer
    if seed is None:
        return GPT(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GPT(config)


def _placed_like(model: GPT, like: GPT) -> GPT:
    p = like.transformer.wte.weight
    return model.to(device=p.device, dtype=p.dtype)


@torch.no_grad()
def _copy_module(dst: nn.Module, src: nn.Module) -> None:
    """Copy every tensor of `src` into the same-shaped `dst` (values only; no storage is shared)."""
    dst_params = dict(dst.named_parameters())
    for name, p in src.named_parameters():
        dst_params[name].copy_(p)


@torch.no_grad()
def from_layers(
    reference: GPT,
    layers: Sequence[int],
    parts: str | Iterable[str] = "all",
    inherit_wpe: bool = True,
    inherit_ln_f: bool = True,
    seed: int | None = DEFAULT_SEED,
) -> GPT:
    """A model whose block i is the reference's block `layers[i]` (indices may repeat or be in any order).

    The token embedding (and so the tied head) is always copied; the position embedding and the final
    layernorm when asked. Each block computes with its new index (see the module docstring).
    """
    ref = _as_gpt(reference, "reference")
    layers = _check_layer_indices(layers, ref.config.n_layer)
    blocks = [ref.transformer.h[i] for i in layers]
    return _assemble(ref, blocks, [parts] * len(blocks), inherit_wpe, inherit_ln_f, seed)


@torch.no_grad()
def _assemble(
    embeddings_from: GPT,
    blocks: Sequence[Block],
    parts: Sequence[str | Iterable[str]],
    inherit_wpe: bool,
    inherit_ln_f: bool,
    seed: int | None,
) -> GPT:
    """The one builder: fresh GPT of len(blocks) layers, then copy the chosen parts of each source block."""
    resolved = [_resolve_parts(p) for p in parts]
    config = GPTConfig.from_dict({**embeddings_from.config.to_dict(), "n_layer": len(blocks)})
    model = _placed_like(random_init(config, seed), embeddings_from)
    for dst, src, components in zip(model.transformer.h, blocks, resolved):
        for name in components:
            _copy_module(getattr(dst, name), getattr(src, name))
    _copy_module(model.transformer.wte, embeddings_from.transformer.wte)  # also the tied lm_head
    if inherit_wpe:
        _copy_module(model.transformer.wpe, embeddings_from.transformer.wpe)
    if inherit_ln_f:
        _copy_module(model.transformer.ln_f, embeddings_from.transformer.ln_f)
    model.reindex_layers()  # block i scales its attention by 1/(i+1), whatever its source index was
    model.train(embeddings_from.training)
    return model


def inherit(
    reference: GPT,
    n_layers: int,
    parts: str | Iterable[str] = "all",
    inherit_wpe: bool | None = None,
    inherit_ln_f: bool | None = None,
    like_official_code: bool = False,
    seed: int | None = DEFAULT_SEED,
) -> GPT:
    """Inheritune's initialisation: a new model made of the reference's first `n_layers` blocks.

    parts: which sub-modules of each block are copied (Table 3): "all" (attention and MLP with both
      layernorms, Inheritune's default), "attn_mlp" (no layernorms), "attn_ln" / "mlp_ln" (one sub-module
      with its layernorm), "attn" / "mlp" (without it); or a set of "ln_1", "attn", "ln_2", "mlp".
      Anything not copied keeps the fresh initialisation of `random_init(config, seed)`.
    The token embedding and the tied prediction head are inherited, as the paper states; so are the position
    embedding and the final layernorm unless `inherit_wpe` / `inherit_ln_f` is False.
    like_official_code: reproduce the official code, which leaves wpe and ln_f random (off by default).
    """
    ref = _as_gpt(reference, "reference")
    n = _check_n_layers(n_layers, ref.config.n_layer)
    if like_official_code and (inherit_wpe or inherit_ln_f):
        raise ConfigError(
            "like_official_code=True leaves wpe and ln_f random; do not also ask to inherit them"
        )
    default = not like_official_code
    return from_layers(
        ref,
        list(range(n)),
        parts=parts,
        inherit_wpe=default if inherit_wpe is None else inherit_wpe,
        inherit_ln_f=default if inherit_ln_f is None else inherit_ln_f,
        seed=seed,
    )


def grow(
    model: GPT,
    reference: GPT,
    add: int | None = None,
    source: Sequence[int] | None = None,
    parts: str | Iterable[str] = "all",
    seed: int | None = DEFAULT_SEED,
) -> GPT:
    """`model` (n layers, e.g. trained) with blocks from the reference appended: n + add layers.

    source: the reference layers to append; by default the next unused ones, n..n+add-1 (Algorithm 1, as
      the model's blocks are the reference's first n). Explicit indices (e.g. lazy layers) are allowed.
    add: how many blocks; default 2 (the paper's step), or len(source) when `source` is given.
    The model's blocks, embeddings, position embedding and final layernorm are all kept (they were trained);
    appended blocks take `parts` from the reference, the rest of them keeps a fresh initialisation.
    """
    base = _as_gpt(model, "model")
    ref = _as_gpt(reference, "reference")
    _check_compatible(base.config, ref.config, "model", "reference")
    n, k = base.config.n_layer, ref.config.n_layer
    if source is None:
        add = 2 if add is None else add
        if isinstance(add, bool) or not isinstance(add, int) or add <= 0:
            raise ConfigError(f"add must be a positive integer, got {add!r}")
        if n + add > k:
            raise ConfigError(
                f"cannot grow a {n}-layer model by {add}: the reference has only {k} layers "
                f"(next unused layers {n}..{n + add - 1})"
            )
        source = list(range(n, n + add))
    else:
        source = _check_layer_indices(source, k)
        if add is not None and add != len(source):
            raise ConfigError(f"add={add} but source lists {len(source)} layers; give one or make them agree")
    blocks = list(base.transformer.h) + [ref.transformer.h[i] for i in source]
    block_parts: list[str | Iterable[str]] = ["all"] * n + [parts] * len(source)
    return _assemble(base, blocks, block_parts, inherit_wpe=True, inherit_ln_f=True, seed=seed)


def stack(model: GPT, seed: int | None = DEFAULT_SEED) -> GPT:
    """Stacking (Gong et al. 2019): a 2m-layer model whose layers m..2m-1 are copies of layers 0..m-1.

    The stacking baseline trains m = k/4 layers from scratch, stacks them into k/2 layers and retrains; the
    training is the caller's (notebook's) job. Every tensor is copied, so `seed` changes nothing visible.
    """
    base = _as_gpt(model, "model")
    blocks = list(base.transformer.h) * 2
    return _assemble(base, blocks, ["all"] * len(blocks), inherit_wpe=True, inherit_ln_f=True, seed=seed)


def hybrid_stack(
    reference: GPT, n_target: int, n_source: int | None = None, seed: int | None = DEFAULT_SEED
) -> GPT:
    """Hybrid stacking: the reference's layers 0..n_source-1 repeated to fill `n_target` layers.

    The paper takes layers 0..8 of a 36-layer reference into 18 layers (0..8, 0..8): n_source defaults to
    ceil(n_target / 2), i.e. k/4 layers duplicated into k/2. Layer j is reference layer j % n_source.
    Embeddings, wpe and ln_f come from the reference.
    """
    ref = _as_gpt(reference, "reference")
    if isinstance(n_target, bool) or not isinstance(n_target, int) or n_target <= 0:
        raise ConfigError(f"n_target must be a positive integer, got {n_target!r}")
    n_source = (n_target + 1) // 2 if n_source is None else n_source
    _check_n_layers(n_source, ref.config.n_layer)
    if n_source > n_target:
        raise ConfigError(f"n_source={n_source} exceeds n_target={n_target}: nothing would be stacked")
    return from_layers(ref, [j % n_source for j in range(n_target)], seed=seed)


def lazy_layer_init(
    reference: GPT, n_layers: int, layers: Sequence[int] | None = None, seed: int | None = DEFAULT_SEED
) -> GPT:
    """Figure 1c/f: a smaller model initialised from the reference's deeper ("lazy") layers.

    By default the last `n_layers` blocks (k-n..k-1), in order; `layers` picks others (e.g. the layers the
    rank analysis flags). Embeddings, wpe and ln_f are inherited as in `inherit`, so the comparison with
    `inherit` (the first layers) differs only in which blocks are used.
    """
    ref = _as_gpt(reference, "reference")
    k = ref.config.n_layer
    n = _check_n_layers(n_layers, k)
    if layers is None:
        layers = list(range(k - n, k))
    elif len(layers) != n:
        raise ConfigError(f"n_layers={n} but layers lists {len(layers)} indices")
    return from_layers(ref, layers, seed=seed)


def distilbert_layers(k: int, n_layers: int) -> list[int]:
    """Teacher layer for each student layer, the DistilBERT way, generalised to any depth.

    - n <= ceil(k/2): every other teacher layer, 0, 2, ..., 2(n-1) (DistilBERT; the paper's 12 of 24).
    - n > ceil(k/2): the first ceil(k/2) student layers from alternate layers 0, 2, ..., then the remaining
      r = n - ceil(k/2) from a consecutive run of teacher layers starting at floor(3k/4) (moved down so it
      ends by layer k-1). For the paper's 16-layer student of a 24-layer teacher: 0, 2, ..., 22, then
      18, 19, 20, 21, exactly Section 4.1. At the `tiny` scale (k=8, n=5): 0, 2, 4, 6, 6.
    """
    k = int(k)
    n = _check_n_layers(n_layers, k, role="teacher")
    alternate = list(range(0, k, 2))
    if n <= len(alternate):
        return alternate[:n]
    rest = n - len(alternate)
    start = min(3 * k // 4, k - rest)
    return alternate + list(range(start, start + rest))


def distilbert_init(
    teacher: GPT,
    n_layers: int,
    student_config: GPTConfig | None = None,
    layers: Sequence[int] | None = None,
    seed: int | None = DEFAULT_SEED,
) -> GPT:
    """A DistilBERT-style student: its layers initialised from teacher layers (`distilbert_layers`).

    student_config: the student's architecture when given (its n_layer must equal n_layers); it must share
    the teacher's vocabulary, width and heads, or the teacher's logits and layers could not be used.
    Embeddings, wpe and ln_f come from the teacher. The distillation loss lives in the trainer.
    """
    ref = _as_gpt(teacher, "teacher")
    n = _check_n_layers(n_layers, ref.config.n_layer, role="teacher")
    if student_config is not None:
        _check_compatible(student_config, ref.config, "student", "teacher")
        if student_config.n_layer != n:
            raise ConfigError(f"student_config has {student_config.n_layer} layers but n_layers={n}")
    if layers is None:
        layers = distilbert_layers(ref.config.n_layer, n)
    elif len(layers) != n:
        raise ConfigError(f"n_layers={n} but layers lists {len(layers)} indices")
    return from_layers(ref, layers, seed=seed)


# ---------------------------------------------------------------------------------------------- half width


@torch.no_grad()
def half_width(
    reference: GPT, n_layers: int | None = None, n_head: int | None = None, seed: int | None = DEFAULT_SEED
) -> GPT:
    """The half-width baseline: the first half of every layer's attention heads and MLP neurons.

    Width C' = n_head' * head_dim (head_dim is kept, so 1/sqrt(head_dim) is unchanged): GPT-2 medium's
    1024-wide 16 heads become 512 wide with heads 0..7, as Table 10. Per block:
    - c_attn (3C, C) stacks Q, K, V: rows 0..C'-1 of each of the three C-row sections (the kept heads'
      query, key and value outputs), columns 0..C'-1 (the kept residual features);
    - attn.c_proj (C, C): rows 0..C'-1 (kept features), columns 0..C'-1 (the kept heads' outputs);
    - mlp.c_fc (4C, C): rows 0..4C'-1 (the first neurons), columns 0..C'-1; mlp.c_proj (C, 4C): the same,
      transposed; layernorms: the first C' features.
    Token and position embeddings (and the tied head) keep their first C' columns, ln_f its first C'.
    n_head: heads kept (default n_head // 2; GPT-2 xlarge's 25 heads give 12). n_layers: keep the first
    n_layers layers (default: every layer, "preserved the entire depth", Section 4.1; Table 10 lists the
    half-width models at the Inheritune depth, which `n_layers` reproduces).
    """
    ref = _as_gpt(reference, "reference")
    rc = ref.config
    n = rc.n_layer if n_layers is None else _check_n_layers(n_layers, rc.n_layer)
    head_dim = rc.n_embd // rc.n_head
    heads = rc.n_head // 2 if n_head is None else n_head
    if isinstance(heads, bool) or not isinstance(heads, int) or not 1 <= heads < rc.n_head:
        raise ConfigError(
            f"half_width keeps between 1 and {rc.n_head - 1} of the reference's {rc.n_head} "
            f"heads, got n_head={heads!r}"
        )
    C, c = rc.n_embd, heads * head_dim
    config = GPTConfig.from_dict({**rc.to_dict(), "n_layer": n, "n_head": heads, "n_embd": c})
    model = _placed_like(random_init(config, seed), ref)

    def put(dst: torch.Tensor, src: torch.Tensor) -> None:
        if dst.shape != src.shape:  # a slicing bug must never pass silently
            raise AssertionError(f"half_width slice {tuple(src.shape)} does not fit {tuple(dst.shape)}")
        dst.copy_(src)

    qkv_rows = torch.cat([torch.arange(s * C, s * C + c) for s in range(3)]).to(
        ref.transformer.wte.weight.device
    )
    for dst, src in zip(model.transformer.h, ref.transformer.h[:n]):
        put(dst.attn.c_attn.weight, src.attn.c_attn.weight[qkv_rows, :c])
        put(dst.attn.c_proj.weight, src.attn.c_proj.weight[:c, :c])
        put(dst.mlp.c_fc.weight, src.mlp.c_fc.weight[: 4 * c, :c])
        put(dst.mlp.c_proj.weight, src.mlp.c_proj.weight[:c, : 4 * c])
        if rc.bias:
            put(dst.attn.c_attn.bias, src.attn.c_attn.bias[qkv_rows])
            put(dst.attn.c_proj.bias, src.attn.c_proj.bias[:c])
            put(dst.mlp.c_fc.bias, src.mlp.c_fc.bias[: 4 * c])
            put(dst.mlp.c_proj.bias, src.mlp.c_proj.bias[:c])
        for ln in ("ln_1", "ln_2"):
            for name, p in getattr(dst, ln).named_parameters():
                put(p, getattr(getattr(src, ln), name)[:c])
    put(model.transformer.wte.weight, ref.transformer.wte.weight[:, :c])
    put(model.transformer.wpe.weight, ref.transformer.wpe.weight[:, :c])
    for name, p in model.transformer.ln_f.named_parameters():
        put(p, getattr(ref.transformer.ln_f, name)[:c])
    model.train(ref.training)
    return model


__all__ = [
    "PARTS",
    "BLOCK_COMPONENTS",
    "inherit",
    "grow",
    "from_layers",
    "random_init",
    "stack",
    "hybrid_stack",
    "half_width",
    "lazy_layer_init",
    "distilbert_init",
    "distilbert_layers",
]
