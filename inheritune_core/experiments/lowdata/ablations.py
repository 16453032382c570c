"""Appendix B's ablations: Figure 11 (depth sweep), Table 8 (other references), Figure 13 and Table 9
(a budget repeated for E epochs vs E x budget fresh tokens)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ...config import LOWDATA
from ...data.tokens import TokenData, atomic_write_tokens, load_token_data
from ...errors import ConfigError, DataError
from ...experiments.runs import (
    data_fingerprint,
)
from ...io import atomic_write_json
from .evaluate import REFERENCE_DISPLAY, evaluate_run, json_copy, lowdata_rows
from .scales import PAPER_REFERENCE_LAYERS, LowDataScale, get_lowdata_scale
from .targets import _slug, prepare_lowdata_corpus, run_lowdata

# --------------------------------------------------------------------------- ablations: Figures 11, 13, Tables 8, 9


@dataclass(frozen=True)
class EpochRun:
    """One run of the epochs-vs-fresh-tokens ablation.

    `repeated`: the first `budget_tokens` of the corpus, seen `epochs` times (the sequential sampler wraps
    around). `fresh`: the same number of tokens, `epochs * budget_tokens`, each seen once. Both runs take
    `max_steps` optimizer steps of the scale's batch, so they differ only in repetition.
    """

    data: str  # "repeated" | "fresh"
    epochs: int
    budget_tokens: int  # B (a whole number of optimizer steps)
    tokens_seen: int  # epochs * B
    max_steps: int
    corpus_tokens: int  # train tokens the run needs from its corpus (+1: the last window's target)

    @property
    def role(self) -> str:
        return (
            f"epochs_{self.epochs}"
            if self.data == "repeated"
            else f"fresh_{token_label(self.tokens_seen).lower()}"
        )

    @property
    def method(self) -> str:
        return (
            f"{self.epochs} epochs" if self.data == "repeated" else f"{token_label(self.tokens_seen)} fresh"
        )


def token_label(n: int) -> str:
    """999_948_288 -> '1B', 10_000_000_000 -> '10B', 256 -> '256' (three significant digits, the paper's style)."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def epochs_vs_fresh_plan(
    budget_tokens: int, epochs: Sequence[int], fresh_epochs: Sequence[int], batch_tokens: int, block_size: int
) -> list[EpochRun]:
    """The runs of Figure 13 (B repeated for each E in `epochs`) and Table 9 (E*B fresh tokens for each E in
    `fresh_epochs`). B is rounded down to whole optimizer steps so an epoch ends exactly at a step boundary
    (the sequential sampler then repeats the same windows in the same order every epoch)."""
    if batch_tokens <= 0 or block_size <= 0 or batch_tokens % block_size:
        raise ConfigError(
            f"batch_tokens ({batch_tokens}) must be a positive multiple of block_size ({block_size})"
        )
    if budget_tokens < batch_tokens:
        raise ConfigError(
            f"the repeated token budget ({budget_tokens}) is smaller than one batch ({batch_tokens})"
        )
    for name, values in (("epochs", epochs), ("fresh_epochs", fresh_epochs)):
        bad = [e for e in values if isinstance(e, bool) or not isinstance(e, int) or e < 1]
        if bad:
            raise ConfigError(f"{name} must be positive integers, got {bad}")
    steps_per_epoch = budget_tokens // batch_tokens
    budget = steps_per_epoch * batch_tokens
    runs = [
        EpochRun("repeated", e, budget, e * budget, e * steps_per_epoch, budget + 1)
        for e in sorted(set(epochs))
    ]
    # E = 1 fresh is the repeated run itself: nothing to compare.
    runs += [
        EpochRun("fresh", e, budget, e * budget, e * steps_per_epoch, e * budget + 1)
        for e in sorted(set(fresh_epochs))
        if e > 1
    ]
    return runs


def default_epoch_budget(scale: LowDataScale) -> int:
    """B of a scale: a few optimizer steps' worth of tokens offline, the paper's 1B-token sample at paper."""
    if scale.epoch_budget_steps is not None:
        return scale.epoch_budget_steps * scale.batch_tokens
    if scale.train_tokens is not None:
        return scale.train_tokens
    raise ConfigError(f"scale {scale.name!r} has no default token budget: pass budget_tokens")


def slice_token_data(
    data: TokenData, train_tokens: int, out_dir: str | os.PathLike, progress: bool = True
) -> TokenData:
    """A copy of `data` whose train split is its first `train_tokens` tokens (validation unchanged).

    Written once (atomically, meta.json last) and reused: a folder already holding the same slice is read
    back, one holding anything else is an error rather than overwritten.
    """
    available = data.num_tokens("train")
    if not 1 <= train_tokens <= available:
        raise DataError(f"{data.root}: cannot slice {train_tokens} train tokens out of {available}")
    out = Path(out_dir)
    meta = json_copy(data.meta)
    meta.pop("shards", None)
    meta["splits"] = {
        split: {**dict(data.meta["splits"].get(split, {})), "tokens": data.num_tokens(split)}
        for split in data.meta["splits"]
    }
    meta["splits"]["train"]["tokens"] = train_tokens
    meta["sliced_from"] = {
        "root": str(data.root),
        "fingerprint": data_fingerprint(data),
        "train_tokens": train_tokens,
    }
    if (out / "meta.json").is_file():
        existing = load_token_data(out)
        if (
            existing.meta.get("sliced_from", {}).get("fingerprint") != meta["sliced_from"]["fingerprint"]
            or existing.num_tokens("train") != train_tokens
        ):
            raise DataError(f"{out} already holds another corpus slice; remove it or choose another folder")
        return existing
    chunk = 1 << 24
    for split in meta["splits"]:
        n = train_tokens if split == "train" else data.num_tokens(split)
        src = data.split(split)
        bar = tqdm(total=n, unit="tok", unit_scale=True, desc=f"slice {split}", disable=not progress)

        def chunks(src=src, n=n, bar=bar):
            for i in range(0, n, chunk):
                part = np.asarray(src[i : min(n, i + chunk)])
                bar.update(len(part))
                yield part

        atomic_write_tokens(out / f"{split}.bin", chunks(), data.dtype)
        bar.close()
    atomic_write_json(out / "meta.json", meta)
    return load_token_data(out)


def _paper_target(reference: str, n_layers: int, scale: LowDataScale) -> bool:
    return reference == LOWDATA.reference and n_layers == LOWDATA.n_layers and scale.name == "paper"


# Table 8's row keys in results/paper_reported/table8.csv for the paper's 1B-token runs.
_TABLE8_PAPER_KEYS = {
    "openlm-research/open_llama_3b": ("Ours-1.5B (1B)", "inheritune_openllama_3b_1b"),
    "meta-llama/Llama-2-7b-hf": ("Ours-1.6B (1B)", "inheritune_llama2_7b_1b"),
    "openlm-research/open_llama_7b": ("Ours-1.6B (1B)", "inheritune_openllama_7b_1b"),
}


def table8_key(reference: str, n_layers: int, scale: LowDataScale) -> tuple[str, str]:
    """(model, role) of a Table 8 row: the paper's key for its own runs at paper scale, else a descriptive one."""
    if (
        scale.name == "paper"
        and reference in _TABLE8_PAPER_KEYS
        and n_layers == PAPER_REFERENCE_LAYERS[reference]
    ):
        return _TABLE8_PAPER_KEYS[reference]
    name = REFERENCE_DISPLAY.get(reference, reference)
    return f"Ours-{n_layers}L ({name})", f"inheritune_{_slug(name).lower()}_n{n_layers}"


def default_table8_references(scale: LowDataScale) -> dict[str, int]:
    """Paper scale: the paper's three references at their depths; offline: the scale's reference only."""
    return dict(PAPER_REFERENCE_LAYERS) if scale.name == "paper" else {scale.reference: scale.n_layers}


def table8_rows(
    references: Mapping[str, int],
    scale: str | LowDataScale = "smoke",
    *,
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    downstream: bool = True,
    limit: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Table 8: one target per reference (name -> n), each trained on the scale's budget of its own tokenizer."""
    s = get_lowdata_scale(scale)
    rows: list[dict[str, Any]] = []
    for reference, n in references.items():
        record = run_lowdata(reference, n, s, device=device, seed=seed, runs_dir=runs_dir, progress=progress)
        evaluation = evaluate_run(record, s, limit=limit, device=device) if downstream else None
        model, role = table8_key(reference, n, s)
        rows += lowdata_rows(record, table="table8", evaluation=evaluation, model=model, role=role)
    return rows


def epoch_run_key(run: EpochRun, reference: str, n_layers: int, scale: LowDataScale) -> str:
    """The model name of a Figure 13 / Table 9 row; at paper scale the paper's ("Ours-1.5B (1B)" repeated,
    "Ours-1.5B (50B)" fresh: the paper's fresh points are checkpoints of its 50B-token run)."""
    if _paper_target(reference, n_layers, scale):
        return "Ours-1.5B (1B)" if run.data == "repeated" else "Ours-1.5B (50B)"
    name = REFERENCE_DISPLAY.get(reference, reference)
    tokens = token_label(run.budget_tokens if run.data == "repeated" else run.tokens_seen)
    return f"Ours-{n_layers}L ({name}, {tokens})"


def epochs_vs_fresh_rows(
    reference: str | None = None,
    n_layers: int | None = None,
    scale: str | LowDataScale = "smoke",
    *,
    epochs: Sequence[int] | None = None,
    fresh_epochs: Sequence[int] | None = None,
    budget_tokens: int | None = None,
    data: TokenData | None = None,
    fresh_data: TokenData | None = None,
    device: str = "cpu",
    seed: int = 1337,
    runs_dir: str | os.PathLike | None = None,
    corpus_dir: str | os.PathLike | None = None,
    downstream: bool = True,
    limit: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Figure 13 and Table 9: B tokens repeated for E epochs vs E*B fresh tokens seen once (one cached run per
        point, each with its own full cosine schedule). Rows: table="figure13", with columns epochs, data
        (repeated/fresh), tokens_seen, budget_tokens; `table9_rows` picks Table 9's.
    from .evaluate import REFERENCE_DISPLAY, evaluate_run, json_copy, lowdata_rows
    from .scales import LowDataScale, PAPER_REFERENCE_LAYERS, get_lowdata_scale
    from .targets import _slug, prepare_lowdata_corpus, run_lowdata

        The repeated runs train on a slice of the corpus's first B tokens (written once next to the corpus); the
        fresh runs read the first E*B tokens of `fresh_data` (default: the corpus), which must hold them. `data`:
        an already prepared corpus of the reference's tokenizer instead of the scale's.
    """
    from ...models.llama import load_llama_reference

    s = get_lowdata_scale(scale, reference=reference, n_layers=n_layers)
    budget = budget_tokens if budget_tokens is not None else default_epoch_budget(s)
    plan = epochs_vs_fresh_plan(
        budget,
        s.epoch_sweep if epochs is None else epochs,
        s.fresh_epochs if fresh_epochs is None else fresh_epochs,
        s.batch_tokens,
        s.block_size,
    )
    corpus = data
    if corpus is None:
        _, tokenizer = load_llama_reference(s.reference)
        corpus = prepare_lowdata_corpus(tokenizer, s.reference, s, out_dir=corpus_dir, progress=progress)
    fresh_corpus = fresh_data if fresh_data is not None else corpus
    needed = max((r.corpus_tokens for r in plan if r.data == "fresh"), default=0)
    if needed > fresh_corpus.num_tokens("train"):
        raise ConfigError(
            f"fresh-token runs need {needed} train tokens but {fresh_corpus.root} has "
            f"{fresh_corpus.num_tokens('train')}: pass a larger fresh_data corpus or fewer fresh_epochs"
        )
    repeated = slice_token_data(
        corpus,
        plan[0].budget_tokens + 1,
        Path(str(corpus.root) + f"-first{plan[0].budget_tokens}"),
        progress=progress,
    )
    rows: list[dict[str, Any]] = []
    for run in plan:
        run_data = repeated if run.data == "repeated" else fresh_corpus
        record = run_lowdata(
            s.reference,
            s.n_layers,
            s,
            device=device,
            seed=seed,
            runs_dir=runs_dir,
            data=run_data,
            progress=progress,
            max_steps=run.max_steps,
        )
        evaluation = evaluate_run(record, s, limit=limit, device=device) if downstream else None
        extra = {
            "epochs": run.epochs,
            "data": run.data,
            "tokens_seen": run.tokens_seen,
            "budget_tokens": run.budget_tokens,
        }
        rows += lowdata_rows(
            record,
            table="figure13",
            evaluation=evaluation,
            extra=extra,
            role=run.role,
            method=run.method,
            model=epoch_run_key(run, s.reference, s.n_layers, s),
        )
    return rows


def table9_rows(figure13_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Table 9 out of Figure 13's rows: every epoch count that has a fresh-token counterpart, both runs."""
    fresh = {int(r["epochs"]) for r in figure13_rows if r["data"] == "fresh"}
    return [{**r, "table": "table9"} for r in figure13_rows if int(r["epochs"]) in fresh]
