"""benchmarks/gpu_check.sh runs end to end on CPU at the smoke scale, so the GPU check cannot rot."""

from __future__ import annotations

import csv
import os
import subprocess

import pytest

from inheritune_core.paths import PROJECT_DIR


@pytest.mark.slow
def test_gpu_check_runs_on_cpu_at_smoke(tmp_path):
    from conftest import make_token_data

    data = make_token_data(tmp_path / "data")
    env = {
        **os.environ,
        "DEVICE": "cpu",
        "SCALE": "smoke",
        "STEPS": "2",
        "TP_SCALE": "smoke",
        "TP_STEPS": "1",
        "RUNS_DIR": str(tmp_path / "runs"),
        "DATA": str(data),
    }
    before = (PROJECT_DIR / "benchmarks" / "throughput.csv").read_bytes()
    out = tmp_path / "out"
    proc = subprocess.run(
        ["bash", str(PROJECT_DIR / "benchmarks" / "gpu_check.sh"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = proc.stdout
    assert (
        "## 1. Throughput" in printed and "| fast (SDPA) |" in printed and "| eager (paper math) |" in printed
    )
    assert "## 2. Table 1 reduced" in printed and "gpu check done in" in printed
    with open(out / "throughput.csv", newline="") as f:
        tp = list(csv.DictReader(f))
    assert [r["path"] for r in tp] == ["fast (SDPA)", "eager (paper math)"]
    assert all(r["source"] == "measured" and float(r["tokens_per_s"]) > 0 for r in tp)
    with open(out / "table1.csv", newline="") as f:
        t1 = list(csv.DictReader(f))
    assert [r["role"] for r in t1] == ["reference", "inheritune", "random"]
    assert {r["card"] for r in t1} == {"cpu"} and all(r["steps"] == "2" for r in t1)
    # only a GPU measurement is recorded for the ledger
    assert (PROJECT_DIR / "benchmarks" / "throughput.csv").read_bytes() == before
