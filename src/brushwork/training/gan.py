"""Unconditional GAN training: noise -> images in the look of a small folder.

One linear function like style training, sharing its machinery (budget and schedule,
progress and stats, sample grids, checkpoints with exact resume, EMA) and its losses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import nets
from ..data import ImageBank, relative_crops
from ..device import autocast
from ..diffaugment import diff_augment, parse_policy
from ..ema import EMA
from ..errors import BrushworkError
from ..io import tensor_to_pil
from ..losses import LOSSES, discriminator_objective, g_loss
from ..stylefile import save_style
from .distributed import Dist
from .loop import (
    Budget,
    Progress,
    checkpoint_state,
    restore_checkpoint,
    run_loop,
    run_summary,
    save_checkpoint,
    save_grid,
    seed_everything,
    start_or_resume,
    start_run,
)  # fmt: skip
from .recipe import RecipeBase


@dataclass
class GanRecipe(RecipeBase):
    arch: str = "dcgan"  # "fastgan" (skip-layer excitation, self-supervised D) or "mlp", the textbook baseline
    size: int = 64
    z_dim: int = 128
    width: int = 64  # ngf/ndf for dcgan, hidden units / 8 for mlp
    pad: str = "reflect"  # dcgan generator's padding: "zeros" taught it a dark frame
    upsample: str = "bilinear"  # dcgan generator's upsampling ("nearest": the earlier one)
    batch: int = 16
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    loss: str = "lsgan"
    lambda_r1: float = 0.0
    r1_every: int = 4  # lazy R1 (StyleGAN2): every k-th D step, weight scaled by k
    lambda_gp: float = 10.0
    lambda_recon: float = 1.0  # a discriminator's self-supervised reconstruction (fastgan)
    diffaug: str = ""
    crop_scale: tuple[float, float] = (0.5, 1.0)
    ema_decay: float = 0.999
    precision: str = "auto"
    max_side: int = 512
    sample_every: int = 200
    checkpoint_every: int = 200

    def validate(self) -> None:
        if self.arch not in nets.names("noise_generator"):
            raise BrushworkError(
                f"unknown GAN architecture {self.arch!r} (choose from {', '.join(nets.names('noise_generator'))})"
            )
        if self.size not in (32, 64, 128, 256):
            raise BrushworkError(f"--size must be 32, 64, 128 or 256, got {self.size}")
        if self.loss not in LOSSES:
            raise BrushworkError(f"unknown loss {self.loss!r} (choose from {', '.join(LOSSES)})")
        self.check_diffaug()

    def net_kwargs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.arch == "mlp":
            return {"size": self.size, "z_dim": self.z_dim, "hidden": self.width * 8}, {
                "size": self.size,
                "hidden": self.width * 8,
            }
        if self.arch == "fastgan":
            return {"size": self.size, "z_dim": self.z_dim, "ngf": self.width}, {"size": self.size, "ndf": self.width}
        return {
            "size": self.size,
            "z_dim": self.z_dim,
            "ngf": self.width,
            "pad": self.pad,
            "upsample": self.upsample,
        }, {
            "size": self.size,
            "ndf": self.width,
        }


def default_gan_recipe(n_images: int, **overrides: Any) -> GanRecipe:
    """Small sets (under 1000 images) get differentiable augmentation and R1."""
    r = GanRecipe()
    if n_images < 1000:
        r.diffaug = "color,translation,cutout"
        r.lambda_r1 = 1.0
    r.apply_overrides(overrides, what="GAN recipe")
    r.validate()
    return r


def sample_noise(n: int, z_dim: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """Seeded z ~ N(0, I); with ``truncation`` T, components beyond +-T are redrawn."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=g)
    if truncation is not None:
        if truncation <= 0:
            raise BrushworkError(f"truncation must be positive, got {truncation}")
        for _ in range(100):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=g)
        z = z.clamp(-truncation, truncation)
    return z


def train_gan_run(
    *, images: ImageBank, recipe: GanRecipe, run_dir: Path, model_dir: Path, budget: Budget, seed: int = 0,
    device: str = "auto", resume: bool = False, quiet: bool = False, sources: dict[str, Any] | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    probe: Callable[[int, float, torch.nn.Module], None] | None = None, probe_every: int = 0,
) -> Path:  # fmt: skip
    """Train a GAN on crops of ``images`` and save its EMA generator to ``model_dir``.

    ``probe(step, seconds, ema_generator)`` runs every ``probe_every`` steps (benchmarks
    use it to score the model over time); its own time is kept out of the budget.
    """
    r = recipe
    r.validate()
    ranks, dev, dtype = start_run(run_dir, r.to_json(), r.precision, seed, budget, sources, device)

    gen = seed_everything(seed)
    g_kw, d_kw = r.net_kwargs()
    g = nets.channels_last(nets.create("noise_generator", r.arch, **g_kw).to(dev))
    d = nets.channels_last(nets.create("image_discriminator", r.arch, **d_kw).to(dev))
    opt_g, opt_d = (
        torch.optim.Adam([{"params": n.parameters(), "lr": lr, "base_lr": lr}], betas=(r.beta1, 0.99))
        for n, lr in ((g, r.lr_g), (d, r.lr_d))
    )
    ema = EMA(g, r.ema_decay)
    fixed_z = sample_noise(32, r.z_dim, seed + 7).to(dev)

    nets_ = {"G": g, "D": d}
    optims = {"G": opt_g, "D": opt_d}
    resume = start_or_resume(run_dir, resume, quiet)
    if resume:
        restore_checkpoint(run_dir, nets_, optims, {"G": ema}, budget, gen, ranks)

    def save() -> None:
        save_checkpoint(run_dir, checkpoint_state(nets_, optims, {"G": ema}, budget, gen, {}))

    step = _step_function(r, g, d, opt_g, opt_d, images, budget, gen, dev, dtype, ranks)

    def sample(at: int) -> None:
        s = ema.model(fixed_z).float()
        save_grid([s[i : i + 8] for i in range(0, 32, 8)], run_dir / "samples" / f"step_{at:06d}.png")

    last, step_times = run_loop(
        budget, Progress(run_dir, budget, desc=f"gan {model_dir.name}", quiet=quiet) if ranks.main else None, step,
        optimizers=[opt_g, opt_d], emas=[(ema, g)], save=save, sample=sample, sample_every=r.sample_every,
        checkpoint_every=r.checkpoint_every, on_step=on_step,
        probe=(lambda at, secs: probe(at, secs, ema.model)) if probe is not None else None, probe_every=probe_every,
        dist=ranks,
    )  # fmt: skip
    if not ranks.main:  # rank 0 writes the model; the others wait for it
        ranks.close()
        return model_dir

    summary = run_summary(budget, seed, last, step_times, dev, dtype, ranks.world, r.to_json(), sources)
    summary.update({"task": "gan", "arch": r.arch, "loss": r.loss, "size": r.size, "images": len(images)})
    _save_model(r, ema.model, g_kw, fixed_z, summary, model_dir, resume)
    ranks.close()
    return model_dir


def _step_function(
    r: GanRecipe, g: torch.nn.Module, d: torch.nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
    images: ImageBank, budget: Budget, gen: torch.Generator, dev: torch.device, dtype: torch.dtype, ranks: Dist,
) -> Callable[[], dict[str, float]]:  # fmt: skip
    """One GAN training step: the discriminator on real crops and fakes (DiffAugment on both),
    then the generator."""
    policy = parse_policy(r.diffaug)
    reconstruct = getattr(d, "reconstruction_loss", None) if r.lambda_recon > 0 else None

    def aug(x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, policy, pad="zeros") if policy else x

    def d_outputs(x: torch.Tensor) -> list[torch.Tensor]:
        return [d(aug(x))]  # the shared losses take a list of outputs

    def step() -> dict[str, float]:
        # the recipe's batch is per rank: the global batch (batch x ranks) drawn on every rank,
        # this rank's slice kept (data-parallel runs)
        real = ranks.shard(relative_crops(images, r.batch * ranks.world, r.size, r.crop_scale, gen))
        real = real.to(dev, memory_format=torch.channels_last)
        z = ranks.shard(torch.randn(r.batch * ranks.world, r.z_dim, device=dev))
        # ---- discriminator ---------------------------------------------------------------
        with autocast(dev, dtype):
            fake = g(z)
            lazy_r1 = r.lambda_r1 if budget.step % r.r1_every == 0 else 0.0  # R1 every r1_every steps
            loss_d, stats = discriminator_objective(
                r.loss, d_outputs, real, fake.detach().float(), r.lambda_gp, lazy_r1, r.r1_every
            )
            if reconstruct is not None:  # the discriminator's self-supervised task, on real images
                recon = reconstruct(aug(real), gen)
                loss_d = loss_d + r.lambda_recon * recon
                stats["recon"] = recon.item()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        ranks.average_grads([d])
        opt_d.step()
        # ---- generator ---------------------------------------------------------------------
        d.requires_grad_(False)
        with autocast(dev, dtype):
            loss_g = g_loss(r.loss, d_outputs(fake))
        d.requires_grad_(True)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        ranks.average_grads([g])
        opt_g.step()
        stats["g"] = loss_g.item()
        return ranks.average_stats(stats)

    return step


def _save_model(
    r: GanRecipe, g: torch.nn.Module, g_kw: dict[str, Any], fixed_z: torch.Tensor, summary: dict[str, Any],
    model_dir: Path, replace: bool,
) -> None:  # fmt: skip
    """Write the EMA generator with its summary and a preview grid of the fixed noise."""
    g_final = g.float().cpu().eval()
    with torch.no_grad():
        s = g_final(fixed_z.cpu())
    preview = tensor_to_pil(torch.cat([torch.cat(list(s[i : i + 8]), dim=1) for i in range(0, 32, 8)], dim=2))
    save_style(model_dir, r.arch, g_kw, g_final.state_dict(), summary, preview, replace=replace, kind="noise_generator")
