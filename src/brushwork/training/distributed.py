"""Data-parallel training across processes started by ``torchrun`` (NCCL on GPUs, gloo on CPUs).

Every rank holds the same networks and the same random streams (one seed). A recipe's batch
sizes are per rank, as with ``DistributedDataParallel``: the global batch is the batch times
the ranks. Each step every rank draws that global batch from the shared data generator and
keeps its own slice of it, so the ranks' slices together are exactly the batch one process
with the global batch size would draw; gradients
are averaged across ranks before each optimizer step (one all-reduce of the flattened
gradients per network group), the learning-rate schedule follows rank 0's clock, and the
logged losses are the ranks' average. Checkpoints, samples, logs and the finished style
are written by rank 0 only; every rank restores from the same checkpoint, so a run resumes
exactly with the same number of ranks.

Why not ``DistributedDataParallel``'s wrapper: our step functions call a generator's other
methods (PatchNCE features, the structure stage, the residual split) and run it several
times before one backward, which DDP's reducer supports only through ``forward``. Averaging
the gradients after backward is the same arithmetic, for any step function.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import BrushworkError


@dataclass(frozen=True)
class Dist:
    """This process's place in a data-parallel run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    comm: str = "cpu"  # where collective tensors live: "cuda" for NCCL, "cpu" for gloo

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, dev: torch.device) -> torch.device:
        """The device this rank trains on: its own GPU (LOCAL_RANK) when training on CUDA."""
        if self.active and dev.type == "cuda":
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return dev

    def shard(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global batch (``world`` equal slices)."""
        if not self.active:
            return x
        b = x.shape[0] // self.world
        return x[self.rank * b : (self.rank + 1) * b]

    def average_grads(self, modules: Iterable[nn.Module]) -> None:
        """Average the gradients of ``modules`` over the ranks (one all-reduce)."""
        if not self.active:
            return
        grads = [p.grad for m in modules for p in m.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        i = 0
        for g in grads:
            g.copy_(flat[i : i + g.numel()].view_as(g))
            i += g.numel()

    def average_stats(self, stats: dict[str, float]) -> dict[str, float]:
        """The ranks' mean of each logged number (the same keys on every rank)."""
        if not self.active or not stats:
            return stats
        keys = sorted(stats)
        t = torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64, device=self.comm)
        dist.all_reduce(t)
        return {k: float(v) / self.world for k, v in zip(keys, t.tolist(), strict=True)}

    def from_main(self, value: float) -> float:
        """Rank 0's ``value`` on every rank (the time budget's clock)."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.comm)
        dist.broadcast(t, 0)
        return float(t.item())

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group (at the end of a run)."""
        if self.active and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


def _exit_with_launcher(poll_s: float = 0.2) -> None:
    """Stop this rank when its launcher (the torchrun agent that started it) is gone.
    torchrun starts each rank with setsid, in a process group of its own, so killing the
    launcher (SIGKILL, a closed terminal) leaves the ranks running: orphans that go on training
    and writing checkpoints into the run folder, under a ``--resume`` that then reads a moving
    file."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)  # checkpoints are written to a temporary file and renamed: none is left half-written

    threading.Thread(target=watch, name="brushwork-launcher-watch", daemon=True).start()


def rank() -> int:
    """This process's rank under torchrun (0 in a plain run)."""
    return int(os.environ.get("RANK", "0"))


# torchrun's agent, run by ``launch``: a rank that fails has said why (rank 0 prints the
# error), so the agent's own report (a traceback of ChildFailedError and its log lines) is left
# out and its exit status is the failed rank's
_AGENT = """
import logging, sys
from torch.distributed.run import parse_args, run
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
try:
    run(parse_args(sys.argv[1:]))
except ChildFailedError as exc:
    sys.exit(exc.get_first_failure()[1].exitcode or 1)
"""


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``brushwork ARGV`` as ``nproc`` data-parallel ranks on this machine (torchrun,
    standalone rendezvous) -> its exit status. Several machines: run torchrun yourself with
    its rendezvous options (README)."""
    import subprocess
    import sys

    if "WORLD_SIZE" in os.environ:
        raise BrushworkError("--nproc: already running under torchrun (drop --nproc there)")
    cmd = [sys.executable, "-c", _AGENT, "--standalone", f"--nproc-per-node={nproc}", "-m", "brushwork", *argv]
    return subprocess.call(cmd)


def from_env(device: torch.device) -> Dist:
    """Join the process group that ``torchrun`` describes in the environment (WORLD_SIZE,
    RANK, LOCAL_RANK, MASTER_ADDR/PORT); a plain run is rank 0 of 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    _exit_with_launcher()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return Dist(rank=rank, world=world, local_rank=local, comm="cuda" if device.type == "cuda" else "cpu")
