"""One registry of tables and figures (inheritune_core/registry.py) and one ground floor of the paper's facts
(paper.py, config.py): what is derived from them stays in step; results are kept per scale; redraws train
nothing by default (issues 19 and 21)."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys

import pytest

from inheritune_core import paper, registry
from inheritune_core.experiments import arms, gpt2
from inheritune_core.experiments.results import read_rows, write_by_scale
from inheritune_core.experiments.runs import TRAINING_COUNTER
from inheritune_core.paths import PROJECT_DIR


def test_every_notebook_is_listed_once_with_its_source():
    names = registry.notebook_names()
    assert len(set(names)) == len(names)
    assert set(names) == {p.stem for p in (PROJECT_DIR / "notebooks").glob("*.ipynb")}
    assert set(names) == {p.stem for p in (PROJECT_DIR / "notebooks" / "src").glob("*.md")}


def test_the_readme_table_is_the_registrys():
    text = (PROJECT_DIR / "README.md").read_text()
    between = text.split(registry.README_BEGIN, 1)[1].split(registry.README_END, 1)[0]
    assert between.strip() == registry.readme_table(), "run `python -m inheritune_core.registry readme`"


def test_rewriting_the_readme_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{registry.README_BEGIN}\nold\n{registry.README_END}\nafter\n")
    assert registry.rewrite_readme(readme) and not registry.rewrite_readme(readme)
    assert (
        readme.read_text()
        == f"# x\n{registry.README_BEGIN}\n{registry.readme_table()}\n{registry.README_END}\nafter\n"
    )
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="markers"):
        registry.rewrite_readme(readme)


def test_the_makefile_targets_are_the_registrys():
    probe = "print-notebooks:\n\t@echo $(NOTEBOOKS)\n"
    out = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", "-", "print-notebooks", f"PY={sys.executable}"],
        input=probe,
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == registry.notebook_names()
    assert (
        subprocess.run(
            [sys.executable, "-m", "inheritune_core.registry", "bogus"], cwd=PROJECT_DIR
        ).returncode
        == 2
    )


def test_the_report_draws_exactly_the_registrys_names():
    from inheritune_core.report import figures, lowdata, tables

    drawn = {*tables.TABLES, *tables.FIGURES, *lowdata.RENDERERS, *figures.ATTENTION_FIGURES}
    assert set(registry.report_names()) == drawn
    assert len(registry.report_names()) == len(drawn)


def test_each_artifacts_experiment_and_arms_exist():
    for a in registry.ARTIFACTS:
        dotted = a.experiment.split("(")[0].split(" ")[0]
        module, _, attr = dotted.rpartition(".")
        try:
            target = importlib.import_module(f"inheritune_core.{dotted}")
        except ModuleNotFoundError:
            target = getattr(importlib.import_module(f"inheritune_core.{module}"), attr)
        assert target is not None, a.name
        assert a.arms is None or a.arms in arms.EXPERIMENTS, a.name
        assert a.redraws is None or a.redraws in registry.BY_NAME, a.name
    assert {a.name for a in registry.ARTIFACTS if a.redraws} == set(gpt2.FIGURE_SOURCES)


def test_the_committed_csvs_are_the_registrys():
    for a in registry.ARTIFACTS:
        folder = PROJECT_DIR / "results" / a.name
        committed = {p.name for p in folder.glob("*.csv")} if folder.is_dir() else set()
        assert committed == set(a.csvs), a.name


def test_the_claims_are_keyed_by_registered_notebooks_and_declared_roles():
    from inheritune_core.report import claims

    for claim in claims.CLAIMS:
        if not claim.notebook:
            continue
        artifact = registry.get_artifact(claim.notebook)
        if artifact.arms is None:
            continue
        declared = {"reference"} | {arm.role for arm in arms.EXPERIMENTS[artifact.arms].arms}
        for c in claim.comparisons:
            assert {c.a, c.b} <= declared, (claim.key, c)
            assert {c.a, c.b} <= set(paper.ROLES), (claim.key, c)


def test_the_papers_facts_are_stated_once():
    from inheritune_core.config import LOWDATA, PAPER_REFERENCE_LAYERS
    from inheritune_core.evaluation import tasks
    from inheritune_core.experiments import lowdata
    from inheritune_core.report import claims, tables

    assert tasks.PAPER_TABLES is paper.PAPER_TABLES and tasks.TABLE1 is paper.TABLE1
    assert gpt2.TABLE1_TASKS == {t.task: [(t.metric, t.column, t.factor)] for t in paper.TABLE1}
    assert tables.MODEL_NAMES is paper.MODEL_NAMES and claims.MODEL_SHORT is paper.MODEL_SHORT
    assert lowdata.LOWDATA_SCALES is importlib.import_module("inheritune_core.config").LOWDATA_SCALES
    assert PAPER_REFERENCE_LAYERS[LOWDATA.reference] == LOWDATA.n_layers == 13


def test_results_are_kept_per_scale(tmp_path):
    path = tmp_path / "t.csv"
    tiny = [
        {"role": "random", "value": 6.5, "scale": "tiny"},
        {"role": "ours", "value": 6.25, "scale": "tiny"},
    ]
    write_by_scale(tiny, path)
    before = path.read_text().splitlines()
    write_by_scale([{"role": "random", "value": 9.0, "scale": "smoke"}], path)
    after = path.read_text().splitlines()
    assert after[0] == before[0] and set(before[1:]) <= set(after)  # tiny's lines unchanged, byte for byte
    assert [r["scale"] for r in read_rows(path)] == ["smoke", "tiny", "tiny"]  # config.SCALES order
    write_by_scale([{"role": "random", "value": 8.0, "scale": "smoke"}], path)  # smoke replaces smoke only
    assert [(r["scale"], r["value"]) for r in read_rows(path)] == [
        ("smoke", "8.0"),
        ("tiny", "6.5"),
        ("tiny", "6.25"),
    ]
    assert path.read_text().splitlines()[2:] == before[1:]


def _scale_lines(path, scale: str) -> str:
    """The header and the lines of one scale of a committed CSV, as write_by_scale writes them."""
    import csv
    import io

    text = path.read_text()
    header, *lines = text.splitlines(keepends=True)
    column = next(csv.reader([header])).index("scale")
    return header + "".join(x for x in lines if next(csv.reader(io.StringIO(x)))[column] == scale)


def test_a_default_redraw_trains_nothing_and_reproduces_the_committed_curves(tmp_path, capsys):
    for source in set(gpt2.FIGURE_SOURCES.values()):
        (tmp_path / source).mkdir()
        shutil.copy(PROJECT_DIR / "results" / source / "curves.csv", tmp_path / source / "curves.csv")
    before = dict(TRAINING_COUNTER)
    for name in gpt2.FIGURE_SOURCES:
        gpt2.redraw(name, tmp_path, "tiny").write(tmp_path, name)
        assert "nothing trained" in capsys.readouterr().out
        committed = PROJECT_DIR / "results" / name / "curves.csv"
        assert (tmp_path / name / "curves.csv").read_text() == _scale_lines(committed, "tiny"), name
    assert TRAINING_COUNTER == before
    with pytest.raises(gpt2.ConfigError, match="no paper curves"):
        gpt2.redraw("figure5", tmp_path, "paper")
    with pytest.raises(gpt2.ConfigError, match="needs a setup"):
        gpt2.redraw("figure5", tmp_path, "tiny", retrain=True)


def test_the_registry_needs_only_the_standard_library_at_import():
    import ast

    tree = ast.parse((PROJECT_DIR / "inheritune_core" / "registry.py").read_text())
    top = {
        n.module if isinstance(n, ast.ImportFrom) else n.names[0].name
        for n in tree.body
        if isinstance(n, ast.Import | ast.ImportFrom)
    }
    assert top <= {"__future__", "sys", "dataclasses", "pathlib"}, top  # the Makefile reads it before setup
