"""Per-layer evidence from the hidden states of a decoder, and the layer selections it implies.

Three statistics besides the paper's attention rank and mass, all from ONE forward pass per batch of windows
(hooks record every decoder block's input and output hidden states):

- block influence (ShortGPT, Men et al. 2024): BI_l = 1 - mean over tokens of cos(h_l, h_{l+1}), where h_l is
  the input of block l and h_{l+1} its output. A block that changes nothing (an identity) has BI = 0; ShortGPT
  removes the blocks of lowest influence.
- angular distance (Gromov et al. 2024, "The Unreasonable Ineffectiveness of the Deeper Layers"):
  d(h_l, h_{l+n}) = arccos(cos(h_l, h_{l+n})) / pi on the LAST token of each window, as the paper computes it,
  for every pair; to remove n blocks, Gromov et al. drop the contiguous blocks l*..l*+n-1 with
  l* = argmin_l d(h_l, h_{l+n}).
- zero-shot loss of the first-n-layer model (final norm and LM head kept, no retraining): the reference's own
  final norm and head applied to h_n, for every n = 1..L, from the same forward pass. At n = L it is the
  model's own loss.

Hidden states are numbered h_0 (the embedding output, input of block 0) to h_L (output of the last block,
before the final norm); blocks 0..L-1, as everywhere in this package.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError
from .attention import _check_ids, _eval_mode, _is_hf_model, _is_native_gpt, use_eager_attention
from .degeneration import DEFAULT_THRESHOLD, HeadStats, head_stats

# --------------------------------------------------------------------------------------------------------------
# The parts of a decoder that the statistics need
# --------------------------------------------------------------------------------------------------------------


@dataclass
class DecoderParts:
    """The decoder blocks, the final norm and the LM head of a causal LM (and Gemma's final logit soft-cap)."""

    layers: nn.ModuleList
    final_norm: nn.Module
    head: nn.Module
    logit_softcap: float | None = None

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The model's own output layer applied to hidden states: head(final_norm(h)) (soft-capped if the model
        caps its logits, as Gemma 2 does)."""
        out = self.head(self.final_norm(hidden))
        if self.logit_softcap:
            out = torch.tanh(out / self.logit_softcap) * self.logit_softcap
        return out


def decoder_parts(model) -> DecoderParts:
    """Blocks, final norm and head of this project's GPT, Hugging Face GPT-2, or a LLaMA-layout decoder."""
    if _is_native_gpt(model) or (_is_hf_model(model) and hasattr(getattr(model, "transformer", None), "h")):
        t = model.transformer
        return DecoderParts(t.h, t.ln_f, model.lm_head)
    inner = getattr(model, "model", None)
    if (
        _is_hf_model(model)
        and isinstance(getattr(inner, "layers", None), nn.ModuleList)
        and hasattr(inner, "norm")
        and hasattr(model, "lm_head")
    ):
        softcap = getattr(model.config, "final_logit_softcapping", None)
        return DecoderParts(inner.layers, inner.norm, model.lm_head, softcap)
    raise ConfigError(
        f"layer statistics need this project's GPT, a Hugging Face GPT-2 or a LLaMA-layout decoder "
        f"(model.layers, norm, lm_head), got {type(model).__name__}"
    )


@contextlib.contextmanager
def record_hidden_states(model) -> Iterator[list[torch.Tensor | None]]:
    """While active, every forward pass fills the yielded list with h_0..h_L (see the module docstring).

    h_0 is taken from block 0's input and h_{l+1} from block l's output. Blocks are called with the hidden
    states as their first positional argument in every supported model; a keyword call is handled too.
    """
    layers = decoder_parts(model).layers
    states: list[torch.Tensor | None] = [None] * (len(layers) + 1)
    handles = []

    def first_input(module, args, kwargs):
        states[0] = args[0] if args else kwargs["hidden_states"]

    handles.append(layers[0].register_forward_pre_hook(first_input, with_kwargs=True))
    for i, layer in enumerate(layers):

        def output(module, args, out, i=i):
            states[i + 1] = out[0] if isinstance(out, tuple) else out

        handles.append(layer.register_forward_hook(output))
    try:
        yield states
    finally:
        for h in handles:
            h.remove()


# --------------------------------------------------------------------------------------------------------------
# The statistics of one batch
# --------------------------------------------------------------------------------------------------------------


def block_influence(hidden: Sequence[torch.Tensor]) -> torch.Tensor:
    """ShortGPT's block influence per window: (B, L) = 1 - mean over tokens of cos(h_l, h_{l+1}).

    `hidden`: the L+1 hidden states h_0..h_L, each (B, T, d).
    """
    h = torch.stack([x.double() for x in hidden])  # (L+1, B, T, d)
    cos = F.cosine_similarity(h[:-1], h[1:], dim=-1)  # (L, B, T)
    return (1.0 - cos).mean(dim=-1).T.contiguous()


def angular_distances(hidden: Sequence[torch.Tensor]) -> torch.Tensor:
    """Gromov et al.'s angular distance between every pair of hidden states on the last token: (B, L+1, L+1),
    entry [b, i, j] = arccos(cos(h_i, h_j)) / pi (0 for parallel states, 1 for opposite ones)."""
    last = torch.stack([x[:, -1].double() for x in hidden], dim=1)  # (B, L+1, d)
    unit = F.normalize(last, dim=-1)
    cos = (unit @ unit.mT).clamp(-1.0, 1.0)
    return torch.arccos(cos) / math.pi


def truncated_losses(parts: DecoderParts, hidden: Sequence[torch.Tensor], ids: torch.Tensor) -> torch.Tensor:
    """Zero-shot loss of the first-n-layer model for n = 1..L, per window: (B, L) mean next-token cross-entropy
    of head(final_norm(h_n)) (the model's own output layer on the n-th block's output)."""
    targets = ids[:, 1:].reshape(-1)
    out = []
    for h in hidden[1:]:
        logits = parts.logits(h[:, :-1]).float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="none")
        out.append(ce.view(ids.shape[0], -1).mean(dim=-1).double())
    return torch.stack(out, dim=1)


# --------------------------------------------------------------------------------------------------------------
# The protocol over windows
# --------------------------------------------------------------------------------------------------------------


@dataclass
class LayerEvidence:
    """Per-window statistics of every layer; reduce them with `.mean` / `.std` over windows (dim 0).

    influence (R, L); angular (R, L+1, L+1); truncated_loss (R_loss, L), column n-1 for the first-n model;
    heads: the attention rank and mass (HeadStats) when attention was collected.
    """

    influence: torch.Tensor
    angular: torch.Tensor
    truncated_loss: torch.Tensor
    heads: HeadStats | None
    seq_len: int

    @property
    def n_layers(self) -> int:
        return self.influence.shape[1]

    @property
    def n_windows(self) -> int:
        return self.influence.shape[0]

    def mean_angular(self) -> torch.Tensor:
        """(L+1, L+1) mean over windows of the angular distance between hidden states."""
        return self.angular.mean(dim=0)


def _forward(model, ids: torch.Tensor, attention: bool) -> torch.Tensor | None:
    """One forward pass (the hooks record the hidden states); the attention probabilities if asked for."""
    if _is_native_gpt(model):
        if attention:
            _, probs = model(ids, return_attn=True)
            return torch.stack(probs, dim=1)
        model(ids)
        return None
    if attention:
        use_eager_attention(model)
    out = model(input_ids=ids, output_attentions=attention, use_cache=False)
    if not attention:
        return None
    if not out.attentions or out.attentions[0] is None:
        raise RuntimeError(
            f"{type(model).__name__} returned no attention probabilities (is its attention eager?)"
        )
    return torch.stack(out.attentions, dim=1)


@torch.no_grad()
def collect_layer_evidence(
    model,
    windows: torch.Tensor,
    *,
    attention: bool = True,
    loss_windows: int | None = None,
    batch_size: int = 5,
    threshold: float = DEFAULT_THRESHOLD,
    progress: bool = False,
) -> LayerEvidence:
    """Every per-layer statistic of `model` on `windows` (R, T) of token ids, one forward pass per batch.

    attention: also the paper's k*/m* of every head (needs eager attention on Hugging Face models).
    loss_windows: the truncated-model loss is computed on the first `loss_windows` windows only (all when None):
    it applies the vocabulary projection once per layer, which dominates the cost for large vocabularies
    (Gemma 3: 262144 entries).
    """
    from tqdm.auto import tqdm

    parts = decoder_parts(model)
    _check_ids(model, windows)
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    R = windows.shape[0]
    n_loss = R if loss_windows is None else loss_windows
    if not 0 <= n_loss <= R:
        raise ValueError(f"loss_windows must be in 0..{R} (the number of windows), got {loss_windows}")
    if windows.shape[1] < 2:
        raise ValueError("windows need at least 2 tokens (a next-token loss and a last token to compare)")
    device = next(model.parameters()).device
    influence, angular, losses, heads = [], [], [], []
    with _eval_mode(model), record_hidden_states(model) as states:
        for start in tqdm(range(0, R, batch_size), desc="layers", unit="batch", disable=not progress):
            ids = windows[start : start + batch_size].to(device)
            probs = _forward(model, ids, attention)
            if any(s is None for s in states):
                raise RuntimeError("not every decoder block ran in the forward pass")
            hidden = [s.detach() for s in states]
            influence.append(block_influence(hidden).cpu())
            angular.append(angular_distances(hidden).cpu())
            k = min(max(n_loss - start, 0), ids.shape[0])
            if k:
                losses.append(truncated_losses(parts, [h[:k] for h in hidden], ids[:k]).cpu())
            if attention:
                heads.append(head_stats(probs.float().cpu(), threshold))
            states[:] = [None] * len(states)
    L = len(parts.layers)
    return LayerEvidence(
        influence=torch.cat(influence),
        angular=torch.cat(angular),
        truncated_loss=torch.cat(losses) if losses else torch.zeros(0, L, dtype=torch.float64),
        heads=HeadStats.cat(heads) if heads else None,
        seq_len=windows.shape[1],
    )


# --------------------------------------------------------------------------------------------------------------
# Which layers to keep: the selections of Inheritune, ShortGPT and Gromov et al.
# --------------------------------------------------------------------------------------------------------------


def _check_keep(n_layers: int, n_keep: int) -> None:
    if isinstance(n_keep, bool) or not isinstance(n_keep, int) or not 1 <= n_keep <= n_layers:
        raise ConfigError(f"the number of layers to keep must be in 1..{n_layers}, got {n_keep!r}")


def first_layers(n_layers: int, n_keep: int) -> list[int]:
    """Inheritune: the first n blocks."""
    _check_keep(n_layers, n_keep)
    return list(range(n_keep))


def last_layers(n_layers: int, n_keep: int) -> list[int]:
    """The last n blocks (the paper's "lazy layers" initialisation, Figure 1c/f)."""
    _check_keep(n_layers, n_keep)
    return list(range(n_layers - n_keep, n_layers))


# Statistics closer than this are ties. Two blocks that leave the hidden state unchanged (identities) differ
# by floating-point noise that depends on the BLAS and the CPU (~1e-9 in an angular distance, since
# arccos(1 - eps) ~ sqrt(2 eps)); real blocks differ by 1e-3 and more. Breaking such a tie by the noise made
# the choice differ between an Intel and an AMD machine (issue 20, item 7).
TIE_TOLERANCE = 1e-6


def tie_ranks(values: Sequence[float], tol: float = TIE_TOLERANCE) -> list[int]:
    """Each value's rank, ascending, where values within `tol` of their neighbour in sorted order share a rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0] * len(values)
    rank = 0
    for previous, i in zip([None, *order], order):
        if previous is not None and values[i] - values[previous] > tol:
            rank += 1
        ranks[i] = rank
    return ranks


def top_influence_layers(influence: torch.Tensor | Sequence[float], n_keep: int) -> list[int]:
    """ShortGPT: keep the n blocks of highest influence (drop the lowest), in their original order.

    Influences within TIE_TOLERANCE of each other are ties, broken towards the earlier block (kept first), so
    the choice is the same on every CPU and BLAS.
    """
    bi = [float(x) for x in np.asarray(influence, dtype=np.float64).ravel()]
    _check_keep(len(bi), n_keep)
    ranks = tie_ranks([-b for b in bi])
    order = sorted(range(len(bi)), key=lambda i: (ranks[i], i))
    return sorted(order[:n_keep])


def angular_block_start(angular: torch.Tensor, n_drop: int) -> int:
    """Gromov et al.: the first block l* of the contiguous run of `n_drop` blocks whose removal changes the
    representation least, l* = argmin_l d(h_l, h_{l+n_drop}) over l = 0..L-n_drop: the earliest block whose
    distance is within TIE_TOLERANCE of the smallest (a tie is never broken by floating-point noise)."""
    angular = torch.as_tensor(angular)
    if angular.dim() != 2 or angular.shape[0] != angular.shape[1]:
        raise ValueError(f"expected the (L+1, L+1) mean angular distances, got shape {tuple(angular.shape)}")
    L = angular.shape[-1] - 1
    if isinstance(n_drop, bool) or not isinstance(n_drop, int) or not 1 <= n_drop <= L - 1:
        raise ConfigError(f"the number of blocks to drop must be in 1..{L - 1}, got {n_drop!r}")
    d = [float(angular[start, start + n_drop]) for start in range(L - n_drop + 1)]
    return tie_ranks(d).index(0)


def angular_block_layers(angular: torch.Tensor, n_keep: int) -> list[int]:
    """Gromov et al.'s selection: every block except the contiguous run of L - n_keep at `angular_block_start`."""
    L = torch.as_tensor(angular).shape[-1] - 1
    _check_keep(L, n_keep)
    if n_keep == L:
        return list(range(L))
    start = angular_block_start(angular, L - n_keep)
    return [i for i in range(L) if not start <= i < start + L - n_keep]


__all__ = [
    "TIE_TOLERANCE",
    "tie_ranks",
    "DecoderParts",
    "LayerEvidence",
    "angular_block_layers",
    "angular_block_start",
    "angular_distances",
    "block_influence",
    "collect_layer_evidence",
    "decoder_parts",
    "first_layers",
    "last_layers",
    "record_hidden_states",
    "top_influence_layers",
    "truncated_losses",
]
