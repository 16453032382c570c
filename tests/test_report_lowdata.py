"""Appendix B's figures 10, 11, 13 and tables 8, 9 are drawn from CSVs alone: written, byte-identical when
re-rendered, the paper's numbers beside ours, and no torch imported."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from inheritune_core.io import write_csv
from inheritune_core.paths import PROJECT_DIR
from inheritune_core.report import lowdata as report_lowdata

EXPECTED = [
    "figures/figure10.png",
    "figures/figure10.pdf",
    "figures/figure11.png",
    "figures/figure11.pdf",
    "figures/figure13.png",
    "figures/figure13.pdf",
    "tables/table8.md",
    "tables/table8.tex",
    "tables/table9.md",
    "tables/table9.tex",
]


def _row(table, model, role, method, layers, metric, value, **extra):
    return {
        "table": table,
        "model": model,
        "role": role,
        "method": method,
        "layers": layers,
        "steps": 4,
        "metric": metric,
        "value": value,
        "scale": "smoke",
        "seed": 1337,
        "run_hash": "abc",
        **extra,
    }


def _write_results(results):
    """Small hand-made CSVs in the notebook's formats (values chosen by hand, not by a model)."""
    out = results / "table5_lowdata"
    table5 = [
        _row("table5", "SmolLM2-135M (reference)", "reference", "n/a", 30, "val_loss", 3.1),
        _row("table5", "SmolLM2-135M (reference)", "reference", "n/a", 30, "piqa_acc", 62.5),
        _row("table5", "Ours-15L (SmolLM2-135M)", "inheritune", "SmolLM2-135M", 15, "val_loss", 4.2),
        _row("table5", "Ours-15L (SmolLM2-135M)", "inheritune", "SmolLM2-135M", 15, "piqa_acc", 55.0),
    ]
    write_csv(table5, out / "table5.csv")
    sweep = table5 + [
        _row("table5", "Ours-8L (SmolLM2-135M)", "inheritune", "SmolLM2-135M", 8, "val_loss", 5.0),
        _row("table5", "Ours-8L (SmolLM2-135M)", "inheritune", "SmolLM2-135M", 8, "piqa_acc", 51.0),
    ]
    write_csv(sweep, out / "figure11.csv")
    fig13 = []
    for epochs, data, model, role, loss, acc in (
        (1, "repeated", "Ours-15L (S, 128)", "epochs_1", 4.5, 52.0),
        (2, "repeated", "Ours-15L (S, 128)", "epochs_2", 4.3, 53.0),
        (2, "fresh", "Ours-15L (S, 256)", "fresh_256", 4.1, 54.0),
    ):
        extra = dict(epochs=epochs, data=data, tokens_seen=128 * epochs, budget_tokens=128)
        method = f"{epochs} epochs" if data == "repeated" else "256 fresh"
        fig13 += [
            _row("figure13", model, role, method, 15, "val_loss", loss, **extra),
            _row("figure13", model, role, method, 15, "piqa_acc", acc, **extra),
        ]
    write_csv(fig13, out / "figure13.csv")
    write_csv([{**r, "table": "table9"} for r in fig13 if r["epochs"] == 2], out / "table9.csv")
    write_csv(
        [{**r, "table": "table8", "role": "inheritune_smollm2-135m_n15"} for r in table5[2:]],
        out / "table8.csv",
    )


def test_renders_every_file_and_rerenders_byte_identical(tmp_path):
    results, paper = tmp_path / "results", tmp_path / "paper"
    _write_results(results)
    written = report_lowdata.render_lowdata_all(results, paper)
    assert sorted(p.relative_to(paper).as_posix() for p in written) == sorted(EXPECTED)
    first = {p: p.read_bytes() for p in written}
    assert all(len(b) > 500 for b in first.values())
    assert first[paper / "figures" / "figure10.png"].startswith(b"\x89PNG")
    assert b"CreationDate" not in first[paper / "figures" / "figure13.pdf"]
    again = report_lowdata.render_lowdata_all(results, paper)
    assert again == written and all(p.read_bytes() == first[p] for p in again)


def test_tables_put_ours_beside_the_papers(tmp_path):
    results, paper = tmp_path / "results", tmp_path / "paper"
    _write_results(results)
    report_lowdata.render_table9(results, paper)
    report_lowdata.render_table8(results, paper)
    t9 = (paper / "tables" / "table9.md").read_text()
    assert "MMLU (5-shot) (paper)" in t9 and "24.95" in t9 and "23.62" in t9  # the paper's Table 9
    assert "| Ours-15L (S, 256) | 256 fresh |" in t9 and "54.00" in t9  # ours
    t8 = (paper / "tables" / "table8.md").read_text()
    assert "26.72" in t8 and "Ours-15L (SmolLM2-135M)" in t8 and "4.200" in t8


def test_a_changed_number_changes_the_figure(tmp_path):
    results, paper = tmp_path / "results", tmp_path / "paper"
    _write_results(results)
    before = report_lowdata.render_figure13(results, paper)[0].read_bytes()
    csv = results / "table5_lowdata" / "figure13.csv"
    df = pd.read_csv(csv)
    df.loc[df["metric"] == "val_loss", "value"] += 0.5
    df.to_csv(csv, index=False)
    assert report_lowdata.render_figure13(results, paper)[0].read_bytes() != before


def test_missing_csvs_are_skipped_with_a_note(tmp_path, capsys):
    assert report_lowdata.render_lowdata_all(tmp_path / "results", tmp_path / "paper") == []
    assert "figure13: skipped" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown low-data"):
        report_lowdata.render_lowdata_all(tmp_path, tmp_path, names=["figure99"])


def test_figure13_csv_without_epochs_is_one_clear_error(tmp_path):
    results = tmp_path / "results"
    write_csv(
        [_row("figure13", "m", "epochs_1", "1 epochs", 2, "val_loss", 1.0)],
        results / "table5_lowdata" / "figure13.csv",
    )
    with pytest.raises(ValueError, match="missing column 'epochs'"):
        report_lowdata.render_figure13(results, tmp_path / "paper")


def test_average_is_over_the_nine_tasks_present():
    df = pd.DataFrame(
        [
            _row("t", "m", "r", "x", 1, "piqa_acc", "60"),
            _row("t", "m", "r", "x", 1, "boolq_acc", "70"),
            _row("t", "m", "r", "x", 1, "mmlu_5shot_acc", "25"),
            _row("t", "m", "r", "x", 1, "val_loss", "3"),
        ]
    )
    scores = report_lowdata.scores_by_model(df.astype(str))[("m", "r")]
    assert scores["average_9"] == 65.0 and scores["n_tasks"] == 2 and scores["mmlu_5shot_acc"] == 25.0


def test_imports_no_torch():
    code = (
        "import sys, inheritune_core.report.lowdata; "
        "sys.exit(1 if any(m == 'torch' or m.startswith('torch.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR).returncode == 0
