"""Algorithm 1 (recipe.run_inheritune): the loop on scripted validation losses, then for real at smoke scale."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from inheritune_core.config import ConfigError
from inheritune_core.method.inheritance import random_init
from inheritune_core.method.recipe import CSV_COLUMNS, run_inheritune
from inheritune_core.models.gpt import GPT, GPTConfig

K = 8


@dataclass
class FakeConfig:
    out_dir: str
    max_steps: int = 5
    warmup_steps: int = 2
    learning_rate: float = 1e-3


@dataclass
class FakeResult:
    final_val_loss: float
    steps: int
    tokens_seen: int
    wall_time_s: float


class ScriptedTrainer:
    """Returns the next scripted validation loss; 'trains' by adding 0.5 to every weight; records its calls."""

    def __init__(self, losses, csv_path: Path | None = None):
        self.losses = list(losses)
        self.calls: list[dict] = []
        self.trained: list[GPT] = []
        self.csv_path = csv_path

    def __call__(self, model, data, cfg, teacher=None, resume=True):
        csv_rows = None
        if self.csv_path is not None and self.csv_path.exists():
            csv_rows = len(list(csv.DictReader(self.csv_path.open())))
        self.calls.append(
            dict(
                layers=model.config.n_layer,
                cfg=cfg,
                resume=resume,
                csv_rows=csv_rows,
                layer_idx=[b.attn.layer_idx for b in model.transformer.h],
            )
        )
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.5)
        self.trained.append(model)
        return FakeResult(self.losses.pop(0), cfg.max_steps, cfg.max_steps * 100, 1.25)


@pytest.fixture
def reference() -> GPT:
    return random_init(GPTConfig(block_size=32, vocab_size=256, n_layer=K, n_head=4, n_embd=32), seed=3)


def run(reference, tmp_path, losses, **kw):
    trainer = ScriptedTrainer(losses, csv_path=tmp_path / "out" / "inheritune.csv")
    rows = run_inheritune(
        reference,
        data=None,
        train_cfg=FakeConfig(str(tmp_path / "out")),
        reference_val_loss=3.0,
        train_fn=trainer,
        log=lambda _: None,
        **kw,
    )
    return rows, trainer


def test_the_loop_stops_at_the_round_that_reaches_parity(reference, tmp_path):
    rows, trainer = run(reference, tmp_path, [3.4, 3.1, 2.99, 2.5])
    assert [r["layers"] for r in rows] == [4, 6, 8]  # k/2, then +2 per round: the paper's 12 -> 14 -> 16
    assert [r["reached_parity"] for r in rows] == [False, False, True]
    assert rows.reached_parity and rows.model.config.n_layer == 8
    assert len(trainer.losses) == 1  # the fourth scripted round never ran


def test_parity_in_the_first_round_means_no_growth(reference, tmp_path):
    rows, trainer = run(reference, tmp_path, [3.0, 1.0])  # equal counts as parity (<=)
    assert [r["layers"] for r in rows] == [4] and rows.reached_parity


def test_tolerance_and_max_layers(reference, tmp_path):
    rows, _ = run(reference, tmp_path / "a", [3.2, 3.15], tolerance=0.2)
    assert len(rows) == 1 and rows.reached_parity
    rows, _ = run(reference, tmp_path / "b", [9.0] * 5, max_layers=7)
    assert [r["layers"] for r in rows] == [4, 6, 7]  # the last step is shortened to reach max_layers
    assert not rows.reached_parity
    rows, _ = run(reference, tmp_path / "c", [9.0] * 5, start_layers=2, grow_step=3)
    assert [r["layers"] for r in rows] == [2, 5, 8]


def test_each_round_grows_the_trained_model_with_the_next_reference_layers(reference, tmp_path):
    snapshot = {k: v.clone() for k, v in reference.state_dict().items()}
    rows, trainer = run(reference, tmp_path, [3.5, 3.5, 3.5])
    first, second = trainer.trained[0], trainer.trained[1]
    assert trainer.calls[1]["layer_idx"] == list(range(6))
    # second round's model: blocks 0..3 are round 1's trained blocks (+0.5 again from round 2's "training"),
    # blocks 4, 5 are reference blocks 4, 5 (+0.5)
    for i in range(6):
        source = first.transformer.h[i] if i < 4 else reference.transformer.h[i]
        for a, b in zip(second.transformer.h[i].parameters(), source.parameters()):
            assert torch.allclose(a, b + 0.5)
    assert torch.allclose(second.transformer.wpe.weight, first.transformer.wpe.weight + 0.5)
    for key, value in reference.state_dict().items():
        assert torch.equal(value, snapshot[key]), f"the recipe modified reference {key}"


def test_every_round_is_a_fresh_run_of_T_steps_and_the_csv_is_written_after_each(reference, tmp_path):
    rows, trainer = run(reference, tmp_path, [3.5, 3.5, 3.5])
    out = tmp_path / "out"
    dirs = [Path(c["cfg"].out_dir) for c in trainer.calls]
    assert dirs == [out / "round1-4layers", out / "round2-6layers", out / "round3-8layers"]
    assert all(c["cfg"].max_steps == 5 and c["cfg"].warmup_steps == 2 and c["resume"] for c in trainer.calls)
    assert [c["csv_rows"] for c in trainer.calls] == [None, 1, 2]  # written atomically after every round
    with open(rows.csv_path) as f:
        written = list(csv.DictReader(f))
    assert tuple(written[0]) == CSV_COLUMNS
    assert [int(r["layers"]) for r in written] == [4, 6, 8]
    assert [int(r["total_tokens_seen"]) for r in written] == [500, 1000, 1500]
    assert written[2]["run_dir"] == str(out / "round3-8layers") and written[2]["reached_parity"] == "False"
    assert float(written[1]["reference_val_loss"]) == 3.0 and float(written[1]["wall_time_s"]) == 1.25


def test_schedule_per_round_is_configurable(reference, tmp_path):
    seen = []

    def lower_lr_later(round_index, n_layers, cfg):
        seen.append((round_index, n_layers))
        return type(cfg)(**{**cfg.__dict__, "learning_rate": cfg.learning_rate / round_index})

    rows, trainer = run(
        reference,
        tmp_path,
        [3.5, 3.5],
        max_layers=6,
        steps_per_round=7,
        warmup_every_round=False,
        round_config=lower_lr_later,
    )
    cfgs = [c["cfg"] for c in trainer.calls]
    assert [c.max_steps for c in cfgs] == [7, 7]
    assert [c.warmup_steps for c in cfgs] == [2, 0]
    assert [c.learning_rate for c in cfgs] == [1e-3, 5e-4]
    assert seen == [(1, 4), (2, 6)]


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(start_layers=9), r"need start_layers <= max_layers <= k, got 9 <= 8 <= 8"),
        (dict(start_layers=0), "start_layers must be a positive integer"),
        (dict(start_layers=6, max_layers=4), "got 6 <= 4 <= 8"),
        (dict(max_layers=12), "got 4 <= 12 <= 8"),
        (dict(grow_step=0), "grow_step must be a positive integer"),
        (dict(tolerance=math.nan), "tolerance must be a finite number"),
        (dict(reference_val_loss=math.inf), "reference_val_loss must be a finite number"),
        (dict(train_cfg={"out_dir": "x"}), "train_cfg must be a TrainConfig"),
        (dict(parts="everything"), "unknown parts 'everything'"),
    ],
)
def test_bad_input_gets_one_clear_error(reference, tmp_path, kw, message):
    args = dict(
        data=None,
        train_cfg=FakeConfig(str(tmp_path)),
        reference_val_loss=3.0,
        train_fn=ScriptedTrainer([1.0]),
        log=lambda _: None,
    )
    args.update(kw)
    with pytest.raises(ConfigError, match=message):
        run_inheritune(reference, **args)


# ------------------------------------------------------------------------------------------ the real trainer


def test_recipe_with_the_real_trainer_writes_its_csv_and_resumes(random_token_data, tmp_path):
    from inheritune_core.training.trainer import TrainConfig

    reference = random_init(GPTConfig.from_preset("gpt2-medium", "smoke"), seed=1)  # 4 layers at smoke
    cfg = TrainConfig.from_preset(
        "gpt2-medium", "smoke", tmp_path / "inheritune", max_steps=2, eval_interval=2, progress=False
    )
    # reference loss 0: never matched, so the recipe grows 2 -> 4 layers and stops at the reference's depth
    rows = run_inheritune(reference, random_token_data, cfg, reference_val_loss=0.0, log=lambda _: None)
    assert [r["layers"] for r in rows] == [2, 4]
    assert all(r["steps"] == 2 and r["tokens_seen"] == 2 * cfg.batch_tokens for r in rows)
    assert all(math.isfinite(r["val_loss"]) for r in rows)
    assert all((Path(r["run_dir"]) / "result.json").is_file() for r in rows)
    assert rows.csv_path == tmp_path / "inheritune" / "inheritune.csv"
    assert len(rows.csv_path.read_text().splitlines()) == 3

    # Re-running finds the finished rounds and returns them (their checkpoints are loaded, nothing retrained).
    again = run_inheritune(reference, random_token_data, cfg, reference_val_loss=0.0, log=lambda _: None)
    assert [r["val_loss"] for r in again] == [r["val_loss"] for r in rows]
    for a, b in zip(again.model.parameters(), rows.model.parameters()):
        assert torch.equal(a, b)


def test_recipe_measures_the_reference_loss_when_not_given(random_token_data, tmp_path):
    from inheritune_core.training.trainer import TrainConfig, evaluate_loss

    reference = random_init(GPTConfig.from_preset("gpt2-medium", "smoke"), seed=1)
    cfg = TrainConfig.from_preset(
        "gpt2-medium", "smoke", tmp_path / "r", max_steps=2, eval_interval=2, progress=False
    )
    rows = run_inheritune(
        reference, random_token_data, cfg, reference_val_loss=None, tolerance=100.0, log=lambda _: None
    )
    assert len(rows) == 1 and rows.reached_parity
    assert rows[0]["reference_val_loss"] == pytest.approx(evaluate_loss(reference, random_token_data, cfg))


def test_cli_trains_a_reference_then_runs_the_recipe(random_token_data, tmp_path, capsys):
    from inheritune_core.method.recipe import main

    out = tmp_path / "cli"
    args = [
        "--scale",
        "smoke",
        "--data",
        str(random_token_data.root),
        "--out",
        str(out),
        "--max-steps",
        "1",
        "--device",
        "cpu",
        "--no-progress",
    ]
    assert main(args) == 0
    assert (out / "reference" / "result.json").is_file()
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert printed == (out / "inheritune" / "inheritune.csv").read_text()
    assert main(["--data", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
