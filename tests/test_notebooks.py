"""The paper notebooks: consistent with their generator, and executable under papermill at smoke scale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from inheritune_core.paths import PROJECT_DIR, shared_evaldata_dir
from inheritune_core.report import tables as report

sys.path.insert(0, str(PROJECT_DIR / "scripts"))
import make_notebooks  # noqa: E402

NOTEBOOKS = list(make_notebooks.NOTEBOOKS)  # the execution order of `make all`: sources before redraws
REQUIRED_PARAMETERS = ("scale", "device", "steps", "seed", "data", "runs_dir", "results_dir", "paper_dir")
OUTPUTS = {  # notebook -> files it must write under results/ and paper/
    "table1": [
        "results/table1/table1.csv",
        "results/table1/curves.csv",
        "paper/tables/table1.md",
        "paper/tables/table1.tex",
    ],
    "table2": ["results/table2/table2.csv", "paper/tables/table2.md"],
    "table3": ["results/table3/table3.csv", "paper/tables/table3.md"],
    "figure3": [
        "results/figure3/figure3.csv",
        "results/figure3/curves.csv",
        "paper/figures/figure3.png",
        "paper/figures/figure3.pdf",
    ],
    "figure4": ["results/figure4/curves.csv", "paper/figures/figure4.png"],
    "table4": ["results/table4/table4.csv", "paper/tables/table4.md"],
    "figure5": ["results/figure5/curves.csv", "paper/figures/figure5.png", "paper/figures/figure5.pdf"],
    "figure6": ["results/figure6/curves.csv", "paper/figures/figure6.png"],
    "figure7": ["results/figure7/curves.csv", "paper/figures/figure7.png"],
    "figure8": ["results/figure8/curves.csv", "paper/figures/figure8.png"],
}


def test_notebooks_match_their_generator():
    for name, nb in make_notebooks.NOTEBOOKS.items():
        path = PROJECT_DIR / "notebooks" / f"{name}.ipynb"
        on_disk = nbformat.read(path, as_version=4)
        assert [c.source for c in on_disk.cells] == [c.source for c in nb.cells], (
            f"{path} is stale: run `python scripts/make_notebooks.py`"
        )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_has_a_parameters_cell_and_calls_only_the_core(name):
    nb = nbformat.read(PROJECT_DIR / "notebooks" / f"{name}.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for p in REQUIRED_PARAMETERS:
        assert f"\n{p} = " in "\n" + tagged[0].source, (name, p)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for forbidden in ("import torch", "train(", "optimizer", ".backward("):
        assert forbidden not in code, (name, forbidden)
    assert nb.cells[0].cell_type == "markdown" and "paper" in nb.cells[0].source.lower()


def run_notebook(name: str, root: Path, data: Path) -> Path:
    out = root / "executed" / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    params = {
        "scale": "smoke",
        "steps": 4,
        "data": str(data),
        "runs_dir": str(root / "runs"),
        "results_dir": str(root / "results"),
        "paper_dir": str(root / "paper"),
        "progress": False,
    }
    if name in ("table1", "table4"):
        # the downstream columns go through lm-eval on the offline copies (a few documents per task)
        params["downstream"] = shared_evaldata_dir().is_dir()
        params["eval_limit"] = 2
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        "--cwd",
        str(PROJECT_DIR / "notebooks"),
        str(PROJECT_DIR / "notebooks" / f"{name}.ipynb"),
        str(out),
        "--no-progress-bar",
    ]
    for k, v in params.items():
        cmd += ["-p", k, str(v)] if not isinstance(v, (bool, int)) else ["-y", json.dumps({k: v})]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT_DIR)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def trained_line(executed: Path) -> str:
    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if "runs trained in this notebook" in text:
                return text.strip()
    raise AssertionError(f"{executed} printed no training counter")


def test_every_notebook_runs_at_smoke_scale_and_a_second_run_trains_nothing(tmp_path):
    from conftest import make_token_data

    data = make_token_data(tmp_path / "data")
    for name in NOTEBOOKS:
        run_notebook(name, tmp_path, data)
        for rel in OUTPUTS[name]:
            assert (tmp_path / rel).is_file(), (name, rel)
    if shared_evaldata_dir().is_dir():  # downstream columns filled through lm-eval (issue 6)
        import pandas as pd

        t1 = set(pd.read_csv(tmp_path / "results" / "table1" / "table1.csv")["metric"])
        assert {"wikitext_word_perplexity", "lambada_openai_acc"} <= t1, t1
        t4 = set(pd.read_csv(tmp_path / "results" / "table4" / "table4.csv")["metric"])
        assert {"arc_easy_acc", "lambada_openai_acc"} <= t4, t4
    # Redraws (figure5..8) and table4 read back the runs trained by the notebooks before them.
    for name in ("figure5", "figure6", "figure7", "figure8", "table4"):
        assert "runs trained in this notebook: 0 " in trained_line(tmp_path / "executed" / f"{name}.ipynb")

    results = sorted((tmp_path / "runs").glob("*/result.json"))
    mtimes = {p: p.stat().st_mtime_ns for p in results}
    table2_csv = (tmp_path / "results" / "table2" / "table2.csv").read_text()
    run_notebook("table2", tmp_path, data)
    assert "runs trained in this notebook: 0 " in trained_line(tmp_path / "executed" / "table2.ipynb")
    assert {p: p.stat().st_mtime_ns for p in results} == mtimes  # nothing retrained or rewritten
    assert sorted((tmp_path / "runs").glob("*/result.json")) == results
    assert (tmp_path / "results" / "table2" / "table2.csv").read_text() == table2_csv

    # `make paper` redraws the same bytes from the CSVs alone.
    before = {p: p.read_bytes() for p in (tmp_path / "paper").rglob("*.*")}
    report.render_all(tmp_path / "results", tmp_path / "paper")
    assert {p: p.read_bytes() for p in (tmp_path / "paper").rglob("*.*")} == before


def test_a_failing_notebook_fails_papermill_and_leaves_no_csv(tmp_path):
    from conftest import make_token_data

    data = make_token_data(tmp_path / "data")
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        "--cwd",
        str(PROJECT_DIR / "notebooks"),
        str(PROJECT_DIR / "notebooks" / "table3.ipynb"),
        str(tmp_path / "out.ipynb"),
        "--no-progress-bar",
        "-p",
        "scale",
        "smoke",
        "-p",
        "data",
        str(data),
        "-p",
        "runs_dir",
        str(tmp_path / "runs"),
        "-p",
        "results_dir",
        str(tmp_path / "results"),
        "-y",
        '{"sizes": ["gpt2-huge"]}',
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT_DIR)
    assert result.returncode != 0
    assert "sizes must be a non-empty list" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()
