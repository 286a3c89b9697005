"""Training machinery shared by every trainer: budget and learning-rate schedule,
progress bar, stats (stats.jsonl + TensorBoard), sample grids, checkpoints with RNG
state for exact resume. Trainers stay single linear functions that call these."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from ..checkpoint import load_state, save_state
from ..device import resolve_device, resolve_precision
from ..ema import EMA
from ..errors import BrushworkError, warn
from ..io import save_image_atomic, tensor_to_pil, write_text_atomic
from .distributed import Dist, from_env

CHECKPOINT = "checkpoint.safetensors"
OPTIONS = "training_options.json"


@dataclass
class Budget:
    """Train for ``steps`` steps or ``minutes`` of wall-clock time (exactly one is set).

    ``progress()`` is the fraction done; the learning rate holds for the first half and
    decays linearly to zero over the second, so a time budget ends with a cooled model.
    ``max_steps`` caps a time budget's steps too: training ends at whichever comes first,
    and the schedule follows whichever is nearer its end (recipes set it where more updates
    make a style worse, not better).
    """

    steps: int | None = None
    minutes: float | None = None
    max_steps: int | None = None
    step: int = 0
    elapsed: float = 0.0  # seconds trained so far, across resumes
    _t0: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.minutes is None):
            raise BrushworkError("give exactly one of a step count or a time budget in minutes")
        if self.steps is not None and self.steps < 1:
            raise BrushworkError(f"steps must be at least 1, got {self.steps}")
        if self.minutes is not None and not self.minutes > 0:
            raise BrushworkError(f"minutes must be positive, got {self.minutes}")
        if self.max_steps is not None and self.max_steps < 1:
            raise BrushworkError(f"max_steps must be at least 1, got {self.max_steps}")

    def start(self) -> None:
        self._t0 = time.perf_counter() - self.elapsed

    def tick(self) -> None:
        self.step += 1
        self.elapsed = time.perf_counter() - self._t0

    def pause(self, seconds: float) -> None:
        """Leave ``seconds`` (spent on something other than training) out of the budget."""
        self._t0 += seconds

    def progress(self) -> float:
        if self.steps is not None:
            return self.step / self.steps
        assert self.minutes is not None
        p = self.elapsed / (self.minutes * 60)
        return p if self.max_steps is None else max(p, self.step / self.max_steps)

    def done(self) -> bool:
        return self.progress() >= 1.0

    def ended_by(self) -> str:
        """What ended (or will end) the run: "steps", "time", or "step cap" when the cap came
        before the time budget."""
        if self.steps is not None:
            return "steps"
        capped = self.max_steps is not None and self.step >= self.max_steps
        return "step cap" if capped and self.elapsed < (self.minutes or 0) * 60 else "time"

    def lr_factor(self, decay_start: float = 0.5) -> float:
        p = min(self.progress(), 1.0)
        return 1.0 if p <= decay_start else max(0.0, (1 - p) / (1 - decay_start))

    def total(self) -> float:
        return float(self.steps) if self.steps is not None else float(self.minutes or 0) * 60


def set_lr(optimizers: list[torch.optim.Optimizer], factor: float) -> None:
    """Scale every parameter group's ``base_lr`` by the schedule's factor."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["base_lr"] * factor


class Progress:
    """tqdm bar (steps or seconds, with ETA) + stats.jsonl + TensorBoard events."""

    def __init__(self, run_dir: Path, budget: Budget, desc: str, quiet: bool = False) -> None:
        self.run_dir = run_dir
        self.budget = budget
        unit = "step" if budget.steps is not None else "s"
        fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f}" + unit + " [{elapsed}<{remaining}{postfix}]"
        self.bar = tqdm(
            total=budget.total(), initial=self._pos(), desc=desc, disable=quiet, bar_format=fmt, dynamic_ncols=True
        )
        self.stats_path = run_dir / "stats.jsonl"
        self._tb: Any = None
        try:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(str(run_dir / "tb"))
        except ImportError:  # optional: stats.jsonl always has everything
            self._tb = None

    def _pos(self) -> float:
        # a time budget's bar shows seconds; with a step cap, the fraction of whichever ends first
        return (
            float(self.budget.step) if self.budget.steps is not None else self.budget.progress() * self.budget.total()
        )

    def update(self, stats: dict[str, float], log: bool) -> None:
        # never past the total: tqdm drops the total (and its format) once n exceeds it
        self.bar.update(min(self._pos(), self.budget.total()) - self.bar.n)
        if log:
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in stats.items() if not k.startswith("time")}, refresh=False)
            row = {"step": self.budget.step, "seconds": round(self.budget.elapsed, 2), **stats}
            with self.stats_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            if self._tb is not None:
                for k, v in stats.items():
                    self._tb.add_scalar(k, v, self.budget.step)

    def close(self) -> None:
        self.bar.close()
        if self._tb is not None:
            self._tb.close()


def save_grid(rows: list[torch.Tensor], path: Path) -> None:
    """Save a grid: each element of ``rows`` is a [N, 3, H, W] batch shown as one column."""
    cols = [torch.cat(list(r.float().clamp(-1, 1)), dim=1) for r in rows]  # [3, N*H, W]
    save_image_atomic(tensor_to_pil(torch.cat(cols, dim=2)), path)


def rng_state(gen: torch.Generator) -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "data": gen.get_state(),
        "python": list(random.getstate()[1]),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["data"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> torch.Generator:
    """Seed every RNG and ask for deterministic kernels (same seed, same device: same result)."""
    if torch.cuda.is_available():
        import os

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(
            True, warn_only=True
        )  # a few ops (grid_sample backward) have no deterministic CUDA kernel
    random.seed(seed)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    return gen


def checkpoint_state(
    nets: dict[str, nn.Module], optims: dict[str, torch.optim.Optimizer], emas: dict[str, EMA],
    budget: Budget, gen: torch.Generator, extra: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return {
        "nets": {k: v.state_dict() for k, v in nets.items()},
        "optims": {k: v.state_dict() for k, v in optims.items()},
        "emas": {k: {"model": e.model.state_dict(), "updates": e.updates} for k, e in emas.items()},
        "budget": {"step": budget.step, "elapsed": budget.elapsed},
        "rng": rng_state(gen),
        "extra": extra,
    }


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> None:
    save_state(state, run_dir / CHECKPOINT)


def restore_checkpoint(
    run_dir: Path, nets: dict[str, nn.Module], optims: dict[str, torch.optim.Optimizer],
    emas: dict[str, EMA], budget: Budget, gen: torch.Generator, dist: Dist | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Load the run's checkpoint into the nets, optimizers, EMAs, budget and data generator
    -> the trainer's extra state. With several ranks (``dist``), all must have read the same
    step: a clear error, not ranks that wait on each other's collectives for ever."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        raise BrushworkError(f"--resume: no checkpoint at {path}")
    state = load_state(path)
    for k, net in nets.items():
        net.load_state_dict(state["nets"][k])
    for k, opt in optims.items():
        opt.load_state_dict(state["optims"][k])
    for k, e in emas.items():
        e.model.load_state_dict(state["emas"][k]["model"])
        e.updates = int(state["emas"][k]["updates"])
    budget.step = int(state["budget"]["step"])
    budget.elapsed = float(state["budget"]["elapsed"])
    set_rng_state(state["rng"], gen)
    if dist is not None and dist.from_main(float(budget.step)) != budget.step:
        raise BrushworkError(
            f"--resume: the ranks read different checkpoints in {run_dir}; is another run writing there?"
        )
    return dict(state["extra"])


def write_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def prepare_run(
    run_dir: Path, recipe: dict[str, Any], seed: int, budget: Budget, sources: dict[str, Any] | None
) -> None:
    """Create the run folder and save the resolved options (``training_options.json``)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "samples").mkdir(exist_ok=True)
    options = {"recipe": recipe, "seed": seed, "budget": {"steps": budget.steps, "minutes": budget.minutes}}
    write_json(run_dir / OPTIONS, {**options, "sources": sources or {}})


def start_run(
    run_dir: Path, recipe: dict[str, Any], precision: str, seed: int, budget: Budget,
    sources: dict[str, Any] | None, device: str,
) -> tuple[Dist, torch.device, torch.dtype]:  # fmt: skip
    """This rank of the run (torchrun's, or rank 0 of 1), its device and precision; rank 0
    creates the run folder with the resolved options, and every rank waits for it."""
    dev = resolve_device(device)
    dist = from_env(dev)
    dev = dist.device(dev)
    dtype = resolve_precision(precision, dev)
    if dist.main:
        prepare_run(run_dir, recipe, seed, budget, sources)
    dist.barrier()
    return dist, dev, dtype


def start_or_resume(run_dir: Path, resume: bool, quiet: bool = False) -> bool:
    """Whether to restore the run's checkpoint: with ``resume``, if there is one (a run stopped
    or killed before its first checkpoint learned nothing yet, so it starts again from step 0,
    exactly as it would have gone); without, a run folder that holds one is an error (nothing
    of the user's is overwritten)."""
    exists = (run_dir / CHECKPOINT).exists()
    if resume and not exists:
        if not quiet:
            warn(f"{run_dir}: no checkpoint yet; starting the run from the beginning")
        return False
    if exists and not resume:
        raise BrushworkError(
            f"{run_dir} already holds a training run; pass --resume to continue it or choose another --name"
        )
    return resume


def run_summary(
    budget: Budget, seed: int, last: dict[str, float], step_times: list[float], dev: torch.device,
    dtype: torch.dtype, ranks: int, recipe: dict[str, Any], sources: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    """What every training run's saved model records about how it was trained."""
    return {
        "steps": budget.step, "minutes": round(budget.elapsed / 60, 2), "seed": seed,
        "final_losses": {k: round(v, 5) for k, v in last.items() if math.isfinite(v)},
        "seconds_per_step": round(sum(step_times) / max(1, len(step_times)), 4),
        "device": str(dev), "precision": str(dtype).replace("torch.", ""), "ranks": ranks,
        "recipe": recipe, "sources": sources or {},
    }  # fmt: skip


def finite_or_raise(stats: dict[str, float], step: int) -> None:
    bad = [k for k, v in stats.items() if not math.isfinite(v)]
    if bad:
        raise BrushworkError(
            f"training diverged at step {step}: {', '.join(bad)} became NaN/inf; try a lower learning rate or --loss lsgan"
        )


def run_loop(
    budget: Budget, progress: Progress | None, step: Callable[[], dict[str, float]], *,
    optimizers: list[torch.optim.Optimizer], emas: list[tuple[EMA, nn.Module]], save: Callable[[], None],
    sample: Callable[[int], None], sample_every: int, checkpoint_every: int,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    probe: Callable[[int, float], None] | None = None, probe_every: int = 0, decay_start: float = 0.5,
    dist: Dist | None = None,
) -> tuple[dict[str, float], list[float]]:  # fmt: skip
    """The loop every trainer shares around its own ``step()`` (which returns named losses):
    learning-rate schedule, EMA, stats and progress, sample grids, checkpoints, probes and
    Ctrl-C (which saves a checkpoint before stopping). -> (last stats, seconds per step).

    In a data-parallel run (``dist``) every rank runs the loop on rank 0's clock; only rank 0
    (whose ``progress`` is not None) logs, samples and writes checkpoints."""
    dist = dist or Dist()
    if not dist.main:
        save = sample = _nothing  # type: ignore[assignment]
    budget.start()
    last: dict[str, float] = {}
    times: list[float] = []
    try:
        while not budget.done():
            t0 = time.perf_counter()
            set_lr(optimizers, budget.lr_factor(decay_start))
            stats = step()
            for ema, model in emas:
                ema.update(model)
            budget.tick()
            budget.elapsed = dist.from_main(budget.elapsed)  # one clock, one schedule, one stop
            times.append(time.perf_counter() - t0)
            finite_or_raise(stats, budget.step)
            last = stats
            log = budget.step % 10 == 0 or budget.done()
            if log:
                stats["time_per_step"] = sum(times[-10:]) / len(times[-10:])
                stats["lr_factor"] = budget.lr_factor(decay_start)
            if progress is not None:
                progress.update(stats, log)
            if budget.step % sample_every == 0:
                with torch.no_grad():
                    sample(budget.step)
            if budget.step % checkpoint_every == 0:
                save()
            if probe is not None and probe_every and budget.step % probe_every == 0:
                t_probe = time.perf_counter()
                probe(budget.step, budget.elapsed)
                budget.pause(time.perf_counter() - t_probe)  # probes are not training time
            if on_step is not None:  # (with how far the budget is: progress bars elsewhere, the studio)
                on_step(budget.step, {**stats, "progress": min(1.0, budget.progress()), "elapsed_s": budget.elapsed})
    except KeyboardInterrupt:
        save()
        if progress is not None:
            progress.close()
        raise BrushworkError(
            f"interrupted at step {budget.step}; the checkpoint is saved: run again with --resume to continue"
        ) from None
    if budget.step % sample_every:  # the finished model's samples, whatever the step count
        with torch.no_grad():
            sample(budget.step)
    save()
    if progress is not None:
        progress.close()
    return last, times


def _nothing(*args: Any) -> None:
    """What ranks other than 0 do instead of writing samples and checkpoints."""
