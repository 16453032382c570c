"""Writing `ckpt.pt`: atomically, never poisoned, with one clear line on a full disk.

- `save_checkpoint_file`: torch.save into a temp file beside ckpt.pt (created with the umask's mode, like every
  other file of a run, not mkstemp's 0600), fsync, rename. A killed write leaves only the temp file, which
  the next run removes (`io.remove_orphan_temps`); ckpt.pt is always the previous complete checkpoint.
- A full disk (ENOSPC, or EDQUOT: a quota) while writing becomes one DataError line naming the file system and
  saying that the previous checkpoint is intact, instead of torch's 30-line RuntimeError.
- `first_non_finite`: the trainer refuses to checkpoint weights holding a NaN or an infinity, so "the last
  good checkpoint" it promises after a divergence is always good.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError
from ..io import _atomic_target

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _no_space(exc: BaseException) -> bool:
    """True when `exc` or an exception it was raised from is a full disk (torch wraps the OSError)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


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
        if isinstance(e, Exception) and _no_space(e):
            kept = (
                f"the previous checkpoint (step {previous_step}) is intact"
                if previous_step is not None
                else "no checkpoint was written yet"
            )
            raise DataError(
                f"no space left on {mount_point(path)}, {kept}: free space, then resume ({path})"
            ) from None
        raise


def no_space_message(exc: BaseException, path: str | os.PathLike) -> str | None:
    """One line for a full disk met while writing `path` (metrics.csv, result.json), else None."""
    if not _no_space(exc):
        return None
    return f"no space left on {mount_point(path)} while writing {path}: free space, then resume"


def first_non_finite(state: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor of a state dict holding a NaN or an infinity, or None."""
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


__all__ = ["save_checkpoint_file", "first_non_finite", "mount_point", "no_space_message"]
