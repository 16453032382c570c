"""The trainer's names in one import (`from inheritune_core.training.trainer import TrainConfig, train`).

The trainer lives in modules of one concern each: `config` (TrainConfig, TrainResult, device check), `optim`
(schedule, AdamW groups, KD loss, autocast), `modules` (wrappers, model configs, activation checkpointing),
`distributed` (torchrun set-up), `validation` (periodic and whole-split losses), `state` (the one TrainState
saved and loaded whole), `checkpoint` (ckpt.pt written atomically, read with weights_only=True), `resume` (the
same-run checks, result.json), `loop` (train and the step loop) and `cli` (`python -m inheritune_core.training`).
"""

from __future__ import annotations

from ..errors import TrainingDiverged, TrainingInterrupted
from ..io import read_metrics
from .checkpoint import load_checkpoint, read_checkpoint
from .cli import main
from .config import (
    DTYPES,
    NEUTRAL_TRAIN_DEFAULTS,
    NON_IDENTIFYING_TRAIN_FIELDS,
    SCHEDULES,
    TrainConfig,
    TrainResult,
    check_device,
    identifying_train_config,
)
from .distributed import Dist
from .loop import (
    INTERRUPT_SIGNALS,
    KILL_AFTER_STEP_ENV,
    MAX_BAD_STEPS_IN_A_ROW,
    METRICS_COLUMNS,
    Loop,
    _Loop,
    train,
)
from .modules import activation_checkpointing, model_config_dict, unwrap
from .optim import autocast_context, configure_optimizer, kd_loss, learning_rate_at, logits_of
from .resume import RESULT_REQUIRED, check_same_run, read_result
from .state import CHECKPOINT_FORMAT, TrainState
from .validation import EVAL_SEED, evaluate_loss

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "TrainingDiverged",
    "TrainingInterrupted",
    "MAX_BAD_STEPS_IN_A_ROW",
    "check_device",
    "train",
    "evaluate_loss",
    "kd_loss",
    "load_checkpoint",
    "read_checkpoint",
    "learning_rate_at",
    "configure_optimizer",
    "read_metrics",
    "logits_of",
    "activation_checkpointing",
    "main",
    "CHECKPOINT_FORMAT",
    "DTYPES",
    "SCHEDULES",
    "EVAL_SEED",
    "INTERRUPT_SIGNALS",
    "KILL_AFTER_STEP_ENV",
    "METRICS_COLUMNS",
    "NEUTRAL_TRAIN_DEFAULTS",
    "NON_IDENTIFYING_TRAIN_FIELDS",
    "RESULT_REQUIRED",
    "Dist",
    "Loop",
    "_Loop",
    "autocast_context",
    "check_same_run",
    "identifying_train_config",
    "model_config_dict",
    "read_result",
    "unwrap",
]
