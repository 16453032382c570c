"""A run is a spec; a spec's hash names its folder; a finished run is read back, never trained twice.

Every training run of the notebooks goes through `run_or_load(spec, build_and_train)`:
- `RunSpec` holds everything that determines the numbers a run produces: the kind of run, the model preset,
  the scale, the exact model and training configs (from `config.py`'s presets plus overrides, so editing a
  preset changes the hash and retrains instead of silently reusing a stale run), the seed, a fingerprint of
  the data (its meta.json, not its path, so the same corpus anywhere hits the same runs), the init options and
  the ids of the parent runs (the reference a model inherits from, the teacher of a distillation). Device,
  progress bars and compile are *not* part of it: they do not change what is computed (up to float noise).
- The folder is `runs_dir()/<name>-<hash>/` with `spec.json`, and what the trainer writes: `metrics.csv`,
  `ckpt.pt` and `result.json` (written last, so result.json means finished).
- `run_or_load`: result.json present -> read back (no torch import, no training); otherwise call
  `build_and_train(run_dir)`, which trains with `resume=True`, so a checkpoint left by an interrupted run is
  resumed rather than restarted. The run folder's lock (`io.run_folder_lock`, the trainer's too) keeps two
  processes (e.g. two notebooks under `make -j`) from training the same run at once: the second one prints
  whom it waits for, waits, then reads the finished run back.
- `reference_run(preset, scale, data)` trains a reference model of a size and scale once; every notebook
  that needs it gets the same folder.

Notebook results are tidy CSVs written with `write_csv` (atomic: a notebook that fails half-way leaves the
previous complete CSV or none, never a partial one).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import get_preset, get_scale, scaled_layers
from ..data.tokens import CONTENT_KEY, TokenData
from ..errors import ConfigError
from ..io import atomic_write_json, read_metrics, run_folder_lock
from ..paths import runs_dir as default_runs_dir

HASH_CHARS = 12
SPEC_FILE, RESULT_FILE, CHECKPOINT_FILE, METRICS_FILE = "spec.json", "result.json", "ckpt.pt", "metrics.csv"

# How many runs this process actually trained (tests and notebooks use it to show that cached runs are reused).
TRAINING_COUNTER = {"trained": 0, "loaded": 0}


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same content always gives the same text (and hash)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=_json_default
    )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (tuple, set, frozenset)):
        return sorted(obj) if isinstance(obj, (set, frozenset)) else list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot put a {type(obj).__name__} into a run spec: use numbers, strings, lists, dicts")


def short_hash(obj: Any, chars: int = HASH_CHARS) -> str:
    return hashlib.sha256(canonical_json(obj).encode("ascii")).hexdigest()[:chars]


# meta.json keys that record how long or when a corpus was prepared, not what it holds.
VOLATILE_META_KEYS = frozenset({"prepare_seconds", "created", "created_at", "elapsed_s", "wall_time_s"})


def data_fingerprint(data: TokenData | str | os.PathLike) -> str:
    """Identity of a prepared corpus: a hash of its meta.json (token counts, tokenizer, source hashes), minus
    timings, so re-preparing the same corpus keeps every cached run valid."""
    if isinstance(data, TokenData):
        meta = data.meta
    else:
        meta_path = Path(data) / "meta.json"
        if not meta_path.is_file():
            raise ConfigError(f"{meta_path} is missing: {data} is not a prepared corpus")
        meta = json.loads(meta_path.read_text())
    return short_hash(
        {k: v for k, v in _without_cached_contents(meta).items() if k not in VOLATILE_META_KEYS}
    )


def _without_cached_contents(meta: dict[str, Any]) -> dict[str, Any]:
    """meta.json less the token files' cached `content` (data.tokens): opening a corpus for the first time
    writes it, and that must not change the fingerprint of a corpus, nor the runs made on it."""
    splits = meta.get("splits")
    if not isinstance(splits, dict):
        return meta
    clean = {
        k: {f: v for f, v in s.items() if f != CONTENT_KEY} if isinstance(s, dict) else s
        for k, s in splits.items()
    }
    return {**meta, "splits": clean}


@dataclass(frozen=True)
class RunSpec:
    """Everything that identifies one training run. Build it with `make_spec`, which fills the configs."""

    name: str  # human-readable folder prefix, e.g. "gpt2-medium-tiny-reference"
    kind: str  # reference, random, inheritune, stacking, hybrid_stacking, half_width, kd, distilbert_kd, ...
    preset: str
    scale: str
    n_layer: int  # the layer count actually trained (after scaling)
    seed: int
    data: str  # data_fingerprint(...)
    model_config: Mapping[str, Any]
    train_config: Mapping[str, Any]
    init: Mapping[str, Any] = field(default_factory=dict)  # init options (parts, source layers, ...)
    parents: tuple[str, ...] = ()  # run ids of the runs this one starts from or learns from

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise ConfigError(f"run name {self.name!r} must be a non-empty folder name")
        canonical_json(self.identity())  # fail now, with one line, if something is not JSON-able

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        d["model_config"] = dict(self.model_config)
        d["train_config"] = dict(self.train_config)
        d["init"] = dict(self.init)
        d["parents"] = list(self.parents)
        return d

    @property
    def hash(self) -> str:
        return short_hash(self.identity())

    @property
    def run_id(self) -> str:
        return f"{self.name}-{self.hash}"

    @property
    def steps(self) -> int:
        return int(self.train_config["max_steps"])


def make_spec(
    name: str,
    kind: str,
    preset: str,
    scale: str,
    data: TokenData | str,
    *,
    n_layer: int | None = None,
    steps: int | None = None,
    seed: int = 1337,
    init: Mapping[str, Any] | None = None,
    parents: Sequence[RunRecord | str] = (),
    model_overrides: Mapping[str, Any] | None = None,
    data_seed: int | None = None,
    **train_overrides: Any,
) -> RunSpec:
    """A spec for a GPT-2-preset run at a scale.

    n_layer: the *actual* layer count (already scaled; default the preset's depth at this scale).
    steps: max_steps (default: the scale's). Other TrainConfig fields (sampler, kd_alpha, ...) go in
    train_overrides and become part of the identity. `data` is a TokenData or a fingerprint string.
    seed: the run's seed (model initialisation; `RunSpec.seed`); data_seed: the sampler's seed
    (`TrainConfig.seed`), default `seed` (experiments.streams derives one per arm).
    """
    from ..models.gpt import GPTConfig
    from ..training.trainer import NON_IDENTIFYING_TRAIN_FIELDS, TrainConfig, identifying_train_config

    get_preset(preset)
    sc = get_scale(scale)
    model_cfg = GPTConfig.from_preset(preset, scale).to_dict()
    model_cfg["n_layer"] = scaled_layers(get_preset(preset).n_layer, sc) if n_layer is None else int(n_layer)
    model_cfg.update(model_overrides or {})
    GPTConfig.from_dict(model_cfg)  # validates
    overrides = dict(train_overrides, seed=seed if data_seed is None else int(data_seed))
    if steps is not None:
        overrides["max_steps"] = int(steps)
    overrides = {k: v for k, v in overrides.items() if k not in NON_IDENTIFYING_TRAIN_FIELDS}
    train_cfg = identifying_train_config(
        TrainConfig.from_preset(preset, scale, out_dir="<run_dir>", **overrides)
    )
    parent_ids = tuple(p.run_id if isinstance(p, RunRecord) else str(p) for p in parents)
    fingerprint = data if isinstance(data, str) else data_fingerprint(data)
    return RunSpec(
        name=name,
        kind=kind,
        preset=preset,
        scale=scale,
        n_layer=model_cfg["n_layer"],
        seed=seed,
        data=fingerprint,
        model_config=model_cfg,
        train_config=train_cfg,
        init=dict(init or {}),
        parents=parent_ids,
    )


@dataclass
class RunRecord:
    """A finished run: its spec, folder and result.json (the trainer's summary plus its configs)."""

    spec: RunSpec
    run_dir: Path
    result: dict[str, Any]
    trained_now: bool

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def hash(self) -> str:
        return self.spec.hash

    @property
    def final_val_loss(self) -> float:
        """The whole-split validation loss (`training.validation`) when the run recorded one (every GPT-2
        experiment does); else the trainer's last periodic evaluation (runs that skip the full split)."""
        return float(self.result.get("val_loss_full", self.result["final_val_loss"]))

    @property
    def val_loss_se(self) -> float | None:
        """Standard error of `final_val_loss` (None when the run has no whole-split validation)."""
        se = self.result.get("val_loss_se")
        return None if se is None else float(se)

    @property
    def tokens(self) -> int | None:
        """Tokens this run's final model has been trained on (result.json's tokens_seen)."""
        tokens = self.result.get("tokens_seen")
        return None if tokens is None else int(tokens)

    @property
    def steps(self) -> int:
        return int(self.result["steps"])

    @property
    def layers(self) -> int:
        """Depth of the final model (a recipe run grows beyond its spec's starting depth)."""
        return int(self.result.get("model_config", {}).get("n_layer", self.spec.n_layer))

    @property
    def final_dir(self) -> Path:
        """The folder holding the final model's ckpt.pt and metrics.csv (a sub-folder for multi-stage runs)."""
        return self.run_dir / self.result.get("final_stage_dir", "")

    @property
    def checkpoint(self) -> Path:
        return self.final_dir / CHECKPOINT_FILE

    def metrics(self, stage_dir: str | None = None) -> list[dict[str, float | None]]:
        """metrics.csv as a list of rows (floats; None where a column was empty), without importing torch."""
        path = (self.run_dir / stage_dir if stage_dir is not None else self.final_dir) / METRICS_FILE
        if not path.is_file():
            raise ConfigError(f"{path} is missing: the run folder {self.run_dir} is incomplete")
        return read_metrics(path)

    def load_model(self, device: str = "cpu"):
        """The trained GPT (weights from ckpt.pt), on `device`, in eval mode."""
        from ..models.gpt import GPT, GPTConfig
        from ..training.trainer import load_checkpoint

        model = GPT(GPTConfig.from_dict(dict(self.result.get("model_config") or self.spec.model_config)))
        load_checkpoint(self.checkpoint, model)
        return model.to(device).eval()


def run_dir_for(spec: RunSpec, runs_dir: str | os.PathLike | None = None) -> Path:
    return (Path(runs_dir) if runs_dir is not None else default_runs_dir()) / spec.run_id


def _read_result(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RESULT_FILE
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is corrupt ({e}); delete the run folder {run_dir} to retrain it") from None
    if not isinstance(result, dict) or "final_val_loss" not in result:
        raise ConfigError(
            f"{path} is corrupt (not a run's result); delete the run folder {run_dir} to retrain it"
        )
    return result


def _check_spec_file(spec: RunSpec, run_dir: Path) -> None:
    """The folder's spec.json must be this spec (a mismatch means a hash collision or a hand-edited folder)."""
    path = run_dir / SPEC_FILE
    if not path.is_file():
        atomic_write_json(path, spec.identity())
        return
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is corrupt ({e}); move the folder {run_dir} away to rerun") from None
    if canonical_json(saved) != canonical_json(spec.identity()):
        raise ConfigError(f"{path} describes another run than {spec.run_id}; move the folder away to rerun")


def run_or_load(
    spec: RunSpec,
    build_and_train: Callable[[Path], Any],
    runs_dir: str | os.PathLike | None = None,
) -> RunRecord:
    """Read a finished run back, or train it (resuming its checkpoint if one was left) and read it back.

    build_and_train(run_dir) must train with `train(..., TrainConfig(out_dir=run_dir, ...), resume=True)` so
    that result.json lands in run_dir; its return value is ignored (result.json is the record).
    """
    run_dir = run_dir_for(spec, runs_dir)
    if (run_dir / RESULT_FILE).is_file():  # fast path: no lock, no torch
        _check_spec_file(spec, run_dir)
        return _loaded(spec, run_dir)
    with run_folder_lock(run_dir):  # the trainer's lock: a second process waits, then reads it back
        _check_spec_file(spec, run_dir)
        if (run_dir / RESULT_FILE).is_file():  # another process finished it while we waited
            return _loaded(spec, run_dir)
        announce(
            f"training {spec.run_id}: {spec.kind}, {spec.n_layer} layers, {spec.steps} steps, seed {spec.seed}"
        )
        build_and_train(run_dir)
        if not (run_dir / RESULT_FILE).is_file():
            raise ConfigError(f"training {spec.run_id} returned without writing {run_dir / RESULT_FILE}")
        TRAINING_COUNTER["trained"] += 1
        record = RunRecord(spec, run_dir, _read_result(run_dir), trained_now=True)
        announce(f"trained {spec.run_id}: val loss {record.final_val_loss:.4f} after {record.steps} steps")
        return record


def announce(message: str) -> None:
    """One line per run on stdout (`make <notebook>` streams it with papermill --log-output): which run
    trains or is read back, without progress bars in the executed notebooks."""
    print(f"[runs] {message}", flush=True)


def _loaded(spec: RunSpec, run_dir: Path) -> RunRecord:
    TRAINING_COUNTER["loaded"] += 1
    announce(f"read back {spec.run_id}")
    return RunRecord(spec, run_dir, _read_result(run_dir), trained_now=False)


def train_config_for(spec: RunSpec, run_dir: Path, device: str = "cpu", progress: bool = True):
    """The TrainConfig of a spec, pointed at its run folder, on a device."""
    from ..training.trainer import TrainConfig

    return TrainConfig(**dict(spec.train_config), out_dir=str(run_dir), device=device, progress=progress)


def train_spec(
    spec: RunSpec,
    data: TokenData,
    make_model: Callable[[], Any],
    *,
    teacher: Callable[[], Any] | None = None,
    device: str = "cpu",
    runs_dir: str | os.PathLike | None = None,
    progress: bool = True,
    full_validation: bool = True,
) -> RunRecord:
    """`run_or_load` with the usual trainer call: build the model (and teacher) only if training is needed.

    full_validation: score the trained model on the whole validation split (`training.validation`) and put
    val_loss_full / val_loss_se / val_tokens into result.json: the number the tables and parity decisions use.
    """
    from ..training.trainer import train

    if data_fingerprint(data) != spec.data:
        raise ConfigError(f"spec {spec.run_id} was made for data {spec.data}, got {data_fingerprint(data)}")

    def build_and_train(run_dir: Path):
        model = make_model()
        if model.config.to_dict() != dict(spec.model_config):
            raise ConfigError(f"{spec.run_id}: the built model's config differs from the spec's model_config")
        cfg = train_config_for(spec, run_dir, device, progress)

        def whole_split(trained) -> dict[str, Any]:
            from ..training.validation import validation_loss_of_run

            return validation_loss_of_run(trained, data, cfg).to_result()

        return train(
            model,
            data,
            cfg,
            teacher=teacher() if teacher is not None else None,
            resume=True,
            final_eval=whole_split if full_validation else None,
        )

    record = run_or_load(spec, build_and_train, runs_dir)
    if full_validation and "val_loss_full" not in record.result:
        record = _complete_result(record, data, device, teacher)
    return record


def _complete_result(
    record: RunRecord, data: TokenData, device: str, teacher: Callable[[], Any] | None
) -> RunRecord:
    """A run that finished before result.json recorded the whole-split validation and the accounting (its
    hash is the same: training did not change): compute them from its checkpoint, without training, and add
    them to result.json atomically."""
    from ..data.sampling import make_sampler
    from ..training.accounting import run_accounting
    from ..training.validation import validation_loss_of_run

    cfg = train_config_for(record.spec, record.run_dir, device, progress=False)
    with run_folder_lock(record.run_dir):
        result = _read_result(record.run_dir)
        if "val_loss_full" not in result:
            model = record.load_model(device)
            extra = validation_loss_of_run(model, data, cfg).to_result()
            if "sampler_end" not in result:
                sampler = make_sampler(
                    cfg.sampler,
                    data.split("train"),
                    cfg.micro_batch,
                    cfg.block_size,
                    seed=cfg.seed,
                    offset=cfg.sampler_offset,
                )
                per_step = cfg.batch_tokens // (cfg.micro_batch * cfg.block_size)  # global micro-batches
                sampler.consumed = int(result["steps"]) * per_step
                t = teacher() if teacher is not None else None
                extra.update(run_accounting(model, cfg, sampler, result["steps"], result["tokens_seen"], t))
            result = {**result, **extra}
            atomic_write_json(record.run_dir / RESULT_FILE, result)
    return RunRecord(record.spec, record.run_dir, result, record.trained_now)


def reference_run(
    preset: str,
    scale: str,
    data: TokenData,
    *,
    steps: int | None = None,
    seed: int = 1337,
    device: str = "cpu",
    runs_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **train_overrides: Any,
) -> RunRecord:
    """The reference model of a preset at a scale, trained from scratch once and shared by every notebook."""
    from ..method.inheritance import random_init
    from ..models.gpt import GPTConfig

    spec = make_spec(
        f"{preset}-{scale}-reference",
        "reference",
        preset,
        scale,
        data,
        steps=steps,
        seed=seed,
        init={"method": "random"},
        **train_overrides,
    )
    return train_spec(
        spec,
        data,
        lambda: random_init(GPTConfig.from_dict(dict(spec.model_config)), seed=seed),
        device=device,
        runs_dir=runs_dir,
        progress=progress,
    )


# ----------------------------------------------------------------------------------------------- tidy CSVs
def result_row(
    record: RunRecord,
    *,
    table: str,
    model: str,
    role: str,
    method: str,
    metric: str = "val_loss",
    value: float | None = None,
) -> dict[str, Any]:
    """One tidy table row for a run (the paper_reported format plus tokens, the validation loss's standard
    error `se` and the tokens it was measured on, scale, seed and the run's hash)."""
    own_loss = value is None and metric == "val_loss"
    se = record.val_loss_se if own_loss else None
    return {
        "table": table,
        "model": model,
        "role": role,
        "method": method,
        "layers": record.layers,
        "steps": record.steps,
        "tokens": "" if record.tokens is None else record.tokens,
        "metric": metric,
        "value": record.final_val_loss if value is None else value,
        "se": "" if se is None else se,
        "val_tokens": record.result.get("val_tokens", "") if own_loss else "",
        "scale": record.spec.scale,
        "seed": record.spec.seed,
        "run_hash": record.hash,
        "run_id": record.run_id,
    }


def curve_rows(
    record: RunRecord,
    *,
    panel: str,
    model: str,
    role: str,
    method: str,
    step_offset: int = 0,
    stage_dir: str | None = None,
    layers: int | None = None,
) -> list[dict[str, Any]]:
    """Tidy loss-curve rows of a run (one per logged step and split) for `report.draw_curves`.

    stage_dir picks one stage of a multi-stage run (a recipe round); step_offset shifts its steps (e.g. the
    second stage of stacking drawn after its first).
    """
    rows = []
    for m in record.metrics(stage_dir):
        for split in ("train", "val"):
            loss = m.get(f"{split}_loss")
            if loss is None:
                continue
            rows.append(
                {
                    "panel": panel,
                    "model": model,
                    "role": role,
                    "method": method,
                    "layers": layers or record.layers,
                    "step": int(m["step"]) + step_offset,
                    "tokens": int(m["tokens"]),
                    "split": split,
                    "loss": loss,
                    "scale": record.spec.scale,
                    "run_hash": record.hash,
                }
            )
    return rows


__all__ = [
    "RunSpec",
    "RunRecord",
    "make_spec",
    "run_or_load",
    "train_spec",
    "reference_run",
    "run_dir_for",
    "train_config_for",
    "data_fingerprint",
    "short_hash",
    "canonical_json",
    "result_row",
    "curve_rows",
    "TRAINING_COUNTER",
]
