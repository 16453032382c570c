"""The trainer: config, schedule, optimizer groups, gradient arithmetic, KD loss, run files, resume rules,
divergence, model-agnostic models, checkpoint errors and the CLI. (SIGKILL resume and DDP: test_train_resume.py,
test_train_ddp.py.)"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import types

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from inheritune_core.config import ConfigError, optim_kwargs
from inheritune_core.data.sampling import RandomBatchSampler
from inheritune_core.errors import DataError, TrainingDiverged
from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.training import optim as train_optim
from inheritune_core.training import trainer as train_mod
from inheritune_core.training.resume import resume_mismatch
from inheritune_core.training.trainer import (
    METRICS_COLUMNS,
    TrainConfig,
    configure_optimizer,
    evaluate_loss,
    kd_loss,
    learning_rate_at,
    load_checkpoint,
    read_metrics,
    train,
)


def smoke_model(seed: int = 0, **kw) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**GPTConfig.from_preset("gpt2-medium", "smoke").to_dict(), **kw}))


def smoke_cfg(out_dir, **kw) -> TrainConfig:
    defaults = dict(progress=False, max_steps=4, eval_interval=2, eval_iters=2, log_interval=1)
    return TrainConfig.from_preset("gpt2-medium", "smoke", out_dir, **{**defaults, **kw})


# ------------------------------------------------------------------------------------------- config


def test_from_preset_takes_appendix_c_numbers(tmp_path):
    cfg = TrainConfig.from_preset("gpt2-medium", "paper", tmp_path)
    assert (cfg.batch_tokens, cfg.learning_rate, cfg.min_lr) == (48 * 1024, 3e-4, 3e-5)
    assert (cfg.warmup_steps, cfg.max_steps, cfg.weight_decay, cfg.beta1, cfg.beta2, cfg.grad_clip) == (
        2000,
        100_000,
        0.1,
        0.9,
        0.95,
        1.0,
    )
    assert cfg.accumulation_steps() == 6  # 48 sequences of 1024 tokens in micro-batches of 8
    for key, value in optim_kwargs("gpt2-xlarge", "tiny").items():
        assert getattr(TrainConfig.from_preset("gpt2-xlarge", "tiny", tmp_path), key) == value
    assert TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path, max_steps=7).max_steps == 7


def test_from_preset_rejects_unknown_fields_and_presets(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown TrainConfig fields \['max_step'\]"):
        TrainConfig.from_preset("gpt2-medium", "smoke", tmp_path, max_step=3)
    with pytest.raises(ConfigError, match="unknown model preset"):
        TrainConfig.from_preset("gpt3", "smoke", tmp_path)


def test_token_batch_must_split_into_micro_batches(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"batch_tokens=100 is not divisible by micro_batch x block_size x "
        r"world_size = 4 x 32 x 1 = 128",
    ):
        smoke_cfg(tmp_path, batch_tokens=100)
    cfg = smoke_cfg(tmp_path, batch_tokens=3 * 128)
    assert cfg.accumulation_steps(1) == 3
    with pytest.raises(ConfigError, match="4 x 32 x 2 = 256"):
        cfg.accumulation_steps(2)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("dtype", "float16", "unknown dtype"),
        ("sampler", "shuffle", "unknown sampler"),
        ("schedule", "linear", "unknown schedule"),
        ("micro_batch", 0, "micro_batch must be a positive integer"),
        ("min_lr", 1.0, "min_lr <= learning_rate"),
        ("kd_alpha", 1.5, "kd_alpha"),
    ],
)
def test_bad_config_values(tmp_path, field, value, message):
    with pytest.raises(ConfigError, match=message):
        smoke_cfg(tmp_path, **{field: value})


def test_warmup_then_cosine_to_min_lr(tmp_path):
    cfg = smoke_cfg(tmp_path, max_steps=100, warmup_steps=10, learning_rate=1e-3, min_lr=1e-4)
    lrs = [learning_rate_at(s, cfg) for s in range(101)]
    assert lrs[0] == pytest.approx(1e-3 / 11) and lrs[9] == pytest.approx(1e-3 * 10 / 11)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:11]))  # linear warmup up
    assert lrs[10] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # cosine down
    assert lrs[55] == pytest.approx(1e-4 + 0.5 * 9e-4)  # half way: the mean of peak and floor
    assert lrs[100] == pytest.approx(1e-4)
    const = smoke_cfg(tmp_path, max_steps=100, warmup_steps=10, schedule="constant")
    assert learning_rate_at(80, const) == const.learning_rate


def test_weight_decay_only_on_matrices():
    model = smoke_model()
    opt = configure_optimizer(model, smoke_cfg("unused"), "cpu")
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decayed["params"]) and all(p.dim() == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))  # tied weight once
    assert opt.param_groups[0]["betas"] == (0.9, 0.95)


# ------------------------------------------------------------------------------------------- losses


def test_kd_loss_equals_cross_entropy_when_alpha_is_one():
    torch.manual_seed(0)
    s, t, y = torch.randn(2, 5, 11), torch.randn(2, 5, 11), torch.randint(0, 11, (2, 5))
    ce = F.cross_entropy(s.view(-1, 11), y.view(-1))
    torch.testing.assert_close(kd_loss(s, t, y, alpha=1.0, temperature=2.0), ce)


def test_kd_term_vanishes_when_student_equals_teacher():
    torch.manual_seed(1)
    s, y = torch.randn(2, 5, 11), torch.randint(0, 11, (2, 5))
    assert kd_loss(s, s.clone(), y, alpha=0.0, temperature=2.0).item() == pytest.approx(0.0, abs=1e-6)


def test_kd_loss_matches_its_formula():
    torch.manual_seed(2)
    s, t, y = torch.randn(3, 4, 7), torch.randn(3, 4, 7), torch.randint(0, 7, (3, 4))
    T, a = 2.0, 0.6
    p_t = F.softmax(t / T, -1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / T, -1))).sum(-1).mean()
    expected = a * F.cross_entropy(s.view(-1, 7), y.view(-1)) + (1 - a) * T * T * kl
    torch.testing.assert_close(kd_loss(s, t, y, alpha=a, temperature=T), expected)
    with pytest.raises(ValueError, match="share the vocabulary"):
        kd_loss(s, t[..., :5], y)


def test_evaluate_loss_is_the_mean_cross_entropy_of_fixed_windows(random_token_data):
    model = smoke_model()
    loss = evaluate_loss(model, random_token_data, iters=3, micro_batch=2, block_size=16)
    sampler = RandomBatchSampler(random_token_data.split("val"), 2, 16, seed=train_mod.EVAL_SEED)
    with torch.no_grad():
        manual = (
            sum(
                F.cross_entropy(model(x).view(-1, model.config.vocab_size), y.view(-1)).item()
                for x, y in (sampler.batch_at(i) for i in range(3))
            )
            / 3
        )
    assert loss == pytest.approx(manual, rel=1e-6)
    assert evaluate_loss(model, random_token_data, iters=3, micro_batch=2, block_size=16) == loss
    assert model.training  # restored


def test_gradient_accumulation_averages_micro_batches(random_token_data, tmp_path, monkeypatch):
    """With SGD (update = lr * grad), one step with 2 accumulated micro-batches equals one full-batch step."""
    sgd = lambda model, cfg, device_type: torch.optim.SGD(model.parameters(), lr=cfg.learning_rate)
    monkeypatch.setattr(train_optim, "configure_optimizer", sgd)  # what the loop calls
    cfg = smoke_cfg(
        tmp_path / "run",
        micro_batch=2,
        batch_tokens=4 * 32,
        max_steps=1,
        warmup_steps=0,
        grad_clip=0.0,
        learning_rate=0.5,
        min_lr=0.5,
    )
    assert cfg.accumulation_steps() == 2
    model, reference = smoke_model(), smoke_model()
    train(model, random_token_data, cfg)

    sampler = RandomBatchSampler(random_token_data.split("train"), 2, 32, seed=cfg.seed)
    x, y = (torch.cat(t) for t in zip(sampler.batch_at(0), sampler.batch_at(1)))
    F.cross_entropy(reference(x).view(-1, reference.config.vocab_size), y.view(-1)).backward()
    with torch.no_grad():
        for p in reference.parameters():
            p -= 0.5 * p.grad
    for (name, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=name)


# ------------------------------------------------------------------------------------------- runs


def test_a_run_writes_metrics_checkpoint_and_result(random_token_data, tmp_path):
    cfg = smoke_cfg(tmp_path / "run", checkpoint_interval=2)
    result = train(smoke_model(), random_token_data, cfg)
    assert result.steps == 4 and result.tokens_seen == 4 * cfg.batch_tokens
    rows = read_metrics(result.metrics_csv)
    assert list(rows[0]) == list(METRICS_COLUMNS)
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["train_loss"] is None and rows[0]["val_loss"] is not None  # the initial evaluation
    assert [r["val_loss"] is not None for r in rows] == [True, False, True, False, True]
    assert rows[-1]["val_loss"] == result.final_val_loss
    assert result.best_val_loss == min(r["val_loss"] for r in rows if r["val_loss"] is not None)
    assert all(math.isfinite(r["train_loss"]) for r in rows[1:])
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["steps"] == 4 and saved["train_config"] == cfg.to_dict()
    assert saved["model_config"]["n_layer"] == 4
    ckpt = torch.load(result.checkpoint, weights_only=True)
    assert ckpt["step"] == 4 and ckpt["sampler"]["consumed"] == 4
    assert set(ckpt) >= {"model", "optimizer", "rng", "sampler", "train_config", "model_config"}
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_finished_run_is_returned_not_retrained(random_token_data, tmp_path):
    cfg = smoke_cfg(tmp_path / "run", max_steps=2)
    trained = smoke_model()
    first = train(trained, random_token_data, cfg)
    csv_before = first.metrics_csv.read_text()
    fresh = smoke_model(seed=99)
    again = train(fresh, random_token_data, cfg)
    assert again == first and first.metrics_csv.read_text() == csv_before
    for a, b in zip(fresh.state_dict().values(), trained.state_dict().values()):
        assert torch.equal(a, b)  # the finished run's weights were loaded


def test_existing_run_is_never_overwritten(random_token_data, tmp_path):
    cfg = smoke_cfg(tmp_path / "run", max_steps=2)
    train(smoke_model(), random_token_data, cfg)
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    with pytest.raises(ConfigError, match="already holds a run"):
        train(smoke_model(), random_token_data, cfg, resume=False)
    with pytest.raises(ConfigError, match=r"trained with another config: learning_rate=0.001 \(now 0.002\)"):
        train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "run", max_steps=2, learning_rate=2e-3))
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before


def test_a_config_field_added_after_a_run_was_recorded_counts_as_its_default(tmp_path):
    cfg = smoke_cfg(tmp_path / "run")
    recorded = {k: v for k, v in cfg.to_dict().items() if k != "schedule"}  # a run from before `schedule`
    assert resume_mismatch(recorded, cfg) == []
    changed = smoke_cfg(tmp_path / "run", schedule="constant")
    assert resume_mismatch(recorded, changed) == ["schedule='cosine' (now 'constant')"]


def test_nan_losses_are_skipped_then_stop_and_keep_the_last_good_checkpoint(random_token_data, tmp_path):
    class Diverging(nn.Module):
        """A GPT whose training forward returns NaN from its 4th optimizer step on."""

        def __init__(self):
            super().__init__()
            self.gpt, self.calls = smoke_model(), 0
            self.config = self.gpt.config

        def forward(self, idx):
            logits = self.gpt(idx)
            if self.training:
                self.calls += 1
                if self.calls >= 4:
                    return logits * float("nan")
            return logits

    # Steps 4, 5 and 6 are skipped (no update: the step-4 checkpoint holds step 3's finite weights); the third
    # in a row stops the run. (Non-finite gradients under a finite loss: test_reliability.py.)
    cfg = smoke_cfg(tmp_path / "run", max_steps=8, checkpoint_interval=2, eval_interval=8)
    with pytest.raises(
        TrainingDiverged, match=r"loss is nan at step 6: the 3rd step in a row .*\(step 4\) is kept"
    ):
        train(Diverging(), random_token_data, cfg)
    ckpt = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=True)
    assert ckpt["step"] == 4 and all(torch.isfinite(t).all() for t in ckpt["model"].values())
    assert ckpt["skipped_steps"] == 1  # step 4's own skip; 5 and 6 came after it
    assert not (tmp_path / "run" / "result.json").exists()


def test_models_returning_an_output_object_train_too(random_token_data, tmp_path):
    """Hugging Face models return an object with .logits and keep a config object without to_dict."""

    class HFLike(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = smoke_model()
            self.config = types.SimpleNamespace(
                vocab_size=self.inner.config.vocab_size, block_size=32, kind="toy"
            )

        def forward(self, idx):
            return types.SimpleNamespace(logits=self.inner(idx))

    model = HFLike()
    result = train(model, random_token_data, smoke_cfg(tmp_path / "run", max_steps=2))
    assert math.isfinite(result.final_val_loss)
    ckpt = torch.load(result.checkpoint, weights_only=True)
    assert ckpt["model_class"] == "HFLike" and ckpt["model_config"]["kind"] == "toy"
    fresh = HFLike()
    load_checkpoint(result.checkpoint, fresh)
    assert torch.equal(fresh.inner.lm_head.weight, model.inner.lm_head.weight)


def test_kd_with_alpha_one_is_plain_training_and_alpha_below_one_is_not(random_token_data, tmp_path):
    teacher = smoke_model(seed=5)
    plain = train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "plain", max_steps=2))
    kd1 = train(
        smoke_model(),
        random_token_data,
        smoke_cfg(tmp_path / "kd1", max_steps=2, kd_alpha=1.0),
        teacher=teacher,
    )
    kd = train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "kd", max_steps=2), teacher=teacher)
    losses = lambda r: [row["train_loss"] for row in read_metrics(r.metrics_csv)[1:]]
    assert losses(kd1) == losses(plain) and kd1.final_val_loss == plain.final_val_loss
    assert losses(kd)[0] != losses(plain)[0]  # the soft-target term changes the training loss
    assert all(not p.requires_grad for p in teacher.parameters()) and not teacher.training


def test_activation_checkpointing_gives_the_same_training(random_token_data, tmp_path):
    a, b = smoke_model(), smoke_model()
    train(a, random_token_data, smoke_cfg(tmp_path / "a", max_steps=2))
    train(b, random_token_data, smoke_cfg(tmp_path / "b", max_steps=2, activation_checkpointing=True))
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, atol=1e-6, rtol=1e-5, msg=name)
    assert all("forward" not in vars(block) for block in b.transformer.h)  # the plain model is restored


# ------------------------------------------------------------------------------------------- bad input


def test_checkpoint_of_another_architecture_is_refused(random_token_data, tmp_path):
    result = train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "run", max_steps=1))
    with pytest.raises(
        ConfigError, match=r"from another architecture: config differs in n_layer=4 \(model: 3\)"
    ):
        load_checkpoint(result.checkpoint, smoke_model(n_layer=3))
    with pytest.raises(ConfigError, match="holds a GPT, not a Linear"):
        load_checkpoint(result.checkpoint, nn.Linear(2, 2))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(result.checkpoint.read_bytes()[:1000])
    with pytest.raises(DataError, match="unreadable or truncated"):
        load_checkpoint(truncated, smoke_model())
    with pytest.raises(DataError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt", smoke_model())


def test_block_size_beyond_the_model_context_is_refused(random_token_data, tmp_path):
    cfg = smoke_cfg(tmp_path / "run", block_size=64, batch_tokens=4 * 64)
    with pytest.raises(ConfigError, match="block_size=64 exceeds the model's context of 32"):
        train(smoke_model(), random_token_data, cfg)
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------------- CLI


def test_cli_trains_a_preset(random_token_data, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = [
        "--preset",
        "gpt2-medium",
        "--scale",
        "smoke",
        "--data",
        str(random_token_data.root),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--max-steps",
        "2",
        "--no-progress",
    ]
    assert train_mod.main(argv) == 0
    assert "done: 2 steps" in capsys.readouterr().out
    assert (out / "result.json").is_file()
    assert train_mod.main(argv) == 2  # an existing run without --resume
    assert "already holds a run" in capsys.readouterr().err
    assert train_mod.main(argv + ["--resume"]) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--preset", "gpt2-tiny", "--scale", "smoke"], "error: unknown model preset 'gpt2-tiny'"),
        (["--preset", "gpt2-medium", "--scale", "huge"], "error: unknown scale 'huge'"),
    ],
)
def test_cli_bad_preset_or_scale_is_one_line_and_exit_code_2(tmp_path, args, message):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inheritune_core.training",
            *args,
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith(message) and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_cli_missing_data_is_one_line(tmp_path, capsys):
    argv = [
        "--preset",
        "gpt2-medium",
        "--scale",
        "smoke",
        "--data",
        str(tmp_path / "nope"),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    assert train_mod.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: data folder") and len(err.splitlines()) == 1


# ------------------------------------------------------------------------------------------- real text


def test_loss_decreases_on_the_bundled_corpus(bundled_data_dir, tmp_path):
    from inheritune_core.data.tokens import load_token_data

    data = load_token_data(bundled_data_dir)
    # A larger rate than the smoke scale's so that 30 steps of 128 tokens move the loss by whole nats.
    cfg = smoke_cfg(
        tmp_path / "run",
        max_steps=30,
        warmup_steps=3,
        eval_interval=30,
        eval_iters=4,
        log_interval=5,
        learning_rate=1e-2,
        min_lr=1e-3,
    )
    result = train(smoke_model(), data, cfg)
    rows = read_metrics(result.metrics_csv)
    initial = rows[0]["val_loss"]
    assert initial == pytest.approx(math.log(50304), abs=0.3)  # an untrained model is ~uniform
    assert result.final_val_loss < initial - 1.0, (initial, result.final_val_loss)
    train_losses = [r["train_loss"] for r in rows[1:]]
    assert sum(train_losses[-2:]) / 2 < train_losses[0] - 1.0
