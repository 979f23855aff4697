"""Data-parallel training under ``torchrun`` (PyTorch DistributedDataParallel).

``torchrun --nproc_per_node=N -m easyhard.train ...`` starts N processes with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in their environment;
:func:`setup` then joins the process group (NCCL on CUDA, gloo on CPU) and
gives each rank its device (``cuda:LOCAL_RANK``). Without those variables (or
with ``WORLD_SIZE=1``) everything runs in one process and nothing here
communicates.

The split of the work (see :mod:`easyhard.train.loop`): every rank draws the
whole global batch from the same generator and trains on its own slice
``[rank b, (rank + 1) b)``, ``b = B / N``; DDP averages the gradients, so one
step equals a one-process step on the same global batch and the random
stream does not depend on N (resume works with any number of ranks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    """Where this process sits: ``rank`` of ``world`` processes, on ``device``."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Rank 0 evaluates, writes checkpoints and returns the results."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when more than one process trains."""
        return self.world > 1

    def shard(self, batch_size: int) -> slice:
        """The rows of a global batch of ``batch_size`` that belong to this rank."""
        if batch_size % self.world:
            raise ValueError(f"batch_size must be a multiple of the number of ranks {self.world}, "
                             f"got {batch_size}")
        b = batch_size // self.world
        return slice(self.rank * b, (self.rank + 1) * b)

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """The average of ``x`` over the ranks (``x`` itself in one process)."""
        if not self.active:
            return x
        x = x.clone()
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
        return x / self.world

    def barrier(self) -> None:
        """Wait for all ranks (nothing in one process)."""
        if self.active:
            dist.barrier()


def setup(device: torch.device) -> Dist:
    """Join the ``torchrun`` process group when ``WORLD_SIZE > 1``; else one process on ``device``.

    On CUDA each rank uses ``cuda:LOCAL_RANK`` and NCCL; on CPU gloo.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(0, 1, device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Dist(rank, world, device)


def teardown(ctx: Dist) -> None:
    """Leave the process group (after a barrier) if :func:`setup` joined one."""
    if ctx.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
