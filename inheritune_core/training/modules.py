"""What the trainer needs to know about a model it did not build: the module inside DDP/compile wrappers, its
config as plain data, and activation checkpointing for our GPT and for Hugging Face models."""

from __future__ import annotations

import contextlib
import json
import types
from typing import Any

import torch
import torch.nn as nn

from ..errors import ConfigError


def unwrap(model: nn.Module) -> nn.Module:
    """The user's module inside DDP and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def model_config_dict(model: nn.Module) -> dict[str, Any] | None:
    config = getattr(unwrap(model), "config", None)
    if config is None:
        return None
    if hasattr(config, "to_dict"):
        return config.to_dict()
    return dict(vars(config))


def jsonable(obj: Any) -> Any:
    """A copy JSON can write (configs of other models may hold dtypes, paths, ...: written as strings). The
    checkpoint stores model configs this way too, so it holds only plain types (weights_only loading)."""
    return json.loads(json.dumps(obj, default=str))


def _gpt_blocks(model: nn.Module):
    transformer = getattr(model, "transformer", None)
    return getattr(transformer, "h", None) if transformer is not None else None


@contextlib.contextmanager
def activation_checkpointing(model: nn.Module, enabled: bool):
    """Recompute activations in the backward pass (less memory, ~30% more compute) while inside the context.

    GPT: each block's forward is wrapped in torch.utils.checkpoint (an instance attribute, so parameter names
    and the state_dict do not change, and leaving the context restores the plain model). Hugging Face models:
    their own `gradient_checkpointing_enable()`.
    """
    if not enabled:
        yield
        return
    if hasattr(model, "gradient_checkpointing_enable"):
        try:  # the non-reentrant variant works with frozen inputs and torch.compile
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        except TypeError:
            model.gradient_checkpointing_enable()
        try:
            yield
        finally:
            model.gradient_checkpointing_disable()
        return
    blocks = _gpt_blocks(model)
    if blocks is None:
        raise ConfigError(f"activation_checkpointing: do not know the blocks of a {type(model).__name__}")
    from torch.utils.checkpoint import checkpoint

    def checkpointed(block, x, return_attn=False):
        if return_attn or not torch.is_grad_enabled():
            return type(block).forward(block, x, return_attn=return_attn)
        return checkpoint(type(block).forward, block, x, use_reentrant=False)

    for block in blocks:
        block.forward = types.MethodType(checkpointed, block)
    try:
        yield
    finally:
        for block in blocks:
            del block.forward


__all__ = ["unwrap", "model_config_dict", "jsonable", "activation_checkpointing"]
