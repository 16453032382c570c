"""The GPT-2 experiments as data: each table or figure is a list of declared arms, run by `driver.run_arms`
and priced by `plan.run_plan` from the same declarations (torch-free).

An `Arm` says how its model is built (`build`), from which trained run (`parent`, a role of the same
experiment; the reference by default), its depth (`layers`), its steps (`steps`), whether the reference
teaches it (`teacher`), and how it shows in the rows and curves (role, method, curve label). A new table:
declare its `Experiment` here, add a thin wrapper in `gpt2.py` if a notebook wants a name, write its
notebook source.

Depth expressions (`LAYERS`): "k" the reference's depth, "k/2" half of it, "target" the paper's target
scaled (`setup.target_layers`), "ours" the depth Algorithm 1 actually reached in this experiment (the
target when it grew all the way; the `plan` counts the target), "ours/2" half of that (at least 1), "2*ours/2"
twice that (stacking's doubled model). Step expressions (`STEPS`): "T", "2T", "T_KD" (the distillation
budget), "T_extra" (Figure 1 (c, f)'s extra 10K steps, scaled), see `setup`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..paper import ROLES

# How an arm's model is built. "reference" trains the preset at full depth from a random init; "recipe" is
# Algorithm 1 (recipe.run_inheritune) as one cached run; the rest are method/inheritance.py functions
# applied to the parent's trained model (random ignores it).
BUILDS = (
    "reference",
    "random",
    "recipe",
    "inherit",
    "stack",
    "hybrid_stack",
    "half_width",
    "lazy",
    "distilbert",
)
LAYERS = ("k", "k/2", "target", "ours", "ours/2", "2*ours/2")
STEPS = ("T", "2T", "T_KD", "T_extra")
ROWS = ("all", "final", "none")


@dataclass(frozen=True)
class Arm:
    """One model of an experiment (see the module docstring).

    role: the tidy rows' `role` (and the records' key); method: their `method` (the paper's label).
    label: the run folder's name part (default role); with the steps it also names the arm's data stream,
      so two arms that must read different data need different labels (driver.data_stream).
    rows: "all" (a recipe arm: one row per round), "final" (one row), "none" (a stage that only feeds
      another arm, e.g. stacking's first stage).
    curve_method / curve_offset: the curve's legend (default method) and a step expression its steps are
      shifted by (stacking's second stage is drawn after its first).
    kind: the run spec's kind (default per build; part of the run's identity)."""

    role: str
    method: str
    build: str
    layers: str = "target"
    steps: str = "T"
    parts: str = "all"
    parent: str = "reference"
    teacher: bool = False
    label: str | None = None
    kind: str | None = None
    rows: str = "final"
    curves: bool = True
    curve_method: str | None = None
    curve_offset: str | None = None
    downstream: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"arm role {self.role!r} is not one of paper.ROLES ({', '.join(ROLES)})")
        for value, allowed, what in (
            (self.build, BUILDS, "build"),
            (self.layers, LAYERS, "layers"),
            (self.steps, STEPS, "steps"),
            (self.rows, ROWS, "rows"),
        ):
            if value not in allowed:
                raise ConfigError(f"arm {self.role!r}: unknown {what} {value!r}; choose one of {allowed}")
        if self.curve_offset is not None and self.curve_offset not in STEPS:
            raise ConfigError(f"arm {self.role!r}: unknown curve_offset {self.curve_offset!r}")

    @property
    def run_label(self) -> str:
        return self.label or self.role

    @property
    def run_kind(self) -> str:
        return self.kind or DEFAULT_KINDS[self.build]

    @property
    def starts_from_parent(self) -> bool:
        """Its model starts from a trained run's weights, so its data continues after that run's stream."""
        return self.build not in ("reference", "random")


DEFAULT_KINDS = {
    "reference": "reference",
    "random": "random",
    "recipe": "inheritune",
    "inherit": "inherit-all",
    "stack": "stacking",
    "hybrid_stack": "hybrid_stacking",
    "half_width": "half_width",
    "lazy": "lazy",
    "distilbert": "distilbert_kd",
}


@dataclass(frozen=True)
class Panel:
    """A group of arms with its own rows' `table` and `panel` title; `title` is formatted with preset, k
    (the reference's depth) and n (k/2)."""

    table: str
    title: str
    arms: tuple[Arm, ...]


@dataclass(frozen=True)
class Experiment:
    """A table or figure: its panels of arms, the presets it accepts, its sampler and its reference row.

    reference_row: (table, panel title or None, method) of the reference's row, or None for no row;
    reference_last: the reference's row comes after the arms' rows (Figure 3's teacher row).
    downstream_table: the task list (evaluation.tasks.PAPER_TABLES) of the arms with downstream=True.
    record_key: what prefixes `ExperimentOutput.records` keys: "preset" or "panel"."""

    name: str
    panels: tuple[Panel, ...]
    allowed: tuple[str, ...]
    defaults: tuple[str, ...] = ("gpt2-medium",)
    sampler: str = "random"
    reference_row: tuple[str, str | None, str] | None = None
    reference_curves: bool = False
    reference_downstream: bool = False
    reference_last: bool = False
    downstream_table: str | None = None
    record_key: str = "preset"

    def __post_init__(self) -> None:
        for panel in self.panels:
            roles = [a.role for a in panel.arms]
            if len(set(roles)) != len(roles):
                raise ConfigError(f"{self.name}: a role is declared twice in panel {panel.title!r}")
            for i, arm in enumerate(panel.arms):
                if arm.parent != "reference" and arm.parent not in roles[:i]:
                    raise ConfigError(
                        f"{self.name}/{arm.role}: parent {arm.parent!r} is not declared before it"
                    )

    @property
    def arms(self) -> tuple[Arm, ...]:
        return tuple(a for p in self.panels for a in p.arms)


GPT2_ALL = ("gpt2-medium", "gpt2-large", "gpt2-xlarge", "gpt2-large-dagger")
GPT2_TABLES = ("gpt2-medium", "gpt2-large", "gpt2-xlarge")
RECIPE = Arm("inheritune", "Ours", "recipe", rows="final")

TABLE1 = Experiment(
    "table1",
    (
        Panel(
            "table1",
            "{preset}",
            (
                Arm("inheritune", "Ours", "recipe", rows="all", downstream=True),
                Arm("random", "rand init", "random", layers="ours", downstream=True),
                Arm(
                    "random_2x",
                    "rand init",
                    "random",
                    layers="ours",
                    steps="2T",
                    label="random2x",
                    curve_method="rand init (2x)",
                ),
                # Not in the paper's table: the precondition of its parity claim (issue 18). Where the reference
                # is no better than a random model of half its depth at equal steps, parity is free.
                Arm("random_half", "rand init (k/2)", "random", layers="k/2", label="random-half"),
            ),
        ),
    ),
    GPT2_TABLES,
    reference_row=("table1", None, "rand init"),
    reference_curves=True,
    reference_downstream=True,
    downstream_table="table1",
)

TABLE2 = Experiment(
    "table2",
    (
        Panel(
            "table2",
            "{preset}",
            (
                RECIPE,
                Arm("half_width", "half-width", "half_width", layers="k"),
                Arm(
                    "stacking_stage1",
                    "stacking (stage 1)",
                    "random",
                    layers="ours/2",
                    label="stacking-stage1",
                    rows="none",
                ),
                Arm(
                    "stacking",
                    "stacking",
                    "stack",
                    layers="2*ours/2",
                    parent="stacking_stage1",
                    curve_offset="T",
                ),
                Arm("hybrid_stacking", "hybrid-stacking", "hybrid_stack", layers="ours"),
            ),
        ),
    ),
    GPT2_TABLES,
)

TABLE3_PARTS = {  # role -> (inherit parts, the paper's label)
    "attn_ln": ("attn_ln", "attn (w/ layernorm)"),
    "mlp_ln": ("mlp_ln", "mlp (w/ layernorm)"),
    "attn_mlp_no_ln": ("attn_mlp", "attn+mlp (w/o layernorm)"),
    "inheritune": ("all", "Ours (attn+mlp w/ layernorm)"),
}

TABLE3 = Experiment(
    "table3",
    (
        Panel(
            "table3",
            "{preset}",
            tuple(
                Arm(role, label, "inherit", parts=parts, kind=f"inherit-{parts}", label=f"inherit-{parts}")
                for role, (parts, label) in TABLE3_PARTS.items()
            ),
        ),
    ),
    GPT2_ALL,
)


def _kd_panel(table: str, title: str, layers: str, vanilla: bool) -> Panel:
    kd = Arm("kd", "vanilla KD", "random", layers, "T_KD", teacher=True, kind="kd", label="kd")
    return Panel(
        table,
        title,
        ((kd,) if vanilla else ())
        + (
            Arm("distilbert_kd", "DistilBERT-style KD", "distilbert", layers, "T_KD", teacher=True),
            Arm("random", "scratch", "random", layers, "T_KD", label="kd-scratch"),
            Arm("inheritune", "Ours", "inherit", layers, "T_KD", label="kd-ours"),
        ),
    )


# Figure 3 (target-depth student) and Figure 8 (k/2 student), equal budgets T_KD in a panel; "Ours" is
# ONE round, inherit(reference, n) trained T_KD steps (Section 4.1: "Both baselines are trained for 50K steps").
DISTILLATION = Experiment(
    "figure3",
    (
        _kd_panel("figure3", "16-layer student", "target", vanilla=True),
        _kd_panel("figure8", "12-layer student", "k/2", vanilla=False),
    ),
    GPT2_ALL,
    reference_row=("figure3", "teacher", "teacher"),
    reference_last=True,
    record_key="panel",
)

FINEWEB = Experiment(
    "figure4",
    (
        Panel(
            "table4",
            "{preset}",
            (
                Arm("inheritune", "Ours", "recipe", downstream=True),
                Arm("random", "rand init", "random", layers="ours", downstream=True),
            ),
        ),
    ),
    ("gpt2-medium", "gpt2-large-dagger"),
    defaults=("gpt2-medium", "gpt2-large-dagger"),
    sampler="sequential",
    reference_row=("table4", None, "rand init"),
    reference_curves=True,
    reference_downstream=True,
    downstream_table="table4",
)

FIGURE1 = Experiment(
    "figure1",
    (
        Panel(
            "figure1",
            "{preset}: {n} of {k} layers",
            (
                Arm(
                    "early",
                    "early layers",
                    "inherit",
                    layers="k/2",
                    steps="T_extra",
                    kind="early",
                    label="early",
                ),
                Arm("lazy", "lazy layers", "lazy", layers="k/2", steps="T_extra"),
                Arm("random", "random init", "random", layers="k/2", steps="T_extra", label="figure1-random"),
            ),
        ),
    ),
    GPT2_ALL,
    reference_row=("figure1", "{preset}: {n} of {k} layers", "reference"),
)


def resolve_layers(expr: str, k: int, target: int, ours: int | None) -> int:
    """A depth expression (LAYERS); `ours` None (no recipe run yet, or a plan) means the target."""
    reached = target if ours is None else ours
    return {
        "k": k,
        "k/2": k // 2,
        "target": target,
        "ours": reached,
        "ours/2": max(1, reached // 2),
        "2*ours/2": 2 * max(1, reached // 2),
    }[expr]


def random_identity(arm: Arm, n: int, steps: int) -> tuple[int, int] | None:
    """(depth, steps) of a plain random-init arm (no teacher, the scale's schedule) of resolved depth n and
    steps; None for any other arm. Two arms of one panel and seed with the same identity are one model trained
    the same way (Table 1's random arm at Ours' depth and its random k/2 arm when Ours stopped at k/2): the
    driver trains it once and reports it under both roles, and the plan prices it once."""
    if arm.build != "random" or arm.teacher or arm.steps == "T_extra":
        return None
    return n, steps


EXPERIMENTS = {e.name: e for e in (TABLE1, TABLE2, TABLE3, FIGURE1, DISTILLATION, FINEWEB)}


def get_experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


__all__ = [
    "resolve_layers",
    "random_identity",
    "Arm",
    "Panel",
    "Experiment",
    "EXPERIMENTS",
    "get_experiment",
    "TABLE3_PARTS",
    "BUILDS",
]
