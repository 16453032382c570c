"""Every exception the package raises on purpose, in one place.

Each carries a one-line message that names the problem and the file or setting at fault, so a CLI can print it
as a single `error:` line.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Raised for an impossible or unknown configuration; the message is one line naming the problem."""


class DataError(RuntimeError):
    """Missing, truncated or inconsistent data; the message is one line naming the problem and the file."""


class EvaluationError(ValueError):
    """An unknown task, an unusable local data source or a failed evaluation; the message is one line."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(RuntimeError):
    """SIGTERM/SIGINT stopped a run at a step boundary, after checkpointing it; `signum` says which signal."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


__all__ = ["ConfigError", "DataError", "EvaluationError", "TrainingDiverged", "TrainingInterrupted"]
