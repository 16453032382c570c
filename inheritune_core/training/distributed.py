"""Distributed set-up: join the process group torchrun describes, and the one reduction the loop needs.

One process (WORLD_SIZE unset or 1) is the same code with `Dist()`: rank 0 of a world of one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class Dist:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> Dist:
    """Join the process group torchrun describes (WORLD_SIZE > 1): gloo on CPU, nccl on CUDA."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Dist()
    import torch.distributed as dist

    initialized_here = False
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
        initialized_here = True
    return Dist(
        dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size(), initialized_here
    )


def current_dist() -> Dist:
    """The process group this process is already in (evaluation called inside a DDP run), or a world of one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Dist(dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size())
    return Dist()


def teardown_distributed(ctx: Dist) -> None:
    """Leave the process group if `setup_distributed` joined it (a caller's own group is left to the caller)."""
    if ctx.initialized_here:
        import torch.distributed as dist

        dist.destroy_process_group()


def all_reduce_mean(value: float, ctx: Dist, device: torch.device) -> float:
    if ctx.world_size == 1:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # gloo has no AVG
    return t.item() / ctx.world_size


__all__ = ["Dist", "setup_distributed", "current_dist", "teardown_distributed", "all_reduce_mean"]
