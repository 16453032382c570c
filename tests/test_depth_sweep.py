"""The depth sweep as an artifact (issue 18): the library trains what is missing and reads the rest back
(experiments/depth_sweep.py), the report's gap statistics and figure come from the CSVs alone
(report/depth_sweep.py), and the registry, notebook and CLI know it."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import pytest
from conftest import make_token_data

from inheritune_core import registry
from inheritune_core.errors import ConfigError
from inheritune_core.experiments import depth_sweep as ds
from inheritune_core.experiments.runs import TRAINING_COUNTER
from inheritune_core.paths import PROJECT_DIR
from inheritune_core.report import checks
from inheritune_core.report import depth_sweep as rep

ROW_COLUMNS = [
    *("scale", "layers", "steps", "tokens", "seed", "val_loss", "se", "val_tokens", "wall_time_s"),
    *("tokenizer", "n_embd", "n_head", "block_size", "batch_tokens", "learning_rate"),
]
CURVE_COLUMNS = ["scale", "layers", "budget", "seed", "step", "tokens", "val_loss"]


# --------------------------------------------------------------------------------------------- library
def test_the_sweep_is_derived_from_the_scale(tmp_path):
    assert ds.depths("cpu") == (8, 4) and ds.depths("tiny") == (8, 4) and ds.depths("smoke") == (4, 2)
    assert ds.default_budgets("cpu") == [10000, 5000, 2500]
    cfg = ds.train_config("cpu", tmp_path / "run", 5000, 2)  # builds a config only; nothing is written
    assert (cfg.max_steps, cfg.eval_interval, cfg.warmup_steps, cfg.eval_iters) == (5000, 500, 100, 40)
    assert (cfg.block_size, cfg.micro_batch, cfg.batch_tokens, cfg.learning_rate, cfg.min_lr) == (
        64,
        12,
        768,
        1e-3,
        1e-4,
    )
    assert cfg.seed == 2 and cfg.val_windows is None
    assert ds.config_columns("cpu") == {
        "tokenizer": "byte",
        "n_embd": 128,
        "n_head": 4,
        "block_size": 64,
        "batch_tokens": 768,
        "learning_rate": 1e-3,
    }
    assert ds.run_dir("cpu", 8, 10000, 1, "/r").as_posix() == "/r/depth_sweep/cpu/8L-10000steps-seed1"
    assert ds.jobs("smoke", [2, 4], [0]) == [(4, 4, 0), (2, 4, 0), (4, 2, 0), (2, 2, 0)]
    for bad in ({"budgets": []}, {"budgets": [0]}, {"seeds": [1, 1]}, {"workers": 0}):
        with pytest.raises(ConfigError):
            ds.sweep("smoke", **{"budgets": [2], "seeds": [0], **bad})


def test_a_smoke_sweep_writes_rows_and_curves_and_a_second_call_trains_nothing(tmp_path):
    data = make_token_data(tmp_path / "data")
    runs, results = tmp_path / "runs", tmp_path / "results"
    kwargs = dict(data=data, runs_dir=runs)
    before = dict(TRAINING_COUNTER)
    out = ds.sweep("smoke", [4, 2], [0, 1], progress=False, **kwargs)
    assert TRAINING_COUNTER["trained"] - before["trained"] == 8
    assert [(r["steps"], r["layers"], r["seed"]) for r in out.rows] == [
        (s, layers, seed) for s in (2, 4) for layers in (2, 4) for seed in (0, 1)
    ]
    for r in out.rows:
        assert list(r) == ROW_COLUMNS
        assert r["scale"] == "smoke" and r["tokens"] == r["steps"] * 128 and r["n_embd"] == 32
        assert math.isfinite(r["val_loss"]) and r["se"] > 0 and r["val_tokens"] == 64 * 32
    assert all(list(c) == CURVE_COLUMNS for c in out.curves)
    four = [c for c in out.curves if c["budget"] == 4 and c["layers"] == 4 and c["seed"] == 0]
    assert [c["step"] for c in four][-1] == 4 and len(four) >= 2  # evaluations along the schedule
    assert {(p.parent.name, p.name) for p in (runs / "depth_sweep" / "smoke").glob("*/result.json")} == {
        (f"{layers}L-{s}steps-seed{seed}", "result.json")
        for s in (2, 4)
        for layers in (2, 4)
        for seed in (0, 1)
    }
    written = out.write(results, "depth_sweep")
    assert [p.name for p in written] == ["depth_sweep.csv", "curves.csv"]
    rows = checks.read_checked(results / "depth_sweep" / "depth_sweep.csv", rep.SWEEP)
    checks.read_checked(results / "depth_sweep" / "curves.csv", rep.SWEEP_CURVES)
    assert len(rows) == 8

    mtimes = {p: p.stat().st_mtime_ns for p in runs.rglob("result.json")}
    again = ds.sweep("smoke", [4, 2], [0, 1], progress=False, **kwargs)
    assert TRAINING_COUNTER["trained"] - before["trained"] == 8  # nothing retrained
    assert {p: p.stat().st_mtime_ns for p in runs.rglob("result.json")} == mtimes
    assert again.rows == out.rows and again.curves == out.curves
    assert ds.collect("smoke", runs, only=[(4, 4, 0)]).rows == [out.rows[-2]]


def test_workers_train_in_subprocesses_and_the_cli_collects(tmp_path):
    data = make_token_data(tmp_path / "data")
    runs, results = tmp_path / "runs", tmp_path / "results"
    common = ["--scale", "smoke", "--runs-dir", str(runs)]
    cli = [sys.executable, "-m", "inheritune_core.experiments.depth_sweep"]
    run = subprocess.run(
        [*cli, "run", *common, "--results-dir", str(results), "--data", str(data)]
        + ["--budgets", "2", "--seeds", "0", "--workers", "2", "--threads", "1"],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )
    assert run.returncode == 0, run.stderr
    assert "2 runs, 0 read back, 2 to train" in run.stdout
    assert "smoke: 2 steps (256 tokens): 2L - 4L = " in run.stdout and "does not pass 4 sigma" in run.stdout
    assert len(list((runs / "depth_sweep" / "smoke").glob("*/result.json"))) == 2
    col = subprocess.run(
        [*cli, "collect", *common, "--results-dir", str(results)], capture_output=True, text=True
    )
    assert col.returncode == 0, col.stderr
    empty = subprocess.run(
        [*cli, "collect", "--scale", "tiny", "--runs-dir", str(tmp_path / "none")],
        text=True,
        capture_output=True,
    )
    assert empty.returncode == 2 and empty.stderr.startswith("error: no finished depth-sweep run")
    helptext = subprocess.run([*cli, "run", "--help"], capture_output=True, text=True).stdout
    assert "(default: cpu)" in helptext and "10000,5000,2500 at cpu" in helptext and "[0, 1, 2]" in helptext


# ---------------------------------------------------------------------------------------------- report
def _rows(ref: list[float], half: list[float], steps: int = 100, scale: str = "cpu") -> list[dict]:
    out = []
    for layers, losses in ((8, ref), (4, half)):
        for seed, loss in enumerate(losses):
            out.append(
                {"scale": scale, "layers": layers, "steps": steps, "tokens": steps * 768, "seed": seed}
                | {"val_loss": loss, "se": 0.007, "val_tokens": 1000, "wall_time_s": 1.0}
            )
    return out


def _write(path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_gap_statistics_on_a_fixture_csv(tmp_path):
    rows = _rows([1.60, 1.61, 1.62], [1.66, 1.67, 1.68], steps=10000)  # gap 0.06, sigma 0.00816
    rows += _rows([1.60, 1.61, 1.62], [1.61, 1.62, 1.63], steps=5000)  # gap 0.01: within 4 sigma
    rows += _rows([1.60, 1.61], [1.80, 1.81], steps=2500)  # a huge gap on 2 seeds: never passes
    _write(tmp_path / "depth_sweep.csv", rows)
    read = checks.read_checked(tmp_path / "depth_sweep.csv", rep.SWEEP)
    by = {g.steps: g for g in rep.gaps(read)}
    assert by[10000].gap == pytest.approx(0.06) and by[10000].sigma == pytest.approx(math.sqrt(2 * 1e-4 / 3))
    assert (by[10000].reference, by[10000].half, by[10000].n_ref, by[10000].n_half) == (8, 4, 3, 3)
    assert by[10000].passes and not by[5000].passes and not by[2500].passes
    assert by[2500].gap == pytest.approx(0.2) and by[2500].gap > 4 * by[2500].sigma
    assert math.isnan(rep.gaps(_rows([1.6], [1.7]))[0].sigma) and not rep.gaps(_rows([1.6], [1.7]))[0].passes
    lines = rep.summary_lines(read)
    assert lines[0].startswith("cpu: 2500 steps (1,920,000 tokens): 4L - 8L = +0.2000")
    assert lines[-1].endswith("-> passes 4 sigma") and "does not pass" in lines[1]
    twice = tmp_path / "twice.csv"
    _write(twice, rows + rows[:1])
    with pytest.raises(checks.ResultsCSVError, match="repeats line 2"):
        checks.read_checked(twice, rep.SWEEP)


def test_the_renderer_draws_the_figure_from_fixture_csvs(tmp_path):
    rows = _rows([1.60, 1.61, 1.62], [1.66, 1.67, 1.68], 1000) + _rows(
        [1.7, 1.7, 1.7], [1.7, 1.71, 1.72], 500
    )
    rows += _rows([9.0], [9.0], 4, scale="smoke")  # the test scale is never the one drawn
    curves = [
        {"scale": "cpu", "layers": layers, "budget": b, "seed": seed, "step": step}
        | {"tokens": step * 768, "val_loss": 2.0 - step / 1e4 + (0.05 if layers == 4 else 0.0)}
        for b in (500, 1000)
        for layers in (8, 4)
        for seed in (0, 1, 2)
        for step in range(0, b + 1, b // 10)
    ]
    _write(tmp_path / "results" / "depth_sweep" / "depth_sweep.csv", rows)
    _write(tmp_path / "results" / "depth_sweep" / "curves.csv", curves)
    assert rep.curve_gaps(curves, "cpu")[1000][-1] == (768000, pytest.approx(0.05))
    paths = rep.render(tmp_path / "results", tmp_path / "paper")
    assert [p.name for p in paths] == ["depth_sweep.png", "depth_sweep.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    fig = rep.draw(rows, curves, "cpu")
    assert "scale cpu" in fig.get_suptitle() and "own cosine schedule" in fig.axes[1].get_title()
    assert len(fig.axes[1].get_lines()) == 3  # two budgets and the zero line
    # `make paper` draws it by name
    from inheritune_core.report.__main__ import main

    assert main(["depth_sweep", "--results", str(tmp_path / "results"), "--paper", str(tmp_path / "p2")]) == 0
    assert (tmp_path / "p2" / "figures" / "depth_sweep.png").read_bytes() == paths[0].read_bytes()
    assert (
        subprocess.run(
            [sys.executable, "-m", "inheritune_core.report.depth_sweep", "summary", str(tmp_path / "no.csv")],
            capture_output=True,
        ).returncode
        == 2
    )


def test_the_registry_and_the_notebook_know_the_sweep():
    a = registry.get_artifact("depth_sweep")
    assert a.csvs == ("depth_sweep.csv", "curves.csv") and a.figures == ("depth_sweep",)
    assert a.experiment == "experiments.depth_sweep.sweep"
    assert "depth_sweep" in registry.notebook_names()
    source = (PROJECT_DIR / "notebooks" / "src" / "depth_sweep.md").read_text()
    assert 'scale = "cpu"' in source and "depth_sweep.sweep(" in source


@pytest.mark.slow
def test_the_notebook_runs_at_smoke_scale(run_notebook):
    root = run_notebook.root
    data = make_token_data(root / "data")
    run_notebook("depth_sweep", budgets=[4, 2], seeds=[0, 1], data=str(data))
    for rel in registry.get_artifact("depth_sweep").outputs():
        assert (root / rel).is_file(), rel
    run_notebook("depth_sweep", budgets=[4, 2], seeds=[0, 1], data=str(data))
    assert run_notebook.printed("depth_sweep", "runs trained in this notebook:").startswith(
        "runs trained in this notebook: 0 "
    )
