"""Writing and reading `ckpt.pt`: atomically, never poisoned, one clear line on a full disk, never unpickled.

- `load_checkpoint`: `torch.load(weights_only=True)`, always: a ckpt.pt is a file the package did not just
  write (a user may have copied it from anywhere), and a pickle payload in it must never run. The state is
  stored as tensors and plain types (`training.state`). Checkpoints written before that format hold the NumPy
  RNG state as an array: exactly NumPy's array-rebuilding globals (`_OLD_FORMAT_GLOBALS`, no callable of
  anyone's choosing) are allowed, so they still load and resume. Anything else is refused in one line.

- `save_checkpoint_file`: torch.save into a temp file beside ckpt.pt (created with the umask's mode, like every
  other file of a run, not mkstemp's 0600), fsync, rename. A killed write leaves only the temp file, which
  the next run removes (`io.remove_orphan_temps`); ckpt.pt is always the previous complete checkpoint.
- A full disk (ENOSPC, or EDQUOT: a quota) while writing becomes one DataError line naming the file system and
  saying that the previous checkpoint is intact, instead of torch's 30-line RuntimeError; so does a file-size
  limit (`ulimit -f`: EFBIG; the trainer ignores SIGXFSZ while it writes, so the write fails instead of the
  process being killed).
- `first_non_finite`: the trainer refuses to checkpoint weights holding a NaN or an infinity, so "the last
  good checkpoint" it promises after a divergence is always good.
"""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..errors import ConfigError, DataError
from ..io import _atomic_target
from .modules import jsonable, model_config_dict, unwrap
from .state import CHECKPOINT_FORMAT

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _numpy_array_globals() -> list[Any]:
    """NumPy's globals that rebuild a plain array: what the RNG state of an older checkpoint needs, nothing
    more. The array-rebuilding function is named `numpy.core...` in files written under NumPy 1 and
    `numpy._core...` under NumPy 2: both names are allowed, both resolving to this NumPy's function."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1
        from numpy.core.multiarray import _reconstruct
    names = ("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct")
    return [
        _reconstruct,
        *((_reconstruct, name) for name in names),
        np.ndarray,
        np.dtype,
        type(np.dtype(np.uint32)),
    ]


_OLD_FORMAT_GLOBALS = _numpy_array_globals()


def _os_errno(exc: BaseException | None) -> int | None:
    """The errno of `exc` or of the OSError it was raised from (torch wraps the OSError), else None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno is not None:
            return exc.errno
        exc = exc.__cause__ or exc.__context__
    return None


def _no_space(exc: BaseException) -> bool:
    """True when `exc` or an exception it was raised from is a full disk."""
    return _os_errno(exc) in _NO_SPACE


def _too_large(exc: BaseException) -> bool:
    """True when `exc` or an exception it was raised from is the file-size limit (RLIMIT_FSIZE)."""
    return _os_errno(exc) == errno.EFBIG


def mount_point(path: str | os.PathLike) -> Path:
    """The mount point of the file system holding `path` (what `df` names)."""
    p = Path(path).resolve()
    while not p.exists():
        p = p.parent
    while not os.path.ismount(p):
        p = p.parent
    return p


def save_checkpoint_file(obj: Any, path: str | os.PathLike, previous_step: int | None) -> None:
    """torch.save `obj` to `path` atomically; `previous_step` (the step of the ckpt.pt it replaces, None if
    none) goes into the message when the disk is full."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        kept = (
            f"the previous checkpoint (step {previous_step}) is intact"
            if previous_step is not None
            else "no checkpoint was written yet"
        )
        if isinstance(e, Exception) and _no_space(e):
            raise DataError(
                f"no space left on {mount_point(path)}, {kept}: free space, then resume ({path})"
            ) from None
        if isinstance(e, Exception) and _too_large(e):
            raise DataError(
                f"{path} exceeds this process's file-size limit (ulimit -f), {kept}: raise the limit "
                "(ulimit -f unlimited), then resume"
            ) from None
        raise


def no_space_message(exc: BaseException, path: str | os.PathLike) -> str | None:
    """One line for a full disk or the file-size limit met while writing into `path` (metrics.csv,
    result.json), else None."""
    if _no_space(exc):
        return f"no space left on {mount_point(path)} while writing {path}: free space, then resume"
    if _too_large(exc):
        return f"a file in {path} exceeds the file-size limit (ulimit -f): raise it, then resume"
    return None


def _architecture_mismatch(ckpt: dict[str, Any], model: nn.Module) -> str | None:
    """A one-line description of how the checkpoint's model differs from `model`, or None."""
    model = unwrap(model)
    if ckpt.get("model_class") != type(model).__name__:
        return f"it holds a {ckpt.get('model_class')}, not a {type(model).__name__}"
    saved, mine = ckpt.get("model_config"), jsonable(model_config_dict(model))
    if type(model).__name__ == "GPT" and saved is not None and jsonable(saved) != mine:
        saved = jsonable(saved)
        diff = sorted(k for k in set(saved) | set(mine or {}) if saved.get(k) != (mine or {}).get(k))
        return "config differs in " + ", ".join(
            f"{k}={saved.get(k)!r} (model: {(mine or {}).get(k)!r})" for k in diff
        )
    state, expected = ckpt["model"], model.state_dict()
    if not isinstance(state, dict):
        return "it holds no state dict"
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        return f"parameter names differ (missing {missing[:3]}, unexpected {unexpected[:3]})"
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            return f"{name} has shape {tuple(state[name].shape)}, the model's is {tuple(tensor.shape)}"
    return None


def check_checkpoint_path(path: str | os.PathLike) -> None:
    """Refuse, before any training, a ckpt.pt (or result.json) that exists but is not a regular file: a
    directory there would otherwise be found only when the first checkpoint is renamed onto it."""
    path = Path(path)
    if path.exists() and not path.is_file():
        what = "a directory" if path.is_dir() else "not a regular file"
        raise DataError(f"{path} is {what}; remove or rename it, then run again")


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """ckpt.pt as a dict, loaded with weights_only=True (no pickled code runs); one DataError line otherwise."""
    path = Path(path)
    check_checkpoint_path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals(_OLD_FORMAT_GLOBALS):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # the refusal of a non-tensor global
        if "Weights only load failed" in str(e) or "Unsupported global" in str(e):
            raise DataError(
                f"{path} is not an inheritune training checkpoint: it holds Python objects other than tensors "
                "and plain values, which are never unpickled (they could run code); delete it and train "
                "again, or load it yourself only if you trust where it came from"
            ) from None
        raise DataError(f"checkpoint {path} is unreadable or truncated ({type(e).__name__}: {e})") from None
    except Exception as e:  # noqa: BLE001 - any reading failure means the same thing to the user
        raise DataError(f"checkpoint {path} is unreadable or truncated ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path} is not an inheritune training checkpoint")
    return ckpt


def load_checkpoint(path: str | os.PathLike, model: nn.Module) -> dict[str, Any]:
    """Load a training checkpoint's weights into `model` (in place) and return the whole checkpoint dict.

    One clear error (ConfigError) for a checkpoint of another architecture; DataError for a missing,
    unreadable or untrusted file (`read_checkpoint`).
    """
    ckpt = read_checkpoint(path)
    problem = _architecture_mismatch(ckpt, model)
    if problem:
        raise ConfigError(f"checkpoint {path} is from another architecture: {problem}")
    unwrap(model).load_state_dict(ckpt["model"])
    return ckpt


def first_non_finite(state: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor of a state dict holding a NaN or an infinity, or None."""
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


__all__ = [
    "save_checkpoint_file",
    "load_checkpoint",
    "read_checkpoint",
    "check_checkpoint_path",
    "first_non_finite",
    "mount_point",
    "no_space_message",
    "CHECKPOINT_FORMAT",
]
