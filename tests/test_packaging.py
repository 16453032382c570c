"""The project's own promises about itself: dependency lists agree, CI runs the README's commands, every
notebook has its make target and its line in the README's table."""

from __future__ import annotations

import re

import tomllib
import yaml
from packaging.specifiers import SpecifierSet

from inheritune_core.paths import PROJECT_DIR


def _pyproject() -> dict:
    return tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())


# conda-forge names of PyPI distributions, where they differ
CONDA_TO_PYPI = {"pytorch": "torch"}


def _requirement(line: str) -> tuple[str, SpecifierSet]:
    """(normalised name, version bounds) of a pip requirement or a conda match spec (`name==1.0=build`)."""
    line = line.split("#")[0].strip()
    name, spec = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", line).groups()
    if spec.startswith("==") and spec.count("=") > 2:  # conda: version==X=build_string
        spec = spec[: spec.index("=", 2)]
    name = CONDA_TO_PYPI.get(name.lower(), name).lower().replace("_", "-")
    return name, SpecifierSet(spec)


def test_environment_yml_installs_the_same_dependencies_as_pyproject():
    project = _pyproject()["project"]
    # the dependencies and the [lab] extra (Jupyter); the [test] extra comes with `-e .[test]`
    declared = dict(
        _requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["lab"]]
    )
    env = yaml.safe_load((PROJECT_DIR / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in conda and "pip" in conda
    assert pip[-1] == "-e .[test]"  # the package itself with its test extras (pytest, ruff), from pip
    from_conda = [_requirement(r) for r in conda if r.split("=")[0] not in ("python", "pip")]
    listed = from_conda + [_requirement(r) for r in pip[:-1]]
    assert len(listed) == len(dict(listed)), "a package is listed twice"
    assert dict(listed) == declared, (
        sorted(set(dict(listed).items()) - set(declared.items())),
        sorted(set(declared.items()) - set(dict(listed).items())),
    )
    # the conda-forge packages come from conda, not pip
    for name in (
        "torch",
        "numpy",
        "pandas",
        "matplotlib",
        "papermill",
        "ipykernel",
        "jupyterlab",
        "ipywidgets",
    ):
        assert name in dict(from_conda), name


def test_packaging_metadata_is_current():
    """No deprecation warning from our own packaging: the license is an SPDX string (PEP 639), with the
    setuptools floor that reads it; the [lab] extra gives widget progress bars; one console command."""
    data = _pyproject()
    project = data["project"]
    assert project["license"] == "MIT"
    floor = next(r for r in data["build-system"]["requires"] if r.startswith("setuptools"))
    assert _requirement(floor)[1] == SpecifierSet(">=77"), floor  # 77 introduced the SPDX string
    assert "ipywidgets" in dict(_requirement(r) for r in project["optional-dependencies"]["lab"])
    assert project["scripts"] == {"inheritune": "inheritune_core.cli:main"}


def test_ci_runs_the_readme_commands():
    readme = (PROJECT_DIR / "README.md").read_text()
    ci = (PROJECT_DIR / ".ci" / "run").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make setup", "make test"]
    ci_commands = [line.strip() for line in ci.splitlines() if line.strip().startswith("make ")]
    assert ci_commands == commands


def test_every_notebook_has_a_make_target_and_a_readme_row():
    from inheritune_core import registry

    makefile = (PROJECT_DIR / "Makefile").read_text()
    # the Makefile's targets are the registry's list (`python -m inheritune_core.registry list`)
    assert re.search(r"^NOTEBOOKS := \$\(shell \$\(call REGISTRY_LIST", makefile, re.M)
    notebooks = sorted(p.stem for p in (PROJECT_DIR / "notebooks").glob("*.ipynb"))
    assert sorted(registry.notebook_names()) == notebooks
    table = (PROJECT_DIR / "README.md").read_text().split("<!-- NOTEBOOK-TABLE -->")[1]
    for name in notebooks:
        assert f"notebooks/{name}.ipynb" in table, name
