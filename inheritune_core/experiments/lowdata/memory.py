"""Peak GPU memory of training a LLaMA-family target (the paper's 1.8B-parameter one fits one 48 GB GPU)."""

from __future__ import annotations

from typing import Any

from ...config import LOWDATA

# ---------------------------------------------------------------------------------------------- memory

GiB = 1024**3


def estimate_peak_memory(
    n_params: int,
    n_layers: int,
    hidden: int,
    intermediate: int,
    vocab: int,
    micro_batch: int,
    block_size: int,
    *,
    kv_hidden: int | None = None,
    activation_checkpointing: bool = True,
    param_bytes: int = 4,
    grad_bytes: int = 4,
    optimizer_state_bytes: int = 8,
    fused_optimizer: bool = True,
    autocast_bf16: bool = True,
    ddp: bool = False,
    overhead_gib: float = 1.5,
) -> dict[str, float]:
    """Peak GPU memory (GiB) of training a LLaMA-family model with AdamW, by component, and its total.

    Assumptions (bf16 autocast with fp32 master weights, the trainer's setup on CUDA):
    - weights, gradients: fp32 (4 + 4 bytes/param); AdamW: exp_avg + exp_avg_sq in fp32 (8 bytes/param).
    - autocast keeps a bf16 copy of every weight it casts during the forward (2 bytes/param).
    - foreach (non-fused) AdamW materialises about one fp32 temporary of all parameters in its step; the
      trainer uses fused AdamW on CUDA, which does not (`fused_optimizer`).
    - DDP adds gradient buckets of the gradients' size (`ddp`).
    - activations per token of one decoder layer: bf16 q/k/v, attention input/output and o_proj input,
      fp32 residual stream and RMSNorm temporaries, bf16 gate/up/SiLU/product of the MLP (flash/SDPA
      attention: no T x T scores kept). With checkpointing only each layer's fp32 input is kept, plus one
      layer's activations (and their gradients) during its recomputation; without, all layers' are kept.
    - logits: bf16 from the head, an fp32 copy for the loss and its fp32 gradient, plus the bf16 gradient.
    - overhead: CUDA context, cuBLAS workspaces, allocator fragmentation.
    """
    if min(n_params, n_layers, hidden, intermediate, vocab, micro_batch, block_size) <= 0:
        raise ValueError("estimate_peak_memory: every size must be positive")
    kv = hidden if kv_hidden is None else kv_hidden
    tokens = micro_batch * block_size
    act_dtype = 2 if autocast_bf16 else 4
    per_token_layer = act_dtype * (4 * hidden + 2 * kv + 4 * intermediate) + 4 * 4 * hidden
    layer_act = tokens * per_token_layer
    if activation_checkpointing:
        activations = n_layers * tokens * hidden * 4 + 2 * layer_act
    else:
        activations = n_layers * layer_act + layer_act  # + the gradients of one layer in flight
    parts = {
        "weights": n_params * param_bytes,
        "gradients": n_params * grad_bytes,
        "optimizer_states": n_params * optimizer_state_bytes,
        "optimizer_step_temporaries": 0 if fused_optimizer else n_params * 4,
        "autocast_weight_copies": n_params * 2 if autocast_bf16 else 0,
        "ddp_buckets": n_params * grad_bytes if ddp else 0,
        "activations": activations,
        "logits": tokens * vocab * (2 + 4 + 4 + 2),
    }
    out = {k: v / GiB for k, v in parts.items()}
    out["overhead"] = overhead_gib
    out["total"] = sum(out.values())
    return out


def llama_param_count(
    n_layers: int,
    hidden: int,
    intermediate: int,
    vocab: int,
    kv_hidden: int | None = None,
    tied: bool = False,
) -> int:
    """Parameters of a LLaMA decoder: per layer q,o (h x h), k,v (h x kv), MLP 3 x (h x I), two RMSNorms."""
    kv = hidden if kv_hidden is None else kv_hidden
    per_layer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * intermediate + 2 * hidden
    return n_layers * per_layer + vocab * hidden * (1 if tied else 2) + hidden


# OpenLLaMA-3B (v1): 26 layers, width 3200, MLP 8640, 32 heads (no GQA), vocab 32000, untied head.
OPEN_LLAMA_3B = {"hidden": 3200, "intermediate": 8640, "vocab": 32000, "layers": 26}


def paper_memory_estimate(micro_batch: int = 4, **kwargs: Any) -> dict[str, float]:
    """`estimate_peak_memory` of the paper's target: 13 OpenLLaMA-3B layers, 2048-token windows."""
    a = OPEN_LLAMA_3B
    n = LOWDATA.n_layers
    params = llama_param_count(n, a["hidden"], a["intermediate"], a["vocab"])
    return estimate_peak_memory(
        params, n, a["hidden"], a["intermediate"], a["vocab"], micro_batch, LOWDATA.block_size, **kwargs
    )
