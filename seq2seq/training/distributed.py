"""Multi-process training under torchrun: the process group, sharding, and agreement between
ranks. With one process every collective here is a no-op, so the loop reads the same."""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from seq2seq.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the only one that writes to the run directory."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def all_sum(self, values: list[float]) -> list[float]:
        """Element-wise sums of values over ranks (float64)."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
        dist.all_reduce(t)
        return t.tolist()

    def from_main(self, values: list[float]) -> list[float]:
        """Rank 0's values, on every rank."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
        dist.broadcast(t, src=0)
        return t.tolist()

    def gather(self, obj) -> list:
        """Every rank's obj, in rank order (on every rank)."""
        if not self.active:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def _comm_device() -> torch.device:
    return torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")


def start(backend: str, timeout_s: int) -> Ranks:
    """Join the process group that torchrun describes in the environment (else one process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Ranks()
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl" and not torch.cuda.is_available():
        raise UserError("train.backend=nccl: no CUDA device here; use gloo (or auto)")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    ranks = Ranks(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local_rank)
    log.info("rank %d of %d (%s)", ranks.rank, ranks.world, backend)
    return ranks


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def shard(batches: list[list[int]], ranks: Ranks) -> list[list[int]]:
    """This rank's share of an epoch's batches: disjoint, together covering every pair once,
    the same count on every rank (the largest batches are halved until the count divides)."""
    batches = [list(b) for b in batches]
    while len(batches) % ranks.world:
        largest = max(range(len(batches)), key=lambda i: len(batches[i]))
        if len(batches[largest]) < 2:
            raise UserError(f"{len(batches)} one-pair batches cannot be shared by "
                            f"{ranks.world} processes; use more data or fewer processes")
        half = len(batches[largest]) // 2
        batches[largest:largest + 1] = [batches[largest][:half], batches[largest][half:]]
    return batches[ranks.rank :: ranks.world]
