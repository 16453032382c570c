"""One training loop for every model of the package (the paper's GPT-2 and Hugging Face LLaMA-family models).

The loop only assumes that `model(idx)` maps token ids (B, T) to logits (B, T, V), or to an object with a
`.logits` attribute (Hugging Face). It implements Appendix C.1 of the paper: AdamW (0.9, 0.95), weight decay
0.1 on matrices only, linear warmup then cosine decay to min_lr, gradient clipping at 1.0, gradient
accumulation up to the token batch, bf16 autocast on GPU, optional torch.compile, DDP through torchrun, and
knowledge distillation (loss = alpha*CE + (1-alpha)*T^2*KL(teacher || student)).

A run lives in `out_dir`: `metrics.csv` (one row per logged step), `ckpt.pt` (written atomically; holds
everything needed to resume bit-identically) and `result.json` (written last: a folder with result.json holds
a finished run, and `train` returns it instead of training again).

Guarantees (issue 14; the README's Training section lists them):
- Resume: a run continues from its ckpt.pt bit-identically (CPU) only with the same config, model and corpus:
  ckpt.pt and result.json record the token files' sha256s (`TokenData.identity`) and any difference is refused
  in one line, also for a finished run whose ckpt.pt was deleted.
- Divergence: a step whose loss or gradient norm is not finite is skipped (no update; the step still counts)
  and counted in result.json's `skipped_steps`; MAX_BAD_STEPS_IN_A_ROW of them in a row stop the run
  (TrainingDiverged). A checkpoint is never written with non-finite weights, and a non-finite validation loss
  stops the run: ckpt.pt is always the last good state.
- Locking: `train` holds `io.run_folder_lock(out_dir)` from start to end; a second process on the same folder
  prints "waiting for pid N@host on <folder>" and waits, then sees the finished run (or resumes the checkpoint).
- Data: ids at or beyond the tokenizer's vocabulary are refused when the corpus is opened (`data.tokens`).
- Signals: SIGTERM or SIGINT (Ctrl-C, a cluster's requeue) stops the run at the next step boundary, after a
  checkpoint (TrainingInterrupted; the CLI prints one line and exits 128 + the signal). A second signal
  acts at once. Temp files of killed writes are removed when the next run starts in the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import random
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import KD_ALPHA, KD_TEMPERATURE, optim_kwargs
from ..data.sampling import SAMPLERS, make_sampler
from ..data.tokens import TokenData
from ..errors import ConfigError, DataError, TrainingDiverged, TrainingInterrupted
from ..io import atomic_write_json, atomic_write_text, read_metrics, remove_orphan_temps, run_folder_lock
from .checkpoint import first_non_finite, no_space_message, save_checkpoint_file

CHECKPOINT_FORMAT = "inheritune-train-v1"
METRICS_COLUMNS = ("step", "tokens", "train_loss", "val_loss", "lr", "elapsed_s", "tokens_per_s")
# Seed of the fixed validation windows: every evaluation of every run sees the same batches.
EVAL_SEED = 4242
# Test hook for the exact-resume test: the process SIGKILLs itself after this optimizer step.
KILL_AFTER_STEP_ENV = "INHERITUNE_TEST_SIGKILL_AFTER_STEP"
DTYPES = ("auto", "float32", "bfloat16")
SCHEDULES = ("cosine", "constant")
# The divergence policy: a step with a non-finite loss or gradient norm is skipped; this many in a row stop.
MAX_BAD_STEPS_IN_A_ROW = 3
INTERRUPT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


# --------------------------------------------------------------------------------------------- config


@dataclass
class TrainConfig:
    """Everything that determines a training run (hashing it identifies the run)."""

    out_dir: str
    max_steps: int
    batch_tokens: int  # tokens per optimizer step, all ranks and accumulation steps together
    micro_batch: int  # sequences per forward pass per rank
    block_size: int
    learning_rate: float
    min_lr: float
    warmup_steps: int
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 disables clipping
    eval_interval: int = 1000
    eval_iters: int = 200
    log_interval: int = 10
    checkpoint_interval: int | None = None  # None: at every evaluation
    device: str = "cpu"
    dtype: str = "auto"  # "auto": bf16 autocast on CUDA, fp32 on CPU
    compile: bool = False
    seed: int = 1337
    sampler: str = "random"  # "random" (with replacement, OpenWebText) or "sequential" (FineWeb-Edu)
    progress: bool = True
    kd_alpha: float = KD_ALPHA
    kd_temperature: float = KD_TEMPERATURE
    activation_checkpointing: bool = False
    schedule: str = "cosine"
    # Global micro-batch of the sampler's stream where this run starts: a run continuing a model's lineage
    # starts where the previous run of the lineage stopped (data.sampling; no window read twice).
    sampler_offset: int = 0

    def __post_init__(self) -> None:
        self.out_dir = str(self.out_dir)
        for name in (
            "max_steps",
            "batch_tokens",
            "micro_batch",
            "block_size",
            "eval_interval",
            "eval_iters",
            "log_interval",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        if self.checkpoint_interval is not None and self.checkpoint_interval <= 0:
            raise ConfigError(
                f"TrainConfig.checkpoint_interval must be positive, got {self.checkpoint_interval}"
            )
        if self.warmup_steps < 0:
            raise ConfigError(f"TrainConfig.warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 0 <= self.min_lr <= self.learning_rate or self.learning_rate <= 0:
            raise ConfigError(
                f"need 0 <= min_lr <= learning_rate, got min_lr={self.min_lr}, lr={self.learning_rate}"
            )
        if self.dtype not in DTYPES:
            raise ConfigError(f"unknown dtype {self.dtype!r}; choose one of {', '.join(DTYPES)}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if not _known_device(self.device):
            raise ConfigError(f"unknown device {self.device!r}; choose cpu, cuda, cuda:N or mps")
        if not 0.0 <= self.kd_alpha <= 1.0 or self.kd_temperature <= 0:
            raise ConfigError(
                f"need 0 <= kd_alpha <= 1 and kd_temperature > 0, got {self.kd_alpha}, {self.kd_temperature}"
            )
        offset = self.sampler_offset
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ConfigError(f"TrainConfig.sampler_offset must be an integer >= 0, got {offset!r}")
        self.accumulation_steps(1)  # the divisibility check, for one process

    def accumulation_steps(self, world_size: int = 1) -> int:
        """Micro-batches per optimizer step on each rank; the token batch must split exactly."""
        per_pass = self.micro_batch * self.block_size * world_size
        if self.batch_tokens % per_pass != 0:
            raise ConfigError(
                f"batch_tokens={self.batch_tokens} is not divisible by micro_batch x block_size x world_size "
                f"= {self.micro_batch} x {self.block_size} x {world_size} = {per_pass}"
            )
        return self.batch_tokens // per_pass

    @classmethod
    def from_preset(
        cls, preset: str, scale: str, out_dir: str | os.PathLike, **overrides: Any
    ) -> TrainConfig:
        """Appendix C.1's optimizer/schedule/batch for a model preset at a scale, plus overrides."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown TrainConfig fields {unknown}")
        kwargs = {**optim_kwargs(preset, scale), "out_dir": str(out_dir), **overrides}
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Fields that do not change the numbers a run computes: they may differ between a run and its resumption, and
# they are left out of a run's identity (experiments.runs hashes the rest).
NON_IDENTIFYING_TRAIN_FIELDS = frozenset({"out_dir", "progress", "device", "compile", "log_interval"})
# Fields added after runs were recorded, at the value those runs used: left out of a run's identity at that
# value, so a new option at its neutral default keeps every existing run's hash.
NEUTRAL_TRAIN_DEFAULTS: dict[str, Any] = {"sampler_offset": 0}


def identifying_train_config(cfg: TrainConfig) -> dict[str, Any]:
    """The fields of `cfg` that identify a run (experiments.runs hashes them)."""
    return {
        k: v
        for k, v in cfg.to_dict().items()
        if k not in NON_IDENTIFYING_TRAIN_FIELDS
        and not (k in NEUTRAL_TRAIN_DEFAULTS and v == NEUTRAL_TRAIN_DEFAULTS[k])
    }


@dataclass
class TrainResult:
    final_val_loss: float
    best_val_loss: float
    steps: int
    tokens_seen: int
    wall_time_s: float
    metrics_csv: Path
    checkpoint: Path
    # steps whose update was skipped: a non-finite loss or gradient (the divergence policy)
    skipped_steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metrics_csv"], d["checkpoint"] = str(self.metrics_csv), str(self.checkpoint)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainResult:
        names = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        d["metrics_csv"], d["checkpoint"] = Path(d["metrics_csv"]), Path(d["checkpoint"])
        return cls(**d)


def _known_device(device: str) -> bool:
    kind, _, index = str(device).partition(":")
    return kind in ("cpu", "cuda", "mps") and (not index or (kind == "cuda" and index.isdigit()))


def check_device(device: str) -> None:
    """One clear line when this host cannot run on `device` (torch's own message misleads: "Expected a
    torch.device with a specified index")."""
    if not _known_device(device):
        raise ConfigError(f"unknown device {device!r}; choose cpu, cuda, cuda:N or mps")
    kind, _, index = str(device).partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            why = "this torch has no CUDA support" if torch.version.cuda is None else "no GPU is visible"
            raise ConfigError(
                f"device {device!r}: CUDA is not available on this host ({why}); use --device cpu"
            )
        if index and int(index) >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: this host has {torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {device!r}: MPS is not available on this host; use --device cpu")


# --------------------------------------------------------------------------------------------- math


def learning_rate_at(step: int, cfg: TrainConfig) -> float:
    """nanoGPT's schedule: linear warmup to learning_rate, then cosine to min_lr at max_steps."""
    if step < cfg.warmup_steps:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_steps + 1)
    if cfg.schedule == "constant":
        return cfg.learning_rate
    decay_steps = max(1, cfg.max_steps - cfg.warmup_steps)
    ratio = min(1.0, (step - cfg.warmup_steps) / decay_steps)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


def logits_of(output: Any) -> torch.Tensor:
    """Logits from a model's output: a tensor (GPT) or an object with `.logits` (Hugging Face)."""
    return output.logits if hasattr(output, "logits") else output


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = KD_ALPHA,
    temperature: float = KD_TEMPERATURE,
) -> torch.Tensor:
    """alpha * CE(student, targets) + (1 - alpha) * T^2 * KL(p_teacher || p_student), per-token mean.

    Hinton et al.'s soft-target loss: both distributions are softened by T, and T^2 keeps the gradient scale
    of the soft term independent of T. Computed in fp32 whatever the autocast dtype.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} "
            "differ (teacher and student must share the vocabulary)"
        )
    vocab = student_logits.size(-1)
    s = student_logits.reshape(-1, vocab).float()
    t = teacher_logits.reshape(-1, vocab).float()
    ce = F.cross_entropy(s, targets.reshape(-1))
    if alpha == 1.0:
        return ce
    log_p_s = F.log_softmax(s / temperature, dim=-1)
    log_p_t = F.log_softmax(t / temperature, dim=-1)
    kl = F.kl_div(log_p_s, log_p_t, log_target=True, reduction="batchmean")  # sum_v p_t (log p_t - log p_s)
    return alpha * ce + (1.0 - alpha) * temperature**2 * kl


def configure_optimizer(model: nn.Module, cfg: TrainConfig, device_type: str) -> torch.optim.AdamW:
    """AdamW with weight decay on 2D+ parameters only (matrices, embeddings), not on norms/biases (nanoGPT)."""
    params = [p for p in model.parameters() if p.requires_grad]  # parameters() counts a tied weight once
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    extra = {"fused": True} if device_type == "cuda" else {}
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), **extra)


def autocast_context(device_type: str, dtype: str):
    """bf16 autocast on CUDA ("auto"), plain fp32 on CPU ("auto"); an explicit dtype is obeyed."""
    if dtype == "bfloat16" or (dtype == "auto" and device_type == "cuda"):
        return torch.autocast(device_type=device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# --------------------------------------------------------------------------------------------- model helpers


def unwrap(model: nn.Module) -> nn.Module:
    """The user's module inside DDP and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def model_config_dict(model: nn.Module) -> dict[str, Any] | None:
    config = getattr(unwrap(model), "config", None)
    if config is None:
        return None
    if hasattr(config, "to_dict"):
        return config.to_dict()
    return dict(vars(config))


def _jsonable(obj: Any) -> Any:
    """A copy JSON can write (configs of other models may hold dtypes, paths, ...: written as strings)."""
    return json.loads(json.dumps(obj, default=str))


def _gpt_blocks(model: nn.Module):
    transformer = getattr(model, "transformer", None)
    return getattr(transformer, "h", None) if transformer is not None else None


@contextlib.contextmanager
def activation_checkpointing(model: nn.Module, enabled: bool):
    """Recompute activations in the backward pass (less memory, ~30% more compute) while inside the context.

    GPT: each block's forward is wrapped in torch.utils.checkpoint (an instance attribute, so parameter names
    and the state_dict do not change, and leaving the context restores the plain model). Hugging Face models:
    their own `gradient_checkpointing_enable()`.
    """
    if not enabled:
        yield
        return
    if hasattr(model, "gradient_checkpointing_enable"):
        try:  # the non-reentrant variant works with frozen inputs and torch.compile
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        except TypeError:
            model.gradient_checkpointing_enable()
        try:
            yield
        finally:
            model.gradient_checkpointing_disable()
        return
    blocks = _gpt_blocks(model)
    if blocks is None:
        raise ConfigError(f"activation_checkpointing: do not know the blocks of a {type(model).__name__}")
    from torch.utils.checkpoint import checkpoint

    def checkpointed(block, x, return_attn=False):
        if return_attn or not torch.is_grad_enabled():
            return type(block).forward(block, x, return_attn=return_attn)
        return checkpoint(type(block).forward, block, x, use_reentrant=False)

    for block in blocks:
        block.forward = types.MethodType(checkpointed, block)
    try:
        yield
    finally:
        for block in blocks:
            del block.forward


# --------------------------------------------------------------------------------------------- distributed


@dataclass
class _Dist:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device: str) -> _Dist:
    """Join the process group torchrun describes (WORLD_SIZE > 1): gloo on CPU, nccl on CUDA."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return _Dist()
    import torch.distributed as dist

    initialized_here = False
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
        initialized_here = True
    return _Dist(
        dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size(), initialized_here
    )


def _all_reduce_mean(value: float, ctx: _Dist, device: torch.device) -> float:
    if ctx.world_size == 1:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # gloo has no AVG
    return t.item() / ctx.world_size


# --------------------------------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    data: TokenData,
    cfg: TrainConfig | None = None,
    *,
    iters: int | None = None,
    micro_batch: int | None = None,
    block_size: int | None = None,
    split: str = "val",
    device: str | torch.device | None = None,
    dtype: str | None = None,
    seed: int = EVAL_SEED,
) -> float:
    """Mean next-token cross-entropy of any model over `iters` fixed random windows of a split.

    The windows depend only on (seed, micro_batch, block_size), so every evaluation of every model sees the
    same text and losses are comparable across steps and runs. Takes its sizes from `cfg` unless given. Under
    DDP the iterations are spread over the ranks and the mean is all-reduced.
    """
    iters = iters or (cfg.eval_iters if cfg else None)
    micro_batch = micro_batch or (cfg.micro_batch if cfg else None)
    block_size = block_size or (cfg.block_size if cfg else None)
    if not (iters and micro_batch and block_size):
        raise ValueError("evaluate_loss needs a TrainConfig or iters, micro_batch and block_size")
    dtype = dtype or (cfg.dtype if cfg else "auto")
    if device is None:
        device = next(unwrap(model).parameters()).device
    device = torch.device(device)
    ctx = _current_dist()
    sampler = make_sampler("random", data.split(split), micro_batch, block_size, seed=seed)
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        for i in range(ctx.rank, iters, ctx.world_size):
            x, y = sampler.batch_at(i)
            with autocast_context(device.type, dtype):
                logits = logits_of(model(x.to(device)))
            total += F.cross_entropy(
                logits.reshape(-1, logits.size(-1)).float(), y.to(device).reshape(-1)
            ).item()
    finally:
        model.train(was_training)
    return _all_reduce_mean(total, ctx, device) * ctx.world_size / iters


def _current_dist() -> _Dist:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return _Dist(dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size())
    return _Dist()


# --------------------------------------------------------------------------------------------- checkpoints


def _rng_states() -> dict[str, Any]:
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _architecture_mismatch(ckpt: dict[str, Any], model: nn.Module) -> str | None:
    """A one-line description of how the checkpoint's model differs from `model`, or None."""
    model = unwrap(model)
    if ckpt.get("model_class") != type(model).__name__:
        return f"it holds a {ckpt.get('model_class')}, not a {type(model).__name__}"
    saved, mine = ckpt.get("model_config"), model_config_dict(model)
    if type(model).__name__ == "GPT" and saved is not None and saved != mine:
        diff = sorted(k for k in set(saved) | set(mine or {}) if saved.get(k) != (mine or {}).get(k))
        return "config differs in " + ", ".join(
            f"{k}={saved.get(k)!r} (model: {(mine or {}).get(k)!r})" for k in diff
        )
    state, expected = ckpt["model"], model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        return f"parameter names differ (missing {missing[:3]}, unexpected {unexpected[:3]})"
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            return f"{name} has shape {tuple(state[name].shape)}, the model's is {tuple(tensor.shape)}"
    return None


def load_checkpoint(path: str | os.PathLike, model: nn.Module) -> dict[str, Any]:
    """Load a training checkpoint's weights into `model` (in place) and return the whole checkpoint dict.

    One clear error (ConfigError) for a checkpoint of another architecture; DataError for a missing or
    unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist")
    try:
        # Our own files; weights_only=False because they hold Python/NumPy RNG states.
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the same thing to the user
        raise DataError(f"checkpoint {path} is unreadable or truncated ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path} is not an inheritune training checkpoint")
    problem = _architecture_mismatch(ckpt, model)
    if problem:
        raise ConfigError(f"checkpoint {path} is from another architecture: {problem}")
    unwrap(model).load_state_dict(ckpt["model"])
    return ckpt


# --------------------------------------------------------------------------------------------- metrics


class _Metrics:
    """metrics.csv: appended and flushed per row; rewritten atomically from the checkpoint's rows on resume.

    The rows are kept in memory and saved in every checkpoint, so after a crash the CSV is cut back to the
    checkpoint's step (dropping rows of steps that will be recomputed) and ends identical to an uninterrupted
    run's (up to the timing columns).
    """

    def __init__(self, path: Path, rows: list[dict[str, Any]], write: bool):
        self.path, self.rows, self.write = path, list(rows), write
        if write:
            atomic_write_text(path, self._render(self.rows))

    @staticmethod
    def _render(rows: list[dict[str, Any]]) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=METRICS_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.write:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=METRICS_COLUMNS, lineterminator="\n").writerow(row)
                f.flush()


# --------------------------------------------------------------------------------------------- the loop


def _check_inputs(model: nn.Module, data: TokenData, cfg: TrainConfig) -> None:
    config = getattr(model, "config", None)
    model_block = getattr(config, "block_size", None) or getattr(config, "max_position_embeddings", None)
    if model_block is not None and cfg.block_size > model_block:
        raise ConfigError(f"block_size={cfg.block_size} exceeds the model's context of {model_block} tokens")
    model_vocab = getattr(config, "vocab_size", None)
    if model_vocab is not None and data.vocab_size > model_vocab:
        raise ConfigError(
            f"the data's vocabulary ({data.vocab_size}) is larger than the model's ({model_vocab})"
        )
    for split in ("train", "val"):
        top = data.max_token_id(split)  # cached in meta.json; a scan only for a TokenData made by hand
        if model_vocab is not None and top >= model_vocab:
            raise ConfigError(
                f"{data.root}: split {split!r} holds token id {top}, beyond the model's vocabulary of "
                f"{model_vocab} ids (an IndexError mid-run otherwise)"
            )
        if data.num_tokens(split) < cfg.block_size + 1:
            raise DataError(
                f"{data.root}: split {split!r} has {data.num_tokens(split)} tokens, fewer than "
                f"block_size+1={cfg.block_size + 1}"
            )


def _resume_mismatch(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    mine = cfg.to_dict()
    # A field added to TrainConfig after a run was recorded held its default in that run.
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}
    return [
        f"{k}={saved.get(k)!r} (now {mine[k]!r})"
        for k in mine
        if k not in NON_IDENTIFYING_TRAIN_FIELDS and saved.get(k) != mine[k]
    ]


def _data_mismatch(saved: dict[str, Any] | None, mine: dict[str, Any]) -> list[str]:
    """How a recorded corpus identity (`TokenData.identity`) differs from this one; [] when it does not, or
    for a run recorded before identities were (nothing to compare)."""
    if not isinstance(saved, dict):
        return []

    def describe(entry: dict[str, Any] | None) -> str:
        return "absent" if not entry else f"{entry['tokens']} tokens, sha256 {entry['sha256'][:12]}"

    return [
        f"{name}.bin {describe(saved.get(name))} (now {describe(mine.get(name))})"
        for name in sorted(set(saved) | set(mine))
        if saved.get(name) != mine.get(name)
    ]


def _check_same_run(
    path: Path, record: dict[str, Any], cfg: TrainConfig, data_identity: dict, model: nn.Module | None = None
) -> None:
    """Refuse, in one line, to resume or return the run recorded in `path` (ckpt.pt or result.json) for another
    config, another corpus or (given `model`, for a result.json without its checkpoint) another GPT."""
    mismatch = _resume_mismatch(record.get("train_config") or {}, cfg)
    if mismatch:
        raise ConfigError(f"{path} was trained with another config: {'; '.join(mismatch)}")
    mismatch = _data_mismatch(record.get("data"), data_identity)
    if mismatch:
        raise ConfigError(
            f"{path} was trained on another corpus: {'; '.join(mismatch)}; resume it with its own --data "
            "or start a new run folder"
        )
    if model is None or type(unwrap(model)).__name__ != "GPT":  # other models' configs carry versions etc.
        return
    saved, mine = record.get("model_config"), _jsonable(model_config_dict(model))
    if isinstance(saved, dict) and isinstance(mine, dict):
        diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
        if diff:
            changes = ", ".join(f"{k}={saved.get(k)!r} (now {mine.get(k)!r})" for k in diff)
            raise ConfigError(f"{path} is a run of another model: {changes}")


RESULT_REQUIRED = (
    "final_val_loss",
    "best_val_loss",
    "steps",
    "tokens_seen",
    "wall_time_s",
    "metrics_csv",
    "checkpoint",
)


def _read_result(path: Path) -> dict[str, Any]:
    """A finished run's result.json, or one DataError line when it is empty, cut short or not a summary."""
    try:
        saved = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problem = f"{type(e).__name__}: {e}"
    else:
        missing = [k for k in RESULT_REQUIRED if k not in saved] if isinstance(saved, dict) else ["an object"]
        if not missing:
            return saved
        problem = f"not a finished run's summary: no {', '.join(missing)}"
    raise DataError(
        f"{path} is corrupt ({problem}); delete it to finish the run again from its ckpt.pt, or delete the "
        "run folder"
    )


@contextlib.contextmanager
def _stop_at_step_boundary(loop: _Loop):
    """While training, SIGTERM and SIGINT only ask the loop to checkpoint and stop after the current step (a
    cluster's requeue sends SIGTERM, Ctrl-C sends SIGINT); a second signal acts at once, as it would without
    this handler. Handlers can only be set from the main thread: elsewhere the signals act as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum, frame):
        if loop.stop_signal is not None:
            signal.signal(signum, previous[signum] if previous[signum] is not None else signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        loop.stop_signal = signum

    for signum in INTERRUPT_SIGNALS:
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def train(
    model: nn.Module,
    data: TokenData,
    cfg: TrainConfig,
    teacher: nn.Module | None = None,
    resume: bool = True,
    final_eval: Callable[[nn.Module], dict[str, Any]] | None = None,
) -> TrainResult:
    """Train `model` in place on `data` as `cfg` says; returns the run's summary.

    With resume=True a finished run (result.json) is returned as is, and an interrupted one (ckpt.pt)
    continues from its checkpoint, bit-identically on CPU. With resume=False an out_dir that already holds a
    run is refused (nothing written is ever overwritten). With a `teacher`, the loss is `kd_loss` (knowledge
    distillation); the validation loss stays the student's cross-entropy. `final_eval(model)` returns extra
    result.json fields computed on the trained model (e.g. `validation.validation_loss` on the whole split).
    """
    out = Path(cfg.out_dir)
    check_device(cfg.device)
    ctx = _setup_distributed(cfg.device)
    _check_inputs(unwrap(model), data, cfg)
    # One owner per run folder: rank 0 (which does all the writing) holds the folder's lock until the end.
    with run_folder_lock(out) if ctx.is_main else contextlib.nullcontext():
        if ctx.is_main:
            remove_orphan_temps(out)  # what writes killed in an earlier run left (GBs each at paper scale)
        return _train_in_folder(model, data, cfg, teacher, resume, final_eval, ctx)


def _train_in_folder(
    model: nn.Module,
    data: TokenData,
    cfg: TrainConfig,
    teacher: nn.Module | None,
    resume: bool,
    final_eval: Callable[[nn.Module], dict[str, Any]] | None,
    ctx: _Dist,
) -> TrainResult:
    out = Path(cfg.out_dir)
    ckpt_path, result_path, metrics_path = out / "ckpt.pt", out / "result.json", out / "metrics.csv"
    accum = cfg.accumulation_steps(ctx.world_size)
    existing = ckpt_path.is_file() or result_path.is_file()
    if existing and not resume:
        raise ConfigError(
            f"{out} already holds a run (ckpt.pt/result.json); resume it or choose another out_dir"
        )
    data_identity = data.identity()
    saved = _read_result(result_path) if result_path.is_file() else None
    ckpt = None
    if ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path, model)  # a finished run's final weights end up in `model` too
        _check_same_run(ckpt_path, ckpt, cfg, data_identity)
    if saved is not None:
        if ckpt is None:  # its checkpoint was deleted: result.json's own record must match this call
            _check_same_run(result_path, saved, cfg, data_identity, model)
        return TrainResult.from_dict(saved)

    device = torch.device(
        f"cuda:{ctx.local_rank}" if cfg.device == "cuda" and ctx.world_size > 1 else cfg.device
    )
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)

    raw_model = unwrap(model).to(device)
    raw_model.train()
    if teacher is not None:
        teacher = teacher.to(device).eval()
        teacher.requires_grad_(False)
    optimizer = configure_optimizer(raw_model, cfg, device.type)
    sampler = make_sampler(
        cfg.sampler,
        data.split("train"),
        cfg.micro_batch,
        cfg.block_size,
        seed=cfg.seed,
        rank=ctx.rank,
        world_size=ctx.world_size,
        offset=cfg.sampler_offset,
    )
    step, tokens_seen, best_val, elapsed_before, rows = 0, 0, math.inf, 0.0, []
    resumed: dict[str, Any] = {}
    if ckpt is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
        sampler.load_state_dict(ckpt["sampler"])
        _set_rng_states(ckpt["rng"])
        step, tokens_seen = ckpt["step"], ckpt["tokens_seen"]
        best_val, elapsed_before, rows = ckpt["best_val_loss"], ckpt["elapsed_s"], ckpt["metrics_rows"]
        # checkpoints written before the divergence policy counted nothing
        resumed = {k: ckpt.get(k, 0) for k in ("skipped_steps", "bad_steps_in_a_row")}
        del ckpt  # free the CPU copy of the weights and optimizer state

    with activation_checkpointing(raw_model, cfg.activation_checkpointing):
        net: nn.Module = raw_model
        if cfg.compile:
            net = torch.compile(net)
        if ctx.world_size > 1:
            net = nn.parallel.DistributedDataParallel(
                net, device_ids=[device.index] if device.type == "cuda" else None
            )
        metrics = _Metrics(metrics_path, rows, write=ctx.is_main)
        loop = _Loop(
            net,
            raw_model,
            teacher,
            data,
            cfg,
            ctx,
            device,
            optimizer,
            sampler,
            metrics,
            accum,
            ckpt_path,
            step,
            tokens_seen,
            best_val,
            elapsed_before,
            data_identity,
            **resumed,
        )
        try:
            with _stop_at_step_boundary(loop):
                final_val = loop.run()
        finally:
            if ctx.initialized_here:
                import torch.distributed as dist

                dist.destroy_process_group()

    result = TrainResult(
        final_val_loss=final_val,
        best_val_loss=loop.best_val,
        steps=loop.step,
        tokens_seen=loop.tokens_seen,
        wall_time_s=loop.elapsed(),
        metrics_csv=metrics_path,
        checkpoint=ckpt_path,
        skipped_steps=loop.skipped_steps,
    )
    if ctx.is_main:
        from .accounting import run_accounting  # steps, tokens, distinct windows, FLOPs (issue 11)

        extra = run_accounting(raw_model, cfg, sampler, loop.step, loop.tokens_seen, teacher=teacher)
        extra.update(final_eval(raw_model) if final_eval is not None else {})
        atomic_write_json(
            result_path,
            {
                **result.to_dict(),
                "train_config": cfg.to_dict(),
                "model_config": _jsonable(model_config_dict(raw_model)),
                "world_size": ctx.world_size,
                "data": data_identity,
                **extra,
            },
        )
    return result


class _Loop:
    """The state of one training run between steps (kept in an object so checkpointing sees all of it)."""

    def __init__(
        self,
        net,
        raw_model,
        teacher,
        data,
        cfg,
        ctx,
        device,
        optimizer,
        sampler,
        metrics,
        accum,
        ckpt_path,
        step,
        tokens_seen,
        best_val,
        elapsed_before,
        data_identity,
        skipped_steps=0,
        bad_steps_in_a_row=0,
    ):
        self.net, self.raw_model, self.teacher, self.data, self.cfg = net, raw_model, teacher, data, cfg
        self.ctx, self.device, self.optimizer, self.sampler, self.metrics = (
            ctx,
            device,
            optimizer,
            sampler,
            metrics,
        )
        self.accum, self.ckpt_path = accum, ckpt_path
        self.step, self.tokens_seen, self.best_val = step, tokens_seen, best_val
        self.elapsed_before, self.t_start = elapsed_before, time.perf_counter()
        self.last_log_time, self.last_log_tokens = self.t_start, tokens_seen
        self.checkpoint_interval = cfg.checkpoint_interval or cfg.eval_interval
        kill = os.environ.get(KILL_AFTER_STEP_ENV)
        self.kill_after_step = int(kill) if kill else None
        self.data_identity = data_identity
        self.skipped_steps, self.bad_steps_in_a_row = skipped_steps, bad_steps_in_a_row
        self.checkpoint_step = step if ckpt_path.is_file() else None  # the step ckpt.pt holds
        self.stop_signal: int | None = None  # set by _stop_at_step_boundary's handler

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.t_start

    def kept(self) -> str:
        if self.checkpoint_step is None:
            return "no checkpoint was written yet"
        return f"the last good checkpoint {self.ckpt_path} (step {self.checkpoint_step}) is kept"

    def evaluate(self) -> float:
        val = evaluate_loss(self.raw_model, self.data, self.cfg, device=self.device)
        if not math.isfinite(val):
            raise TrainingDiverged(f"validation loss is {val} at step {self.step}; stopped, {self.kept()}")
        self.best_val = min(self.best_val, val)
        return val

    def log(self, train_loss: float | None, val_loss: float | None, lr: float | None) -> None:
        now = time.perf_counter()
        rate = (self.tokens_seen - self.last_log_tokens) / max(now - self.last_log_time, 1e-9)
        self.last_log_time, self.last_log_tokens = now, self.tokens_seen
        fmt = lambda v: "" if v is None else repr(float(v))  # repr: exact round trip of the float
        self.metrics.append(
            dict(
                step=self.step,
                tokens=self.tokens_seen,
                train_loss=fmt(train_loss),
                val_loss=fmt(val_loss),
                lr=fmt(lr),
                elapsed_s=f"{self.elapsed():.3f}",
                tokens_per_s=f"{rate:.1f}",
            )
        )

    def save_checkpoint(self) -> None:
        # Every rank checks (DDP keeps the weights identical), so all of them stop together.
        bad = first_non_finite(self.raw_model.state_dict())
        if bad is not None:
            raise TrainingDiverged(
                f"weights are not finite at step {self.step} ({bad}); not checkpointed, {self.kept()}"
            )
        if not self.ctx.is_main:
            self.checkpoint_step = self.step
            return
        save_checkpoint_file(
            dict(
                format=CHECKPOINT_FORMAT,
                model=self.raw_model.state_dict(),
                model_class=type(self.raw_model).__name__,
                model_config=model_config_dict(self.raw_model),
                optimizer=self.optimizer.state_dict(),
                step=self.step,
                tokens_seen=self.tokens_seen,
                rng=_rng_states(),
                sampler=self.sampler.state_dict(),
                train_config=self.cfg.to_dict(),
                metrics_rows=self.metrics.rows,
                best_val_loss=self.best_val,
                elapsed_s=self.elapsed(),
                data=self.data_identity,
                skipped_steps=self.skipped_steps,
                bad_steps_in_a_row=self.bad_steps_in_a_row,
            ),
            self.ckpt_path,
            previous_step=self.checkpoint_step,
        )
        self.checkpoint_step = self.step

    def micro_step_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with autocast_context(self.device.type, self.cfg.dtype):
            logits = logits_of(self.net(x))
            if self.teacher is None:
                return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
            with torch.no_grad():
                teacher_logits = logits_of(self.teacher(x))
            return kd_loss(logits, teacher_logits, y, self.cfg.kd_alpha, self.cfg.kd_temperature)

    def train_step(self) -> tuple[float, float]:
        cfg = self.cfg
        lr = learning_rate_at(self.step, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        for micro in range(self.accum):
            x, y = (t.to(self.device, non_blocking=True) for t in self.sampler.next_batch())
            # Gradient arithmetic: each rank backpropagates loss/accum, so its gradient is the mean over its
            # `accum` micro-batches; DDP's all-reduce then *averages* over the world_size ranks. The result is
            # the gradient of the mean loss over all accum*world_size micro-batches of the token batch, the
            # same as one process computing the whole batch (the official code omits the 1/accum).
            sync = micro == self.accum - 1 or self.ctx.world_size == 1
            no_sync = self.net.no_sync() if not sync else contextlib.nullcontext()
            with no_sync:
                loss = self.micro_step_loss(x, y)
                (loss / self.accum).backward()
            loss_sum += loss.detach()
        train_loss = _all_reduce_mean(loss_sum.item() / self.accum, self.ctx, self.device)
        # The divergence policy: a finite loss can still come with a non-finite gradient (an overflow in the
        # backward pass), so the gradient norm (all-reduced by DDP: the same on every rank) is checked too,
        # before the update that would write it into the weights and the optimizer's moments.
        grad_norm = self.gradient_norm() if math.isfinite(train_loss) else math.nan
        bad = not (math.isfinite(train_loss) and math.isfinite(grad_norm))
        if not bad:
            self.optimizer.step()
            self.bad_steps_in_a_row = 0
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.tokens_seen += cfg.batch_tokens
        if bad:
            self.skip_step(
                f"loss is {train_loss}" if not math.isfinite(train_loss) else f"gradient norm is {grad_norm}"
            )
        return train_loss, lr

    def gradient_norm(self) -> float:
        """The total gradient norm, after clipping it to grad_clip (Appendix C.1) when clipping is on."""
        params = [p for p in self.raw_model.parameters() if p.grad is not None]
        if self.cfg.grad_clip > 0:
            return float(torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip))
        if not params:
            return 0.0
        return float(
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
        )

    def skip_step(self, what: str) -> None:
        """Count a step whose update was skipped; stop after MAX_BAD_STEPS_IN_A_ROW of them in a row."""
        self.skipped_steps += 1
        self.bad_steps_in_a_row += 1
        n = self.bad_steps_in_a_row
        if n >= MAX_BAD_STEPS_IN_A_ROW:
            nth = {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")
            raise TrainingDiverged(
                f"{what} at step {self.step}: the {nth} step in a row with a non-finite loss or gradient; "
                f"stopped, {self.kept()}"
            )
        if self.ctx.is_main:
            from tqdm.auto import tqdm

            tqdm.write(
                f"warning: {what} at step {self.step}: its update was skipped ({n} in a row, "
                f"{self.skipped_steps} in this run; {MAX_BAD_STEPS_IN_A_ROW} in a row stop the run)",
                file=sys.stderr,
            )

    def stop_requested(self) -> int | None:
        """The signal that asked this run to stop (any rank's, under DDP, so all ranks stop together)."""
        signum = self.stop_signal or 0
        if self.ctx.world_size > 1:
            import torch.distributed as dist

            t = torch.tensor([signum], dtype=torch.int64, device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            signum = int(t.item())
        return signum or None

    def run(self) -> float:
        from tqdm.auto import tqdm

        cfg = self.cfg
        val = None
        if self.step == 0:
            val = self.evaluate()
            self.log(None, val, None)
        bar = tqdm(
            total=cfg.max_steps,
            initial=self.step,
            desc=Path(cfg.out_dir).name,
            unit="step",
            disable=not cfg.progress or not self.ctx.is_main,
            dynamic_ncols=True,
        )
        with bar:
            while self.step < cfg.max_steps:
                train_loss, lr = self.train_step()
                is_eval = self.step % cfg.eval_interval == 0 or self.step == cfg.max_steps
                val = self.evaluate() if is_eval else None
                if is_eval or self.step % cfg.log_interval == 0:
                    self.log(train_loss, val, lr)
                checkpointed = self.step % self.checkpoint_interval == 0 or self.step == cfg.max_steps
                if checkpointed:
                    self.save_checkpoint()
                bar.update(1)
                bar.set_postfix(
                    loss=f"{train_loss:.3f}", **({"val": f"{val:.3f}"} if val is not None else {})
                )
                if self.kill_after_step == self.step:
                    os.kill(os.getpid(), signal.SIGKILL)
                signum = self.stop_requested() if self.step < cfg.max_steps else None
                if signum is not None:
                    if not checkpointed:
                        self.save_checkpoint()
                    raise TrainingInterrupted(
                        f"{signal.Signals(signum).name} at step {self.step}: checkpoint {self.ckpt_path} "
                        "written; continue with --resume (train(..., resume=True))",
                        signum,
                    )
        if val is None:  # resumed at the last step: the final evaluation was done before the checkpoint
            val = self.evaluate()
        return val


# --------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inheritune_core.training",
        description="Train the paper's GPT-2 (a Table 10 preset at a scale) on a prepared corpus. One process "
        "owns a run folder at a time: a second one on the same --out prints whom it waits for and waits. "
        "SIGTERM/Ctrl-C checkpoint at the next step and exit (128 + the signal); --resume continues.",
    )
    parser.add_argument(
        "--preset", required=True, help="gpt2-medium, gpt2-large, gpt2-large-dagger, gpt2-xlarge"
    )
    parser.add_argument("--scale", default="paper", help="smoke, tiny, small or paper")
    parser.add_argument(
        "--data", required=True, help="a prepared corpus folder (train.bin, val.bin, meta.json)"
    )
    parser.add_argument("--out", required=True, help="the run folder (metrics.csv, ckpt.pt, result.json)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out (or return it if finished)"
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument(
        "--n-layer", type=int, default=None, help="a paper layer count (scaled like the preset's)"
    )
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from ..data.tokens import load_token_data
    from ..models.gpt import GPT, GPTConfig

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    overrides: dict[str, Any] = dict(device=device, compile=args.compile, progress=not args.no_progress)
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    try:
        if args.n_layer is not None and args.n_layer <= 0:  # it would be scaled up to 1 layer silently
            raise ConfigError(f"--n-layer must be a positive layer count, got {args.n_layer}")
        check_device(device)
        model_cfg = GPTConfig.from_preset(args.preset, args.scale, n_layer=args.n_layer)
        cfg = TrainConfig.from_preset(args.preset, args.scale, args.out, **overrides)
        data = load_token_data(args.data)
        torch.manual_seed(cfg.seed)
        model = GPT(model_cfg)
        result = train(model, data, cfg, resume=args.resume)
    except (ConfigError, DataError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, (ConfigError, DataError)) else 1
    except TrainingInterrupted as e:
        print(f"interrupted by {e}", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:  # a second Ctrl-C, or one while waiting for the folder's lock
        print(f"interrupted: stopped at once; a ckpt.pt in {args.out} resumes the run", file=sys.stderr)
        return 128 + signal.SIGINT
    except OSError as e:
        message = no_space_message(e, args.out)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"done: {result.steps} steps, {result.tokens_seen} tokens, val loss {result.final_val_loss:.4f} "
            f"(best {result.best_val_loss:.4f}); {result.metrics_csv}"
        )
    return 0


__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "TrainingInterrupted",
    "MAX_BAD_STEPS_IN_A_ROW",
    "check_device",
    "train",
    "evaluate_loss",
    "kd_loss",
    "load_checkpoint",
    "learning_rate_at",
    "configure_optimizer",
    "read_metrics",
    "logits_of",
    "activation_checkpointing",
    "main",
]
