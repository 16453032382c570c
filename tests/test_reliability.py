"""Issue 14, fault injection: each test reproduces one fault a run can meet (a NaN gradient at a checkpoint step,
two processes on one run folder, token ids outside the vocabulary, resuming on another corpus, bad input that
printed a traceback, a signal, a killed write) and checks the documented behaviour. The docstring of
`inheritune_core.training` lists these guarantees."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import make_token_data

from inheritune_core import paths
from inheritune_core.data.tokens import load_token_data
from inheritune_core.errors import ConfigError, DataError, TrainingDiverged
from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.training import trainer as T
from inheritune_core.training.trainer import TrainConfig, read_metrics, train

PROJECT = Path(__file__).resolve().parent.parent


def smoke_model(seed: int = 0, **kw) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**GPTConfig.from_preset("gpt2-medium", "smoke").to_dict(), **kw}))


def smoke_cfg(out_dir, **kw) -> TrainConfig:
    defaults = dict(progress=False, max_steps=4, eval_interval=2, eval_iters=2, log_interval=1)
    return TrainConfig.from_preset("gpt2-medium", "smoke", out_dir, **{**defaults, **kw})


def cli_args(data, out, *extra, steps: int = 2, device: str = "cpu") -> list[str]:
    return [
        "--preset", "gpt2-medium", "--scale", "smoke", "--data", str(data), "--out", str(out),
        "--device", device, "--max-steps", str(steps), "--no-progress", *extra,
    ]  # fmt: skip


def single_error_line(capsys, code: int, expected_code: int = 2) -> str:
    """The CLI's contract for bad input: exit code 2 and exactly one `error:` line on stderr."""
    err = capsys.readouterr().err.strip()
    assert code == expected_code, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def finite_state(state: dict) -> bool:
    return all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def poison_gradients(model: GPT, steps: set[int]) -> None:
    """Multiply one weight's gradient by NaN during the given optimizer steps (smoke: one micro-batch per
    step), as an fp overflow in the backward pass would: the loss computed before it stays finite."""
    calls = [0]

    def hook(grad):
        calls[0] += 1
        return grad * float("nan") if calls[0] in steps else grad

    model.transformer.h[0].mlp.c_fc.weight.register_hook(hook)


# ------------------------------------------------------------------------- 1. non-finite gradients


def test_a_nan_gradient_at_a_checkpoint_step_is_skipped_and_never_checkpointed(random_token_data, tmp_path):
    model = smoke_model()
    poison_gradients(model, {2})
    cfg = smoke_cfg(tmp_path / "run", max_steps=4, checkpoint_interval=2)
    result = train(model, random_token_data, cfg)  # before issue 14: NaN weights in ckpt.pt, then diverged
    assert (result.steps, result.skipped_steps) == (4, 1)
    assert json.loads((tmp_path / "run" / "result.json").read_text())["skipped_steps"] == 1
    ckpt = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)
    assert ckpt["step"] == 4 and finite_state(ckpt["model"]) and finite_state(ckpt["optimizer"]["state"][0])
    assert ckpt["optimizer"]["state"][0]["step"] == 3  # AdamW made 3 updates in 4 steps: step 2's was skipped
    assert all(
        np.isfinite(r["val_loss"]) for r in read_metrics(result.metrics_csv) if r["val_loss"] is not None
    )


def test_non_finite_steps_in_a_row_stop_and_keep_the_last_good_checkpoint(random_token_data, tmp_path):
    model = smoke_model()
    poison_gradients(model, {3, 4, 5, 6})
    cfg = smoke_cfg(tmp_path / "run", max_steps=6, checkpoint_interval=2)
    with pytest.raises(TrainingDiverged, match=r"step 5: the 3rd step in a row .*ckpt.pt \(step 4\) is kept"):
        train(model, random_token_data, cfg)
    ckpt = torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)
    assert ckpt["step"] == 4 and finite_state(ckpt["model"]) and ckpt["skipped_steps"] == 2
    assert not (tmp_path / "run" / "result.json").exists()


class _Corrupting(nn.Module):
    """A GPT that poisons itself outside the optimizer: its weights (on the 3rd training forward) or its
    validation output (from the 2nd evaluation on) become NaN."""

    def __init__(self, what: str):
        super().__init__()
        self.gpt, self.what, self.train_calls, self.eval_calls = smoke_model(), what, 0, 0
        self.config = self.gpt.config

    def forward(self, idx):
        if self.training:
            self.train_calls += 1
            if self.what == "weights" and self.train_calls == 3:
                with torch.no_grad():  # as a buggy layer or a bit flip would: not through the optimizer
                    self.gpt.transformer.ln_f.weight.fill_(float("nan"))
        elif self.what == "val":
            self.eval_calls += 1
            if self.eval_calls > 2:  # eval_iters=2: the evaluation at step 0 is clean, the one at step 2 not
                return self.gpt(idx) * float("nan")
        return self.gpt(idx)


@pytest.mark.parametrize(
    "what, eval_interval, message",
    [
        ("weights", 6, r"weights are not finite at step 4 \(gpt.transformer.ln_f.weight\); not checkpointed"),
        ("val", 2, r"validation loss is nan at step 2; stopped"),
    ],
)
def test_a_checkpoint_is_never_written_with_non_finite_weights_or_val_loss(
    random_token_data, tmp_path, what, eval_interval, message
):
    cfg = smoke_cfg(tmp_path / "run", max_steps=6, checkpoint_interval=2, eval_interval=eval_interval)
    with pytest.raises(TrainingDiverged, match=message):
        train(_Corrupting(what), random_token_data, cfg)
    ckpt_path = tmp_path / "run" / "ckpt.pt"
    if what == "weights":  # the step-2 checkpoint, written before the corruption, is kept as it was
        ckpt = torch.load(ckpt_path, weights_only=False)
        assert ckpt["step"] == 2 and finite_state(ckpt["model"])
    else:
        assert not ckpt_path.exists()


# ------------------------------------------------------------------------- 2. one owner per run folder

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from inheritune_core.io import run_folder_lock
    with run_folder_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold_lock(folder: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_the_run_folder_lock_waits_with_a_message_or_refuses(tmp_path, capsys):
    from inheritune_core.io import run_folder_lock

    folder = tmp_path / "run"
    holder = _hold_lock(folder, 1.0)
    with pytest.raises(ConfigError, match=rf"{folder} is in use by pid {holder.pid}@"):
        with run_folder_lock(folder, wait=False):
            pass
    t0 = time.perf_counter()
    with run_folder_lock(folder):
        waited = time.perf_counter() - t0
        with run_folder_lock(folder):  # re-entrant within a process (run_or_load -> train on one folder)
            assert (folder / ".lock").read_text().startswith(f"{os.getpid()}@")
    holder.wait(timeout=30)
    assert waited > 0.3
    assert (
        capsys.readouterr().err.strip() == f"waiting for pid {holder.pid}@{os.uname().nodename} on {folder}"
    )


def test_the_notebooks_run_cache_uses_the_same_lock_and_prints_its_wait(tmp_path, capsys):
    from inheritune_core.experiments import runs

    spec = runs.make_spec("locked", "reference", "gpt2-medium", "smoke", "data-fingerprint")
    run_dir = runs.run_dir_for(spec, tmp_path)
    holder = _hold_lock(run_dir, 1.0)

    def build_and_train(folder: Path):
        (folder / "result.json").write_text(json.dumps({"final_val_loss": 1.0, "steps": 1}))

    record = runs.run_or_load(spec, build_and_train, tmp_path)
    holder.wait(timeout=30)
    assert record.trained_now
    assert f"waiting for pid {holder.pid}@" in capsys.readouterr().err


def test_two_cli_processes_on_one_folder_train_it_once(random_token_data, tmp_path):
    out = tmp_path / "run"
    argv = [
        sys.executable,
        "-m",
        "inheritune_core.training",
        *cli_args(random_token_data.root, out, "--resume"),
    ]
    # Both at once, both --resume: before issue 14 both trained and both appended to metrics.csv.
    procs = [subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs.append(
        subprocess.Popen(argv, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    )
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("done: 2 steps" in stdout for stdout, _ in outputs)
    waits = [err for _, err in outputs if "waiting for pid" in err]
    assert len(waits) == 1 and f" on {out}" in waits[0], outputs
    assert [r["step"] for r in read_metrics(out / "metrics.csv")] == [0, 2]  # each logged row once


# ------------------------------------------------------------------------- 3. token contents


def _corpus_with_id(root: Path, token_id: int) -> Path:
    make_token_data(root)
    ids = np.memmap(root / "train.bin", dtype=np.uint16, mode="r+")
    ids[1234] = token_id
    ids.flush()
    del ids
    return root


@pytest.mark.parametrize("token_id", [50300, 60000], ids=["inside-the-padding", "beyond-the-model-vocab"])
def test_token_ids_outside_the_tokenizer_vocabulary_are_one_error_line(tmp_path, capsys, token_id):
    # GPT-2's tokenizer has 50257 ids, the model 50304 rows (padded): 50300 used to train silently, 60000 to
    # end in a 43-line IndexError mid-run.
    root = _corpus_with_id(tmp_path / "corpus", token_id)
    code = T.main(cli_args(root, tmp_path / "run"))
    err = single_error_line(capsys, code)
    assert f"train.bin holds token id {token_id}, outside the tokenizer's vocabulary (gpt2: 50257 ids" in err
    assert not (tmp_path / "run" / "ckpt.pt").exists()


def test_ids_beyond_the_model_vocabulary_are_refused_by_the_trainer_too(tmp_path):
    from inheritune_core.data.tokens import TokenData

    root = _corpus_with_id(tmp_path / "corpus", 60000)
    data = TokenData(root, json.loads((root / "meta.json").read_text()))  # made by hand: nothing checked yet
    with pytest.raises(
        ConfigError, match=r"split 'train' holds token id 60000, beyond the model's vocabulary"
    ):
        train(smoke_model(), data, smoke_cfg(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_content_stats_are_computed_once_and_cached_in_meta_json(tmp_path, monkeypatch):
    from inheritune_core.data import tokens
    from inheritune_core.experiments.runs import data_fingerprint
    from inheritune_core.io import sha256_file

    root = make_token_data(tmp_path / "corpus")
    fingerprint = data_fingerprint(root)
    data = load_token_data(root)
    meta = json.loads((root / "meta.json").read_text())
    ids = np.fromfile(root / "train.bin", dtype=np.uint16)
    assert meta["splits"]["train"]["content"] == {
        "file": tokens.file_stamp(root / "train.bin"),  # the cache holds while the file keeps this stamp
        "tokens": len(ids),
        "max_id": int(ids.max()),
        "sha256": sha256_file(root / "train.bin"),
    }
    assert data.max_token_id("train") == int(ids.max())
    assert data_fingerprint(root) == fingerprint  # cached runs of the corpus stay valid
    mtime = (root / "meta.json").stat().st_mtime_ns
    monkeypatch.setattr(tokens, "scan_tokens", lambda *a, **k: pytest.fail("scanned twice"))
    load_token_data(root)
    assert (root / "meta.json").stat().st_mtime_ns == mtime


# ------------------------------------------------------------------------- 4. resume checks the data


@pytest.mark.parametrize("other", [dict(seed=1), dict(n_train=30_000)], ids=["same-size", "other-size"])
def test_resume_on_another_corpus_is_refused_in_one_line(tmp_path, capsys, other):
    first, second = make_token_data(tmp_path / "a"), make_token_data(tmp_path / "b", **other)
    out = tmp_path / "run"
    assert T.main(cli_args(first, out)) == 0
    (out / "result.json").unlink()  # an interrupted run: ckpt.pt, no result.json
    capsys.readouterr()
    err = single_error_line(capsys, T.main(cli_args(second, out, "--resume")))
    assert "was trained on another corpus: train.bin" in err
    assert T.main(cli_args(first, out, "--resume")) == 0  # the right corpus still resumes it


def test_a_finished_run_without_its_checkpoint_still_checks_its_config(random_token_data, tmp_path):
    cfg = smoke_cfg(tmp_path / "run", max_steps=2)
    first = train(smoke_model(), random_token_data, cfg)
    (tmp_path / "run" / "ckpt.pt").unlink()
    with pytest.raises(ConfigError, match=r"result.json was trained with another config: learning_rate"):
        train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "run", max_steps=2, learning_rate=2e-3))
    with pytest.raises(ConfigError, match=r"result.json is a run of another model: n_layer=4 \(now 2\)"):
        train(smoke_model(n_layer=2), random_token_data, cfg)
    other = load_token_data(make_token_data(tmp_path / "other", seed=5))
    with pytest.raises(ConfigError, match=r"result.json was trained on another corpus"):
        train(smoke_model(), other, cfg)
    assert train(smoke_model(), random_token_data, cfg) == first


# ------------------------------------------------------------------------- 5. one error line, exit code 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a host without CUDA")
def test_cli_device_cuda_without_cuda_is_one_line(random_token_data, tmp_path, capsys):
    code = T.main(cli_args(random_token_data.root, tmp_path / "run", device="cuda"))
    assert "CUDA is not available" in single_error_line(capsys, code)


def test_cli_unknown_device_is_one_line(random_token_data, tmp_path, capsys):
    code = T.main(cli_args(random_token_data.root, tmp_path / "run", device="tpu"))
    assert "unknown device 'tpu'" in single_error_line(capsys, code)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("n_layer", ["0", "-3"])
def test_cli_non_positive_layer_count_is_one_line(random_token_data, tmp_path, capsys, n_layer):
    code = T.main(cli_args(random_token_data.root, tmp_path / "run", "--n-layer", n_layer))
    assert f"--n-layer must be a positive layer count, got {n_layer}" in single_error_line(capsys, code)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: [m], "meta.json is corrupt (expected a JSON object, got a list)"),
        (lambda m: {**m, "splits": ["train", "val"]}, "meta.json is corrupt ('splits' must be an object"),
        (
            lambda m: {**m, "splits": {**m["splits"], "val": {"tokens": "many"}}},
            "split 'val' has tokens='many'",
        ),
        (lambda m: {**m, "vocab_size": "50257"}, "'vocab_size' must be a positive integer"),
        (lambda m: {**m, "splits": {"train": m["splits"]["train"]}}, "meta.json lists no 'val' split"),
    ],
    ids=["list", "splits-list", "tokens-string", "vocab-string", "no-val"],
)
def test_cli_bad_meta_json_is_one_line(random_token_data, tmp_path, capsys, edit, message):
    meta_path = random_token_data.root / "meta.json"
    meta_path.write_text(json.dumps(edit(json.loads(meta_path.read_text()))))
    code = T.main(cli_args(random_token_data.root, tmp_path / "run"))
    assert message in single_error_line(capsys, code)


def test_cli_corrupt_result_json_is_one_line(random_token_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert T.main(cli_args(random_token_data.root, out)) == 0
    for text in ("", "{", "[]", '{"steps": 2}'):  # empty, cut short, not an object, not a summary
        (out / "result.json").write_text(text)
        capsys.readouterr()
        err = single_error_line(capsys, T.main(cli_args(random_token_data.root, out, "--resume")))
        assert f"{out / 'result.json'} is corrupt" in err, text


def _disk_full_after(calls: int, monkeypatch):
    """torch.save as it behaves on a full disk, from its `calls`-th call on: a partial write, then torch's
    RuntimeError whose context is the OSError ENOSPC (what writing to /dev/full gives)."""
    real_save, seen = torch.save, [0]

    def save(obj, f, *a, **k):
        seen[0] += 1
        if seen[0] < calls:
            return real_save(obj, f, *a, **k)
        f.write(b"PK\x03\x04 partial")
        try:
            raise OSError(28, "No space left on device")
        except OSError:
            raise RuntimeError(
                "[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598"
            ) from None

    monkeypatch.setattr(torch, "save", save)


def test_full_disk_while_checkpointing_keeps_the_previous_checkpoint(
    random_token_data, tmp_path, monkeypatch
):
    run = tmp_path / "run"
    _disk_full_after(2, monkeypatch)  # checkpoints at steps 1 and 2; the second write fails
    with pytest.raises(
        DataError, match=r"no space left on /.*, the previous checkpoint \(step 1\) is intact"
    ):
        train(smoke_model(), random_token_data, smoke_cfg(run, max_steps=2, checkpoint_interval=1))
    assert torch.load(run / "ckpt.pt", weights_only=False)["step"] == 1
    assert not list(run.glob(".*.tmp")) and not (run / "result.json").exists()
    monkeypatch.undo()  # space freed: the run resumes from step 1
    assert (
        train(smoke_model(), random_token_data, smoke_cfg(run, max_steps=2, checkpoint_interval=1)).steps == 2
    )


def test_cli_full_disk_while_checkpointing_is_one_line(random_token_data, tmp_path, capsys, monkeypatch):
    _disk_full_after(1, monkeypatch)
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, tmp_path / "run")))
    assert "no space left on /" in err and "no checkpoint was written yet" in err
    assert not list((tmp_path / "run").glob(".*.tmp"))


# ------------------------------------------------------------------------- 6. signals and leftovers


def _deterministic(rows):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "tokens_per_s")} for r in rows]


def _assert_same_run(a_dir: Path, b_dir: Path) -> None:
    a_ckpt = torch.load(a_dir / "ckpt.pt", weights_only=False)
    b_ckpt = torch.load(b_dir / "ckpt.pt", weights_only=False)
    for name, tensor in a_ckpt["model"].items():
        assert torch.equal(tensor, b_ckpt["model"][name]), name
    for key, state in a_ckpt["optimizer"]["state"].items():
        for field, tensor in state.items():
            assert torch.equal(tensor, b_ckpt["optimizer"]["state"][key][field]), (key, field)
    assert a_ckpt["sampler"] == b_ckpt["sampler"]
    assert _deterministic(read_metrics(a_dir / "metrics.csv")) == _deterministic(
        read_metrics(b_dir / "metrics.csv")
    )
    a, b = (json.loads((d / "result.json").read_text()) for d in (a_dir, b_dir))
    assert (a["final_val_loss"], a["steps"]) == (b["final_val_loss"], b["steps"])


def signal_during_step(model: GPT, signum: int, step: int) -> None:
    """Make the model's process receive a signal during a training step (as a cluster's requeue would)."""
    calls = [0]

    def hook(module, args):
        if module.training:
            calls[0] += 1
            if calls[0] == step:  # smoke: one micro-batch per step
                os.kill(os.getpid(), signum)

    model.register_forward_pre_hook(hook)


@pytest.fixture
def no_default_sigterm():
    """Before issue 14 a SIGTERM killed the process: make it an exception here so pytest survives it."""

    def handler(signum, frame):
        raise RuntimeError("SIGTERM reached the default handler")

    previous = signal.signal(signal.SIGTERM, handler)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_checkpoints_at_the_step_boundary_and_resume_is_bit_identical(
    random_token_data, tmp_path, no_default_sigterm
):
    from inheritune_core.errors import TrainingInterrupted

    cfg = dict(max_steps=6, eval_interval=4, checkpoint_interval=3)
    train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "whole", **cfg))
    model = smoke_model()
    signal_during_step(model, signal.SIGTERM, 4)  # between two checkpoints (3 and 6), after an evaluation
    with pytest.raises(TrainingInterrupted, match=r"SIGTERM at step 4: checkpoint .*ckpt.pt written"):
        train(model, random_token_data, smoke_cfg(tmp_path / "cut", **cfg))
    assert torch.load(tmp_path / "cut" / "ckpt.pt", weights_only=False)["step"] == 4
    assert not (tmp_path / "cut" / "result.json").exists()
    train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "cut", **cfg))
    _assert_same_run(tmp_path / "whole", tmp_path / "cut")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_signal_is_one_line_and_exit_code_128_plus_the_signal(
    random_token_data, tmp_path, capsys, monkeypatch, no_default_sigterm, signum
):
    real_step = T._Loop.train_step

    def step_then_signal(self):
        out = real_step(self)
        if self.step == 1:
            os.kill(os.getpid(), signum)
        return out

    monkeypatch.setattr(T._Loop, "train_step", step_then_signal)
    code = T.main(cli_args(random_token_data.root, tmp_path / "run", steps=3))
    err = capsys.readouterr().err.strip()
    assert code == 128 + signum and len(err.splitlines()) == 1, err
    name = signal.Signals(signum).name
    assert err.startswith(f"interrupted by {name} at step 1: checkpoint") and "--resume" in err
    assert torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)["step"] == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are restored


@pytest.mark.slow
def test_sigterm_from_outside_then_resume_is_bit_identical(random_token_data, tmp_path):
    args = cli_args(random_token_data.root, tmp_path / "whole", steps=12)
    assert T.main(args) == 0
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        [sys.executable, "-m", "inheritune_core.training", *cli_args(random_token_data.root, cut, steps=12)],
        cwd=PROJECT,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and not (
        (cut / "metrics.csv").is_file() and len(read_metrics(cut / "metrics.csv")) >= 3
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("interrupted by SIGTERM at step ")
    assert not (cut / "result.json").exists()
    assert T.main(cli_args(random_token_data.root, cut, "--resume", steps=12)) == 0
    _assert_same_run(tmp_path / "whole", cut)


def test_leftovers_of_killed_writes_are_removed_when_the_next_run_starts(random_token_data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    # What SIGKILL during the atomic writes leaves: temp files named by mkstemp in the run folder.
    leftovers = [
        run / ".ckpt.pt.k1f9x2ab.tmp",
        run / ".metrics.csv.a8d7c6q1.tmp",
        run / ".result.json.zz.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"\0" * 4096)
    train(smoke_model(), random_token_data, smoke_cfg(run, max_steps=1))
    assert not [p for p in leftovers if p.exists()]
    assert not list(run.glob(".*.tmp"))


@pytest.mark.slow
def test_a_checkpoint_write_killed_for_real_leaves_nothing_after_the_next_start(random_token_data, tmp_path):
    script = textwrap.dedent("""
        import os, signal, sys, torch
        from inheritune_core.training import trainer as T
        real_save = torch.save
        def dying_save(obj, f, *a, **k):
            f.write(b"PK partial checkpoint")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = dying_save
        sys.exit(T.main(sys.argv[1:]))
    """)
    run = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-c", script, *cli_args(random_token_data.root, run, steps=12)],
        cwd=PROJECT,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL
    assert list(run.glob(".ckpt.pt.*.tmp"))  # the fault: a killed write's temp file
    assert T.main(cli_args(random_token_data.root, run, "--resume", steps=12)) == 0
    assert not list(run.glob(".*.tmp"))


def test_checkpoint_file_mode_follows_the_umask_like_the_other_files(random_token_data, tmp_path):
    previous = os.umask(0o022)
    try:
        result = train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "run", max_steps=1))
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (result.checkpoint, result.metrics_csv)}
    assert modes == {"ckpt.pt": 0o644, "metrics.csv": 0o644}


# ------------------------------------------------------------------------- 7. where things are written


def test_paper_dir_follows_its_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("INHERITUNE_PAPER_DIR", str(tmp_path / "paper"))
    assert paths.paper_dir() == tmp_path / "paper"
    assert paths.paper_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("INHERITUNE_PAPER_DIR")
    assert paths.paper_dir() == paths.PROJECT_DIR / "paper"


def test_make_writes_executed_notebooks_under_the_results_folder(tmp_path):
    env = {**os.environ, "INHERITUNE_RESULTS_DIR": str(tmp_path / "results")}
    proc = subprocess.run(
        ["make", "-n", "table1"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{tmp_path / 'results'}/executed/table1.ipynb" in proc.stdout
