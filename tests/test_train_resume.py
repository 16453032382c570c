"""Exact resume: a run SIGKILLed mid-way and resumed ends bit-identical (CPU) to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.training.trainer import KILL_AFTER_STEP_ENV, TrainConfig, read_metrics, train

# The same run, as a script the test can kill: model seed 0, 8 steps, checkpoints every 3 steps.
RUN_SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from inheritune_core.models.gpt import GPT, GPTConfig
    from inheritune_core.data.tokens import load_token_data
    from inheritune_core.training.trainer import TrainConfig, train

    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("gpt2-medium", "smoke"))
    cfg = TrainConfig.from_preset("gpt2-medium", "smoke", sys.argv[2], max_steps=8, eval_interval=4,
                                  eval_iters=2, log_interval=1, checkpoint_interval=3, progress=False)
    train(model, load_token_data(sys.argv[1]), cfg)
""")


def make_run(out_dir):
    torch.manual_seed(0)
    model = GPT(GPTConfig.from_preset("gpt2-medium", "smoke"))
    cfg = TrainConfig.from_preset(
        "gpt2-medium",
        "smoke",
        out_dir,
        max_steps=8,
        eval_interval=4,
        eval_iters=2,
        log_interval=1,
        checkpoint_interval=3,
        progress=False,
    )
    return model, cfg


def deterministic_columns(rows):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "tokens_per_s")} for r in rows]


@pytest.mark.slow  # a subprocess killed mid-run, then resumed: tens of seconds on 2 cores
def test_sigkilled_run_resumes_bit_identically(random_token_data, tmp_path):
    model, cfg = make_run(tmp_path / "uninterrupted")
    reference = train(model, random_token_data, cfg)

    killed_dir = tmp_path / "killed"
    script = tmp_path / "run.py"
    script.write_text(RUN_SCRIPT)
    env = {**os.environ, KILL_AFTER_STEP_ENV: "7", "PYTHONPATH": os.getcwd()}
    proc = subprocess.run(
        [sys.executable, str(script), str(random_token_data.root), str(killed_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (killed_dir / "result.json").exists()
    assert torch.load(killed_dir / "ckpt.pt", weights_only=True)["step"] == 6
    assert read_metrics(killed_dir / "metrics.csv")[-1]["step"] == 7  # a row the resumed run must drop

    model2, cfg2 = make_run(killed_dir)
    resumed = train(model2, random_token_data, cfg2)

    assert (resumed.steps, resumed.tokens_seen) == (reference.steps, reference.tokens_seen)
    assert resumed.final_val_loss == reference.final_val_loss
    for (name, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert torch.equal(a, b), name
    ref_ckpt = torch.load(reference.checkpoint, weights_only=True)
    res_ckpt = torch.load(resumed.checkpoint, weights_only=True)
    for key in ref_ckpt["optimizer"]["state"]:
        for field, tensor in ref_ckpt["optimizer"]["state"][key].items():
            assert torch.equal(tensor, res_ckpt["optimizer"]["state"][key][field]), (key, field)
    assert ref_ckpt["sampler"] == res_ckpt["sampler"]
    ref_rows, res_rows = read_metrics(reference.metrics_csv), read_metrics(resumed.metrics_csv)
    assert [r["step"] for r in res_rows] == list(range(9))
    assert deterministic_columns(res_rows) == deterministic_columns(ref_rows)


def test_the_training_state_is_saved_and_restored_whole(random_token_data, tmp_path):
    """`TrainState.to_checkpoint` / `restore` carry the optimizer, sampler position, counters and RNG states
    together (the in-process half of exact resume; the SIGKILL test above is the whole of it)."""
    import random

    import numpy as np

    from inheritune_core.data.sampling import make_sampler
    from inheritune_core.training.optim import configure_optimizer
    from inheritune_core.training.state import TrainState

    model, cfg = make_run(tmp_path / "run")
    train(model, random_token_data, cfg)
    ckpt = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=True)

    def fresh() -> TrainState:
        sampler = make_sampler(
            cfg.sampler, random_token_data.split("train"), cfg.micro_batch, cfg.block_size, seed=cfg.seed
        )
        return TrainState(model, configure_optimizer(model, cfg, "cpu"), sampler)

    state = fresh()
    state.restore(ckpt)
    draw = lambda: (random.random(), np.random.rand(), torch.rand(1).item())
    draws = draw()
    again = state.to_checkpoint(elapsed_s=ckpt["elapsed_s"], train_config=cfg.to_dict(), data=ckpt["data"])
    restored = fresh()
    restored.restore(again)
    assert (restored.step, restored.tokens_seen, restored.best_val) == (
        8,
        ckpt["tokens_seen"],
        ckpt["best_val_loss"],
    )
    assert restored.sampler.state_dict() == ckpt["sampler"] and restored.metrics_rows == ckpt["metrics_rows"]
    assert draw() != draws  # restore() puts the RNG states back ...
    restored.restore(ckpt)
    assert draw() == draws  # ... exactly as they were saved
