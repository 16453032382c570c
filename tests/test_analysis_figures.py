"""Figures 1, 2 and 9 are drawn from the analysis CSVs alone, deterministically."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from inheritune_core.analysis.degeneration import head_stats, maps_frame
from inheritune_core.io import sha256_file
from inheritune_core.report.figures import (
    LAYER_STATS_COLUMNS,
    MAPS_COLUMNS,
    draw_attention_maps,
    draw_layer_stats,
    draw_rank_comparison,
    read_csv_checked,
    save_figure,
)


@pytest.fixture
def layer_stats_csv(tmp_path):
    g = torch.Generator().manual_seed(0)
    attn = torch.softmax(torch.randn(3, 4, 2, 8, 8, generator=g) * 3, dim=-1)
    frame = pd.concat([head_stats(attn).summary(model="A"), head_stats(attn[:, :2]).summary(model="B")])
    path = tmp_path / "layer_stats.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def maps_csv(tmp_path):
    maps = torch.softmax(torch.randn(2, 1, 6, 6), dim=-1)
    frame = pd.concat(
        [
            maps_frame(maps, [1, 3], [0], kind).assign(model=m)
            for m in ("ref", "ours")
            for kind in ("full", "causal")
        ]
    )
    path = tmp_path / "maps.csv"
    frame.to_csv(path, index=False)
    return path


def test_layer_stat_figures_are_deterministic(layer_stats_csv, tmp_path):
    frame = read_csv_checked(layer_stats_csv, LAYER_STATS_COLUMNS)
    first = save_figure(draw_layer_stats(frame), tmp_path / "a", "figure1")
    second = save_figure(draw_layer_stats(frame), tmp_path / "b", "figure1")
    assert [p.name for p in first] == ["figure1.png", "figure1.pdf"]
    assert [sha256_file(p) for p in first] == [sha256_file(q) for q in second]
    paths = save_figure(draw_rank_comparison(frame), tmp_path / "a", "figure9")
    assert all(p.stat().st_size > 1000 for p in paths)


def test_maps_figure(maps_csv, tmp_path):
    frame = read_csv_checked(maps_csv, MAPS_COLUMNS)
    paths = save_figure(draw_attention_maps(frame, kind="full"), tmp_path, "figure2")
    assert paths[0].stat().st_size > 1000
    with pytest.raises(ValueError, match="no attention maps"):
        draw_attention_maps(frame, kind="sparse")


def test_missing_or_malformed_csv_is_one_clear_error(tmp_path, layer_stats_csv):
    with pytest.raises(FileNotFoundError, match="run its notebook"):
        read_csv_checked(tmp_path / "nope.csv", LAYER_STATS_COLUMNS)
    with pytest.raises(ValueError, match="lacks columns"):
        read_csv_checked(layer_stats_csv, MAPS_COLUMNS)


def test_make_paper_redraws_figures_1_2_9_from_committed_csvs(tmp_path):
    """`make paper` redraws the attention figures from results/ alone, byte-identical to the committed ones."""
    from inheritune_core.paths import PROJECT_DIR
    from inheritune_core.report.figures import render_attention_figures

    results = PROJECT_DIR / "results"
    done = render_attention_figures(results, tmp_path)
    for paths in done.values():
        if paths is None:  # its CSV is not committed
            continue
        for path in paths:
            committed = PROJECT_DIR / "paper" / "figures" / path.name
            # compare digests: a failing == on two PNGs makes pytest diff megabytes byte by byte
            assert sha256_file(path) == sha256_file(committed), f"{path.name} differs from paper/figures"


def test_captions_name_the_pretrained_and_the_toy_models(layer_stats_csv):
    from inheritune_core.report.figures import models_note

    frame = read_csv_checked(layer_stats_csv, LAYER_STATS_COLUMNS)
    assert models_note(frame) == ""  # no `source` column: nothing claimed
    frame["source"] = frame["model"].map({"A": "pretrained", "B": "toy"})
    note = models_note(frame)
    assert note.startswith("Pretrained models: A") and "toy GPT-2s trained here (not pretrained): B" in note


def test_layer_selection_figure_from_its_csv(tmp_path):
    from inheritune_core.report.figures import SELECTION_COLUMNS, render_layer_selection

    rows = [
        {
            "reference": "ref",
            "role": role,
            "method": role,
            "layers": "0 1",
            "n_layers": 2,
            "step": step,
            "val_loss": loss,
        }
        for role, start in (("first", 20.0), ("random", 10.8))
        for step, loss in ((0, start), (10, start / 3), (20, start / 4))
    ]
    out = tmp_path / "results" / "layer_selection"
    out.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(out / "layer_selection.csv", index=False)
    assert set(SELECTION_COLUMNS) <= set(rows[0])
    first = render_layer_selection(tmp_path / "results", tmp_path / "a")
    second = render_layer_selection(tmp_path / "results", tmp_path / "b")
    assert [p.name for p in first] == ["layer_selection.png", "layer_selection.pdf"]
    assert [sha256_file(p) for p in first] == [sha256_file(q) for q in second]
