"""Which layers to inherit: Inheritune's first n layers against the other ways of picking n of them.

From one pretrained reference (offline: SmolLM2-135M), five n-layer targets, each with the reference's token
embedding, final norm and LM head (`models.llama.select_layers`), except the random one:
- first n: Inheritune (the paper);
- last n: the lazy end of the model (the paper's Figure 1c/f);
- the n of highest block influence (ShortGPT, Men et al. 2024), in their original order;
- all but the contiguous block whose removal changes the last token's representation least (Gromov et al.
  2024: drop l*..l*+k-n-1, l* = argmin_l angular distance(h_l, h_{l+k-n}));
- random initialisation of the same shape.
Block influence and angular distance come from `analysis.layers.collect_layer_evidence` on `evidence_runs`
validation windows. Each target is trained for the same budget with the project's one trainer; the trainer's
step-0 evaluation is the zero-shot validation loss, on the same fixed windows as every later evaluation.
Every run is cached (`experiments.runs.run_or_load`): rerunning reads the finished runs back.

Scales: the low-data experiment's (`experiments.lowdata.LOWDATA_SCALES`), so both train alike: `smoke` (the
test suite: 2 steps), `tiny` (2-core CPU: SmolLM2-135M cut to k/2 = 15 of its 30 layers; 100 steps of 4 x 64
tokens, `SELECTION_STEPS`, evaluations on 4 x 4 x 64 fixed validation tokens every 10 steps; a 15-layer
SmolLM2 target trains at 30-150 tokens/s on 2 shared cores, so the five targets take 25-40 minutes),
`small` (one GPU: 1000 steps of 16 x 1024 tokens each), `paper` (Appendix C.2's budget and OpenLLaMA-3B,
n = 13, per target).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError

METHODS = ("first", "last", "shortgpt", "gromov", "random")
METHOD_NAMES = {
    "first": "first n (Inheritune)",
    "last": "last n (lazy end)",
    "shortgpt": "top-n block influence (ShortGPT)",
    "gromov": "angular-distance block removal (Gromov et al.)",
    "random": "random init",
}


# Windows (count, tokens) for block influence and angular distance, per scale; the training budgets are the
# low-data scales' (experiments.lowdata.LOWDATA_SCALES), so the two experiments train alike.
EVIDENCE_WINDOWS: dict[str, tuple[int, int]] = {"smoke": (4, 16)}
DEFAULT_EVIDENCE_WINDOWS = (20, 100)
# Steps per target where they differ from the low-data scale's: at `tiny` that scale's 30 steps end (cosine
# schedule and all) while the first-n target is still recovering from its 21-nat zero-shot start, so the
# comparison trains 100 (25-40 minutes for the five targets on 2 shared cores; the committed run took 38).
SELECTION_STEPS: dict[str, int] = {"tiny": 100}


def select(method: str, n_layers: int, n_keep: int, evidence=None) -> list[int] | None:
    """The reference layers a method keeps (None for random init)."""
    from ..analysis.layers import angular_block_layers, first_layers, last_layers, top_influence_layers

    if method == "first":
        return first_layers(n_layers, n_keep)
    if method == "last":
        return last_layers(n_layers, n_keep)
    if method == "shortgpt":
        return top_influence_layers(evidence.influence.mean(0), n_keep)
    if method == "gromov":
        return angular_block_layers(evidence.mean_angular(), n_keep)
    if method == "random":
        return None
    raise ConfigError(f"unknown layer-selection method {method!r}; choose from {', '.join(METHODS)}")


def _random_like(reference, n_keep: int, seed: int):
    """A model of the reference's class and config cut to n_keep layers, freshly initialised."""
    import copy

    import torch

    config = copy.deepcopy(reference.config)
    config.num_hidden_layers = n_keep
    if isinstance(getattr(config, "layer_types", None), list | tuple):
        config.layer_types = list(config.layer_types[:n_keep])
    torch.manual_seed(seed)
    return type(reference)(config).to(next(reference.parameters()).dtype)


def layer_selection(
    reference: str | None = None,
    scale: str = "tiny",
    *,
    n_layers: int | None = None,
    methods: tuple[str, ...] = METHODS,
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    corpus_dir: str | os.PathLike | None = None,
    data: Any = None,
    progress: bool = True,
    **train_overrides: Any,
) -> pd.DataFrame:
    """Train one n-layer target per method for the same budget -> tidy rows (one per method and evaluation):
    reference, role (the method's key), method, layers (the kept indices, or "random"), n_layers,
    reference_layers, step, tokens, val_loss, scale, seed, run_hash. Step 0 is the zero-shot loss.

    The budget, depth and reference are the low-data scale's (`lowdata.LOWDATA_SCALES[scale]`: at `tiny`
    SmolLM2-135M, n = 15, steps of 4 x 64 tokens; `SELECTION_STEPS` steps where given), overridden by `reference`, `n_layers` and TrainConfig
    fields in `train_overrides` (e.g. max_steps=100). The reference's own tokenizer reads the scale's corpus
    (the low-data runs' corpus); `data` passes an already prepared one.
    """
    from ..analysis.attention import reference_windows
    from ..analysis.layers import collect_layer_evidence
    from ..models.llama import load_pretrained_reference, select_layers
    from ..training.trainer import NON_IDENTIFYING_TRAIN_FIELDS, train
    from .lowdata import get_lowdata_scale, lowdata_train_config, prepare_lowdata_corpus
    from .runs import RunSpec, data_fingerprint, run_or_load

    s = get_lowdata_scale(scale, reference=reference)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ConfigError(f"methods must be a non-empty subset of {', '.join(METHODS)}; got {list(methods)}")
    ref_model, tokenizer = load_pretrained_reference(s.reference)
    k = ref_model.config.num_hidden_layers
    n_keep = n_layers if n_layers is not None else min(s.n_layers, k // 2)
    if isinstance(n_keep, bool) or not isinstance(n_keep, int) or not 1 <= n_keep < k:
        raise ConfigError(f"n_layers must be in 1..{k - 1} for {s.reference} ({k} layers), got {n_keep!r}")
    if data is None:
        data = prepare_lowdata_corpus(tokenizer, s.reference, s, out_dir=corpus_dir, progress=progress)
    evidence = None
    if {"shortgpt", "gromov"} & set(methods):
        count, tokens = EVIDENCE_WINDOWS.get(s.name, DEFAULT_EVIDENCE_WINDOWS)
        windows = reference_windows(data, tokenizer, count, tokens, seed=seed)
        evidence = collect_layer_evidence(ref_model, windows, attention=False, loss_windows=0)
    if s.name in SELECTION_STEPS and train_overrides.get("max_steps") is None:
        train_overrides["max_steps"] = SELECTION_STEPS[s.name]
    cfg = lowdata_train_config(s, "<run_dir>", seed=seed, **train_overrides).to_dict()
    for key in NON_IDENTIFYING_TRAIN_FIELDS:
        cfg.pop(key, None)
    name = Path(str(s.reference)).name
    rows = []
    for method in methods:
        kept = select(method, k, n_keep, evidence)
        spec = RunSpec(
            name=f"select-{name}-{method}-n{n_keep}-{s.name}",
            kind="layer_selection",
            preset=str(s.reference),
            scale=s.name,
            n_layer=n_keep,
            seed=seed,
            data=data_fingerprint(data),
            model_config={"reference": str(s.reference), "n_layers": n_keep},
            train_config=cfg,
            init={"method": method, "layers": kept},
        )

        def build_and_train(run_dir: Path, kept=kept):
            target = _random_like(ref_model, n_keep, seed) if kept is None else select_layers(ref_model, kept)
            target.config.use_cache = False  # training: no KV cache objects per forward
            run_cfg = lowdata_train_config(
                s, run_dir, device=device, progress=progress, seed=seed, **train_overrides
            )
            return train(target, data, run_cfg, resume=True)

        record = run_or_load(spec, build_and_train, runs_dir)
        for m in record.metrics():
            if m.get("val_loss") is None:
                continue
            rows.append(
                {
                    "reference": str(s.reference),
                    "role": method,
                    "method": METHOD_NAMES[method],
                    "layers": " ".join(map(str, kept)) if kept is not None else "random",
                    "n_layers": n_keep,
                    "reference_layers": k,
                    "step": int(m["step"]),
                    "tokens": int(m["tokens"]),
                    "val_loss": float(m["val_loss"]),
                    "scale": s.name,
                    "seed": seed,
                    "run_hash": record.hash,
                }
            )
    return pd.DataFrame(rows)


LAZY_VS_EARLY_SEEDS = (1337, 1338, 1339)


def lazy_versus_early(
    lazy_layers: list[int] | tuple[int, ...],
    reference: str | None = None,
    scale: str = "smoke",
    *,
    seeds: tuple[int, ...] = LAZY_VS_EARLY_SEEDS,
    device: str = "cpu",
    runs_dir: str | os.PathLike | None = None,
    corpus_dir: str | os.PathLike | None = None,
    data: Any = None,
    progress: bool = True,
    **train_overrides: Any,
) -> pd.DataFrame:
    """Figure 1 (c, f) on a pretrained reference whose analysis finds lazy layers (SmolLM2-135M: layer 23 under
    the relaxed rule, results/figure1/lazy_layers.csv): a model of n = len(lazy_layers) layers initialised
    from those layers ("lazy") against one from the first n ("early"), the same budget, once per seed.

    The budget is `layer_selection`'s (the low-data scale's, `SELECTION_STEPS` where given). Data: each seed
    draws its own random windows (a data seed derived from the seed, streams.derive_data_seed), the same
    for both arms of that seed, so each seed is a paired comparison. Rows as `layer_selection`'s (role
    "lazy" / "early"). Heavy at `tiny` and above (one SmolLM2 target per arm and seed): the test suite runs
    it at `smoke` on a toy reference."""
    from ..models.llama import load_pretrained_reference, select_layers
    from ..training.trainer import NON_IDENTIFYING_TRAIN_FIELDS, train
    from .lowdata import get_lowdata_scale, lowdata_train_config, prepare_lowdata_corpus
    from .runs import RunSpec, data_fingerprint, run_or_load
    from .streams import derive_data_seed

    s = get_lowdata_scale(scale, reference=reference)
    ref_model, tokenizer = load_pretrained_reference(s.reference)
    k = ref_model.config.num_hidden_layers
    lazy = sorted({int(layer) for layer in lazy_layers})
    if not lazy or any(not 0 <= layer < k for layer in lazy) or len(lazy) >= k:
        raise ConfigError(
            f"lazy_layers must be 1..{k - 1} distinct layers of {s.reference} ({k} layers), got {list(lazy_layers)!r}"
        )
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be distinct and non-empty, got {seeds!r}")
    if data is None:
        data = prepare_lowdata_corpus(tokenizer, s.reference, s, out_dir=corpus_dir, progress=progress)
    if s.name in SELECTION_STEPS and train_overrides.get("max_steps") is None:
        train_overrides["max_steps"] = SELECTION_STEPS[s.name]
    n = len(lazy)
    name = Path(str(s.reference)).name
    rows = []
    for seed in seeds:
        overrides = {**train_overrides, "sampler": "random", "seed": derive_data_seed(seed, "lazy_vs_early")}
        cfg = lowdata_train_config(s, "<run_dir>", **overrides).to_dict()
        for key in NON_IDENTIFYING_TRAIN_FIELDS:
            cfg.pop(key, None)
        for role, kept in (("lazy", lazy), ("early", list(range(n)))):
            spec = RunSpec(
                name=f"lazy-vs-early-{name}-{role}-n{n}-{s.name}",
                kind="lazy_vs_early",
                preset=str(s.reference),
                scale=s.name,
                n_layer=n,
                seed=seed,
                data=data_fingerprint(data),
                model_config={"reference": str(s.reference), "n_layers": n},
                train_config=cfg,
                init={"method": role, "layers": kept},
            )

            def build_and_train(run_dir: Path, kept=kept, overrides=overrides):
                target = select_layers(ref_model, kept)
                target.config.use_cache = False
                run_cfg = lowdata_train_config(s, run_dir, device=device, progress=progress, **overrides)
                return train(target, data, run_cfg, resume=True)

            record = run_or_load(spec, build_and_train, runs_dir)
            label = f"{role} layers ({' '.join(map(str, kept))})"
            for m in record.metrics():
                if m.get("val_loss") is not None:
                    rows.append(
                        {
                            "reference": str(s.reference),
                            "role": role,
                            "method": label,
                            "layers": " ".join(map(str, kept)),
                            "n_layers": n,
                            "reference_layers": k,
                            "step": int(m["step"]),
                            "tokens": int(m["tokens"]),
                            "val_loss": float(m["val_loss"]),
                            "scale": s.name,
                            "seed": seed,
                            "run_hash": record.hash,
                        }
                    )
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per method: the kept layers, the zero-shot val loss (step 0) and the loss after training."""
    out = []
    for method, rows in frame.groupby("method", sort=False):
        rows = rows.sort_values("step")
        out.append(
            {
                "method": method,
                "layers": rows["layers"].iloc[0],
                "zero-shot val loss": round(float(rows["val_loss"].iloc[0]), 3),
                f"val loss after {int(rows['step'].iloc[-1])} steps": round(
                    float(rows["val_loss"].iloc[-1]), 3
                ),
            }
        )
    return pd.DataFrame(out)


def table_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The tidy table rows of the claims ledger (results/layer_selection/table.csv): per method, the zero-shot
    and the final validation loss, in the format of the paper tables (table, model, role, method, layers,
    steps, metric, value, scale, seed, run_hash)."""
    rows = []
    for role, runs in frame.groupby("role", sort=False):
        runs = runs.sort_values("step")
        for metric, row in (("zero_shot_val_loss", runs.iloc[0]), ("val_loss", runs.iloc[-1])):
            rows.append(
                {
                    "table": "layer_selection",
                    "model": row["reference"],
                    "role": role,
                    "method": row["method"],
                    "layers": int(row["n_layers"]),
                    "steps": int(runs["step"].iloc[-1]),
                    "metric": metric,
                    "value": float(row["val_loss"]),
                    "scale": row["scale"],
                    "seed": int(row["seed"]),
                    "run_hash": row["run_hash"],
                }
            )
    return rows


__all__ = [
    "METHODS",
    "METHOD_NAMES",
    "EVIDENCE_WINDOWS",
    "SELECTION_STEPS",
    "layer_selection",
    "lazy_versus_early",
    "LAZY_VS_EARLY_SEEDS",
    "select",
    "summary",
    "table_rows",
]
