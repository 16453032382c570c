"""The low-data corpus (the reference's own tokenizer), the target's run spec, its training (one process or
DDP under torchrun) and its export as a Hugging Face model."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ...data.corpora import prepare_corpus
from ...data.tokenizer import HFTokenizer
from ...data.tokens import TokenData, load_token_data
from ...errors import ConfigError
from ...experiments.runs import (
    RESULT_FILE,
    RunRecord,
    RunSpec,
    _check_spec_file,
    data_fingerprint,
    run_dir_for,
    run_or_load,
)
from ...paths import data_dir
from .scales import HF_EXPORT_DIR, LowDataScale, get_lowdata_scale, lowdata_train_config


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip("/")).strip("_") or "reference"


def prepare_lowdata_corpus(
    tokenizer: Any,
    reference: str,
    scale: str | LowDataScale = "smoke",
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> TokenData:
    """The scale's corpus tokenized with the reference's own tokenizer (prepared once, then reused).

    The tokenizer is named after the reference (not after the folder it was loaded from), so the corpus
    identity, and every run hashed from it, does not depend on where runs/ lives.
    """
    s = get_lowdata_scale(scale)
    out = Path(out_dir) if out_dir is not None else data_dir() / f"{s.corpus}-{_slug(reference)}"
    wrapped = tokenizer if isinstance(tokenizer, HFTokenizer) else HFTokenizer(tokenizer, name=reference)
    return load_token_data(
        prepare_corpus(s.corpus, out, tokenizer=wrapped, max_tokens=s.train_tokens, progress=progress)
    )


# ------------------------------------------------------------------------------------------------ runs


def lowdata_spec(
    reference: str,
    n_layers: int,
    scale: LowDataScale,
    data: TokenData,
    seed: int = 1337,
    **train_overrides: Any,
):
    """The run spec (experiments.RunSpec) of one target: what identifies it and names its folder."""
    from ...training.trainer import identifying_train_config  # with TrainConfig: imports torch

    cfg = identifying_train_config(lowdata_train_config(scale, "<run_dir>", seed=seed, **train_overrides))
    return RunSpec(
        name=f"lowdata-{_slug(reference)}-n{n_layers}-{scale.name}",
        kind="lowdata_inheritune",
        preset=reference,
        scale=scale.name,
        n_layer=n_layers,
        seed=seed,
        data=data_fingerprint(data),
        model_config={"reference": reference, "n_layers": n_layers},
        train_config=cfg,
        init={"method": "truncate_llama", "inherit": ["embed_tokens", "layers[:n]", "norm", "lm_head"]},
    )


def export_target(model: Any, tokenizer: Any, out_dir: str | os.PathLike) -> Path:
    """Save a trained target and its tokenizer as a Hugging Face folder, atomically (kept if present)."""
    out = Path(out_dir)
    if (out / "config.json").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_trained_target(record: Any, dtype=None):
    """The trained target of a finished low-data run (from its checkpoint), in eval mode."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from ...training.trainer import load_checkpoint

    config = LlamaConfig.from_dict(dict(record.result["model_config"]))
    model = LlamaForCausalLM(config)
    load_checkpoint(record.checkpoint, model)
    return model.to(dtype or torch.float32).eval()


def run_lowdata(
    reference: str | None = None,
    n_layers: int | None = None,
    scale: str | LowDataScale = "smoke",
    *,
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    corpus_dir: str | os.PathLike | None = None,
    data: TokenData | None = None,
    progress: bool = True,
    **train_overrides: Any,
):
    """Train (once) the first `n_layers` of `reference` on the scale's corpus; returns an experiments.RunRecord.
    from .scales import HF_EXPORT_DIR, LowDataScale, get_lowdata_scale, lowdata_train_config

        `data`: an already prepared corpus (tokenized with the reference's tokenizer) instead of the scale's.
        A finished run is read back without training again. The trained target is exported as a Hugging Face
        folder `<run_dir>/hf` (model + the reference's tokenizer), which `evaluate_lowdata` evaluates.
    """
    from ...models.llama import load_llama_reference, truncate_llama
    from ...training.trainer import train

    s = get_lowdata_scale(scale, reference=reference, n_layers=n_layers)
    ref_model, tokenizer = load_llama_reference(s.reference)
    if not 1 <= s.n_layers <= ref_model.config.num_hidden_layers:
        raise ConfigError(
            f"n_layers must be in 1..{ref_model.config.num_hidden_layers} for {s.reference}, got {s.n_layers}"
        )
    if data is None:
        data = prepare_lowdata_corpus(tokenizer, s.reference, s, out_dir=corpus_dir, progress=progress)
    spec = lowdata_spec(s.reference, s.n_layers, s, data, seed=seed, **train_overrides)

    def build_and_train(run_dir: Path):
        target = truncate_llama(ref_model, s.n_layers)
        target.config.use_cache = False  # training: no KV cache objects per forward
        cfg = lowdata_train_config(s, run_dir, device=device, progress=progress, seed=seed, **train_overrides)
        result = train(target, data, cfg, resume=True)
        if int(os.environ.get("RANK", "0")) == 0:
            export_target(target.cpu(), tokenizer, run_dir / HF_EXPORT_DIR)
        return result

    if _world_size() > 1:
        record = _run_distributed(spec, build_and_train, runs_dir)
        if int(os.environ.get("RANK", "0")) != 0:
            return record
    else:
        record = run_or_load(spec, build_and_train, runs_dir)
    if not (
        record.run_dir / HF_EXPORT_DIR / "config.json"
    ).is_file():  # finished, but killed before the export
        export_target(load_trained_target(record), tokenizer, record.run_dir / HF_EXPORT_DIR)
    return record


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _run_distributed(spec: Any, build_and_train: Any, runs_dir: str | os.PathLike | None):
    """Under torchrun every rank trains (the trainer's DDP); run_or_load's file lock would deadlock the ranks
    waiting on rank 0's collectives, so the folder is used directly (a finished run is still read back)."""
    run_dir = run_dir_for(spec, runs_dir)
    if not (run_dir / RESULT_FILE).is_file():
        if int(os.environ.get("RANK", "0")) == 0:
            _check_spec_file(spec, run_dir)
        build_and_train(run_dir)
    return RunRecord(spec, run_dir, json.loads((run_dir / RESULT_FILE).read_text()), trained_now=True)
