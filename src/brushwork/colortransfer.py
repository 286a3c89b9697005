"""Set-level colour transfer: iterative distribution transfer (IDT; Pitié, Kokaram and
Dahyot 2005/2007), fitted between two *sets* of images.

The pooled pixel colours of the content photos are moved onto the pooled colours of the
style images one random rotation at a time: in each rotated frame, every axis gets the
monotone 1D map that takes the content pixels' distribution onto the style pixels'
(1D optimal transport: quantile matching), and the moved pixels are the next iteration's
source. The fitted sequence of maps is a colour function that every photo shares (a
"look", not a per-image normalisation: a photo darker than the others stays darker).

It is the strongest classical baseline of the quality benchmark and the place where a
`lite` style's colour LUT starts learning (``idt_table``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .color import luminance

QUANTILES = 256  # knots of each 1D map


def _sample_count(*sets: list[torch.Tensor], limit: int) -> int:
    """How many pixels to draw from each set: ``limit``, or fewer when the smaller set holds
    fewer pixels (tiny images need no more samples than they have)."""
    have = min(sum(t.numel() // t.shape[-3] for t in s) for s in sets)  # pixels: elements / channels
    return max(1024, min(limit, have))


def _pixels(images: list[torch.Tensor], n: int, gen: torch.Generator) -> torch.Tensor:
    """~n random pixels of [C, H, W] images (or [B, C, H, W] batches) -> [n, C] float64."""
    c = images[0].shape[-3]
    flat = [t.reshape(-1, c, t.shape[-2] * t.shape[-1]).permute(1, 0, 2).reshape(c, -1) for t in images]
    per = max(1, n // len(flat))
    out = [f[:, torch.randint(0, f.shape[1], (per,), generator=gen)].T for f in flat]
    return torch.cat(out).double()


def apply_curve(v: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Piecewise-linear curve through knots ``xs`` -> ``ys`` ([K], ``xs`` non-decreasing) at
    ``v``; held at the end knots beyond them. Knot i is moved by ``i * eps`` so the knots
    strictly increase (tied quantiles of flat regions)."""
    xs = xs + torch.arange(len(xs), dtype=xs.dtype) * eps
    idx = torch.searchsorted(xs, v.contiguous()).clamp(1, len(xs) - 1)
    x0, x1, y0, y1 = xs[idx - 1], xs[idx], ys[idx - 1], ys[idx]
    return y0 + ((v - x0) / (x1 - x0)).clamp(0, 1) * (y1 - y0)


@dataclass
class DistributionTransfer:
    """A fitted IDT: per iteration a rotation [D, D] and per rotated axis the knots of a 1D
    map (``xs``, ``ys``: [D, Q]). D is 3 for colours."""

    rotations: list[torch.Tensor]
    xs: list[torch.Tensor]
    ys: list[torch.Tensor]

    def map_pixels(self, p: torch.Tensor) -> torch.Tensor:
        """[N, D] points (colours in [-1, 1] for a colour transfer) -> [N, D] (float64
        inside, the input's dtype out)."""
        q = p.double()
        for rot, xs, ys in zip(self.rotations, self.xs, self.ys, strict=True):
            r = q @ rot
            r = torch.stack([apply_curve(r[:, k].contiguous(), xs[k], ys[k], eps=1e-9) for k in range(r.shape[1])], 1)
            q = r @ rot.T
        return q.to(p.dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] or [3, H, W] in [-1, 1] -> the same shape, clamped to [-1, 1]."""
        shape = x.shape
        p = x.reshape(-1, 3, shape[-2] * shape[-1]).permute(0, 2, 1).reshape(-1, 3)
        y = self.map_pixels(p).clamp(-1, 1)
        return y.reshape(-1, shape[-2] * shape[-1], 3).permute(0, 2, 1).reshape(shape)


def fit_transfer(
    src: torch.Tensor, dst: torch.Tensor, iterations: int, gen: torch.Generator, axes_first: bool = True
) -> DistributionTransfer:
    """IDT between point sets ``src`` [N, D] and ``dst`` [M, D] (float64): each iteration
    rotates both (the first one keeps the given axes if ``axes_first``), matches every
    axis's quantiles and moves ``src`` on."""
    d = src.shape[1]
    qs = torch.linspace(0, 1, QUANTILES, dtype=torch.float64)
    rots, xss, yss = [], [], []
    for it in range(iterations):
        if it == 0 and axes_first:
            rot = torch.eye(d, dtype=torch.float64)
        else:
            rot, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
        ps, pd = src @ rot, dst @ rot
        xs = torch.stack([torch.quantile(ps[:, k], qs) for k in range(d)])
        ys = torch.stack([torch.quantile(pd[:, k], qs) for k in range(d)])
        ps = torch.stack([apply_curve(ps[:, k], xs[k], ys[k], eps=1e-9) for k in range(d)], 1)
        src = ps @ rot.T
        rots.append(rot)
        xss.append(xs)
        yss.append(ys)
    return DistributionTransfer(rots, xss, yss)


def fit_idt(
    content: list[torch.Tensor], style: list[torch.Tensor], iterations: int = 30,
    samples: int = 200_000, seed: int = 0,
) -> DistributionTransfer:  # fmt: skip
    """Fit IDT from the content images' colours to the style images' ([3, H, W] or
    [B, 3, H, W] tensors in [-1, 1]). The first iteration uses the RGB axes, the others
    random rotations drawn from ``seed``."""
    if not content or not style:
        raise ValueError("colour transfer needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    n = _sample_count(content, style, limit=samples)
    src, dst = _pixels(content, n, gen), _pixels(style, n, gen)
    return fit_transfer(src, dst, iterations, gen)


def idt_table(transfer: DistributionTransfer, size: int) -> torch.Tensor:
    """The transfer evaluated on a size^3 grid: a [1, 3, S, S, S] table in the layout of
    ``nets.lite.ColorLUT`` (channel c at input colour (r, g, b) stored at [0, c, b, g, r])."""
    ramp = torch.linspace(-1, 1, size)
    b, g, r = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
    grid = torch.stack([r, g, b], -1).reshape(-1, 3)
    out = transfer.map_pixels(grid).clamp(-1, 1).float()  # [S^3, 3]
    return out.T.reshape(1, 3, size, size, size)


# ---- colour and local structure together ------------------------------------------------
FEATURE_SIGMAS_DOG = (2.0, 6.0)  # local contrast: luminance blurred at these minus itself
FEATURE_SIGMAS_GRAD = (1.0, 2.5)  # edge strength: gradient magnitude at these scales (x sigma)


def _gauss(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) ** 2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def local_features(x: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] in [-1, 1] -> [B, 7, H, W]: the colour, then the luminance's local
    contrast at two scales (blurred minus itself: positive on dark lines and in shadows
    next to light) and its gradient magnitude at two scales (edges)."""
    lum = luminance(x)
    out = [x]
    out += [_gauss(lum, s) - lum for s in FEATURE_SIGMAS_DOG]
    for s in FEATURE_SIGMAS_GRAD:
        b = _gauss(lum, s)
        gx = F.pad(b[..., :, 2:] - b[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
        gy = F.pad(b[..., 2:, :] - b[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
        out.append((gx.square() + gy.square()).sqrt() * s)
    return torch.cat(out, 1)


@dataclass
class FeatureTransfer:
    """IDT of colour *and* local structure: the content photos' pixels, each with its local
    features (``local_features``), are transported onto the style images' pixels with
    theirs, and a pixel's new colour is the colour part of where it lands. A pixel on a
    strong edge of a photo lands among the style's edge pixels (ink, a pencil stroke), one
    in a flat region among the style's flat regions (paper, a flat colour), so set-level
    transport learns strokes, lines and paper that a colour-only transfer cannot.
    ``scale`` [D] normalises the features so that each counts alike in the rotations."""

    transfer: DistributionTransfer
    scale: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> the same shape, clamped to [-1, 1]."""
        f = local_features(x.float())
        b, d, h, w = f.shape
        p = f.permute(0, 2, 3, 1).reshape(-1, d).double() / self.scale
        y = (self.transfer.map_pixels(p) * self.scale)[:, :3].float().clamp(-1, 1)
        return y.reshape(b, h, w, 3).permute(0, 3, 1, 2).contiguous()


def fit_feature_transfer(
    content: list[torch.Tensor], style: list[torch.Tensor], iterations: int = 40,
    samples: int = 200_000, seed: int = 0,
) -> FeatureTransfer:  # fmt: skip
    """Fit a ``FeatureTransfer`` from the content images to the style images ([3, H, W]
    tensors in [-1, 1]); random rotations from ``seed``."""
    if not content or not style:
        raise ValueError("feature transfer needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    fc = [local_features(t[None].float())[0] for t in content]
    fs = [local_features(t[None].float())[0] for t in style]
    n = _sample_count(content, style, limit=samples)
    src, dst = _pixels(fc, n, gen), _pixels(fs, n, gen)
    sd = torch.cat([src, dst]).std(0)
    scale = torch.cat([sd[:3].mean().expand(3), sd[3:]]).clamp_min(1e-6)  # one scale for the colour axes
    return FeatureTransfer(fit_transfer(src / scale, dst / scale, iterations, gen, axes_first=False), scale)
