"""Hugging Face interop: this project's GPT <-> `transformers.GPT2LMHeadModel`, and offline HF exports.

Why a conversion at all: the ecosystem's tools (lm-evaluation-harness's `hf` model, `generate`, the Hub)
speak `transformers`. Our GPT was written with Hugging Face GPT-2's parameter names and semantics, so the
conversion is a copy with two differences:
- HF GPT-2 uses `Conv1D`, whose weight is the transpose of an `nn.Linear` weight;
- our model has no biases (`bias=False`, nanoGPT style) while HF GPT-2 always has them: they are exported as
  zeros, which computes the same function. Real HF GPT-2 checkpoints have non-zero biases; they load into a
  `GPTConfig(bias=True)` model.
The attention scale 1/(layer_idx+1) (Appendix C.1) is HF's own `scale_attn_by_inverse_layer_idx` flag, and
our MLP's exact GELU is HF's "gelu" (not "gelu_new", the tanh approximation real GPT-2 checkpoints use).

Releases of transformers before 5.4.0 honour that flag only in their eager attention: under SDPA, their
default, GPT-2 called `scaled_dot_product_attention` without the scale, so an exported model silently computed
another function (huggingface/transformers issue #44380; fixed by PR #44397, first released in 5.4.0, where
GPT2Attention passes `scaling=self.scaling`). Writing `attn_implementation: "eager"` into config.json is no
cure: 4.x's `from_dict` overwrites that key with the caller's argument (None, so SDPA again). The package
therefore requires transformers >= 5.4.0, and `gpt_to_hf` / `load_hf` refuse, with one line, a layer-scaled
model on an older install.

`export_hf` writes a directory that `AutoModelForCausalLM.from_pretrained` and `GPT2TokenizerFast` load with
no network: safetensors weights plus tokenizer files regenerated from the offline tiktoken GPT-2 ranks file.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..config import EOT_TOKEN, GPT2_VOCAB_SIZE
from ..data.tokenizer import fetch_gpt2_vocab
from ..errors import ConfigError, DataError
from ..io import atomic_write_json, atomic_write_text
from ..models.gpt import GPT, GPTConfig
from ..paths import data_dir

if TYPE_CHECKING:  # transformers is heavy to import; only the functions below need it.
    from transformers import GPT2LMHeadModel

PARITY_TOLERANCE = 1e-4  # max |logit difference| allowed between a model and its conversion (fp32)
EOT_STRING = "<|endoftext|>"
# First transformers release whose GPT-2 SDPA/flash attention applies scale_attn_by_inverse_layer_idx (PR #44397).
LAYER_SCALE_SDPA_FIX = "5.4.0"


def transformers_version() -> str:
    """The installed transformers distribution's version."""
    from importlib.metadata import version

    return version("transformers")


def check_layer_scale_support(scaled: bool = True) -> None:
    """ConfigError when the installed transformers would drop the 1/(layer+1) attention scale under SDPA."""
    if not scaled:
        return
    from packaging.version import Version

    installed = transformers_version()
    if Version(installed) < Version(LAYER_SCALE_SDPA_FIX):
        raise ConfigError(
            f"transformers {installed} ignores scale_attn_by_inverse_layer_idx under its default "
            f"SDPA attention (fixed in {LAYER_SCALE_SDPA_FIX}, PR #44397): pip install "
            f"'transformers>={LAYER_SCALE_SDPA_FIX}'"
        )


# ----------------------------------------------------------------------------------------- conversions


def _check_layer_indices(model: GPT) -> None:
    # HF computes the attention scale from a block's position; ours from `attn.layer_idx`. They must agree,
    # or the export would silently compute another function (e.g. a grown model before reindex_layers()).
    for i, block in enumerate(model.transformer.h):
        if block.attn.layer_idx != i:
            raise ValueError(
                f"block {i} has attn.layer_idx={block.attn.layer_idx}: call model.reindex_layers() before export"
            )
    if model.config.n_layer != len(model.transformer.h):
        raise ValueError(
            f"config.n_layer={model.config.n_layer} but the model has {len(model.transformer.h)} blocks: "
            "call model.reindex_layers() before export"
        )


def gpt2_config_for(config: GPTConfig):
    """The `GPT2Config` that computes what `GPT(config)` computes (eval mode: no dropout)."""
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.block_size,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        n_inner=4 * config.n_embd,
        activation_function="gelu",  # exact erf GELU, as F.gelu in model.MLP
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=1e-5,  # nn.LayerNorm's default
        scale_attn_weights=True,
        scale_attn_by_inverse_layer_idx=config.scale_attn_by_inverse_layer_idx,
        reorder_and_upcast_attn=False,
        tie_word_embeddings=True,
        bos_token_id=EOT_TOKEN,
        eos_token_id=EOT_TOKEN,
    )


def _linear_pairs(n_layer: int) -> list[str]:
    """Names of the Linear (ours) / Conv1D (HF) modules whose weights are transposes of each other."""
    names = []
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        names += [p + "attn.c_attn", p + "attn.c_proj", p + "mlp.c_fc", p + "mlp.c_proj"]
    return names


def _layernorms(n_layer: int) -> list[str]:
    names = []
    for i in range(n_layer):
        names += [f"transformer.h.{i}.ln_1", f"transformer.h.{i}.ln_2"]
    return names + ["transformer.ln_f"]


@torch.no_grad()
def gpt_to_hf(model: GPT) -> GPT2LMHeadModel:
    """A `GPT2LMHeadModel` computing the same logits as `model` (to <= 1e-4 in fp32); `model` is untouched.

    Biases absent from our model are zeros in the HF model; the head is tied to the token embedding.
    """
    from transformers import GPT2LMHeadModel

    if not isinstance(model, GPT):
        raise TypeError(f"gpt_to_hf expects an inheritune GPT, got {type(model).__name__}")
    _check_layer_indices(model)
    check_layer_scale_support(model.config.scale_attn_by_inverse_layer_idx)
    cfg = model.config
    hf = GPT2LMHeadModel(gpt2_config_for(cfg)).to(dtype=torch.float32)
    ours = {k: v.detach().to("cpu", torch.float32) for k, v in model.state_dict().items()}
    theirs = hf.state_dict()
    new: dict[str, torch.Tensor] = {}
    new["transformer.wte.weight"] = ours["transformer.wte.weight"]
    new["transformer.wpe.weight"] = ours["transformer.wpe.weight"]
    for name in _linear_pairs(cfg.n_layer):
        new[name + ".weight"] = ours[name + ".weight"].t().contiguous()
        new[name + ".bias"] = ours.get(name + ".bias", torch.zeros_like(theirs[name + ".bias"]))
    for name in _layernorms(cfg.n_layer):
        new[name + ".weight"] = ours[name + ".weight"]
        new[name + ".bias"] = ours.get(name + ".bias", torch.zeros_like(theirs[name + ".bias"]))
    for key, value in new.items():
        if theirs[key].shape != value.shape:
            raise ValueError(
                f"shape mismatch for {key}: HF {tuple(theirs[key].shape)} vs ours {tuple(value.shape)}"
            )
        theirs[key].copy_(value)
    hf.tie_weights()
    hf.eval()
    return hf


def _hf_state(hf_model) -> dict[str, torch.Tensor]:
    state = {k: v.detach().to("cpu", torch.float32) for k, v in hf_model.state_dict().items()}
    if "transformer.wte.weight" not in state:  # a bare GPT2Model: its keys lack the "transformer." prefix
        state = {f"transformer.{k}": v for k, v in state.items()}
    return state


@torch.no_grad()
def hf_to_gpt(hf_model, bias: bool | None = None, allow_gelu_approximation: bool = False) -> GPT:
    """Our GPT computing the same logits as a Hugging Face GPT-2 model (`GPT2LMHeadModel` or `GPT2Model`).

    bias: None chooses `bias=True` only when the HF model has a non-zero bias (real GPT-2 checkpoints);
        False refuses a model whose biases are not all zero instead of dropping them silently.
    allow_gelu_approximation: real GPT-2 checkpoints use "gelu_new" (tanh approximation); our MLP uses the
        exact GELU, so logits then differ by ~1e-3. Refused unless this is True.
    """
    cfg = hf_model.config
    if getattr(cfg, "model_type", None) != "gpt2":
        raise ConfigError(
            f"hf_to_gpt expects a GPT-2 model, got model_type={getattr(cfg, 'model_type', None)!r}"
        )
    if cfg.activation_function != "gelu" and not (
        allow_gelu_approximation and cfg.activation_function in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")
    ):
        raise ConfigError(
            f"HF activation {cfg.activation_function!r} is not the exact GELU our GPT uses "
            "(pass allow_gelu_approximation=True to accept a tanh-approximate GELU model)"
        )
    checks = {
        "layer_norm_epsilon": (cfg.layer_norm_epsilon, 1e-5),
        "scale_attn_weights": (cfg.scale_attn_weights, True),
        "n_inner": (cfg.n_inner or 4 * cfg.n_embd, 4 * cfg.n_embd),
        "tie_word_embeddings": (getattr(cfg, "tie_word_embeddings", True), True),
        "add_cross_attention": (getattr(cfg, "add_cross_attention", False), False),
    }
    for key, (have, want) in checks.items():
        if have != want:
            raise ConfigError(f"HF GPT-2 config {key}={have!r} is not supported (our GPT needs {want!r})")
    state = _hf_state(hf_model)
    bias_keys = [k for k in state if k.endswith(".bias") and not k.endswith(".attn.bias")]
    has_nonzero_bias = any(bool(state[k].any()) for k in bias_keys)
    if bias is None:
        bias = has_nonzero_bias
    elif not bias and has_nonzero_bias:
        raise ValueError(
            "the HF model has non-zero biases; convert with bias=True (or bias=None) to keep them"
        )
    gpt_cfg = GPTConfig(
        block_size=cfg.n_positions,
        vocab_size=cfg.vocab_size,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        bias=bias,
        scale_attn_by_inverse_layer_idx=bool(cfg.scale_attn_by_inverse_layer_idx),
    )
    model = GPT(gpt_cfg)
    ours = model.state_dict()
    new = {
        "transformer.wte.weight": state["transformer.wte.weight"],
        "transformer.wpe.weight": state["transformer.wpe.weight"],
    }
    for name in _linear_pairs(gpt_cfg.n_layer):
        new[name + ".weight"] = state[name + ".weight"].t().contiguous()
        if bias:
            new[name + ".bias"] = state[name + ".bias"]
    for name in _layernorms(gpt_cfg.n_layer):
        new[name + ".weight"] = state[name + ".weight"]
        if bias:
            new[name + ".bias"] = state[name + ".bias"]
    new["lm_head.weight"] = new["transformer.wte.weight"]  # tied
    missing = set(ours) - set(new)
    if missing:
        raise ValueError(f"conversion left parameters unset: {sorted(missing)}")
    for key, value in new.items():
        if ours[key].shape != value.shape:
            raise ValueError(
                f"shape mismatch for {key}: ours {tuple(ours[key].shape)} vs HF {tuple(value.shape)}"
            )
        ours[key].copy_(value)
    model.eval()
    return model


@torch.no_grad()
def max_logit_difference(model: GPT, hf_model, idx: torch.Tensor | None = None, seed: int = 0) -> float:
    """max |logits(model) - logits(hf_model)| on `idx` (default: random ids), both run in fp32 on CPU."""
    if idx is None:
        g = torch.Generator().manual_seed(seed)
        T = min(16, model.config.block_size)
        idx = torch.randint(0, min(model.config.vocab_size, GPT2_VOCAB_SIZE), (2, T), generator=g)
    was_training = (model.training, hf_model.training)
    model.eval(), hf_model.eval()
    ours = model.float()(idx.to(next(model.parameters()).device)).cpu()
    theirs = hf_model.float()(idx.to(next(hf_model.parameters()).device)).logits.cpu()
    model.train(was_training[0]), hf_model.train(was_training[1])
    return float((ours - theirs).abs().max())


# ------------------------------------------------------------------------------ offline GPT-2 tokenizer


def gpt2_ranks_path() -> Path:
    """The tiktoken GPT-2 ranks file (`make setup` fetches it into data_dir()/assets/gpt2.tiktoken)."""
    return fetch_gpt2_vocab()


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map (openai/gpt-2 encoder.py)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def _load_ranks(path: Path) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
        except ValueError:
            raise DataError(f"{path}:{line_no} is not a tiktoken ranks line") from None
    return ranks


def _split_into_merge(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """Run byte-level BPE on `token` using only merges ranked below `max_rank`.

    A token of rank r was created by merging exactly the two parts BPE holds just before merge r, so this
    returns those two parts: the inverse of how tiktoken builds ranks from GPT-2's merges.txt
    (`data_gym_to_mergeable_bpe_ranks`).
    """
    parts = [bytes([b]) for b in token]
    while True:
        best_i, best_rank = -1, max_rank
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < best_rank:
                best_i, best_rank = i, r
        if best_i < 0:
            return parts
        parts = parts[:best_i] + [parts[best_i] + parts[best_i + 1]] + parts[best_i + 2 :]


@lru_cache(maxsize=2)
def gpt2_vocab_and_merges(ranks_path: Path) -> tuple[dict[str, int], list[str]]:
    """GPT-2's encoder.json dict and merges.txt lines, recovered from the tiktoken ranks file."""
    ranks = _load_ranks(ranks_path)
    byte_encoder = bytes_to_unicode()

    def to_str(b: bytes) -> str:
        return "".join(byte_encoder[x] for x in b)

    vocab = {to_str(tok): rank for tok, rank in ranks.items()}
    vocab[EOT_STRING] = EOT_TOKEN
    merges = []
    for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) == 1:
            continue
        pair = _split_into_merge(ranks, tok, rank)
        if len(pair) != 2:
            raise DataError(f"{ranks_path}: token of rank {rank} is not a merge of two earlier tokens")
        merges.append(f"{to_str(pair[0])} {to_str(pair[1])}")
    return vocab, merges


def gpt2_tokenizer_files(out_dir: str | os.PathLike, block_size: int = 1024) -> Path:
    """Write an offline `GPT2TokenizerFast` into out_dir (vocab.json, merges.txt, tokenizer.json, configs)."""
    from transformers import GPT2TokenizerFast

    out_dir = Path(out_dir)
    cache = data_dir() / "assets" / "gpt2-hf"
    if not (cache / "merges.txt").is_file():
        vocab, merges = gpt2_vocab_and_merges(gpt2_ranks_path())
        atomic_write_json(cache / "vocab.json", vocab)
        atomic_write_text(cache / "merges.txt", "#version: 0.2\n" + "\n".join(merges) + "\n")
    # Loading from a folder holding vocab.json + merges.txt works across transformers 4 and 5; the saved
    # folder gets tokenizer.json (fast) and keeps the two source files for older readers.
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(cache / name, out_dir / name)
    tok = GPT2TokenizerFast.from_pretrained(
        out_dir,
        local_files_only=True,
        unk_token=EOT_STRING,
        bos_token=EOT_STRING,
        eos_token=EOT_STRING,
        add_prefix_space=False,
        model_max_length=block_size,
    )
    tok.save_pretrained(out_dir)
    return out_dir


# ------------------------------------------------------------------------------------------- export


def _is_nonempty_dir(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def export_hf(
    model: Any,
    out_dir: str | os.PathLike,
    tokenizer: Any = None,
    overwrite: bool = False,
    verify: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save `model` as a Hugging Face directory (safetensors) that loads offline; returns out_dir.

    model: our GPT (converted with `gpt_to_hf`, GPT-2 tokenizer files regenerated offline) or any
        `transformers.PreTrainedModel` (e.g. the low-data issue's LLaMA models), saved as is.
    tokenizer: a HF tokenizer to save alongside (required for non-GPT-2 models; default for GPT: GPT-2).
    overwrite: an existing non-empty out_dir is refused unless True; it is then replaced atomically.
    verify: for a GPT, check the HF model's logits against the native ones (<= PARITY_TOLERANCE) first.
    The directory is assembled in a temporary sibling folder and renamed into place, so a directory with
    the final name is always complete.
    """
    from transformers import PreTrainedModel

    out_dir = Path(out_dir)
    if _is_nonempty_dir(out_dir) and not overwrite:
        raise FileExistsError(
            f"{out_dir} already exists and is not empty (pass overwrite=True to replace it)"
        )
    info: dict[str, Any] = {"format": "inheritune-hf-export", "version": 1, **(metadata or {})}
    if isinstance(model, GPT):
        hf = gpt_to_hf(model)
        if verify:
            diff = max_logit_difference(model, hf)
            if diff > PARITY_TOLERANCE:
                raise RuntimeError(f"exported model's logits differ by {diff:.2e} > {PARITY_TOLERANCE:g}")
            info["max_logit_difference"] = diff
        info["gpt_config"] = model.config.to_dict()
        block_size = model.config.block_size
    elif isinstance(model, PreTrainedModel):
        hf = model
        block_size = None
        if tokenizer is None and getattr(model.config, "model_type", None) != "gpt2":
            raise ValueError(f"export_hf: pass the tokenizer of this {model.config.model_type} model")
    else:
        raise TypeError(
            f"export_hf expects a GPT or a transformers PreTrainedModel, got {type(model).__name__}"
        )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; an export is meant to be shared
    try:
        hf.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        else:
            n_pos = block_size or getattr(hf.config, "n_positions", 1024)
            gpt2_tokenizer_files(tmp, block_size=n_pos)
        atomic_write_json(tmp / "inheritune_export.json", info)
        if out_dir.exists():
            # Replace: move the old export aside first so a crash never leaves neither of them.
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def load_hf(path: str | os.PathLike, device: str = "cpu"):
    """(model, tokenizer) from an exported directory, offline."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    if not (path / "config.json").is_file():
        raise DataError(f"{path} is not a Hugging Face model directory (no config.json)")
    config = json.loads((path / "config.json").read_text())
    check_layer_scale_support(bool(config.get("scale_attn_by_inverse_layer_idx")))
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model, tokenizer


__all__ = [
    "PARITY_TOLERANCE",
    "LAYER_SCALE_SDPA_FIX",
    "check_layer_scale_support",
    "gpt2_config_for",
    "gpt_to_hf",
    "hf_to_gpt",
    "max_logit_difference",
    "export_hf",
    "load_hf",
    "gpt2_tokenizer_files",
    "gpt2_vocab_and_merges",
    "gpt2_ranks_path",
    "bytes_to_unicode",
]
