"""The training loop: `train(model, data, cfg)` and the `Loop` that advances one `TrainState` step by step.

The loop only assumes that `model(idx)` maps token ids (B, T) to logits (B, T, V), or to an object with a
`.logits` attribute (Hugging Face). It implements Appendix C.1 of the paper (`training.optim`): AdamW, warmup
then cosine, clipping at 1.0, gradient accumulation up to the token batch, bf16 autocast on GPU, optional
torch.compile, DDP through torchrun (`training.distributed`), and knowledge distillation.

A run lives in `out_dir`: `metrics.csv` (one row per logged step), `ckpt.pt` (the whole `TrainState`, written
atomically: `training.checkpoint`) and `result.json` (written last: a folder with result.json holds a finished
run, and `train` returns it instead of training again). The guarantees are listed in `training/__init__.py`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import math
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.sampling import make_sampler
from ..data.tokens import TokenData
from ..errors import ConfigError, DataError, TrainingDiverged, TrainingInterrupted
from ..io import atomic_write_json, atomic_write_text, remove_orphan_temps, run_folder_lock
from . import optim
from .checkpoint import check_checkpoint_path, first_non_finite, load_checkpoint, save_checkpoint_file
from .config import TrainConfig, TrainResult, check_device
from .distributed import Dist, all_reduce_mean, setup_distributed, teardown_distributed
from .modules import activation_checkpointing, jsonable, model_config_dict, unwrap
from .resume import check_same_run, read_result
from .state import TrainState
from .validation import evaluate_loss

METRICS_COLUMNS = ("step", "tokens", "train_loss", "val_loss", "lr", "elapsed_s", "tokens_per_s")
# Test hook for the exact-resume test: the process SIGKILLs itself after this optimizer step.
KILL_AFTER_STEP_ENV = "INHERITUNE_TEST_SIGKILL_AFTER_STEP"
# The divergence policy: a step with a non-finite loss or gradient norm is skipped; this many in a row stop.
MAX_BAD_STEPS_IN_A_ROW = 3
INTERRUPT_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_UNWRITABLE = {
    errno.EROFS: "is on a read-only file system",
    errno.EACCES: "is not writable (permission denied)",
    errno.EPERM: "is not writable (operation not permitted)",
}


class Metrics:
    """metrics.csv: appended and flushed per row; rewritten atomically from the checkpoint's rows on resume.

    The rows live in the `TrainState` and are saved in every checkpoint, so after a crash the CSV is cut back
    to the checkpoint's step (dropping rows of steps that will be recomputed) and ends identical to an
    uninterrupted run's (up to the timing columns).
    """

    def __init__(self, path: Path, rows: list[dict[str, Any]], write: bool):
        self.path, self.rows, self.write = path, rows, write
        if write:
            atomic_write_text(path, self._render(self.rows))

    @staticmethod
    def _render(rows: list[dict[str, Any]]) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=METRICS_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.write:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=METRICS_COLUMNS, lineterminator="\n").writerow(row)
                f.flush()


def check_inputs(model: nn.Module, data: TokenData, cfg: TrainConfig) -> None:
    """Refuse, before anything is written, a context or vocabulary the model cannot take."""
    config = getattr(model, "config", None)
    model_block = getattr(config, "block_size", None) or getattr(config, "max_position_embeddings", None)
    if model_block is not None and cfg.block_size > model_block:
        raise ConfigError(f"block_size={cfg.block_size} exceeds the model's context of {model_block} tokens")
    model_vocab = getattr(config, "vocab_size", None)
    if model_vocab is not None and data.vocab_size > model_vocab:
        raise ConfigError(
            f"the data's vocabulary ({data.vocab_size}) is larger than the model's ({model_vocab})"
        )
    for split in ("train", "val"):
        top = data.max_token_id(split)  # cached in meta.json; a scan only for a TokenData made by hand
        if model_vocab is not None and top >= model_vocab:
            raise ConfigError(
                f"{data.root}: split {split!r} holds token id {top}, beyond the model's vocabulary of "
                f"{model_vocab} ids (an IndexError mid-run otherwise)"
            )
        if data.num_tokens(split) < cfg.block_size + 1:
            raise DataError(
                f"{data.root}: split {split!r} has {data.num_tokens(split)} tokens, fewer than "
                f"block_size+1={cfg.block_size + 1}"
            )


def check_out_dir(out: Path) -> None:
    """Refuse, in one line, a run folder that is a file or cannot be written (read-only, no permission)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file, not a run folder; choose another --out/out_dir")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the run folder {out}: {_unwritable(e, out)}") from None


def _unwritable(e: OSError, path: Path) -> str:
    """Why `path` (a run folder) cannot be written, naming the path at fault, and what to do."""
    if e.errno in (errno.ENOTDIR, errno.EEXIST):  # a file where a folder of the path should be
        in_the_way = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        return f"{in_the_way} is a file, not a folder; choose another --out/out_dir"
    what = _UNWRITABLE.get(e.errno or 0, e.strerror or str(e))
    where = Path(e.filename) if getattr(e, "filename", None) else path
    return f"{where} {what}; choose another --out/out_dir"


@contextlib.contextmanager
def _folder_lock(out: Path, is_main: bool):
    """The run folder's lock (rank 0 does all the writing), with an unwritable folder as one DataError line."""
    with contextlib.ExitStack() as stack:
        if is_main:
            try:
                stack.enter_context(run_folder_lock(out))
            except OSError as e:
                raise DataError(f"cannot write into the run folder {out}: {_unwritable(e, out)}") from None
        yield


@contextlib.contextmanager
def _file_size_limit_as_error():
    """A write past RLIMIT_FSIZE (`ulimit -f`) fails with EFBIG (reported in one line by the checkpoint writer)
    instead of SIGXFSZ killing the process mid-write. Only the main thread can set handlers."""
    sigxfsz = getattr(signal, "SIGXFSZ", None)
    if sigxfsz is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(sigxfsz, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(sigxfsz, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _stop_at_step_boundary(loop: Loop):
    """While training, SIGTERM and SIGINT only ask the loop to checkpoint and stop after the current step (a
    cluster's requeue sends SIGTERM, Ctrl-C sends SIGINT); a second signal acts at once, as it would without
    this handler. Handlers can only be set from the main thread: elsewhere the signals act as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum, frame):
        if loop.stop_signal is not None:
            signal.signal(signum, previous[signum] if previous[signum] is not None else signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        loop.stop_signal = signum

    for signum in INTERRUPT_SIGNALS:
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def train(
    model: nn.Module,
    data: TokenData,
    cfg: TrainConfig,
    teacher: nn.Module | None = None,
    resume: bool = True,
    final_eval: Callable[[nn.Module], dict[str, Any]] | None = None,
) -> TrainResult:
    """Train `model` in place on `data` as `cfg` says; returns the run's summary.

    With resume=True a finished run (result.json) is returned as is, and an interrupted one (ckpt.pt)
    continues from its checkpoint, bit-identically on CPU. With resume=False an out_dir that already holds a
    run is refused (nothing written is ever overwritten). With a `teacher`, the loss is `kd_loss` (knowledge
    distillation); the validation loss stays the student's cross-entropy. `final_eval(model)` returns extra
    result.json fields computed on the trained model (e.g. `validation.validation_loss` on the whole split).
    """
    out = Path(cfg.out_dir)
    check_device(cfg.device)
    ctx = setup_distributed(cfg.device)
    check_inputs(unwrap(model), data, cfg)
    if ctx.is_main:
        check_out_dir(out)
    # One owner per run folder: rank 0 (which does all the writing) holds the folder's lock until the end.
    with _folder_lock(out, ctx.is_main), _file_size_limit_as_error():
        if ctx.is_main:
            remove_orphan_temps(out)  # what writes killed in an earlier run left (GBs each at paper scale)
        return _train_in_folder(model, data, cfg, teacher, resume, final_eval, ctx)


def _seed_and_place(cfg: TrainConfig, ctx: Dist) -> torch.device:
    device = torch.device(
        f"cuda:{ctx.local_rank}" if cfg.device == "cuda" and ctx.world_size > 1 else cfg.device
    )
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    return device


def _train_in_folder(
    model: nn.Module,
    data: TokenData,
    cfg: TrainConfig,
    teacher: nn.Module | None,
    resume: bool,
    final_eval: Callable[[nn.Module], dict[str, Any]] | None,
    ctx: Dist,
) -> TrainResult:
    out = Path(cfg.out_dir)
    ckpt_path, result_path, metrics_path = out / "ckpt.pt", out / "result.json", out / "metrics.csv"
    for path in (ckpt_path, result_path, metrics_path):
        check_checkpoint_path(path)  # a directory in the way: refused now, not at the first checkpoint
    existing = ckpt_path.is_file() or result_path.is_file()
    if existing and not resume:
        raise ConfigError(
            f"{out} already holds a run (ckpt.pt/result.json); resume it or choose another out_dir"
        )
    data_identity = data.identity()
    saved = read_result(result_path) if result_path.is_file() else None
    ckpt = None
    if ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path, model)  # a finished run's final weights end up in `model` too
        check_same_run(ckpt_path, ckpt, cfg, data_identity)
    if saved is not None:
        if ckpt is None:  # its checkpoint was deleted: result.json's own record must match this call
            check_same_run(result_path, saved, cfg, data_identity, model)
        return TrainResult.from_dict(saved)

    device = _seed_and_place(cfg, ctx)
    raw_model = unwrap(model).to(device)
    raw_model.train()
    if teacher is not None:
        teacher = teacher.to(device).eval()
        teacher.requires_grad_(False)
    sampler = make_sampler(
        cfg.sampler,
        data.split("train"),
        cfg.micro_batch,
        cfg.block_size,
        seed=cfg.seed,
        rank=ctx.rank,
        world_size=ctx.world_size,
        offset=cfg.sampler_offset,
    )
    state = TrainState(raw_model, optim.configure_optimizer(raw_model, cfg, device.type), sampler)
    if ckpt is not None:
        state.restore(ckpt)
        del ckpt  # free the CPU copy of the weights and optimizer state

    with activation_checkpointing(raw_model, cfg.activation_checkpointing):
        net: nn.Module = raw_model
        if cfg.compile:
            net = torch.compile(net)
        if ctx.world_size > 1:
            net = nn.parallel.DistributedDataParallel(
                net, device_ids=[device.index] if device.type == "cuda" else None
            )
        loop = Loop(state, net, teacher, data, cfg, ctx, device, data_identity)
        try:
            with _stop_at_step_boundary(loop):
                final_val = loop.run()
        finally:
            teardown_distributed(ctx)

    result = TrainResult(
        final_val_loss=final_val,
        best_val_loss=state.best_val,
        steps=state.step,
        tokens_seen=state.tokens_seen,
        wall_time_s=loop.elapsed(),
        metrics_csv=metrics_path,
        checkpoint=ckpt_path,
        skipped_steps=state.skipped_steps,
    )
    if ctx.is_main:
        _write_result(result_path, result, state, cfg, ctx, data_identity, teacher, final_eval)
    return result


def _write_result(result_path, result, state, cfg, ctx, data_identity, teacher, final_eval) -> None:
    from .accounting import run_accounting  # steps, tokens, distinct windows, FLOPs (issue 11)

    extra = run_accounting(state.model, cfg, state.sampler, state.step, state.tokens_seen, teacher=teacher)
    extra.update(final_eval(state.model) if final_eval is not None else {})
    atomic_write_json(
        result_path,
        {
            **result.to_dict(),
            "train_config": cfg.to_dict(),
            "model_config": jsonable(model_config_dict(state.model)),
            "world_size": ctx.world_size,
            "data": data_identity,
            **extra,
        },
    )


class Loop:
    """Advances one `TrainState` (the only mutable training state) through the steps of a run; the rest is
    the run's fixed context (the wrapped module, teacher, data, config, devices, files)."""

    def __init__(
        self,
        state: TrainState,
        net: nn.Module,
        teacher: nn.Module | None,
        data: TokenData,
        cfg: TrainConfig,
        ctx: Dist,
        device: torch.device,
        data_identity: dict,
    ):
        self.state, self.net, self.teacher, self.data, self.cfg = state, net, teacher, data, cfg
        self.ctx, self.device, self.data_identity = ctx, device, data_identity
        out = Path(cfg.out_dir)
        self.ckpt_path = out / "ckpt.pt"
        self.metrics = Metrics(out / "metrics.csv", state.metrics_rows, write=ctx.is_main)
        self.accum = cfg.accumulation_steps(ctx.world_size)
        self.t_start = time.perf_counter()
        self.last_log_time, self.last_log_tokens = self.t_start, state.tokens_seen
        self.checkpoint_interval = cfg.checkpoint_interval or cfg.eval_interval
        kill = os.environ.get(KILL_AFTER_STEP_ENV)
        self.kill_after_step = int(kill) if kill else None
        self.checkpoint_step = state.step if self.ckpt_path.is_file() else None  # the step ckpt.pt holds
        self.stop_signal: int | None = None  # set by _stop_at_step_boundary's handler

    @property
    def step(self) -> int:
        return self.state.step

    def elapsed(self) -> float:
        return self.state.elapsed_s + time.perf_counter() - self.t_start

    def kept(self) -> str:
        if self.checkpoint_step is None:
            return "no checkpoint was written yet"
        return f"the last good checkpoint {self.ckpt_path} (step {self.checkpoint_step}) is kept"

    def evaluate(self) -> float:
        val = evaluate_loss(self.state.model, self.data, self.cfg, device=self.device)
        if not math.isfinite(val):
            raise TrainingDiverged(f"validation loss is {val} at step {self.step}; stopped, {self.kept()}")
        self.state.best_val = min(self.state.best_val, val)
        return val

    def log(self, train_loss: float | None, val_loss: float | None, lr: float | None) -> None:
        now, tokens = time.perf_counter(), self.state.tokens_seen
        rate = (tokens - self.last_log_tokens) / max(now - self.last_log_time, 1e-9)
        self.last_log_time, self.last_log_tokens = now, tokens
        fmt = lambda v: "" if v is None else repr(float(v))  # repr: exact round trip of the float
        self.metrics.append(
            dict(
                step=self.step,
                tokens=tokens,
                train_loss=fmt(train_loss),
                val_loss=fmt(val_loss),
                lr=fmt(lr),
                elapsed_s=f"{self.elapsed():.3f}",
                tokens_per_s=f"{rate:.1f}",
            )
        )

    def save_checkpoint(self) -> None:
        # Every rank checks (DDP keeps the weights identical), so all of them stop together.
        bad = first_non_finite(self.state.model.state_dict())
        if bad is not None:
            raise TrainingDiverged(
                f"weights are not finite at step {self.step} ({bad}); not checkpointed, {self.kept()}"
            )
        if self.ctx.is_main:
            ckpt = self.state.to_checkpoint(
                elapsed_s=self.elapsed(), train_config=self.cfg.to_dict(), data=self.data_identity
            )
            save_checkpoint_file(ckpt, self.ckpt_path, previous_step=self.checkpoint_step)
        self.checkpoint_step = self.step

    def micro_step_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with optim.autocast_context(self.device.type, self.cfg.dtype):
            logits = optim.logits_of(self.net(x))
            if self.teacher is None:
                return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
            with torch.no_grad():
                teacher_logits = optim.logits_of(self.teacher(x))
            return optim.kd_loss(logits, teacher_logits, y, self.cfg.kd_alpha, self.cfg.kd_temperature)

    def train_step(self) -> tuple[float, float]:
        cfg, state = self.cfg, self.state
        lr = optim.learning_rate_at(state.step, cfg)
        for group in state.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        for micro in range(self.accum):
            x, y = (t.to(self.device, non_blocking=True) for t in state.sampler.next_batch())
            # Gradient arithmetic: each rank backpropagates loss/accum, so its gradient is the mean over its
            # `accum` micro-batches; DDP's all-reduce then *averages* over the world_size ranks. The result is
            # the gradient of the mean loss over all accum*world_size micro-batches of the token batch, the
            # same as one process computing the whole batch (the official code omits the 1/accum).
            sync = micro == self.accum - 1 or self.ctx.world_size == 1
            no_sync = self.net.no_sync() if not sync else contextlib.nullcontext()
            with no_sync:
                loss = self.micro_step_loss(x, y)
                (loss / self.accum).backward()
            loss_sum += loss.detach()
        train_loss = all_reduce_mean(loss_sum.item() / self.accum, self.ctx, self.device)
        # The divergence policy: a finite loss can still come with a non-finite gradient (an overflow in the
        # backward pass), so the gradient norm (all-reduced by DDP: the same on every rank) is checked too,
        # before the update that would write it into the weights and the optimizer's moments.
        grad_norm = self.gradient_norm() if math.isfinite(train_loss) else math.nan
        bad = not (math.isfinite(train_loss) and math.isfinite(grad_norm))
        if not bad:
            state.optimizer.step()
            state.bad_steps_in_a_row = 0
        state.optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.tokens_seen += cfg.batch_tokens
        if bad:
            self.skip_step(
                f"loss is {train_loss}" if not math.isfinite(train_loss) else f"gradient norm is {grad_norm}"
            )
        return train_loss, lr

    def gradient_norm(self) -> float:
        """The total gradient norm, after clipping it to grad_clip (Appendix C.1) when clipping is on."""
        params = [p for p in self.state.model.parameters() if p.grad is not None]
        if self.cfg.grad_clip > 0:
            return float(torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip))
        if not params:
            return 0.0
        return float(
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
        )

    def skip_step(self, what: str) -> None:
        """Count a step whose update was skipped; stop after MAX_BAD_STEPS_IN_A_ROW of them in a row."""
        state = self.state
        state.skipped_steps += 1
        state.bad_steps_in_a_row += 1
        n = state.bad_steps_in_a_row
        if n >= MAX_BAD_STEPS_IN_A_ROW:
            nth = {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")
            raise TrainingDiverged(
                f"{what} at step {self.step}: the {nth} step in a row with a non-finite loss or gradient; "
                f"stopped, {self.kept()}"
            )
        if self.ctx.is_main:
            from tqdm.auto import tqdm

            tqdm.write(
                f"warning: {what} at step {self.step}: its update was skipped ({n} in a row, "
                f"{state.skipped_steps} in this run; {MAX_BAD_STEPS_IN_A_ROW} in a row stop the run)",
                file=sys.stderr,
            )

    def stop_requested(self) -> int | None:
        """The signal that asked this run to stop (any rank's, under DDP, so all ranks stop together)."""
        signum = self.stop_signal or 0
        if self.ctx.world_size > 1:
            import torch.distributed as dist

            t = torch.tensor([signum], dtype=torch.int64, device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            signum = int(t.item())
        return signum or None

    def run(self) -> float:
        from tqdm.auto import tqdm

        cfg = self.cfg
        val = None
        if self.step == 0:
            val = self.evaluate()
            self.log(None, val, None)
        bar = tqdm(
            total=cfg.max_steps,
            initial=self.step,
            desc=Path(cfg.out_dir).name,
            unit="step",
            disable=not cfg.progress or not self.ctx.is_main,
            dynamic_ncols=True,
        )
        with bar:
            while self.step < cfg.max_steps:
                train_loss, lr = self.train_step()
                is_eval = self.step % cfg.eval_interval == 0 or self.step == cfg.max_steps
                val = self.evaluate() if is_eval else None
                if is_eval or self.step % cfg.log_interval == 0:
                    self.log(train_loss, val, lr)
                checkpointed = self.step % self.checkpoint_interval == 0 or self.step == cfg.max_steps
                if checkpointed:
                    self.save_checkpoint()
                bar.update(1)
                bar.set_postfix(
                    loss=f"{train_loss:.3f}", **({"val": f"{val:.3f}"} if val is not None else {})
                )
                if self.kill_after_step == self.step:
                    os.kill(os.getpid(), signal.SIGKILL)
                self._stop_if_asked(checkpointed)
        if val is None:  # resumed at the last step: the final evaluation was done before the checkpoint
            val = self.evaluate()
        return val

    def _stop_if_asked(self, checkpointed: bool) -> None:
        signum = self.stop_requested() if self.step < self.cfg.max_steps else None
        if signum is None:
            return
        if not checkpointed:
            self.save_checkpoint()
        raise TrainingInterrupted(
            f"{signal.Signals(signum).name} at step {self.step}: checkpoint {self.ckpt_path} "
            "written; continue with --resume (train(..., resume=True))",
            signum,
        )


# The name the loop had before the split (tests patch methods on it).
_Loop = Loop

__all__ = ["train", "Loop", "Metrics", "METRICS_COLUMNS", "MAX_BAD_STEPS_IN_A_ROW", "KILL_AFTER_STEP_ENV"]
