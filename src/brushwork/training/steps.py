"""One training step of each method (CUT and FastCUT, CycleGAN) on a ``StepState``: the
networks, optimizers and data a style run trains with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .. import nets
from ..data import PairedBank, paired_crops
from ..device import autocast
from ..errors import BrushworkError
from ..losses import (
    PIXEL_LOSSES,
    PatchSampleMLP,
    discriminator_objective,
    edge_statistics_loss,
    g_loss,
    patch_nce_loss,
    patch_swd,
)
from .distributed import Dist
from .recipe import StyleRecipe

CL = torch.channels_last  # oneDNN's fast layout for convolutions on CPUs


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


def discriminator(r: StyleRecipe) -> nn.Module:
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
            pair = _pair_l1(g(pb).float(), pa, r.pair_pool) + _pair_l1(g_b(pa).float(), pb, r.pair_pool)
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


def _add_regularizers(r: StyleRecipe, g: nn.Module, loss: torch.Tensor, stats: dict[str, float]) -> torch.Tensor:
    """``loss`` plus the generator's own regularizers, each weighted by the recipe's
    ``lambda_<name>`` (a name the recipe lacks is an error: misspelt, it would weigh nothing)."""
    for name, term in g.regularizers().items():
        if not hasattr(r, f"lambda_{name}"):
            raise BrushworkError(
                f"the {r.generator} generator's regulariser {name!r} has no recipe weight lambda_{name}"
            )
        weight = getattr(r, f"lambda_{name}")
        if weight > 0:
            loss = loss + weight * term
            stats[name] = term.item()
    return loss


def _add_style_vectors(
    st: StepState, fake: torch.Tensor, real_a: torch.Tensor, loss: torch.Tensor, stats: dict[str, float]
) -> torch.Tensor:  # fmt: skip
    """``loss`` plus the style-vector losses: the fakes' vectors to the style set's mean
    (``lambda_style_vec``), and their change from the photos' to the sets' difference
    (``lambda_style_dir``); one pass of the encoder on the fakes serves both."""
    assert st.style_encoder is not None
    r = st.r
    v_fake = st.style_encoder(fake.float())
    if st.style_target is not None:
        sv = (v_fake - st.style_target).square().mean()
        loss = loss + r.lambda_style_vec * sv
        stats["style_vec"] = sv.item()
    if st.style_offset is not None:
        with torch.no_grad():
            v_in = st.style_encoder(real_a.float())
        sd_ = (v_fake - v_in - st.style_offset).square().mean()
        loss = loss + r.lambda_style_dir * sd_
        stats["style_dir"] = sd_.item()
    return loss


def _pair_l1(pred: torch.Tensor, target: torch.Tensor, pool: int) -> torch.Tensor:
    """The pair loss: L1, on the images averaged over ``pool`` x ``pool`` blocks when ``pool``
    is over 1 (where the tones go, not the strokes that make them)."""
    if pool > 1:
        pred, target = F.avg_pool2d(pred, pool), F.avg_pool2d(target, pool)
    return F.l1_loss(pred, target)


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
        loss_g = _add_regularizers(r, g, loss_g, stats)
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
            pair = _pair_l1(g(pb).float(), pa, r.pair_pool)
            loss_g = loss_g + r.lambda_pair * pair
            stats["pair"] = pair.item()
    if st.style_encoder is not None:
        loss_g = _add_style_vectors(st, fake, real_a, loss_g, stats)
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
