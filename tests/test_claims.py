"""The claims ledger (report.claims): every verdict rule, the ledger built from small fixture CSVs, the paper's
numbers read (not typed), the cost of the next scale, and no torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inheritune_core.paths import PROJECT_DIR
from inheritune_core.report import claims
from inheritune_core.report.claims import CONTRADICTED, HOLDS, NOT_RESOLVED, compare

HEADER = "table,model,role,method,layers,steps,tokens,metric,value,se,scale,seed"


# ------------------------------------------------------------------------------------------ the rules
def test_one_seed_on_both_sides_is_never_resolved():
    # never `holds`: without standard errors nothing is said; within 4 se it is not resolved (issue 18: beyond
    # 4 se it leans, tests/test_ledger.py)
    assert compare([1.0], [9.0]).verdict == NOT_RESOLVED
    assert compare([1.0], [9.0]).reason == "one seed, no standard error recorded"
    assert compare([1.0], [1.005], a_se=0.001, b_se=0.001).verdict == NOT_RESOLVED
    assert compare([1.0], [9.0], a_se=0.001, b_se=0.001).verdict not in (HOLDS, CONTRADICTED)


def test_a_difference_beyond_two_sigma_holds_or_contradicts_by_its_direction():
    better, worse = [5.00, 5.01, 5.02], [5.50, 5.51, 5.49]
    assert compare(better, worse).verdict == HOLDS  # lower loss is better
    assert compare(worse, better).verdict == CONTRADICTED
    assert compare(worse, better, lower_is_better=False).verdict == HOLDS  # accuracies: higher is better


def test_a_difference_within_two_sigma_is_not_resolved():
    a, b = [5.0, 5.2, 5.4], [5.1, 5.3, 5.5]  # d = -0.1, each std 0.2: 2 sigma = 0.57
    v = compare(a, b)
    assert v.verdict == NOT_RESOLVED and "2σ = 0.566" in v.reason


def test_a_shared_single_reference_contributes_its_standard_error():
    ours = [6.00, 6.01, 6.02]
    assert compare(ours, [6.05], b_se=0.001).verdict == HOLDS
    assert compare(ours, [6.05], b_se=0.05).verdict == NOT_RESOLVED  # the reference's own noise is large


def test_a_claim_combines_its_comparisons():
    assert claims.combine([HOLDS, HOLDS]) == HOLDS
    assert claims.combine([HOLDS, NOT_RESOLVED]) == NOT_RESOLVED
    assert claims.combine([HOLDS, CONTRADICTED, NOT_RESOLVED]) == CONTRADICTED
    assert claims.combine([]) == NOT_RESOLVED


# ------------------------------------------------------------------------------------------ fixtures
def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def fixture_dirs(tmp_path):
    results, reported = tmp_path / "results", tmp_path / "reported"
    table1 = [HEADER, "table1,gpt2-medium,reference,rand init,8,200,102400,val_loss,6.000,0.001,tiny,1337"]
    for seed, ours, rand, rand2 in (
        (1337, 5.80, 6.30, 5.50),
        (1338, 5.82, 6.31, 5.52),
        (1339, 5.81, 6.29, 5.51),
    ):
        table1 += [
            f"table1,gpt2-medium,inheritune,Ours,6,200,102400,val_loss,{ours},0.001,tiny,{seed}",
            f"table1,gpt2-medium,random,rand init,6,200,102400,val_loss,{rand},0.001,tiny,{seed}",
            f"table1,gpt2-medium,random_2x,rand init,6,400,204800,val_loss,{rand2},0.001,tiny,{seed}",
        ]
    write(results / "table1" / "table1.csv", table1)
    write(
        results / "table3" / "table3.csv",
        [
            HEADER,
            "table3,gpt2-medium,inheritune,Ours,6,200,102400,val_loss,5.9,0.01,tiny,1337",
            "table3,gpt2-medium,attn_ln,attn,6,200,102400,val_loss,6.5,0.01,tiny,1337",
        ],
    )
    write(
        results / "figure1" / "lazy_layers.csv",
        ["layer,max_rank_mean,max_mass_mean,all_degenerate_frac,lazy,model"]
        + [f"{i},1.0,1.0,{float(i >= 6)},{i >= 6},toy (8L)" for i in range(8)]
        + [f"{i},5.0,20.0,0.0,False,other (4L)" for i in range(4)],
    )
    write(
        results / "figure1" / "layer_stats.csv",
        ["model,scale,layer", "toy (8L),tiny,0", "other (4L),tiny,0"],
    )
    write(
        reported / "table1.csv",
        [
            "table,model,role,method,layers,steps,metric,value,source",
            "table1,gpt2-medium,reference,rand init,24,100000,val_loss,9.11,paper",  # not the real paper
            "table1,gpt2-medium,inheritune,Ours,16,100000,val_loss,9.22,paper",
            "table1,gpt2-medium,random,rand init,16,100000,val_loss,9.33,paper",
            "table1,gpt2-medium,random_2x,rand init,16,200000,val_loss,9.44,paper",
            "table1,gpt2-medium,inheritune,Ours,16,100000,val_loss,9.99,official_log",
        ],
    )
    return results, reported


def by_key(rows):
    return {r.claim.key: r for r in rows}


def test_the_ledger_computes_each_verdict_from_the_csvs(fixture_dirs):
    results, reported = fixture_dirs
    rows = by_key(claims.build_ledger(results, reported, throughput=None))
    verdict = {k: [(o.scale, o.verdict) for o in r.ours] for k, r in rows.items()}
    assert verdict["random_1x"] == [("tiny", HOLDS)]  # 5.81 vs 6.30, three seeds
    assert verdict["random_2x"] == [("tiny", CONTRADICTED)]  # 5.81 vs 5.51
    assert verdict["parity"] == [("tiny", HOLDS)]  # 5.81 vs the shared reference's 6.000 (se 0.001)
    assert verdict["attn_mlp"] == [("tiny", claims.LEANS_FOR)]  # one seed, 5.9 vs 6.5 > 4 se (no mlp_ln)
    assert verdict["lazy_layers"] == [("tiny", HOLDS)]  # layers 6, 7 of toy's 8 are lazy (other has none)
    assert verdict["init_baselines"] == []  # no results: "no results yet"
    assert "layer_selection" not in rows  # optional, and results/layer_selection does not exist
    assert "5.810 ± 0.010 (3 seeds) vs 6.300 ± 0.010 (3 seeds)" in rows["random_1x"].ours[0].lines[-1]


def test_the_paper_numbers_come_from_the_reported_csv(fixture_dirs):
    results, reported = fixture_dirs
    rows = by_key(claims.build_ledger(results, reported, throughput=None))
    assert rows["parity"].paper == "medium: rand init 24L 100K 9.11, Ours 16L 100K 9.22"  # source paper only
    assert rows["random_2x"].paper == "medium: rand init 16L 200K 9.44, Ours 16L 100K 9.22"


def test_layer_selection_gets_a_row_when_its_results_exist(fixture_dirs):
    results, reported = fixture_dirs
    write(
        results / "layer_selection" / "smollm2.csv",
        [HEADER]
        + [
            f"layer_selection,smollm2-135m,{role},{role},15,20,1000,val_loss,{v},0.01,tiny,{seed}"
            for seed in (1, 2)
            for role, v in (
                ("first", 4.0 + seed / 100),
                ("last", 6.0 + seed / 100),
                ("random", 4.01 + seed / 100),
            )
        ],
    )
    row = by_key(claims.build_ledger(results, reported, throughput=None))["layer_selection"]
    assert row.ours[0].verdict == NOT_RESOLVED  # first vs last holds, first vs random within noise
    assert any("first n vs last" in line and HOLDS in line for line in row.ours[0].lines)


def test_next_scale_command_and_cost(fixture_dirs, tmp_path):
    from inheritune_core.experiments.gpt2 import next_scale_plan
    from inheritune_core.io import write_csv

    results, reported = fixture_dirs
    plan = next_scale_plan("table1", "tiny", ["gpt2-medium"], seeds=3)  # what the tiny notebook writes
    write_csv(plan, results / "table1" / "plan.csv")
    csv = tmp_path / "throughput.csv"
    write(
        csv,
        [
            "card,preset,scale,micro_batch,block_size,compiled,path,tokens_per_s,mfu,peak_memory_gb,source,note",
            "H100,gpt2-medium,paper,8,1024,True,official code,100000,,,stated,",
            "H200,gpt2-medium,paper,8,1024,True,fast (SDPA),250000,0.5,13,measured,",
            "cpu,gpt2-medium,smoke,8,32,False,fast (SDPA),900000,,,measured,",  # not the benchmark's model
        ],
    )
    tp = claims.read_throughput(csv)
    assert tp.tokens_per_s == 250000 and "measured" in tp.label  # a measurement beats a stated figure
    rows = by_key(claims.build_ledger(results, reported, throughput=tp))
    flops = plan[0]["train_flops"]
    # the next scale after tiny is the byte-level CPU scale: a reference per seed + 3 x (2 rounds + 1x + 2x + k/2)
    assert plan[0]["next_scale"] == "cpu" and plan[0]["runs"] == 18
    assert (
        rows["parity"].next == f"`make table1 SCALE=cpu DEVICE=cpu`; 18 runs, {flops:.2e} FLOPs (a CPU scale)"
    )
    small = next_scale_plan("table1", "cpu", ["gpt2-medium"], seeds=3)
    write_csv(small, results / "table1" / "plan.csv")
    for r in results.glob("table1/table1.csv"):
        r.write_text(r.read_text().replace(",tiny,", ",cpu,"))
    rows = by_key(claims.build_ledger(results, reported, throughput=tp))
    flops = small[0]["train_flops"]
    hours = flops / (250000 * small[0]["benchmark_flops_per_token"]) / 3600
    assert (
        small[0]["next_scale"] == "small" and small[0]["runs"] == 16
    )  # reference + 3 x (2 rounds + 1x + 2x + k/2)
    assert rows["parity"].next == (
        f"`make table1 SCALE=small DEVICE=cuda`; 16 runs, {flops:.2e} FLOPs, ≥ {hours:.2g} GPU-hours"
    )
    assert rows["init_baselines"].next.startswith("`make table2 SCALE=tiny DEVICE=cpu`; cost: run")
    assert rows["lowdata"].next.endswith("cost not estimated (not GPT-2 training runs)")
    assert (
        claims.next_scale(["tiny", "smoke"]) == "cpu"
        and claims.next_scale(["cpu"]) == "small"
        and claims.next_scale(["paper"]) is None
    )


def test_render_writes_the_ledger_markdown(fixture_dirs, tmp_path):
    results, reported = fixture_dirs
    path = claims.render_ledger(results, tmp_path / "paper", reported)
    text = path.read_text()
    assert path.name == "REPRODUCTION.md" and text.startswith("# Reproduction ledger")
    assert "Verdict rules" in text and "| Claim | Paper | Ours at `tiny`: verdict, numbers |" in text
    assert f"tiny: **{CONTRADICTED}**" in text and "no results yet" in text
    assert claims.render_ledger(results, tmp_path / "paper", reported).read_text() == text  # deterministic


def test_claims_import_no_torch():
    code = (
        "import sys, inheritune_core.report.claims as c; c.render_ledger; "
        "from inheritune_core.experiments.gpt2 import run_plan; run_plan('table1', 'paper'); "
        "assert 'torch' not in sys.modules, 'torch imported'; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_DIR)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_committed_ledger_matches_committed_csvs(tmp_path):
    """`make paper` on the repository's own CSVs gives exactly the committed paper/REPRODUCTION.md."""
    committed = PROJECT_DIR / "paper" / claims.LEDGER_NAME
    if not committed.is_file():
        pytest.skip("no committed ledger yet")
    path = claims.render_ledger(PROJECT_DIR / "results", tmp_path)
    assert path.read_text() == committed.read_text(), "run `make paper`"


# ------------------------------------------------------------------------------------------ Table 4's average
def _table4(results: Path, tasks: dict[str, dict[str, list[float]]]) -> None:
    """table4.csv with, per role and seed, one row per task (no `average` row unless listed as a task), and
    Figure 4's runs (figure4.csv) where the reference beats the half-depth random model: depth matters."""
    write(
        results / "figure4" / "figure4.csv",
        [
            HEADER,
            "table4,gpt2-medium,reference,rand init,12,200,102400,val_loss,5.0,0.001,tiny,1337",
            "table4,gpt2-medium,random,rand init,6,200,102400,val_loss,6.0,0.001,tiny,1337",
        ],
    )
    lines = [HEADER]
    for role, by_task in tasks.items():
        for metric, values in by_task.items():
            for seed, value in zip((1337, 1338, 1339), values, strict=False):
                lines.append(f"table4,gpt2-medium,{role},m,6,200,102400,{metric},{value},,tiny,{seed}")
    write(results / "table4" / "table4.csv", lines)


def test_table4_average_over_the_tasks_every_run_has_and_says_which(tmp_path):
    ours = {
        "arc_easy_acc": [40.0, 41.0, 42.0],
        "piqa_acc": [60.0, 61.0, 62.0],
        "sciq_acc": [70.0, 70.0, 70.0],
    }
    rand = {"arc_easy_acc": [30.0, 30.5, 31.0], "piqa_acc": [50.0, 50.5, 51.0]}  # no SciQ: averaged over 2
    _table4(tmp_path, {"inheritune": ours, "random": rand})
    (result,) = claims.table4_average_results(tmp_path)
    ours_vs_random = next(line for line in result.lines if "Ours vs random" in line)
    assert (
        result.scale == "tiny"
        and "Ours vs random: 51.00 ± 1.00 (3 seeds) vs 40.50 ± 0.50 (3 seeds)" in ours_vs_random
    )
    assert "average of the 2 of 5 tasks every run has (arc_easy_acc, piqa_acc)" in result.lines[-1]
    assert "not evaluated: sciq_acc, hellaswag_acc_norm, lambada_openai_acc" in result.lines[-1]
    assert result.verdict == HOLDS  # higher accuracy is better; d = +10.5 against 2 sigma = 2.24


def test_table4_uses_the_papers_five_task_average_when_every_run_has_it(tmp_path):
    _table4(
        tmp_path,
        {"inheritune": {"average": [50.0]}, "reference": {"average": [52.0]}, "random": {"average": [49.0]}},
    )
    (result,) = claims.table4_average_results(tmp_path)
    ours_vs_reference = next(line for line in result.lines if "Ours vs reference" in line)
    assert ours_vs_reference.startswith("gpt2-medium Ours vs reference: 50.00 vs 52.00 (one seed")
    assert not any("of 5 tasks" in line for line in result.lines) and result.verdict == NOT_RESOLVED
