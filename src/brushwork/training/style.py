"""Style training: one linear function, read top to bottom.

load data -> build nets -> (resume) -> loop { d_step, g_step, EMA, log, sample,
checkpoint } -> save the EMA generator as a style folder.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .. import nets
from ..data import ImageBank, PairedBank, random_crops
from ..diffaugment import diff_augment, parse_policy
from ..ema import EMA
from ..errors import BrushworkError, warn
from ..io import tensor_to_pil
from ..look.fit import LookFit, fit_look
from ..look.transport import COLOUR_SMOOTH, fit_idt
from ..losses import (
    PatchSampleMLP,
)
from ..stylefile import save_style
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
from .prune import prune_for_save
from .recipe import StyleRecipe
from .steps import CL, STEPS, ImagePool, StepState, discriminator

LINE_CROPS = 12  # content and style crops on which ink lines are chosen after training


def _preview(g: nn.Module, images: list[torch.Tensor], device: torch.device) -> Image.Image:
    """Side-by-side before/after strip of up to three content images (short side 256)."""
    cols = []
    with torch.no_grad():
        for t in images[:3]:
            s = 256 / min(t.shape[-2:])
            x = (
                F.interpolate(t[None], scale_factor=s, mode="bilinear", antialias=True, align_corners=False)
                if s < 1
                else t[None]
            )
            y = g.texture(g(x.to(device))).float().cpu()
            cols.append(torch.cat([x[0], y[0].clamp(-1, 1)], dim=1))  # before over after
    h = min(c.shape[1] for c in cols)
    return tensor_to_pil(torch.cat([c[:, :h] for c in cols], dim=2))


@dataclass
class _Measured:
    """What the run learns from, after the look is measured (``look.fit``)."""

    style: ImageBank  # the style images, vignette divided out
    pairs: PairedBank | None  # real before/after pairs, or the teacher's pseudo-pairs
    pseudo_pairs: bool
    g_kwargs: dict[str, Any]  # the generator's arguments, the measured screen and grain among them
    look: LookFit


def _measure(r: StyleRecipe, content: ImageBank, style: ImageBank, pairs: PairedBank | None, seed: int) -> _Measured:
    """The look, measured from the sets once: the vignette (the networks learn from the style
    images with it divided out, the saved style applies it over the whole frame), a screen's
    frequencies (the generator's screen stage learns what to draw with them), the colour start
    and, without pairs, the teacher's pseudo-pairs (deterministic: a resumed run rebuilds them)."""
    look = fit_look(
        content.tensors, style.tensors, seed, vignette=r.vignette and pairs is None, screen=r.screen,
        transport=r.colour_start == "transport", teacher=r.teacher if pairs is None else "", shrink=r.colour_shrink,
    )  # fmt: skip
    if look.style is not style.tensors:
        style = ImageBank.from_tensors(look.style)
    measured = nets.generator_class(r.generator).measured_kwargs(r.screen, look.screen, r.grain)
    g_kwargs = {**r.generator_kwargs, **measured}
    if look.targets is not None:
        pairs = PairedBank(content, ImageBank.from_tensors(look.targets), [f"content{i}" for i in range(len(content))])
    return _Measured(style, pairs, look.targets is not None, g_kwargs, look)


def _networks(
    r: StyleRecipe, m: _Measured, content: ImageBank, dev: torch.device, seed: int
) -> tuple[dict[str, nn.Module], dict[str, Any]]:  # fmt: skip
    """The networks by role (G, D; MLP for CUT; G_B, D_B for CycleGAN), the generator started
    where the look says (prior, colour start, texture), and the style-vector targets."""
    style = m.style
    g = nets.channels_last(nets.create_generator(r.generator, **m.g_kwargs).to(dev))
    d = nets.channels_last(discriminator(r).to(dev))
    targets: dict[str, Any] = {"style_target": None, "style_encoder": None, "style_offset": None}
    if r.prior and not g.start_prior(style.tensors):
        raise BrushworkError(f"the {r.generator} generator has no pretrained prior to start from")
    if r.lambda_style_vec > 0 or r.lambda_style_dir > 0:
        from ..nets.magenta import mean_style_vector, style_encoder

        targets["style_encoder"] = style_encoder().to(dev)
        style_mean = mean_style_vector(style.tensors).to(dev)[None]
        if r.lambda_style_vec > 0:
            targets["style_target"] = style_mean
        if r.lambda_style_dir > 0:
            targets["style_offset"] = style_mean - mean_style_vector(content.tensors).to(dev)[None]
    if r.colour_start == "idt":
        # the colour stage starts at the set-level colour transfer (deterministic, so a
        # resumed run rebuilds the same start for the smoothness prior)
        g.start_colour(fit_idt(content.tensors, style.tensors, seed=seed))
    elif m.look.transport is not None:  # MKL + 10 IDT rotations, smoothed (look/transport.py)
        g.start_colour(m.look.transport, smooth=COLOUR_SMOOTH)
    if r.screen or r.grain:  # fitted to the texture the style images show, then held
        g.start_texture(style.tensors, seed=seed, content_images=content.tensors)
    nets_: dict[str, nn.Module] = {"G": g, "D": d}
    if r.method in ("cut", "fastcut"):
        nets_["MLP"] = PatchSampleMLP(g.nce_channels()).to(dev)
    if r.method == "cyclegan":
        g_b = nets.channels_last(nets.create_generator(r.generator, **m.g_kwargs).to(dev))
        nets_.update({"G_B": g_b, "D_B": nets.channels_last(discriminator(r).to(dev))})
    return nets_, targets


def _optimizers(r: StyleRecipe, nets_: dict[str, nn.Module]) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Adam for the generators (and CUT's MLP), each generator's fast parameters (lite: its
    global stages) at ``lr_lut_mult`` times the rate, and Adam for the discriminators."""
    base_params: list[nn.Parameter] = []
    fast_params: list[nn.Parameter] = []
    for k, n in nets_.items():
        if k.startswith("G"):
            base, fast = cast(nets.StyleGenerator, n).param_groups()
            base_params += base
            fast_params += fast
        elif k == "MLP":
            base_params += list(n.parameters())
    g_groups = [{"params": base_params, "lr": r.lr_g, "base_lr": r.lr_g}]
    if fast_params:
        g_groups.append({"params": fast_params, "lr": r.lr_g * r.lr_lut_mult, "base_lr": r.lr_g * r.lr_lut_mult})
    d_params = [p for k, n in nets_.items() if k.startswith("D") for p in n.parameters()]
    opt_g = torch.optim.Adam(g_groups, lr=r.lr_g, betas=(r.beta1, 0.999))
    opt_d = torch.optim.Adam([{"params": d_params, "lr": r.lr_d, "base_lr": r.lr_d}], betas=(r.beta1, 0.999))
    return opt_g, opt_d


def train_style_run(
    *, content: ImageBank, style: ImageBank, pairs: PairedBank | None, recipe: StyleRecipe,
    run_dir: Path, style_dir: Path, budget: Budget, seed: int = 0, device: str = "auto",
    resume: bool = False, quiet: bool = False, sources: dict[str, Any] | None = None,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
    probe: Callable[[int, nn.Module], None] | None = None, probe_every: int = 0,
    choice: dict[str, Any] | None = None,
) -> Path:  # fmt: skip
    """Train a style and write it to ``style_dir``; checkpoints and logs go to ``run_dir``.

    ``on_step(step, stats)`` is called after every step (progress reporting); raising
    ``KeyboardInterrupt`` from it stops training with a checkpoint, as Ctrl-C does.
    ``probe(step, ema_generator)`` is called every ``probe_every`` steps (benchmarks score
    held-out images with it); its time is left out of a time budget. ``choice``: how the
    generator family was chosen (``look.choose``), kept in the training summary.
    """
    r = recipe
    r.validate()
    if budget.minutes is not None and r.max_steps > 0:
        budget.max_steps = r.max_steps  # a time budget ends at the recipe's step cap, if sooner
    dist, dev, dtype = start_run(run_dir, r.to_json(), r.precision, seed, budget, sources, device)
    m = _measure(r, content, style, pairs, seed)
    style = m.style
    gen = seed_everything(seed)  # networks, optimizers and EMA are all built up front
    nets_, targets = _networks(r, m, content, dev, seed)
    opt_g, opt_d = _optimizers(r, nets_)
    ema = EMA(nets_["G"], r.ema_decay)
    pools = {"A": ImagePool(r.pool_size), "B": ImagePool(r.pool_size)}
    policy = parse_policy(r.diffaug)

    def aug(x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, policy) if policy else x

    # a fixed set of content crops, drawn from their own generator, for sample grids
    sample_src = random_crops(content, 4, r.size, (1.0, 1.0), torch.Generator().manual_seed(seed + 7)).to(dev)
    optims = {"G": opt_g, "D": opt_d}
    resume = start_or_resume(run_dir, resume, quiet)
    if resume:
        extra = restore_checkpoint(run_dir, nets_, optims, {"G": ema}, budget, gen, dist)
        for k in ("A", "B"):
            pools[k].load(extra.get(f"pool_{k}", torch.zeros(0)), dev)

    def save() -> None:
        pooled = {f"pool_{k}": pool.state() for k, pool in pools.items()}
        save_checkpoint(run_dir, checkpoint_state(nets_, optims, {"G": ema}, budget, gen, pooled))

    state = StepState(r, nets_, opt_g, opt_d, pools, aug, m.pairs, gen, dev, dtype, dist=dist, **targets)
    method_step = STEPS[r.method]

    def step() -> dict[str, float]:
        # the recipe's batches are per rank (DistributedDataParallel's convention): every rank
        # draws the global batch (batch x ranks) from the shared stream and keeps its slice
        real_a = dist.shard(random_crops(content, r.batch * dist.world, r.size, r.crop_scale, gen))
        real_b = dist.shard(random_crops(style, r.style_batch * dist.world, r.size, r.crop_scale, gen))
        real_a, real_b = real_a.to(dev, memory_format=CL), real_b.to(dev, memory_format=CL)
        return dist.average_stats(method_step(state, real_a, real_b))

    def sample(at: int) -> None:
        fake = ema.model.texture(ema.model(sample_src)).float()
        save_grid([sample_src, fake], run_dir / "samples" / f"step_{at:06d}.png")

    last, step_times = run_loop(
        budget, Progress(run_dir, budget, desc=f"train {style_dir.name}", quiet=quiet) if dist.main else None, step,
        optimizers=[opt_g, opt_d], emas=[(ema, nets_["G"])], save=save, sample=sample, sample_every=r.sample_every,
        checkpoint_every=r.checkpoint_every, on_step=on_step, decay_start=r.lr_decay_start,
        probe=None if probe is None else (lambda at, _elapsed: probe(at, ema.model)), probe_every=probe_every,
        dist=dist,
    )  # fmt: skip
    if dist.main:  # rank 0 writes the style; the others wait for it
        summary = run_summary(budget, seed, last, step_times, dev, dtype, dist.world, r.to_json(), sources)
        summary["ended_by"] = _ended_by(budget, quiet)
        _save_trained(r, m, cast(nets.StyleGenerator, ema.model), content, summary, choice, style_dir, resume)
    dist.close()
    return style_dir


def _ended_by(budget: Budget, quiet: bool) -> str:
    """What ended the run; a recipe's step cap reached before the time budget is said."""
    ended = budget.ended_by()
    if ended == "step cap" and not quiet:
        warn(
            f"training ended at the recipe's cap of {budget.max_steps} steps after {round(budget.elapsed / 60, 2)} of "
            f"{budget.minutes} minutes: with a style set this small, more steps learn the differences between "
            "the photos' and the style images' subjects rather than the look (override with --set max_steps=0)"
        )
    return ended


def _save_trained(
    r: StyleRecipe, m: _Measured, g: nets.StyleGenerator, content: ImageBank, summary: dict[str, Any],
    choice: dict[str, Any] | None, style_dir: Path, replace: bool,
) -> None:  # fmt: skip
    """Finish the trained generator (its detail, the family's finalize step, the stages that
    change nothing left out) and write it with the training summary as the style."""
    summary.update({
        "method": r.method, "loss": r.loss, "content_images": len(content),
        "style_images": len(m.style),
        # the long side of the photos it learned from (median): pixel-sized operators are
        # scaled to it when the style is applied to larger images
        "work_side": int(statistics.median(max(t.shape[-2:]) for t in content.tensors)),
        "pairs": 0 if m.pairs is None or m.pseudo_pairs else len(m.pairs.before),
        "pseudo_pairs": r.teacher if m.pseudo_pairs else "",
        "vignette": [round(v, 5) for v in m.look.vignette], "generator_choice": choice or {},
        # the share of the set-level colour transport the start kept (look.transport.transport_shrinkage)
        "colour_start_kept": None if m.look.transport is None else round(m.look.transport.shrink, 3),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })  # fmt: skip
    seed = summary["seed"]
    g_final = cast(nets.StyleGenerator, g.float().cpu().eval())
    g_kw = nets.full_kwargs("generator", r.generator, **m.g_kwargs)
    if g_final.detail is not None:  # the residual trains at full strength; the style applies r.detail of it
        g_final.set_detail(r.detail)
        g_kw["detail"] = r.detail
    if (r.line_calibration and r.lines == "auto") or r.lines == "always":  # the family's finalize
        # step (lite: ink lines chosen by search), on crops drawn apart from training's random stream
        crops = torch.Generator().manual_seed(seed + 11)
        content_crops = random_crops(content, LINE_CROPS, r.size, (1.0, 1.0), crops)
        style_crops = random_crops(m.style, LINE_CROPS, r.size, (1.0, 1.0), crops)
        g_final, g_kw, summary["lines"] = g_final.finalize(g_kw, content_crops, style_crops, decide=r.lines == "auto")
    if r.prune and g_final.stages():  # the stages that change nothing on the photos are left out
        g_final, g_kw, summary["pruned"] = prune_for_save(r.generator, g_kw, g_final, content, r.size, seed)
    preview = _preview(g_final, content.tensors, torch.device("cpu"))
    save_style(style_dir, r.generator, g_kw, g_final.state_dict(), summary, preview, replace=replace)
