"""The paper notebooks: generated from their sources, thin, small once executed, and executable under
papermill at smoke scale (one notebook end to end in the default suite, every one in the slow suite)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from inheritune_core import registry
from inheritune_core.paths import PROJECT_DIR, shared_evaldata_dir
from inheritune_core.report import tables as report

sys.path.insert(0, str(PROJECT_DIR / "scripts"))
import clean_executed  # noqa: E402
import make_notebooks  # noqa: E402

NOTEBOOKS = sorted(p.stem for p in (PROJECT_DIR / "notebooks").glob("*.ipynb"))
GENERATED = list(make_notebooks.sources())
GPT2_NOTEBOOKS = [  # the execution order of `make all`: sources before the redraws that read their runs
    "table1",
    "table2",
    "table3",
    "figure3",
    "figure4",
    "table4",
    "figure5",
    "figure6",
    "figure7",
    "figure8",
]
REQUIRED_PARAMETERS = ("scale", "device", "seed", "results_dir", "paper_dir", "progress")
OUTPUTS = {name: registry.get_artifact(name).outputs() for name in GPT2_NOTEBOOKS}  # files it must write
TRAINED = "runs trained in this notebook:"


# ------------------------------------------------------------------------------- sources and generator
@pytest.mark.parametrize("name", GENERATED)
def test_committed_notebook_is_what_its_source_generates(name):
    text = make_notebooks.build(name, (PROJECT_DIR / "notebooks" / "src" / f"{name}.md").read_text())
    on_disk = (PROJECT_DIR / "notebooks" / f"{name}.ipynb").read_text()
    assert on_disk == text, f"notebooks/{name}.ipynb is stale: run `make notebooks`"


def test_generator_keeps_markdown_and_tags_the_parameters_cell():
    source = (
        "# Title\n\nProse with a ```bash``` mention.\n\n```bash\nmake x\n```\n\n"
        '```python parameters\nscale = "tiny"\n```\n\n```python\nprint(scale)\n```\n\n## After\n'
    )
    nb = nbformat.reads(make_notebooks.build("demo", source), as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "markdown"]
    assert nb.cells[0].source == "# Title\n\nProse with a ```bash``` mention.\n\n```bash\nmake x\n```"
    assert nb.cells[1].metadata["tags"] == ["parameters"] and nb.cells[1].source == 'scale = "tiny"'
    assert [c.id for c in nb.cells] == ["demo-0", "demo-1", "demo-2", "demo-3"]
    assert nb.metadata.kernelspec.name == "python3"
    assert make_notebooks.build("demo", source) == make_notebooks.build("demo", source)  # deterministic


@pytest.mark.parametrize(
    "source, message",
    [
        ("# t\n```python\nx = 1\n```\n", "exactly one ```python parameters block, found 0"),
        ("```python parameters\nx = 1\n```\n```python parameters\ny = 1\n```\n", "found 2"),
        ("```python parameters\nx = 1\n", "demo.md:1: ```python block is never closed"),
        ("```python parameters\nx = 1\n```\n```python\n```\n", "an empty code block"),
    ],
)
def test_generator_rejects_a_bad_source_with_one_clear_line(source, message):
    with pytest.raises(make_notebooks.SourceError, match=message.replace("(", r"\(")):
        make_notebooks.build("demo", source)


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


# ---------------------------------------------------------------------------------- executed copies
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_executed_copy_is_small(name):
    path = PROJECT_DIR / "results" / "executed" / f"{name}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path} is not committed")
    assert path.stat().st_size < 200 * 1024, f"{path}: run scripts/clean_executed.py on it"


def test_clean_executed_collapses_progress_bars_and_repeated_warnings():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    bar = [nbformat.v4.new_output("stream", name="stderr", text=f"\rrun: {i}/50") for i in range(51)]
    warnings = "".join(f"context ({100 + i}) exceeds 64\n" for i in range(30))
    cell.outputs = [
        *bar,
        nbformat.v4.new_output("stream", name="stderr", text="\n" + warnings),
        nbformat.v4.new_output("stream", name="stdout", text="runs trained in this notebook: 1\n"),
    ]
    nb.cells = [cell]
    out = clean_executed.clean_notebook(nb).cells[0].outputs
    assert [o.name for o in out] == ["stderr", "stdout"]
    assert out[0].text == "run: 50/50\ncontext (100) exceeds 64\n[... 29 similar lines]\n"
    assert out[1].text == "runs trained in this notebook: 1\n"
    again = clean_executed.clean_notebook(nbformat.reads(nbformat.writes(nb), as_version=4))
    assert again.cells[0].outputs == out  # idempotent


def test_clean_executed_drops_local_paths_and_the_widget_warning(tmp_path):
    root = tmp_path / "checkout"
    warning = (
        "/home/me/env/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found. "
        "Please update jupyter and ipywidgets.\n  from .autonotebook import tqdm as notebook_tqdm\n"
    )
    other = "/opt/conda/lib/python3.11/site-packages/lm_eval/api/task.py:9: UserWarning: few docs\n"
    text = f"{warning}{other}wrote {root}/results/table1/table1.csv in {root}\n"
    cleaned = clean_executed.drop_local_paths(text, root)
    assert (
        cleaned
        == "site-packages/lm_eval/api/task.py:9: UserWarning: few docs\nwrote results/table1/table1.csv in .\n"
    )
    assert clean_executed.drop_local_paths(cleaned, root) == cleaned  # idempotent


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_executed_copy_carries_no_local_path(name):
    path = PROJECT_DIR / "results" / "executed" / f"{name}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path} is not committed")
    text = path.read_text()
    for local in (str(PROJECT_DIR), "/site-packages/", "IProgress not found"):
        assert local not in text, f"{path} carries {local!r}: run scripts/clean_executed.py on it"


# ------------------------------------------------------------------------------------- end to end
def test_a_smoke_notebook_runs_end_to_end_and_a_second_run_trains_nothing(run_notebook):
    from conftest import make_token_data

    root = run_notebook.root
    data = make_token_data(root / "data")
    run_notebook("table3", steps=4, data=str(data))
    for rel in OUTPUTS["table3"]:
        assert (root / rel).is_file(), rel
    assert f"{TRAINED} 0 " not in run_notebook.printed("table3", TRAINED)

    results = sorted((root / "runs").glob("*/result.json"))
    mtimes = {p: p.stat().st_mtime_ns for p in results}
    csv = (root / "results" / "table3" / "table3.csv").read_text()
    run_notebook("table3", steps=4, data=str(data))
    assert run_notebook.printed("table3", TRAINED).startswith(f"{TRAINED} 0 ")
    assert {p: p.stat().st_mtime_ns for p in results} == mtimes  # nothing retrained or rewritten
    assert sorted((root / "runs").glob("*/result.json")) == results
    assert (root / "results" / "table3" / "table3.csv").read_text() == csv

    # `make paper` redraws the same bytes from the CSVs alone.
    before = {p: p.read_bytes() for p in (root / "paper").rglob("*.*")}
    report.render_all(root / "results", root / "paper")
    assert {p: p.read_bytes() for p in (root / "paper").rglob("*.*")} == before


def _tiny_state(results):
    """Every committed tiny row of every results CSV, and the ledger's tiny verdicts."""
    import csv

    from inheritune_core.report import claims

    rows = {}
    for path in sorted(results.rglob("*.csv")):
        with path.open(newline="") as f:
            rows[path.relative_to(results)] = [r for r in csv.DictReader(f) if r.get("scale") == "tiny"]
    built = claims.build_ledger(results, results / "paper_reported", throughput=None)
    verdicts = {r.claim.key: [(o.verdict, o.lines) for o in r.ours if o.scale == "tiny"] for r in built}
    return rows, verdicts, claims.ledger_markdown(built, None)


def test_smoke_beside_the_committed_tiny_results_keeps_them_and_redraws_train_nothing(run_notebook):
    """Issue 21: a smoke run replaces only smoke's rows, the ledger gives smoke no column, and Figures 5-8 with
    their default parameters redraw the committed curves without training a run."""
    import shutil

    from conftest import make_token_data

    root = run_notebook.root
    shutil.copytree(PROJECT_DIR / "results", root / "results", ignore=shutil.ignore_patterns("executed"))
    rows, verdicts, _ = _tiny_state(root / "results")
    assert rows[Path("table3") / "table3.csv"] and any(verdicts.values())  # there is something to keep
    run_notebook("table3", steps=4, data=str(make_token_data(root / "data")))
    after_rows, after_verdicts, markdown = _tiny_state(root / "results")
    assert after_rows == rows and after_verdicts == verdicts
    smoke = [r for r in pd.read_csv(root / "results" / "table3" / "table3.csv").scale if r == "smoke"]
    assert smoke  # the smoke rows are there too, beside tiny's
    header = next(line for line in markdown.splitlines() if line.startswith("| Claim |"))
    assert "smoke" not in header and "`tiny`" in header

    for name in ("figure5", "figure6", "figure7", "figure8"):
        run_notebook(name, scale="tiny", runs_dir=str(root / "no-runs"))  # the defaults: redraw, no retrain
        assert run_notebook.printed(name, TRAINED).startswith(f"{TRAINED} 0 "), name
        assert not (root / "no-runs").exists(), name
        committed = (PROJECT_DIR / "results" / name / "curves.csv").read_bytes()
        assert (root / "results" / name / "curves.csv").read_bytes() == committed, name


def test_a_failing_notebook_fails_papermill_and_leaves_no_csv(run_notebook):
    import papermill
    from conftest import make_token_data

    data = make_token_data(run_notebook.root / "data")
    with pytest.raises(papermill.PapermillExecutionError, match="sizes must be a non-empty list"):
        run_notebook("table3", data=str(data), sizes=["gpt2-huge"])
    assert not (run_notebook.root / "results").exists()


@pytest.mark.slow
def test_every_gpt2_notebook_runs_at_smoke_scale(run_notebook):
    from conftest import make_token_data

    root = run_notebook.root
    data = make_token_data(root / "data")
    downstream = shared_evaldata_dir().is_dir()  # lm-eval on the offline copies, a few documents per task
    for name in GPT2_NOTEBOOKS:
        extra = {"downstream": downstream} if name in ("table1", "table4") else {}
        run_notebook(name, steps=4, data=str(data), **extra)
        for rel in OUTPUTS[name]:
            assert (root / rel).is_file(), (name, rel)
    if downstream:
        import pandas as pd

        t1 = set(pd.read_csv(root / "results" / "table1" / "table1.csv")["metric"])
        assert {"wikitext_word_perplexity", "lambada_openai_acc"} <= t1, t1
        t4 = set(pd.read_csv(root / "results" / "table4" / "table4.csv")["metric"])
        assert {"arc_easy_acc", "lambada_openai_acc"} <= t4, t4
    # Redraws (figure5..8) and table4 read back the runs trained by the notebooks before them.
    for name in ("figure5", "figure6", "figure7", "figure8", "table4"):
        assert run_notebook.printed(name, TRAINED).startswith(f"{TRAINED} 0 "), name
