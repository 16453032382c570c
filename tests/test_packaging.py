"""The project's own promises about itself: dependency lists agree, CI runs the README's commands,
every notebook has its make target and its line in the README's table."""

from __future__ import annotations

import re

import tomllib

from inheritune_core.paths import PROJECT_DIR


def _pyproject() -> dict:
    return tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())


def _normalise(req: str) -> str:
    return re.sub(r"\s+", "", req.split("#")[0]).lower().replace("_", "-")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = _pyproject()["project"]
    declared = {_normalise(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    env_text = (PROJECT_DIR / "environment.yml").read_text()
    pip_section = env_text.split("- pip:", 1)[1]
    listed = {
        _normalise(line.strip()[2:]) for line in pip_section.splitlines() if line.strip().startswith("- ")
    }
    assert listed == declared, (sorted(listed - declared), sorted(declared - listed))
    assert "python=3.11" in env_text


def test_torch_is_pinned_to_the_local_cpu_build():
    assert "torch==2.13.0" in _pyproject()["project"]["dependencies"]


def test_ci_runs_the_readme_commands():
    readme = (PROJECT_DIR / "README.md").read_text()
    ci = (PROJECT_DIR / ".ci" / "run").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make setup", "make test"]
    ci_commands = [line.strip() for line in ci.splitlines() if line.strip().startswith("make ")]
    assert ci_commands == commands


def test_every_notebook_has_a_make_target_and_a_readme_row():
    makefile = (PROJECT_DIR / "Makefile").read_text()
    targets = (
        re.search(r"^NOTEBOOKS := (.*?)(?<!\\)$", makefile, re.M | re.S).group(1).replace("\\", " ").split()
    )
    notebooks = sorted(p.stem for p in (PROJECT_DIR / "notebooks").glob("*.ipynb"))
    assert sorted(targets) == notebooks
    table = (PROJECT_DIR / "README.md").read_text().split("<!-- NOTEBOOK-TABLE -->")[1]
    for name in notebooks:
        assert f"notebooks/{name}.ipynb" in table, name
