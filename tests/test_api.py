"""The public API: every name the README imports from `inheritune_core` is the function or class it names
(not a submodule of the same name), and works; every name of `inheritune_core._EXPORTS` resolves."""

from __future__ import annotations

import inspect
import re
import types

import pytest
import torch
from conftest import make_token_data

import inheritune_core
from inheritune_core.paths import PROJECT_DIR


def readme_imports() -> set[str]:
    """Names in `from inheritune_core import a, b` lines of the README's code blocks."""
    text = (PROJECT_DIR / "README.md").read_text()
    names: set[str] = set()
    for match in re.finditer(r"^from inheritune_core import ([\w, ]+)$", text, re.M):
        names |= {n.strip() for n in match.group(1).split(",")}
    return names


@pytest.mark.parametrize("name", sorted(inheritune_core._EXPORTS))
def test_every_export_resolves_to_its_object(name):
    obj = getattr(inheritune_core, name)
    assert not isinstance(obj, types.ModuleType), f"inheritune_core.{name} is a module"
    module = f"inheritune_core.{inheritune_core._EXPORTS[name]}"
    assert getattr(__import__(module, fromlist=[name]), name) is obj


def test_functions_named_like_their_modules_are_the_functions():
    from inheritune_core import evaluate, inherit, train

    for fn in (train, evaluate, inherit):
        assert inspect.isfunction(fn), fn
    assert list(inspect.signature(evaluate).parameters)[:2] == ["model_or_dir", "tasks"]


def test_readme_imports_are_public_and_work(tmp_path):
    names = readme_imports()
    assert {"train", "inherit", "grow", "GPT", "GPTConfig", "TrainConfig", "load_token_data"} <= names
    assert names <= set(inheritune_core._EXPORTS), sorted(names - set(inheritune_core._EXPORTS))
    ns = {name: getattr(inheritune_core, name) for name in names}

    # The README's example, at smoke scale on a small random corpus.
    data = ns["load_token_data"](make_token_data(tmp_path / "corpus"))
    reference = ns["GPT"](ns["GPTConfig"].from_preset("gpt2-medium", "smoke"))
    cfg = ns["TrainConfig"].from_preset("gpt2-medium", "smoke", tmp_path / "ref", max_steps=2, progress=False)
    result = ns["train"](reference, data, cfg)
    assert result.steps == 2 and torch.isfinite(torch.tensor(result.final_val_loss))
    small = ns["inherit"](reference, 2)
    assert small.config.n_layer == 2
    bigger = ns["grow"](small, reference, add=2)
    assert bigger.config.n_layer == reference.config.n_layer == 4
    cfg = ns["TrainConfig"].from_preset(
        "gpt2-medium", "smoke", tmp_path / "small", max_steps=2, progress=False
    )
    assert ns["train"](small, data, cfg).steps == 2


def test_readme_analysis_calls_work():
    from inheritune_core import GPT, GPTConfig, analyze_model, lazy_layers, sample_windows

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("gpt2-medium", "smoke"))
    windows = sample_windows(torch.randint(0, 50257, (500,)), n_runs=2, seq_len=16, seed=0)
    stats = analyze_model(model, windows)
    assert set(lazy_layers(stats)) <= set(range(model.config.n_layer))
