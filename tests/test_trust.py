"""Issue 20: files the package did not just write are never unpickled, and the trainer's remaining tracebacks
are one `error:` line (exit 2) naming the file and what to do: a ckpt.pt carrying a pickle payload, a ckpt.pt
that is a directory, a wrongly typed result.json, the file-size limit during a checkpoint write, an --out that
is a file or cannot be written."""

from __future__ import annotations

import errno
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inheritune_core.errors import DataError
from inheritune_core.models.gpt import GPT, GPTConfig
from inheritune_core.training import loop as loop_mod
from inheritune_core.training import trainer as T
from inheritune_core.training.state import CHECKPOINT_FORMAT
from inheritune_core.training.trainer import TrainConfig, train

PROJECT = Path(__file__).resolve().parent.parent


def smoke_model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig.from_preset("gpt2-medium", "smoke"))


def smoke_cfg(out_dir, **kw) -> TrainConfig:
    defaults = dict(progress=False, max_steps=2, eval_interval=1, eval_iters=1, log_interval=1)
    return TrainConfig.from_preset("gpt2-medium", "smoke", out_dir, **{**defaults, **kw})


def cli_args(data, out, *extra, steps: int = 2) -> list[str]:
    return [
        "--preset", "gpt2-medium", "--scale", "smoke", "--data", str(data), "--out", str(out),
        "--device", "cpu", "--max-steps", str(steps), "--no-progress", *extra,
    ]  # fmt: skip


def single_error_line(capsys, code: int) -> str:
    """The CLI's contract for bad input: exit code 2 and exactly one `error:` line on stderr."""
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def no_training(monkeypatch):
    """Fail the test if any optimizer step runs (the refusals below must come before training)."""
    monkeypatch.setattr(loop_mod.Loop, "train_step", lambda self: pytest.fail("trained before refusing"))


# ------------------------------------------------------------------------------- 1. untrusted checkpoints


class _Payload:
    """Unpickling this runs `os.system(command)`: what a malicious ckpt.pt would carry."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _poisoned_checkpoint(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": CHECKPOINT_FORMAT, "step": 1, "x": _Payload(f"touch {marker}")}, path)


def test_a_pickle_payload_in_ckpt_pt_never_runs(random_token_data, tmp_path, monkeypatch):
    run, marker = tmp_path / "run", tmp_path / "payload-ran"
    _poisoned_checkpoint(run / "ckpt.pt", marker)
    no_training(monkeypatch)
    with pytest.raises(DataError, match=r"not an inheritune training checkpoint: .*never unpickled"):
        train(smoke_model(), random_token_data, smoke_cfg(run), resume=True)
    assert not marker.exists()
    with pytest.raises(DataError, match="never unpickled"):
        T.load_checkpoint(run / "ckpt.pt", smoke_model())
    assert not marker.exists()


def test_cli_resume_of_a_poisoned_checkpoint_is_one_line(random_token_data, tmp_path, capsys):
    run, marker = tmp_path / "run", tmp_path / "payload-ran"
    _poisoned_checkpoint(run / "ckpt.pt", marker)
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, run, "--resume")))
    assert str(run / "ckpt.pt") in err and "delete it" in err
    assert not marker.exists()


def test_checkpoints_hold_only_tensors_and_plain_values(random_token_data, tmp_path):
    result = train(smoke_model(), random_token_data, smoke_cfg(tmp_path / "run"))
    ckpt = torch.load(result.checkpoint, weights_only=True)  # no allow-list: plain types only
    assert ckpt["format"] == CHECKPOINT_FORMAT and ckpt["step"] == 2
    assert isinstance(ckpt["rng"]["python"], list) and isinstance(ckpt["rng"]["numpy"][1], list)


def test_a_checkpoint_of_the_older_format_still_resumes(random_token_data, tmp_path):
    """Checkpoints written before the plain-type format hold the RNG states as a tuple and a NumPy array:
    they still load (only NumPy's array globals are allowed) and restore the same RNG state."""
    run = tmp_path / "run"
    cfg = smoke_cfg(run, max_steps=2)
    train(smoke_model(), random_token_data, cfg)
    ckpt = torch.load(run / "ckpt.pt", weights_only=True)
    version, internal, gauss = ckpt["rng"]["python"]
    name, keys, pos, has_gauss, cached = ckpt["rng"]["numpy"]
    ckpt["rng"]["python"] = (version, tuple(internal), gauss)
    ckpt["rng"]["numpy"] = (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached)
    torch.save(ckpt, run / "ckpt.pt")
    (run / "result.json").unlink()  # resume from the checkpoint, at its last step
    random.seed(0)
    np.random.seed(0)
    result = train(smoke_model(seed=1), random_token_data, cfg, resume=True)
    assert result.steps == 2
    assert random.getstate()[1] == tuple(internal)
    assert np.random.get_state()[1].tolist() == keys


# ------------------------------------------------------------------------------- 2. tracebacks -> one line


def test_ckpt_pt_that_is_a_directory_is_refused_before_training(
    random_token_data, tmp_path, capsys, monkeypatch
):
    run = tmp_path / "run"
    (run / "ckpt.pt").mkdir(parents=True)
    no_training(monkeypatch)
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, run)))
    assert f"{run / 'ckpt.pt'} is a directory" in err and "remove or rename it" in err
    with pytest.raises(DataError, match="is a directory"):
        train(smoke_model(), random_token_data, smoke_cfg(run), resume=True)


@pytest.mark.parametrize(
    "field, value", [("final_val_loss", "low"), ("steps", "2"), ("tokens_seen", 1.5), ("checkpoint", 3)]
)
def test_wrongly_typed_result_json_is_one_line(random_token_data, tmp_path, capsys, field, value):
    import json

    run = tmp_path / "run"
    assert T.main(cli_args(random_token_data.root, run)) == 0
    capsys.readouterr()
    saved = json.loads((run / "result.json").read_text())
    (run / "result.json").write_text(json.dumps({**saved, field: value}))
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, run, "--resume")))
    assert f"{run / 'result.json'} is corrupt" in err and f"{field}={value!r}" in err


def _file_too_large_after(calls: int, monkeypatch):
    """torch.save as it behaves past RLIMIT_FSIZE with SIGXFSZ ignored, from its `calls`-th call on."""
    real_save, seen = torch.save, [0]

    def save(obj, f, *a, **k):
        seen[0] += 1
        if seen[0] < calls:
            return real_save(obj, f, *a, **k)
        f.write(b"PK\x03\x04 partial")
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr(torch, "save", save)


def test_file_size_limit_while_checkpointing_keeps_the_previous_checkpoint(
    random_token_data, tmp_path, monkeypatch
):
    run = tmp_path / "run"
    _file_too_large_after(2, monkeypatch)  # checkpoints at steps 1 and 2; the second write fails
    with pytest.raises(DataError, match=r"file-size limit \(ulimit -f\), the previous checkpoint \(step 1\)"):
        train(smoke_model(), random_token_data, smoke_cfg(run, checkpoint_interval=1))
    assert torch.load(run / "ckpt.pt", weights_only=True)["step"] == 1
    assert not list(run.glob(".*.tmp"))


def test_cli_under_ulimit_f_is_one_line_not_a_signal(random_token_data, tmp_path):
    """A real RLIMIT_FSIZE: the checkpoint (MBs) is over it, metrics.csv is not. Without the trainer ignoring
    SIGXFSZ, the process dies of the signal (no message at all)."""
    limit = 256 * 1024

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = tmp_path / "run"
    argv = [sys.executable, "-m", "inheritune_core.training", *cli_args(random_token_data.root, run, steps=1)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.run(
        argv, cwd=PROJECT, env=env, preexec_fn=limited, capture_output=True, text=True, timeout=300
    )
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, err)
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert "file-size limit (ulimit -f)" in err and "no checkpoint was written yet" in err
    assert not list(run.glob(".*.tmp")) and not (run / "ckpt.pt").exists()


def test_out_that_is_a_file_is_one_line(random_token_data, tmp_path, capsys):
    out = tmp_path / "a-file"
    out.write_text("not a folder")
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, out)))
    assert f"{out} is a file, not a run folder" in err
    out_below = out / "run"  # a file in the way of a folder to create
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, out_below)))
    assert f"cannot create the run folder {out_below}: {out} is a file, not a folder" in err


def _read_only(path: Path):
    return OSError(errno.EROFS, "Read-only file system", str(path))


def test_out_on_a_read_only_file_system_is_one_line(random_token_data, tmp_path, capsys, monkeypatch):
    """Simulated by the calls failing as they do on a read-only mount (root writes through chmod)."""
    new_out = tmp_path / "ro" / "run"
    real_mkdir = Path.mkdir

    def mkdir(self, *a, **k):
        if str(self).startswith(str(tmp_path / "ro")):
            raise _read_only(self)
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, new_out)))
    assert "read-only file system" in err and "choose another --out" in err
    monkeypatch.undo()

    existing = tmp_path / "existing"
    existing.mkdir()

    def run_folder_lock(folder, **_):
        raise _read_only(Path(folder) / ".lock")

    monkeypatch.setattr(loop_mod, "run_folder_lock", run_folder_lock)
    err = single_error_line(capsys, T.main(cli_args(random_token_data.root, existing)))
    assert f"cannot write into the run folder {existing}" in err and "read-only file system" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a chmod'ed folder")
def test_out_in_a_folder_without_write_permission_is_one_line(random_token_data, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        err = single_error_line(capsys, T.main(cli_args(random_token_data.root, locked / "run")))
        assert "permission denied" in err
        err = single_error_line(capsys, T.main(cli_args(random_token_data.root, locked)))
        assert "permission denied" in err
    finally:
        locked.chmod(0o755)
