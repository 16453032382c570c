"""Figures 1, 2 and 9 notebooks execute under papermill at smoke scale and write their CSVs and figures."""

from __future__ import annotations

import pytest

from inheritune_core.paths import PROJECT_DIR
from inheritune_core.report.figures import LAYER_STATS_COLUMNS, MAPS_COLUMNS, read_csv_checked

NOTEBOOKS = PROJECT_DIR / "notebooks"


def run_notebook(name: str, tmp_path, **params):
    papermill = pytest.importorskip("papermill")
    base = {
        "scale": "smoke",
        "progress": False,
        "runs_dir": str(tmp_path / "runs"),
        "results_dir": str(tmp_path / "results"),
        "paper_dir": str(tmp_path / "paper"),
    }
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(tmp_path / f"{name}.out.ipynb"),
        parameters={**base, **params},
        cwd=str(NOTEBOOKS),
        progress_bar=False,
    )
    return tmp_path / "results", tmp_path / "paper" / "figures"


def test_figure9_and_figure2_notebooks(bundled_data_dir, tmp_path):
    results, figures = run_notebook("figure9", tmp_path, n_runs=3)
    stats = read_csv_checked(results / "figure9" / "layer_stats.csv", LAYER_STATS_COLUMNS)
    assert len(set(stats.model)) == 2 and set(stats.stat) == {"max", "min", "mean"}
    assert (figures / "figure9.png").is_file() and (figures / "figure9.pdf").is_file()
    # figure2 reuses the cached reference and Inheritune runs of figure9 (same runs_dir)
    results, figures = run_notebook("figure2", tmp_path)
    maps = read_csv_checked(results / "figure2" / "maps.csv", MAPS_COLUMNS)
    assert set(maps.kind) == {"causal", "full"} and (figures / "figure2.png").is_file()


def test_figure1_notebook(bundled_data_dir, tmp_path):
    results, figures = run_notebook("figure1", tmp_path, n_runs=3, hf_references=[])
    stats = read_csv_checked(results / "figure1" / "layer_stats.csv", LAYER_STATS_COLUMNS)
    assert set(stats.stat) == {"max", "min", "mean"}
    curves = (results / "figure1" / "curves.csv").read_text()
    assert "early" in curves and "lazy" in curves and "random" in curves
    assert (figures / "figure1.png").is_file() and (figures / "figure1_curves.png").is_file()
