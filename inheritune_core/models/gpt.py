"""The paper's GPT-2, nanoGPT-style.

GELU, no bias, no dropout, learned position embeddings, a head tied to the token embedding, pre-layernorm
blocks, and attention logits multiplied by 1/(layer_index+1) (0-based) on top of 1/sqrt(head_dim) when
`scale_attn_by_inverse_layer_idx` is on (Appendix C.1, following Liu et al. 2023 / Sophia; Hugging Face GPT-2
has a config flag of the same name and meaning). Parameter names match Hugging Face GPT-2 (`transformer.wte`,
`transformer.h.N.attn.c_attn`, ...), so conversion is a transpose-and-copy (see `hf.py`).

Two attention paths compute the same function:
- the fast path: `F.scaled_dot_product_attention(..., is_causal=True, scale=...)`, which keeps the fused
  (flash / memory-efficient) kernels because the layer scaling goes into `scale`;
- the analysis path (`forward(..., return_attn=True)`): explicit softmax(QK^T * scale + causal mask) V, which
  also returns the attention probabilities of every layer and head, as the rank/mass analysis needs them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import PADDED_VOCAB_SIZE, model_config_kwargs
from ..errors import ConfigError


@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = PADDED_VOCAB_SIZE
    n_layer: int = 24
    n_head: int = 16
    n_embd: int = 1024
    bias: bool = False
    scale_attn_by_inverse_layer_idx: bool = True

    def __post_init__(self) -> None:
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head != 0:
            raise ConfigError(f"n_head={self.n_head} does not divide n_embd={self.n_embd}")

    @classmethod
    def from_preset(cls, preset: str, scale: str = "paper", n_layer: int | None = None) -> GPTConfig:
        """A Table 10 architecture at a scale; `n_layer` is a paper layer count, scaled like the preset's."""
        return cls(**model_config_kwargs(preset, scale, n_layer))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GPTConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"not a GPTConfig: unknown keys {sorted(unknown)}")
        return cls(**d)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig, layer_idx: int):
        super().__init__()
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.head_dim = config.n_embd // config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.scale_by_layer = config.scale_attn_by_inverse_layer_idx
        self.layer_idx = layer_idx

    @property
    def scale(self) -> float:
        """The factor the attention logits QK^T are multiplied by.

        It depends on the block's *position* in the model: a block moved to another index (grown from lazy
        layers, stacked, DistilBERT-initialised) computes with its new index, as a freshly built model would.
        """
        s = 1.0 / math.sqrt(self.head_dim)
        if self.scale_by_layer:
            s /= float(self.layer_idx + 1)
        return s

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        shape = (B, T, self.n_head, self.head_dim)
        return (t.view(shape).transpose(1, 2) for t in (q, k, v))  # type: ignore[return-value]

    def forward(self, x: torch.Tensor, return_attn: bool = False):
        B, T, C = x.shape
        q, k, v = self._qkv(x)
        if return_attn:
            # Paper math, as the official code computes it: softmax(QK^T * scale + causal mask) V.
            att = (q @ k.transpose(-2, -1)) * self.scale
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~mask, float("-inf"))
            probs = F.softmax(att, dim=-1)
            y = probs @ v
        else:
            probs = None
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=self.scale)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y), probs


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # nanoGPT and the official code use the tanh-free GELU.
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, config: GPTConfig, layer_idx: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, return_attn: bool = False):
        a, probs = self.attn(self.ln_1(x), return_attn=return_attn)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, probs


class GPT(nn.Module):
    """Token ids (B, T) -> logits (B, T, vocab). The trainer only relies on that signature."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                h=nn.ModuleList([Block(config, i) for i in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying (Press & Wolf 2017), as GPT-2: the head *is* the token embedding.
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2's scaled init of the residual projections: std 0.02/sqrt(2 * n_layer).
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def reindex_layers(self) -> None:
        """Give every block the index of its position (call after reordering `transformer.h`)."""
        for i, block in enumerate(self.transformer.h):
            block.attn.layer_idx = i
        self.config.n_layer = len(self.transformer.h)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters counted once (the tied head is the embedding); minus wpe when non_embedding."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def forward(self, idx: torch.Tensor, return_attn: bool = False):
        """Logits (B, T, V); with return_attn, also a list of (B, n_head, T, T) attention probabilities."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of length {T} exceeds block_size {self.config.block_size}")
        pos = torch.arange(T, dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        attentions = []
        for block in self.transformer.h:
            x, probs = block(x, return_attn=return_attn)
            if return_attn:
                attentions.append(probs)
        logits = self.lm_head(self.transformer.ln_f(x))
        if return_attn:
            return logits, attentions
        return logits

    @torch.no_grad()
    def attention_probs(self, idx: torch.Tensor) -> torch.Tensor:
        """Attention probabilities of every layer and head: (B, n_layer, n_head, T, T)."""
        _, attentions = self.forward(idx, return_attn=True)
        return torch.stack(attentions, dim=1)

    def flops_per_token(self, seq_len: int | None = None) -> float:
        """Training FLOPs per token (forward + backward), PaLM appendix B: 6N + 12 L H Q T."""
        cfg = self.config
        T = seq_len or cfg.block_size
        N = self.num_params(non_embedding=True)
        return 6 * N + 12 * cfg.n_layer * cfg.n_head * (cfg.n_embd // cfg.n_head) * T


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy; logits (B, T, V), targets (B, T)."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))


__all__ = ["GPT", "GPTConfig", "Block", "CausalSelfAttention", "MLP", "cross_entropy"]
