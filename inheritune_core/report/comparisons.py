"""A claim of the paper as the ledger judges it: its comparisons ("role A is better than role B"), the claim
and result types (`Comparison`, `Claim`, `ScaleResult`, `Evidence`), the reading of results CSVs after the
checks of report/checks.py, the preconditions (depth matters; a reference with lazy layers), and
`evaluate_comparisons`, which turns a claim's rows into one verdict per scale by the rules of
report/verdicts.py. The claims themselves are listed in report/claims.py. Imports no torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..paper import INHERITUNE, RANDOM_HALF
from . import checks
from .scales import reportable
from .verdicts import NOT_TESTABLE, _mean, _std, combine, compare, difference


# ------------------------------------------------------------------------------------------ CSVs
def read_rows(path: str | os.PathLike, fmt: checks.CsvFormat = checks.TABLE) -> list[dict[str, str]]:
    """A results CSV as a list of dicts of strings after the checks of report/checks.py (`fmt`: a tidy table
    by default); [] when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return []
    return checks.read_checked(path, fmt)


_float = checks.number


def _scales(rows: Iterable[dict[str, str]]) -> list[str]:
    """The scales with rows, smallest first; never the test scale `smoke` (report/scales.py)."""
    return reportable(r.get("scale", "") for r in rows)


def _fmt(values: Sequence[float], se: float | None, digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}" + (f" (se {se:.{digits}f})" if se is not None else "")
    return f"{_mean(values):.{digits}f} ± {_std(values):.{digits}f} ({len(values)} seeds)"


# ------------------------------------------------------------------------------------------ claims
DEPTH = "depth"  # precondition: the reference beats a half-depth random model at equal steps (by > 2 sigma)
LAZY = "lazy"  # precondition: a reference at this scale has lazy layers (strict rule)
DEPTH_LABEL = "precondition (depth matters here)"


@dataclass(frozen=True)
class Comparison:
    """'role `a` is better than role `b`' on `metric` (within one model and, if given, one panel), testable
    where its `precondition` (DEPTH, LAZY or None) holds at that scale."""

    a: str
    b: str
    label: str
    metric: str = "val_loss"
    lower_is_better: bool = True
    panel: str | None = None
    precondition: str | None = None


@dataclass(frozen=True)
class PaperNumbers:
    """Which of the paper's numbers a claim prints: rows of results/paper_reported/<table>.csv."""

    table: str
    roles: tuple[str, ...]
    metric: str = "val_loss"


@dataclass(frozen=True)
class ScaleResult:
    scale: str
    lines: list[str]
    verdict: str


@dataclass(frozen=True)
class Evidence:
    """What a claim's rows are judged with besides its own CSV: the rows holding the reference and the random
    arms of the DEPTH precondition (None: the claim's own rows), the references with strictly lazy layers per
    scale (LAZY), and the paper's rows whose depth and steps are printed beside ours."""

    depth_rows: list[dict[str, str]] | None = None
    lazy: dict[str, list[str]] = field(default_factory=dict)
    paper_rows: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Claim:
    key: str
    text: str  # the claim, in the paper's words where it has them
    where: str  # section / table / figure of the paper
    results: str  # our CSV, relative to results/
    notebook: str  # the make target that produces it
    comparisons: tuple[Comparison, ...] = ()
    paper: tuple[PaperNumbers, ...] = ()
    paper_note: str = ""  # for claims the paper makes without printing numbers
    plan: str | None = None  # results/<name>/plan.csv, the cost of the next scale (None: not GPT-2 runs)
    custom: Callable[[Path], list[ScaleResult]] | None = field(default=None, compare=False)
    optional: bool = False  # listed only when its results exist (issue 12's layer selection)
    growth: bool = False  # also say how many rounds Algorithm 1 ran per seed (`growth_line`)


def _side(rows: list[dict[str, str]], model: str, role: str, c: Comparison) -> list[dict[str, str]]:
    """The rows (one per seed) of one role of a comparison."""
    return [
        r
        for r in rows
        if r["model"] == model
        and r["role"] == role
        and r["metric"] == c.metric
        and (c.panel is None or r.get("panel") == c.panel)
        and _float(r["value"]) is not None
    ]


def _steps(value: str | None) -> str:
    """100000 -> 100K (the paper's notation); small step counts print as they are; blank -> ?."""
    x = _float(value)
    if x is None:
        return "?"
    n = int(x)
    return f"{n // 1000}K" if n >= 1000 and n % 1000 == 0 else str(n)


def _shape(rows: Sequence[dict[str, str]]) -> str:
    """Depth and steps of a side, "4L/200" (several: joined by "|")."""
    found = dict.fromkeys(f"{r.get('layers') or '?'}L/{_steps(r.get('steps'))}" for r in rows)
    return "|".join(found) or "?"


def _values(rows: Sequence[dict[str, str]]) -> tuple[list[float], float | None]:
    """The values of a side (one per seed) and, for a single run, its standard error."""
    return [float(r["value"]) for r in rows], (_float(rows[0].get("se")) if len(rows) == 1 else None)


def _shared_note(a: Sequence, b: Sequence, b_role: str) -> str:
    """Says so when one side is a single run shared by every seed of the other (its sigma is then its se)."""
    if len(b) == 1 and len(a) >= 2:
        return (
            f"; the {b_role} is one run shared by all seeds (its σ: the validation set's se, no seed spread)"
        )
    return ""


def _val_loss(rows: list[dict[str, str]], model: str, role_ok: Callable[[str], bool]) -> list[dict[str, str]]:
    return [
        r
        for r in rows
        if r["model"] == model
        and role_ok(r["role"])
        and r["metric"] == "val_loss"
        and _float(r["value"]) is not None
    ]


def depth_precondition(rows: list[dict[str, str]], model: str) -> tuple[bool, str]:
    """Whether depth matters for `model` in `rows` (one scale): the reference (k layers) beats the random-init
    arm trained its steps with the depth closest to k/2 (fewer layers than k; a deeper one is the stricter test)
    by more than 2 sigma. Returns (met, the line that says so)."""
    ref = _val_loss(rows, model, lambda role: role == "reference")
    if not ref:
        return False, f"{DEPTH_LABEL}: {model}: not testable: no reference arm at this scale"
    if _float(ref[0]["layers"]) is None:
        return False, f"{DEPTH_LABEL}: {model}: not testable: the reference's depth is not recorded"
    k = int(float(ref[0]["layers"]))
    steps = _float(ref[0]["steps"])
    random = [
        r
        for r in _val_loss(rows, model, lambda role: role.startswith("random"))
        if _float(r["steps"]) == steps and _float(r["layers"]) is not None and float(r["layers"]) < k
    ]
    if not random:
        return False, (
            f"{DEPTH_LABEL}: {model}: not testable: no half-depth random arm at this scale (needed: the reference "
            f"{k}L beating a random {k // 2}L model at {_steps(ref[0]['steps'])} steps by more than 2σ)"
        )
    depths = sorted({float(r["layers"]) for r in random}, key=lambda n: (abs(n - k / 2), -n))
    n = depths[0]
    arm = [r for r in random if float(r["layers"]) == n]
    # Table 1 declares this arm (random_half); when Ours also ends at k/2, its random arm is a second sample of
    # the same model, and the declared one is taken so the line names one arm.
    arm = [r for r in arm if r["role"] == RANDOM_HALF] or arm
    if n == k / 2:
        which = "half depth"
    elif n > k / 2:
        which = f"deeper than half ({k / 2:g}L): a stricter test"
    else:
        which = f"shallower than half ({k / 2:g}L): a weaker test"
    (rv, rse), (av, ase) = _values(ref), _values(arm)
    d, sigma = difference(rv, av, rse, ase)
    met = sigma > 0 and d < -2 * sigma
    line = (
        f"{DEPTH_LABEL}: {model} reference {_shape(ref)} vs random {_shape(arm)} "
        f"({arm[0]['role']}, {which}): {_fmt(rv, rse, 3)} vs {_fmt(av, ase, 3)} "
        f"(d = {d:+.3g}, 2σ = {2 * sigma:.3g}{_shared_note(av, rv, 'reference')}): "
        + ("met" if met else "not met, so its comparisons are not testable at this scale")
    )
    return met, line


def growth_line(rows: list[dict[str, str]], model: str) -> str | None:
    """How far Algorithm 1 grew for `model` in `rows` (one scale): its rounds and final depth per seed, from
    the rows of its rounds (`inheritune_round<i>` before the final `inheritune`); None without them."""
    mine = [
        r
        for r in rows
        if r["model"] == model
        and r["metric"] == "val_loss"
        and (r["role"] == INHERITUNE or r["role"].startswith(f"{INHERITUNE}_round"))
    ]
    finals = [r for r in mine if r["role"] == INHERITUNE and _float(r["layers"]) is not None]
    if not finals:
        return None
    seeds = [r.get("seed", "") for r in finals]
    rounds = [sum(1 for r in mine if r.get("seed", "") == seed) for seed in seeds]
    depths = [int(float(r["layers"])) for r in finals]
    ref = [
        r
        for r in rows
        if r["model"] == model
        and r["role"] == "reference"
        and r["metric"] == "val_loss"
        and _float(r["layers"]) is not None
    ]
    start = f" from k/2 = {int(float(ref[0]['layers'])) // 2}L" if ref else ""
    head = f"Algorithm 1 ({model}{start}): rounds per seed {rounds}, final depth {sorted(set(depths))}L"
    by_seed = {r.get("seed", ""): _float(r["value"]) for r in ref}
    shared = _float(ref[0]["value"]) if ref else None
    reached = all(
        _float(f["value"]) is not None
        and by_seed.get(f.get("seed", ""), shared) is not None
        and _float(f["value"]) <= by_seed.get(f.get("seed", ""), shared)
        for f in finals
    )
    if max(rounds) == 1 and not reached:  # one round because k/2 was already the target depth
        return f"{head}: one round in every seed, at the target depth, without reaching the reference"
    if max(rounds) == 1:
        return (
            f"{head}: parity in round 1 in every seed, so growth did not run at this scale (round 1's model is "
            "the reference's first k/2 trained layers trained T more steps, and that alone reached the reference)"
        )
    grew = sum(1 for n in rounds if n > 1)
    return f"{head}: grew in {grew} of {len(rounds)} seeds"


def _paper_shape(paper_rows: list[dict[str, str]], model: str, role: str) -> str | None:
    hit = [r for r in paper_rows if r["model"] == model and r["role"] == role]
    return _shape(hit[:1]) if hit else None


def evaluate_comparisons(
    claim: Claim, rows: list[dict[str, str]], evidence: Evidence | None = None
) -> list[ScaleResult]:
    """Per scale with results (never smoke): the preconditions, one line per model and comparison (ours and the
    paper's depth and steps beside each), and the combined verdict."""
    evidence = evidence or Evidence()
    out = []
    for scale in _scales(rows):
        lines, verdicts = [], []
        at_scale = [r for r in rows if r.get("scale") == scale]
        source = rows if evidence.depth_rows is None else evidence.depth_rows
        depth_rows = [r for r in source if r.get("scale") == scale]
        met: dict[tuple[str, str], bool] = {}
        for model in dict.fromkeys(r["model"] for r in at_scale):
            for c in claim.comparisons:
                a, b = (_side(at_scale, model, role, c) for role in (c.a, c.b))
                if not a or not b:
                    continue
                if c.precondition and (model, c.precondition) not in met:
                    ok, line = _precondition(c.precondition, depth_rows, model, evidence.lazy.get(scale))
                    met[(model, c.precondition)] = ok
                    lines.append(line)
                (av, a_se), (bv, b_se) = _values(a), _values(b)
                v = compare(av, bv, lower_is_better=c.lower_is_better, a_se=a_se, b_se=b_se)
                testable = met.get((model, c.precondition), True) if c.precondition else True
                verdicts.append(v.verdict if testable else NOT_TESTABLE)
                digits = 3 if c.metric.endswith("loss") else 2
                shapes = f"ours {_shape(a)} vs {_shape(b)} steps"
                pa, pb = (_paper_shape(evidence.paper_rows, model, role) for role in (c.a, c.b))
                if pa and pb:
                    shapes += f", paper {pa} vs {pb}"
                lines.append(
                    f"{model} {c.label}: {_fmt(av, a_se, digits)} vs {_fmt(bv, b_se, digits)} "
                    f"({v.reason}{_shared_note(av, bv, c.b)}): {v.verdict}"
                    + ("" if testable else f" (not counted: {NOT_TESTABLE})")
                    + f" [{shapes}]"
                )
            growth = growth_line(at_scale, model) if claim.growth else None
            if growth:
                lines.append(growth)
        if lines:
            out.append(ScaleResult(scale, lines, combine(verdicts)))
    return out


def _precondition(
    kind: str, rows: list[dict[str, str]], model: str, lazy: list[str] | None
) -> tuple[bool, str]:
    if kind == DEPTH:
        return depth_precondition(rows, model)
    if lazy:
        return True, f"precondition (a reference with lazy layers at this scale): met ({'; '.join(lazy)})"
    return False, (
        "precondition (a reference with lazy layers at this scale): not met: no reference trained at this scale "
        "has a strictly lazy layer, so the 'lazy' arm is its last n layers; early vs lazy is not testable here"
    )
