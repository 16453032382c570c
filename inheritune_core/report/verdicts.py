"""The verdict rules of the claims ledger: the verdict strings, the difference of two sides and its sigma, one
comparison's verdict (`compare`) and a claim's verdict from its comparisons' (`combine`). The rules themselves
are stated once, in the docstring of report/claims.py, which paper/REPRODUCTION.md prints as its legend;
report/comparisons.py and report/evidence.py apply them to results CSVs. Imports no torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HOLDS = "holds"
NOT_RESOLVED = "not resolved at this scale"
CONTRADICTED = "contradicted"
LEANS_FOR = "leans for (one seed)"
LEANS_AGAINST = "leans against (one seed)"
NOT_TESTABLE = "not testable at this scale"
# A one-seed comparison leans one way when its difference exceeds this many standard errors.
LEANS_SE = 4


# ------------------------------------------------------------------------------------------ verdicts
@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _std(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def difference(
    a: Sequence[float], b: Sequence[float], a_se: float | None = None, b_se: float | None = None
) -> tuple[float, float]:
    """d = mean(a) - mean(b) and its sigma: the seed-to-seed std of a side with two or more values, else its
    standard error (0 when none was recorded)."""
    if not a or not b:
        raise ValueError("a comparison needs at least one value on each side")
    s_a = _std(a) if len(a) >= 2 else (a_se or 0.0)
    s_b = _std(b) if len(b) >= 2 else (b_se or 0.0)
    return _mean(a) - _mean(b), math.sqrt(s_a**2 + s_b**2)


def compare(
    a: Sequence[float],
    b: Sequence[float],
    *,
    lower_is_better: bool = True,
    a_se: float | None = None,
    b_se: float | None = None,
) -> Verdict:
    """The verdict of "A is better than B" from the values of each side (one per seed); see the module
    docstring of report/claims.py. a_se / b_se: the standard error of a single-run side (used only when it
    has one value)."""
    d, sigma = difference(a, b, a_se, b_se)
    better = d < 0 if lower_is_better else d > 0
    if len(a) < 2 and len(b) < 2:
        if sigma == 0:
            return Verdict(NOT_RESOLVED, "one seed, no standard error recorded")
        reason = f"one seed; d = {d:+.3g}, {LEANS_SE} se = {LEANS_SE * sigma:.3g}"
        if abs(d) <= LEANS_SE * sigma:
            return Verdict(NOT_RESOLVED, reason)
        return Verdict(LEANS_FOR if better else LEANS_AGAINST, reason)
    reason = f"d = {d:+.3g}, 2σ = {2 * sigma:.3g}"
    if abs(d) <= 2 * sigma:
        return Verdict(NOT_RESOLVED, reason)
    return Verdict(HOLDS if better else CONTRADICTED, reason)


def combine(verdicts: Iterable[str]) -> str:
    """One verdict for a claim from its comparisons' verdicts (in the order the docstring of report/claims.py
    gives)."""
    verdicts = list(verdicts)
    if CONTRADICTED in verdicts:
        return CONTRADICTED
    if NOT_TESTABLE in verdicts:
        return NOT_TESTABLE
    if LEANS_AGAINST in verdicts:
        return LEANS_AGAINST
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    if verdicts and all(v in (HOLDS, LEANS_FOR) for v in verdicts):
        return LEANS_FOR
    return NOT_RESOLVED
