"""`make paper` refuses results CSVs it cannot trust and never passes an old output off as new (issue 20, items
3-4); its help is whole and lists each output once (issue 21, item 6). Fixture CSVs in temporary folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import inheritune_core.report.__main__ as cli
from inheritune_core.paths import PROJECT_DIR
from inheritune_core.report import checks, claims
from inheritune_core.report import tables as report

HEADER = "table,model,role,method,layers,steps,tokens,metric,value,se,scale,seed"
ROWS = [
    f"table2,gpt2-medium,{role},{role},6,200,102400,val_loss,{value + (seed - 1337) / 1000},0.01,tiny,{seed}"
    for seed in (1337, 1338, 1339)
    for role, value in (("inheritune", 6.0), ("stacking", 6.3))
]


def write_table2(results: Path, text: str | bytes) -> Path:
    path = results / "table2" / "table2.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def run_cli(tmp_path: Path, *names: str, capsys) -> tuple[int, str, str]:
    code = cli.main([*names, "--results", str(tmp_path / "results"), "--paper", str(tmp_path / "paper")])
    out = capsys.readouterr()
    return code, out.out, out.err


GOOD = "\n".join([HEADER, *ROWS]) + "\n"


def test_a_good_csv_renders_and_exits_0(tmp_path, capsys):
    write_table2(tmp_path / "results", GOOD)
    code, out, err = run_cli(tmp_path, "table2", capsys=capsys)
    assert code == 0 and err == "" and out.startswith("[report] table2: ")
    assert "6.001 ± 0.001 (3 seeds)" in (tmp_path / "paper" / "tables" / "table2.md").read_text()


@pytest.mark.parametrize(
    "text, message",
    [
        # duplicated rows: 3 seeds would become 6 and the ± would change
        ("\n".join([HEADER, *ROWS, *ROWS[:2]]) + "\n", "line 8 repeats line 2 (same table, model, role"),
        # the last row cut short: 3 seeds would become 2
        (GOOD[: GOOD.rindex(",1339") + 3], "the last line (7) is incomplete"),
        ("\n".join([HEADER, *ROWS[:-1], ROWS[-1][:40]]) + "\n", "line 7 has 6 fields, the header 12"),
        ("\n".join([HEADER, *ROWS[:2], ROWS[2].replace("6.001", "six")]) + "\n", "line 4: value is 'six'"),
        ("", "is empty"),
        ("\n\n", "is empty"),
        (bytes(range(256)) * 4, "is not UTF-8 text"),
        (b"table,model\x00,role\n", "line 1 holds a NUL byte"),
        ("model,value\nx,1\n", "is not a tidy table CSV: missing columns"),
    ],
)
def test_a_csv_it_cannot_trust_is_one_error_naming_the_file_and_exit_2(tmp_path, capsys, text, message):
    path = write_table2(tmp_path / "results", text)
    code, _out, err = run_cli(tmp_path, "table2", capsys=capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: table2 not rendered: ")
    assert str(path) in lines[0] and message in lines[0], lines[0]
    assert not (tmp_path / "paper" / "tables" / "table2.md").exists()  # nothing drawn from it


def test_the_ledger_checks_its_csvs_too(tmp_path, capsys):
    path = tmp_path / "results" / "table1" / "table1.csv"
    path.parent.mkdir(parents=True)
    row = "table1,gpt2-medium,inheritune,Ours,4,200,102400,val_loss,6.25,0.01,tiny,1337"
    path.write_text("\n".join([HEADER, row, row]) + "\n")
    with pytest.raises(checks.ResultsCSVError, match="line 3 repeats line 2"):
        claims.build_ledger(tmp_path / "results", tmp_path / "results", throughput=None)
    code, _out, err = run_cli(tmp_path, "reproduction", capsys=capsys)
    assert code == 2 and "error: reproduction not rendered: " in err and str(path) in err


def test_the_curve_and_attention_readers_check_too(tmp_path):
    curves = tmp_path / "curves.csv"
    curves.write_text("panel,model,role,method,layers,step,tokens,split,loss\np,m,r,x,4,0,0,val,abc\n")
    with pytest.raises(checks.ResultsCSVError, match="line 2: loss is 'abc', not a number"):
        report.read_curves_csv(curves)
    from inheritune_core.report.figures import LAYER_STATS_COLUMNS, read_csv_checked

    stats = tmp_path / "layer_stats.csv"
    stats.write_text(
        "model,layer,stat,rank_mean,rank_std,mass_mean,mass_std\nm,0,max,1,0,1,0\nm,0,max,1,0,1,0"
    )
    with pytest.raises(checks.ResultsCSVError, match="incomplete"):
        read_csv_checked(stats, LAYER_STATS_COLUMNS)
    stats.write_text(
        "model,layer,stat,rank_mean,rank_std,mass_mean,mass_std\nm,0,max,1,0,1,0\nm,0,max,1,0,1,0\n"
    )
    with pytest.raises(checks.ResultsCSVError, match="line 3 repeats line 2"):
        read_csv_checked(stats, LAYER_STATS_COLUMNS)


def test_a_missing_csv_names_the_output_not_rendered_and_its_stale_copy(tmp_path, capsys):
    write_table2(tmp_path / "results", GOOD)
    assert run_cli(tmp_path, "table2", capsys=capsys)[0] == 0
    (tmp_path / "results" / "table2" / "table2.csv").unlink()
    code, _out, err = run_cli(tmp_path, "table2", "figure6", capsys=capsys)
    assert code == 2
    table2, figure6 = err.strip().splitlines()
    assert (
        table2.startswith("error: table2 not rendered: its results CSV under") and "does not exist" in table2
    )
    stale = tmp_path / "paper" / "tables" / "table2.md"
    assert "stale copies from an earlier run, not these results" in table2 and str(stale) in table2
    assert figure6.startswith("error: figure6 not rendered") and "stale" not in figure6  # none left


def test_help_is_whole_and_lists_each_output_once():
    out = subprocess.run(
        [sys.executable, "-m", "inheritune_core.report", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "redraw every table and figure under paper/ from the CSVs under results/" in text
    assert "Exit status 2" in text
    names = text.split("default: all of ")[1].split(")")[0].split(", ")
    assert names == list(dict.fromkeys(names)) and names.count("table8") == 1 and names[-1] == "reproduction"
    for option in ("--results", "--paper"):
        assert f"{option} " in text
    assert text.count("(default:") >= 3  # NAME, --results, --paper


def test_make_paper_renders_each_output_once():
    every = cli.every_output()
    assert len(every) == len(set(every))
    assert {"table8", "table9", "figure10", "figure1", "reproduction"} <= set(every)


# ------------------------------------------------------------------------------------------ scales (issue 21)
def test_a_table_shows_the_largest_non_smoke_scale_and_says_so(tmp_path):
    smoke = [r.replace(",tiny,", ",smoke,").replace(",6.0", ",9.9").replace(",6.3", ",9.9") for r in ROWS]
    write_table2(tmp_path / "results", "\n".join([HEADER, *ROWS, *smoke]) + "\n")
    md = report.render_table("table2", tmp_path / "results", tmp_path / "paper")[0].read_text()
    assert "6.001 ± 0.001 (3 seeds)" in md and "9.9" not in md  # tiny's rows, never replaced by smoke's
    assert "reproduced at scale `tiny`, the largest scale in the CSV other than the test scale" in md
    assert "it also holds `smoke`, not shown here" in md
    small = [r.replace(",tiny,", ",small,").replace(",6.0", ",3.0") for r in ROWS]
    write_table2(tmp_path / "results", "\n".join([HEADER, *ROWS, *smoke, *small]) + "\n")
    md = report.render_table("table2", tmp_path / "results", tmp_path / "paper")[0].read_text()
    assert "3.001 ± 0.001 (3 seeds)" in md and "reproduced at scale `small`" in md and "`smoke`, `tiny`" in md
    write_table2(tmp_path / "results", "\n".join([HEADER, *smoke]) + "\n")  # only smoke: shown, and called so
    md = report.render_table("table2", tmp_path / "results", tmp_path / "paper")[0].read_text()
    assert "scale `smoke` (the test suite's scale: its numbers mean nothing)" in md


def test_a_figure_draws_one_scale(tmp_path):
    rows = ["panel,model,role,method,layers,step,tokens,split,loss,scale,run_hash"]
    for scale, base in (("tiny", 6.0), ("smoke", 9.0)):
        rows += [f"p,m,inheritune,Ours,4,{step},{step},val,{base - step / 100},{scale},h" for step in (0, 50)]
    path = tmp_path / "curves.csv"
    path.write_text("\n".join(rows) + "\n")
    fig = report.draw_curves(report.FIGURES["figure6"], report.read_curves_csv(path))
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_ydata()) == [6.0, 5.5]  # tiny's curve alone
    assert "Scale: tiny (also in the CSV, not drawn: smoke)" in fig.get_suptitle().replace("\n", " ")


def test_a_blank_where_the_ledger_computes_is_refused(tmp_path):
    lazy = tmp_path / "figure1" / "lazy_layers.csv"
    lazy.parent.mkdir(parents=True)
    lazy.write_text("layer,max_rank_mean,max_mass_mean,all_degenerate_frac,lazy,model\n0,1.0,1.0,,True,toy\n")
    with pytest.raises(checks.ResultsCSVError, match="line 2: all_degenerate_frac is '', not a number"):
        claims.lazy_layer_results(tmp_path)


def test_attention_figures_keep_pretrained_models_and_one_trained_scale():
    import pandas as pd

    from inheritune_core.report.figures import one_trained_scale

    frame = pd.DataFrame(
        {
            "model": ["smollm2", "toy (tiny)", "toy (smoke)"],
            "scale": [float("nan"), "tiny", "smoke"],
            "layer": 0,
        }
    )
    assert list(one_trained_scale(frame)["model"]) == ["smollm2", "toy (tiny)"]
