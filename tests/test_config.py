"""Configuration tables: every scale everywhere, the optimizer numbers in one place, overrides that land."""

from __future__ import annotations

import dataclasses

import pytest

from inheritune_core.config import LOWDATA, SCALES, ConfigError, OptimPreset, get_scale
from inheritune_core.experiments import lowdata


def test_every_per_scale_table_has_every_scale():
    assert set(lowdata.LOWDATA_SCALES) == set(SCALES)
    for name, scale in [*SCALES.items(), *lowdata.LOWDATA_SCALES.items()]:
        assert scale.name == name
    with pytest.raises(
        ConfigError, match="unknown scale 'huge'; choose one of smoke, tiny, cpu, small, paper"
    ):
        get_scale("huge")


def test_lowdata_scales_share_appendix_c2_optimizer_but_batch_steps_warmup():
    paper = lowdata.LOWDATA_SCALES["paper"]
    assert paper.optim == LOWDATA.optim and paper.n_layer_sweep == LOWDATA.figure11_layers
    varies = {"batch_tokens", "max_steps", "warmup_steps"}
    for scale in lowdata.LOWDATA_SCALES.values():
        for field in dataclasses.fields(OptimPreset):
            if field.name not in varies:
                assert getattr(scale.optim, field.name) == getattr(LOWDATA.optim, field.name), field.name
        assert lowdata.default_epoch_budget(scale) > 0


def test_lowdata_overrides_reach_the_optimizer_and_the_train_config(tmp_path):
    s = lowdata.get_lowdata_scale("smoke", max_steps=7, learning_rate=1e-3, n_layers=3, reference=None)
    assert (s.max_steps, s.optim.learning_rate, s.n_layers) == (7, 1e-3, 3)
    assert s.reference == lowdata.LOWDATA_SCALES["smoke"].reference  # None leaves a field as it is
    cfg = lowdata.lowdata_train_config(s, tmp_path)
    assert (cfg.max_steps, cfg.learning_rate, cfg.min_lr) == (7, 1e-3, LOWDATA.optim.min_lr)
    with pytest.raises(ConfigError, match=r"unknown low-data scale fields \['lr'\]"):
        lowdata.get_lowdata_scale("smoke", lr=1e-3)
