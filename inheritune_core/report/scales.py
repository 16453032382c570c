"""Which scales the report shows (issue 21, item 1). Imports no torch.

A results CSV holds the rows of every scale that was run (a run at scale S replaces only S's rows). `smoke` is the
test suite's scale (numbers meaningless): the ledger never gives it a verdict or a column, and a table shows the
rows of the largest other scale present, so a smoke run never replaces the tiny numbers a reader sees. Scales
are ordered as `inheritune_core.config.SCALES` lists them (smallest first); a scale it does not know sorts after.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..config import SCALES

TEST_SCALE = "smoke"


def ordered(scales: Iterable[str]) -> list[str]:
    """The distinct non-blank scales, smallest first (config.SCALES order, unknown ones after, by name)."""
    found = {s for s in scales if s}
    return [s for s in SCALES if s in found] + sorted(found - set(SCALES))


def reportable(scales: Iterable[str]) -> list[str]:
    """The scales a verdict may be given at: every one present but the test scale, smallest first."""
    return [s for s in ordered(scales) if s != TEST_SCALE]


def shown(scales: Iterable[str]) -> str | None:
    """The scale a table shows: the largest reportable one present, else the test scale when it is all there
    is (a table drawn from smoke rows says so in its note), else None (no scale column)."""
    present = ordered(scales)
    candidates = reportable(present)
    if candidates:
        return candidates[-1]
    return present[-1] if present else None


__all__ = ["TEST_SCALE", "ordered", "reportable", "shown"]
