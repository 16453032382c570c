"""What determines a training run: `TrainConfig` (hashing its identifying fields identifies the run), the summary
a finished run leaves (`TrainResult`, result.json) and the device check every entry point makes first.

Resolved once at the entry (`TrainConfig.from_preset(preset, scale, out_dir)`, from `config.optim_kwargs`) and
passed down whole: the loop (`training.loop`), resume checks (`training.resume`) and the CLI (`training.cli`)
read this object, never a scale name.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch

from ..config import KD_ALPHA, KD_TEMPERATURE, optim_kwargs
from ..data.sampling import SAMPLERS
from ..errors import ConfigError

DTYPES = ("auto", "float32", "bfloat16")
SCHEDULES = ("cosine", "constant")
_POSITIVE_INTS = ("max_steps", "batch_tokens", "micro_batch", "block_size", "eval_interval", "eval_iters")


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
    # Windows of the final whole-split validation (`validation.validation_loss_of_run`): None scores every
    # window of the split (every scale but smoke); N keeps a fixed, evenly spaced subset of N windows, so a
    # test-sized run does not spend most of its time validating (issue 21).
    val_windows: int | None = None

    def __post_init__(self) -> None:
        self.out_dir = str(self.out_dir)
        for name in (*_POSITIVE_INTS, "log_interval"):
            _check_positive_int(name, getattr(self, name))
        if self.checkpoint_interval is not None:
            _check_positive_int("checkpoint_interval", self.checkpoint_interval)
        if self.val_windows is not None:
            _check_positive_int("val_windows", self.val_windows)
        if self.warmup_steps < 0:
            raise ConfigError(f"TrainConfig.warmup_steps must be >= 0, got {self.warmup_steps}")
        if not 0 <= self.min_lr <= self.learning_rate or self.learning_rate <= 0:
            raise ConfigError(
                f"need 0 <= min_lr <= learning_rate, got min_lr={self.min_lr}, lr={self.learning_rate}"
            )
        for name, allowed in (("dtype", DTYPES), ("sampler", SAMPLERS), ("schedule", SCHEDULES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"unknown {name} {getattr(self, name)!r}; choose one of {', '.join(allowed)}"
                )
        if not known_device(self.device):
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


def _check_positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"TrainConfig.{name} must be a positive integer, got {value!r}")


# Fields that do not change the numbers a run computes: they may differ between a run and its resumption, and
# they are left out of a run's identity (experiments.runs hashes the rest).
NON_IDENTIFYING_TRAIN_FIELDS = frozenset({"out_dir", "progress", "device", "compile", "log_interval"})
# Fields added after runs were recorded, at the value those runs used: left out of a run's identity at that
# value, so a new option at its neutral default keeps every existing run's hash.
NEUTRAL_TRAIN_DEFAULTS: dict[str, Any] = {"sampler_offset": 0, "val_windows": None}


def identifying_train_config(cfg: TrainConfig) -> dict[str, Any]:
    """The fields of `cfg` that identify a run (experiments.runs hashes them)."""
    return {
        k: v
        for k, v in cfg.to_dict().items()
        if k not in NON_IDENTIFYING_TRAIN_FIELDS
        and not (k in NEUTRAL_TRAIN_DEFAULTS and v == NEUTRAL_TRAIN_DEFAULTS[k])
    }


# result.json's summary fields and the types a finished run wrote them with (checked when it is read back, so
# a hand-edited or foreign file is one error line, not a traceback later).
RESULT_TYPES: dict[str, tuple[type, ...]] = {
    "final_val_loss": (int, float),
    "best_val_loss": (int, float),
    "steps": (int,),
    "tokens_seen": (int,),
    "wall_time_s": (int, float),
    "metrics_csv": (str,),
    "checkpoint": (str,),
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


def result_type_errors(saved: dict[str, Any]) -> list[str]:
    """How the summary fields of a result.json differ from what a run writes ([] when they do not)."""
    problems = []
    for name, types_ in RESULT_TYPES.items():
        value = saved.get(name)
        if isinstance(value, bool) or not isinstance(value, types_):
            want = " or ".join(t.__name__ for t in types_)
            problems.append(f"{name}={value!r} is not {'an' if want[0] in 'aeiou' else 'a'} {want}")
    skipped = saved.get("skipped_steps", 0)
    if isinstance(skipped, bool) or not isinstance(skipped, int):
        problems.append(f"skipped_steps={skipped!r} is not an int")
    return problems


def known_device(device: str) -> bool:
    kind, _, index = str(device).partition(":")
    return kind in ("cpu", "cuda", "mps") and (not index or (kind == "cuda" and index.isdigit()))


def check_device(device: str) -> None:
    """One clear line when this host cannot run on `device` (torch's own message misleads: "Expected a
    torch.device with a specified index")."""
    if not known_device(device):
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


__all__ = [
    "TrainConfig",
    "TrainResult",
    "NON_IDENTIFYING_TRAIN_FIELDS",
    "NEUTRAL_TRAIN_DEFAULTS",
    "identifying_train_config",
    "check_device",
    "known_device",
    "result_type_errors",
    "DTYPES",
    "SCHEDULES",
]
