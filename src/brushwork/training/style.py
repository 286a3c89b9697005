"""Style training: one linear function, read top to bottom.

load data -> build nets -> (resume) -> loop { d_step, g_step, EMA, log, sample,
checkpoint } -> save the EMA generator as a style folder.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .. import nets
from ..data import ImageBank, PairedBank, paired_crops, random_crops
from ..device import autocast, resolve_device, resolve_precision
from ..diffaugment import diff_augment, parse_policy
from ..ema import EMA
from ..errors import BrushworkError, warn
from ..io import tensor_to_pil
from ..look.fit import LookFit, fit_look
from ..look.transport import COLOUR_SMOOTH, fit_idt
from ..losses import (
    PIXEL_LOSSES,
    PatchSampleMLP,
    discriminator_objective,
    edge_statistics_loss,
    g_loss,
    patch_nce_loss,
    patch_swd,
)
from ..stylefile import save_style
from .distributed import Dist, from_env
from .loop import (
    Budget,
    Progress,
    checkpoint_state,
    prepare_run,
    restore_checkpoint,
    run_loop,
    run_summary,
    save_checkpoint,
    save_grid,
    seed_everything,
    start_or_resume,
)  # fmt: skip
from .prune import prune_for_save
from .recipe import StyleRecipe

CL = torch.channels_last  # oneDNN's fast layout for convolutions on CPUs
LINE_CROPS = 12  # content and style crops on which ink lines are chosen after training


class ImagePool:
    """CycleGAN's history of generated images: D sees a mix of new and older fakes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for img in batch.detach():
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(0, self.size, ()))
                out.append(self.images[i].clone())
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)

    def state(self) -> torch.Tensor:
        return torch.stack(self.images) if self.images else torch.zeros(0)

    def load(self, t: torch.Tensor, device: torch.device) -> None:
        self.images = [x.to(device) for x in t] if t.numel() else []


def _discriminator(r: StyleRecipe) -> nn.Module:
    return nets.create(
        "discriminator", "patchgan", ndf=r.d_ndf, n_layers=r.d_layers, norm=r.d_norm,
        spectral=r.d_spectral, scales=r.d_scales,
    )  # fmt: skip


def _d_total(
    r: StyleRecipe, d: nn.Module, aug: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """Discriminator objective (+ R1 / gradient penalty) on augmented images. fake must be detached."""
    return discriminator_objective(r.loss, lambda x: d(aug(x)), real, fake, r.lambda_gp, r.lambda_r1)


def _nce(g: nn.Module, mlp: PatchSampleMLP, src: torch.Tensor, out: torch.Tensor, num_patches: int) -> torch.Tensor:
    feat_k = g.nce_features(src)
    feat_q = g.nce_features(out)
    k, ids = mlp(feat_k, num_patches)
    q, _ = mlp(feat_q, num_patches, ids)
    return sum(patch_nce_loss(qi, ki, src.shape[0]) for qi, ki in zip(q, k, strict=True)) / len(q)


@dataclass
class StepState:
    """What a method's step function works with: the recipe, the networks (G, D and, by
    method, MLP or G_B / D_B), the two optimizers, CycleGAN's image pools, the
    discriminators' augmentation, before/after pairs (real or pseudo), the data RNG and
    the device and precision."""

    r: StyleRecipe
    nets: dict[str, nn.Module]
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    pools: dict[str, ImagePool]
    aug: Callable[[torch.Tensor], torch.Tensor]
    pairs: PairedBank | None
    gen: torch.Generator
    dev: torch.device
    dtype: torch.dtype
    style_target: torch.Tensor | None = None  # the style images' mean style vector (lambda_style_vec)
    style_encoder: nn.Module | None = None  # the frozen encoder of that vector, on the device
    # style set's mean vector minus the content set's (lambda_style_dir)
    style_offset: torch.Tensor | None = None
    dist: Dist = field(default_factory=Dist)  # data-parallel: this rank's slice of each batch, gradients averaged

    def pairs_batch(self, pairs: PairedBank) -> tuple[torch.Tensor, torch.Tensor]:
        """(before, after) crops for this rank: the global batch drawn, this rank's slice kept."""
        pb, pa = paired_crops(pairs, self.r.batch * self.dist.world, self.r.size, self.r.crop_scale, self.gen)
        return self.dist.shard(pb).to(self.dev), self.dist.shard(pa).to(self.dev)

    def texture(self, g: nn.Module, y: torch.Tensor) -> torch.Tensor:
        """g's frame-locked texture (screen, grain) on its output crops, placed at a random
        point of the frame (from the data RNG), so the grain differs from step to step as a
        style crop's does; the identity for generators without one."""
        if not g.has_texture:
            return y
        top, left = (int(v) for v in torch.randint(0, 1 << 15, (2,), generator=self.gen))
        return g.texture(y, top, left)


def cyclegan_step(st: StepState, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
    """CycleGAN: two generators with adversarial, cycle and identity losses; discriminators
    on pooled fakes."""
    r, g, g_b, d, d_b = st.r, st.nets["G"], st.nets["G_B"], st.nets["D"], st.nets["D_B"]
    opt_g, opt_d, pools, aug, pairs, dev, dtype = st.opt_g, st.opt_d, st.pools, st.aug, st.pairs, st.dev, st.dtype
    stats: dict[str, float] = {}
    with autocast(dev, dtype):
        fake_b = st.texture(g, g(real_a))  # the frame-locked texture, as in cut_step
        fake_a = g_b(real_b)
        rec_a, rec_b = g_b(fake_b), g(fake_a)
        d.requires_grad_(False)
        d_b.requires_grad_(False)
        adv = g_loss(r.loss, d(aug(fake_b))) + g_loss(r.loss, d_b(aug(fake_a)))
        cyc = F.l1_loss(rec_a.float(), real_a) + F.l1_loss(rec_b.float(), real_b)
        loss_g = r.lambda_gan * adv + r.lambda_cycle * cyc
        if r.lambda_idt > 0:
            idt = F.l1_loss(g(real_b).float(), real_b) + F.l1_loss(g_b(real_a).float(), real_a)
            loss_g = loss_g + r.lambda_cycle * r.lambda_idt * idt
            stats["idt"] = idt.item()
        if pairs is not None:
            pb, pa = st.pairs_batch(pairs)
            pair = F.l1_loss(g(pb).float(), pa) + F.l1_loss(g_b(pa).float(), pb)
            loss_g = loss_g + r.lambda_pair * pair
            stats["pair"] = pair.item()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    st.dist.average_grads([g, g_b])
    opt_g.step()
    stats.update({"g": adv.item(), "cycle": cyc.item()})
    # ---- discriminators on pooled fakes -------------------------------------
    d.requires_grad_(True)
    d_b.requires_grad_(True)
    with autocast(dev, dtype):
        la, sa = _d_total(r, d, aug, real_b, pools["B"].query(fake_b.float()))
        lb, _ = _d_total(r, d_b, aug, real_a, pools["A"].query(fake_a.float()))
        loss_d = 0.5 * (la + lb)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    st.dist.average_grads([d, d_b])
    opt_d.step()
    stats.update(sa)
    return stats


def cut_step(st: StepState, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
    """CUT / FastCUT: one generator with adversarial, PatchNCE, patch-distribution, identity
    and pair losses, the generator's own regularizers, and edge statistics for its
    structure stage."""
    r, g, d, mlp = st.r, st.nets["G"], st.nets["D"], st.nets["MLP"]
    opt_g, opt_d, aug, pairs, dev, dtype = st.opt_g, st.opt_d, st.aug, st.pairs, st.dev, st.dtype
    stats: dict[str, float] = {}
    structure = g.structure_stage() if r.lambda_edges > 0 else None
    if structure is not None and pairs is None:
        # unpaired, the adversarial and identity losses drive the smoothing the wrong
        # way (sharpening, docs/benchmarks.md): the stage learns only from the edge
        # statistics below, so no graph is built through it here
        structure.requires_grad_(False)
    with autocast(dev, dtype):
        # G on style images serves CUT's NCE identity and the pixel identity loss:
        # a look's own images should be (nearly) fixed points of the look
        use_idt = (r.method == "cut" and r.nce_idt) or r.lambda_idt_pix > 0
        src = torch.cat([real_a, real_b[: r.batch]]) if use_idt else real_a
        out, residual = g.split(src) if r.lambda_res > 0 else (g(src), None)
        # the frame-locked texture (lite's screen and grain) joins every loss but the pairs':
        # its phase is the frame's, which no teacher predicts
        out = st.texture(g, out)
        fake = out[: r.batch]
        # discriminator step on detached fakes
        loss_d, sd = _d_total(r, d, aug, real_b, fake.detach().float())
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    st.dist.average_grads([d])
    opt_d.step()
    stats.update(sd)
    with autocast(dev, dtype):
        d.requires_grad_(False)
        adv = g_loss(r.loss, d(aug(fake)))
        d.requires_grad_(True)
        loss_g = r.lambda_gan * adv
        stats["g"] = adv.item()
        for name, term in g.regularizers().items():  # weighted by the recipe's lambda_<name>
            if not hasattr(r, f"lambda_{name}"):  # a misspelt name would silently weigh nothing
                raise BrushworkError(
                    f"the {r.generator} generator's regulariser {name!r} has no recipe weight lambda_{name}"
                )
            weight = getattr(r, f"lambda_{name}")
            if weight > 0:
                loss_g = loss_g + weight * term
                stats[name] = term.item()
        if residual is not None:
            res = residual[: r.batch].float().abs().mean()
            loss_g = loss_g + r.lambda_res * res
            stats["res"] = res.item()
        if r.lambda_idt_pix > 0:
            idt = PIXEL_LOSSES[r.idt_kind](out[r.batch :].float(), real_b[: r.batch])
            loss_g = loss_g + r.lambda_idt_pix * idt
            stats["idt"] = idt.item()
        if r.lambda_nce > 0:
            nce = _nce(g, mlp, real_a, fake, r.num_patches)
            if r.method == "cut" and r.nce_idt:
                nce = 0.5 * (nce + _nce(g, mlp, real_b[: r.batch], out[r.batch :], r.num_patches))
            loss_g = loss_g + r.lambda_nce * nce
            stats["nce"] = nce.item()
        if r.lambda_swd > 0:
            swd = patch_swd(fake.float(), real_b)
            loss_g = loss_g + r.lambda_swd * swd
            stats["swd"] = swd.item()
        if pairs is not None:
            pb, pa = st.pairs_batch(pairs)
            pair = F.l1_loss(g(pb).float(), pa)
            loss_g = loss_g + r.lambda_pair * pair
            stats["pair"] = pair.item()
    if st.style_encoder is not None:  # one pass of the encoder on the fakes serves both losses
        v_fake = st.style_encoder(fake.float())
        if st.style_target is not None:
            sv = (v_fake - st.style_target).square().mean()
            loss_g = loss_g + r.lambda_style_vec * sv
            stats["style_vec"] = sv.item()
        if st.style_offset is not None:
            with torch.no_grad():
                v_in = st.style_encoder(real_a.float())
            sd_ = (v_fake - v_in - st.style_offset).square().mean()
            loss_g = loss_g + r.lambda_style_dir * sd_
            stats["style_dir"] = sd_.item()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    if structure is not None:
        structure.requires_grad_(True)
        edges = edge_statistics_loss(g.structure_output(real_a), real_b)
        (r.lambda_edges * edges).backward()
        stats["edges"] = edges.item()
    st.dist.average_grads([g, mlp])
    opt_g.step()
    return stats


STEPS: dict[str, Callable[[StepState, torch.Tensor, torch.Tensor], dict[str, float]]] = {
    "cut": cut_step, "fastcut": cut_step, "cyclegan": cyclegan_step,
}  # fmt: skip


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
        transport=r.colour_start == "transport", teacher=r.teacher if pairs is None else "",
    )  # fmt: skip
    if look.style is not style.tensors:
        style = ImageBank.from_tensors(look.style)
    g_kwargs = dict(r.generator_kwargs)
    if r.screen:
        g_kwargs["screen"] = look.screen
    if r.grain:  # grain: its spread is measured once the generator has its colour start
        g_kwargs["grain"] = True
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
    d = nets.channels_last(_discriminator(r).to(dev))
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
        nets_.update({"G_B": g_b, "D_B": nets.channels_last(_discriminator(r).to(dev))})
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
    dev = resolve_device(device)
    dist = from_env(dev)  # a torchrun rank, or rank 0 of 1
    dev = dist.device(dev)
    dtype = resolve_precision(r.precision, dev)
    if dist.main:
        prepare_run(run_dir, r.to_json(), seed, budget, sources)
    dist.barrier()
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
        summary["ended_by"] = budget.ended_by()
        if summary["ended_by"] == "step cap" and not quiet:
            warn(
                f"training ended at the recipe's cap of {budget.max_steps} steps after {summary['minutes']} of "
                f"{budget.minutes} minutes: with a style set this small, more steps learn the differences between "
                "the photos' and the style images' subjects rather than the look (override with --set max_steps=0)"
            )
        _save_trained(r, m, cast(nets.StyleGenerator, ema.model), content, summary, choice, style_dir, resume)
    dist.close()
    return style_dir


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
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })  # fmt: skip
    g_final = cast(nets.StyleGenerator, g.float().cpu().eval())
    g_kw = nets.full_kwargs("generator", r.generator, **m.g_kwargs)
    if g_final.detail is not None:  # the residual trains at full strength; the style applies r.detail of it
        g_final.set_detail(r.detail)
        g_kw["detail"] = r.detail
    if r.line_calibration:  # the family's finalize step (lite: ink lines chosen by search), on
        # crops drawn apart from training's random stream
        seed = summary["seed"]
        crops = torch.Generator().manual_seed(seed + 11)
        content_crops = random_crops(content, LINE_CROPS, r.size, (1.0, 1.0), crops)
        style_crops = random_crops(m.style, LINE_CROPS, r.size, (1.0, 1.0), crops)
        g_final, g_kw, summary["lines"] = g_final.finalize(g_kw, content_crops, style_crops)
    if r.prune and g_final.stages():  # the stages that change nothing on the photos are left out
        g_final, g_kw, summary["pruned"] = prune_for_save(r.generator, g_kw, g_final, content, r.size, summary["seed"])
    preview = _preview(g_final, content.tensors, torch.device("cpu"))
    save_style(style_dir, r.generator, g_kw, g_final.state_dict(), summary, preview, replace=replace)
