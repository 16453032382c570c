"""Resume rules: a run folder's ckpt.pt or result.json is continued or returned only for the same run.

`check_same_run` refuses, in one line, another config (`resume_mismatch`), another corpus (`data_mismatch`:
the token files' sha256s, `TokenData.identity`) or another GPT (for a result.json whose ckpt.pt was deleted).
`read_result` reads a finished run's result.json back, refusing an empty, cut-short or wrongly typed one.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import torch.nn as nn

from ..errors import ConfigError, DataError
from .config import NON_IDENTIFYING_TRAIN_FIELDS, RESULT_TYPES, TrainConfig, result_type_errors
from .modules import jsonable, model_config_dict, unwrap

RESULT_REQUIRED = tuple(RESULT_TYPES)


def resume_mismatch(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """The identifying fields where a recorded train_config differs from `cfg`, as `name=old (now new)`."""
    mine = cfg.to_dict()
    # A field added to TrainConfig after a run was recorded held its default in that run.
    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}
    return [
        f"{k}={saved.get(k)!r} (now {mine[k]!r})"
        for k in mine
        if k not in NON_IDENTIFYING_TRAIN_FIELDS and saved.get(k) != mine[k]
    ]


def data_mismatch(saved: dict[str, Any] | None, mine: dict[str, Any]) -> list[str]:
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


def check_same_run(
    path: Path, record: dict[str, Any], cfg: TrainConfig, data_identity: dict, model: nn.Module | None = None
) -> None:
    """Refuse, in one line, to resume or return the run recorded in `path` (ckpt.pt or result.json) for another
    config, another corpus or (given `model`, for a result.json without its checkpoint) another GPT."""
    mismatch = resume_mismatch(record.get("train_config") or {}, cfg)
    if mismatch:
        raise ConfigError(f"{path} was trained with another config: {'; '.join(mismatch)}")
    mismatch = data_mismatch(record.get("data"), data_identity)
    if mismatch:
        raise ConfigError(
            f"{path} was trained on another corpus: {'; '.join(mismatch)}; resume it with its own --data "
            "or start a new run folder"
        )
    if model is None or type(unwrap(model)).__name__ != "GPT":  # other models' configs carry versions etc.
        return
    saved, mine = record.get("model_config"), jsonable(model_config_dict(model))
    if isinstance(saved, dict) and isinstance(mine, dict):
        diff = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
        if diff:
            changes = ", ".join(f"{k}={saved.get(k)!r} (now {mine.get(k)!r})" for k in diff)
            raise ConfigError(f"{path} is a run of another model: {changes}")


def read_result(path: Path) -> dict[str, Any]:
    """A finished run's result.json, or one DataError line when it is empty, cut short, not a summary or holds
    a field of the wrong type (a string where the step count belongs: a traceback later otherwise)."""
    try:
        saved = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problem = f"{type(e).__name__}: {e}"
    else:
        missing = [k for k in RESULT_REQUIRED if k not in saved] if isinstance(saved, dict) else ["an object"]
        wrong = result_type_errors(saved) if not missing else []
        if not missing and not wrong:
            return saved
        problem = f"not a finished run's summary: no {', '.join(missing)}" if missing else "; ".join(wrong)
    raise DataError(
        f"{path} is corrupt ({problem}); delete it to finish the run again from its ckpt.pt, or delete the "
        "run folder"
    )


__all__ = ["check_same_run", "read_result", "resume_mismatch", "data_mismatch", "RESULT_REQUIRED"]
