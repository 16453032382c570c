"""Algorithm 1 (recipe.run_inheritune): the loop on scripted validation losses, the two growth readings bit for
bit, then for real at smoke scale (including every window a multi-round run reads)."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from inheritune_core.config import ConfigError
from inheritune_core.method.inheritance import grow, inherit, random_init
from inheritune_core.method.recipe import CSV_COLUMNS, RecipeConfig, run_inheritune
from inheritune_core.models.gpt import GPT, GPTConfig

K = 8


@dataclass
class FakeConfig:
    out_dir: str
    max_steps: int = 5
    warmup_steps: int = 2
    learning_rate: float = 1e-3
    batch_tokens: int = 64
    micro_batch: int = 2
    block_size: int = 8  # 4 micro-batches per step
    sampler_offset: int = 0


@dataclass
class FakeVal:
    mean: float
    se: float = 0.01
    tokens: int = 1000


@dataclass
class FakeResult:
    final_val_loss: float
    steps: int
    tokens_seen: int
    wall_time_s: float


class ScriptedTrainer:
    """'Trains' by adding 0.5 to every weight and records its calls (with the model as it was handed over);
    `validate` (the recipe's val_fn) returns the next scripted validation loss."""

    def __init__(self, losses, csv_path: Path | None = None):
        self.losses = list(losses)
        self.calls: list[dict] = []
        self.trained: list[GPT] = []
        self.csv_path = csv_path

    def validate(self, model, data, cfg):
        assert model is self.trained[-1], "the recipe must validate the model it just trained"
        return FakeVal(self.losses.pop(0))

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
                before={k: v.clone() for k, v in model.state_dict().items()},
            )
        )
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.5)
        self.trained.append(model)
        return FakeResult(float("nan"), cfg.max_steps, cfg.max_steps * 100, 1.25)


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
        val_fn=trainer.validate,
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


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_reinherit_rounds_start_from_inherit_bit_for_bit(reference, tmp_path):
    # The paper's reading (default): round r is inherit(reference, n_r), whatever round r-1 learned.
    snapshot = {k: v.clone() for k, v in reference.state_dict().items()}
    rows, trainer = run(reference, tmp_path, [3.5, 3.5, 3.5])
    assert [c["layers"] for c in trainer.calls] == [4, 6, 8]
    for call in trainer.calls:
        assert_same_state(call["before"], inherit(reference, call["layers"]).state_dict())
        assert call["layer_idx"] == list(range(call["layers"]))
    assert [r["growth"] for r in rows] == ["reinherit"] * 3
    # every round's model has seen T steps; the recipe as a whole 3T
    assert [r["model_steps"] for r in rows] == [5, 5, 5] and [r["total_steps"] for r in rows] == [5, 10, 15]
    assert [r["model_tokens"] for r in rows] == [500, 500, 500]
    assert_same_state(reference.state_dict(), snapshot)  # the reference is never modified


def test_continue_rounds_grow_the_previous_trained_model_bit_for_bit(reference, tmp_path):
    rows, trainer = run(reference, tmp_path, [3.5, 3.5, 3.5], growth="continue")
    assert_same_state(trainer.calls[0]["before"], inherit(reference, 4).state_dict())
    for prev, call in zip(trainer.trained, trainer.calls[1:]):
        assert_same_state(call["before"], grow(prev, reference, add=2).state_dict())
    assert [r["model_steps"] for r in rows] == [5, 10, 15] and [r["total_steps"] for r in rows] == [5, 10, 15]
    assert [r["model_tokens"] for r in rows] == [500, 1000, 1500]


def test_unknown_growth_is_refused(reference, tmp_path):
    with pytest.raises(ConfigError, match="unknown growth 'regrow'; choose one of reinherit, continue"):
        run(reference, tmp_path, [3.5], growth="regrow")


def test_each_round_reads_the_data_after_the_previous_one(reference, tmp_path):
    rows, trainer = run(reference, tmp_path, [3.5, 3.5, 3.5], data_offset=7)
    per_round = 5 * 4  # 5 steps of 4 micro-batches
    assert [c["cfg"].sampler_offset for c in trainer.calls] == [7, 7 + per_round, 7 + 2 * per_round]
    assert [r["sampler_offset"] for r in rows] == [7, 27, 47] and rows.next_offset == 67
    rows, trainer = run(
        reference, tmp_path / "restart", [3.5, 3.5], data_offset=7, carry_data=False, max_layers=6
    )
    assert [c["cfg"].sampler_offset for c in trainer.calls] == [7, 7]


def test_continue_grows_the_trained_model_with_the_next_reference_layers(reference, tmp_path):
    snapshot = {k: v.clone() for k, v in reference.state_dict().items()}
    rows, trainer = run(reference, tmp_path, [3.5, 3.5, 3.5], growth="continue")
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
    assert [float(r["val_loss_se"]) for r in written] == [0.01] * 3
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
    args["val_fn"] = args["train_fn"].validate
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
    from inheritune_core.training.trainer import TrainConfig
    from inheritune_core.training.validation import validation_loss

    reference = random_init(GPTConfig.from_preset("gpt2-medium", "smoke"), seed=1)
    cfg = TrainConfig.from_preset(
        "gpt2-medium", "smoke", tmp_path / "r", max_steps=2, eval_interval=2, progress=False, val_windows=None
    )
    rows = run_inheritune(
        reference, random_token_data, cfg, reference_val_loss=None, tolerance=100.0, log=lambda _: None
    )
    assert len(rows) == 1 and rows.reached_parity
    whole = validation_loss(reference, random_token_data, cfg.block_size)  # every window of the val split
    assert whole.windows == (random_token_data.num_tokens("val") - 1) // cfg.block_size
    assert rows[0]["reference_val_loss"] == pytest.approx(whole.mean)
    assert rows[0]["val_tokens"] == whole.tokens and rows[0]["val_loss_se"] > 0


def test_no_window_is_read_twice_in_a_multi_round_lineage(random_token_data, tmp_path, monkeypatch):
    """Figure 4 (no data repetition): record every window the reference and three rounds read."""
    from inheritune_core.data.sampling import SequentialBatchSampler
    from inheritune_core.training.accounting import continuation_offset
    from inheritune_core.training.trainer import TrainConfig, train

    read: list[int] = []
    original = SequentialBatchSampler.batch_at

    def recording_batch_at(self, index):
        read.extend(int(w) for w in self.window_starts(index) // self.block_size)
        return original(self, index)

    monkeypatch.setattr(SequentialBatchSampler, "batch_at", recording_batch_at)
    kw = dict(max_steps=3, eval_interval=3, progress=False, sampler="sequential")
    reference = random_init(GPTConfig.from_preset("gpt2-medium", "smoke"), seed=1)  # 4 layers
    ref_cfg = TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path / "reference", **kw)
    train(reference, random_token_data, ref_cfg)
    ref_result = json.loads((tmp_path / "reference" / "result.json").read_text())
    cfg = TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path / "inheritune", **kw)
    rows = run_inheritune(
        reference,
        random_token_data,
        cfg,
        reference_val_loss=0.0,  # never matched: all rounds run
        start_layers=1,
        grow_step=1,
        log=lambda _: None,
        data_offset=continuation_offset(
            ref_result["sampler_end"], ref_result["sampler_micro_batch"], cfg.micro_batch
        ),
    )
    assert [r["layers"] for r in rows] == [1, 2, 3, 4]
    windows = read
    per_run = 3 * cfg.batch_tokens // cfg.block_size  # windows of 3 steps
    assert len(windows) == 5 * per_run  # the reference and four rounds
    assert len(set(windows)) == len(windows), "a window was read twice in one lineage"
    assert windows == list(range(5 * per_run))  # one contiguous stream, in order
    for r in rows:  # every round's result.json accounts for its own windows
        result = json.loads((Path(r["run_dir"]) / "result.json").read_text())
        assert result["windows_seen"] == result["distinct_windows"] == per_run
        assert result["sampler_start"] == r["sampler_offset"]


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


def test_one_recipe_config_object_and_the_keyword_form_run_the_same_rounds(reference, tmp_path):
    """`run_inheritune(..., recipe=RecipeConfig(...))` is the recipe's one settings object; keywords named like
    its fields replace them (the older calling convention)."""
    trainer = ScriptedTrainer([3.4, 2.5])
    recipe = RecipeConfig(grow_step=3, train_fn=trainer, val_fn=trainer.validate, log=lambda _: None)
    rows = run_inheritune(reference, None, FakeConfig(str(tmp_path / "a")), 3.0, recipe=recipe)
    by_keywords, _ = run(reference, tmp_path / "b", [3.4, 2.5], grow_step=3)
    assert [r["layers"] for r in rows] == [r["layers"] for r in by_keywords] == [4, 7]
    assert recipe.grow_step == 3 and recipe.start_layers is None  # the caller's object is not changed
    with pytest.raises(ConfigError, match=r"unknown recipe settings \['grow_by'\]"):
        run_inheritune(reference, None, FakeConfig(str(tmp_path / "c")), 3.0, recipe=recipe, grow_by=2)
