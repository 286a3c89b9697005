"""The look's colour, measured between the two sets: set-level colour transfer: iterative distribution transfer (IDT; Pitié, Kokaram and
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
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .balance import balance_covariates, balanced_pixels, pixels, sample_count, shrunk, weights_of

QUANTILES = 256  # knots of each 1D map


def apply_curve(v: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Piecewise-linear curve through knots ``xs`` -> ``ys`` ([K], ``xs`` non-decreasing) at
    ``v``; held at the end knots beyond them. Knot i is moved by ``i * eps`` so the knots
    strictly increase (tied quantiles of flat regions)."""
    xs = xs + torch.arange(len(xs), dtype=xs.dtype) * eps
    idx = torch.searchsorted(xs, v.contiguous()).clamp(1, len(xs) - 1)
    x0, x1, y0, y1 = xs[idx - 1], xs[idx], ys[idx - 1], ys[idx]
    return y0 + ((v - x0) / (x1 - x0)).clamp(0, 1) * (y1 - y0)


@dataclass
class LinearMap:
    """The linear Monge-Kantorovich map (Pitie and Kokaram 2007) between two point sets:
    ``y = (x - src_mean) @ matrix.T + dst_mean`` matches their means and covariances with the
    least displacement among linear maps."""

    matrix: torch.Tensor  # [D, D]
    src_mean: torch.Tensor  # [D]
    dst_mean: torch.Tensor  # [D]

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        return (p.double() - self.src_mean) @ self.matrix.T + self.dst_mean


def _sqrtm(m: torch.Tensor) -> torch.Tensor:
    w, v = torch.linalg.eigh(m)
    return v @ torch.diag(w.clamp_min(1e-12).sqrt()) @ v.T


def fit_mkl(src: torch.Tensor, dst: torch.Tensor) -> LinearMap:
    """The MKL map from ``src`` [N, D] to ``dst`` [M, D] (float64)."""
    ms, md = src.mean(0), dst.mean(0)
    cs, cd = torch.cov((src - ms).T), torch.cov((dst - md).T)
    rs = _sqrtm(cs)
    rs_inv = torch.linalg.pinv(rs)
    return LinearMap(rs_inv @ _sqrtm(rs @ cd @ rs) @ rs_inv, ms, md)


@dataclass
class DistributionTransfer:
    """A fitted IDT: optionally a linear map first (``linear``), then per iteration a
    rotation [D, D] and per rotated axis the knots of a 1D map (``xs``, ``ys``: [D, Q]). D is
    3 for colours."""

    rotations: list[torch.Tensor]
    xs: list[torch.Tensor]
    ys: list[torch.Tensor]
    linear: LinearMap | None = None
    # the share of the move that is kept: p + shrink (T(p) - p) (``transport_shrinkage``)
    shrink: float = 1.0

    def map_pixels(self, p: torch.Tensor) -> torch.Tensor:
        """[N, D] points (colours in [-1, 1] for a colour transfer) -> [N, D] (float64
        inside, the input's dtype out)."""
        q = p.double() if self.linear is None else self.linear(p)
        for rot, xs, ys in zip(self.rotations, self.xs, self.ys, strict=True):
            r = q @ rot
            r = torch.stack([apply_curve(r[:, k].contiguous(), xs[k], ys[k], eps=1e-9) for k in range(r.shape[1])], 1)
            q = r @ rot.T
        if self.shrink != 1.0:
            q = p.double() + self.shrink * (q - p.double())
        return q.to(p.dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] or [3, H, W] in [-1, 1] -> the same shape, clamped to [-1, 1]."""
        shape = x.shape
        p = x.reshape(-1, 3, shape[-2] * shape[-1]).permute(0, 2, 1).reshape(-1, 3)
        y = self.map_pixels(p).clamp(-1, 1)
        return y.reshape(-1, shape[-2] * shape[-1], 3).permute(0, 2, 1).reshape(shape)


def fit_transfer(
    src: torch.Tensor, dst: torch.Tensor, iterations: int, gen: torch.Generator, axes_first: bool = True,
    linear_first: bool = False,
) -> DistributionTransfer:  # fmt: skip
    """IDT between point sets ``src`` [N, D] and ``dst`` [M, D] (float64): each iteration
    rotates both (the first one keeps the given axes if ``axes_first``), matches every
    axis's quantiles and moves ``src`` on. With ``linear_first`` the MKL map moves ``src``
    before the first iteration."""
    linear = fit_mkl(src, dst) if linear_first else None
    if linear is not None:
        src = linear(src)
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
    return DistributionTransfer(rots, xss, yss, linear)


def fit_idt(
    content: list[torch.Tensor], style: list[torch.Tensor], iterations: int = 30,
    samples: int = 200_000, seed: int = 0, linear_first: bool = False,
) -> DistributionTransfer:  # fmt: skip
    """Fit IDT from the content images' colours to the style images' ([3, H, W] or
    [B, 3, H, W] tensors in [-1, 1]). The first iteration uses the RGB axes, the others
    random rotations drawn from ``seed``; ``linear_first``: the MKL map before them."""
    if not content or not style:
        raise ValueError("colour transfer needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    n = sample_count(content, style, limit=samples)
    src, dst = pixels(content, n, gen), pixels(style, n, gen)
    return fit_transfer(src, dst, iterations, gen, linear_first=linear_first)


def fit_colour_transport(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int = 200_000, seed: int = 0,
    balance: bool = True, shrink: bool = True,
) -> DistributionTransfer:  # fmt: skip
    """The colour stage's start: the MKL linear map, then 10 IDT rotations, between the sets'
    pooled colours. Tabulate it with ``idt_table(..., smooth=COLOUR_SMOOTH)``.

    Against IDT alone (30 rotations) on random looks with fresh seeds, scored on held-out
    photos: +0.70 dB mean blurred PSNR, above on 13 of 13 (docs/benchmarks.md, with the
    history in git); IDT alone bends its map to differences between the two
    sets' subjects. ``balance`` (the default) first reweights the content pixels so that the
    two sets show the same mix of image regions (``balanced_pixels``): a further +0.9 to
    +1.4 dB on fresh random looks (docs/benchmarks.md, with the history in git).

    ``shrink`` (with ``balance``) then keeps only the share of the move that the sets' sampling
    noise leaves credible (``transport_shrinkage``): two sets of a dozen pictures differ by
    their subjects even after balancing, and on a mild look that difference is as large as the
    look itself."""
    if not balance:
        return fit_idt(content, style, iterations=10, samples=samples, seed=seed, linear_first=True)
    if not content or not style:
        raise ValueError("colour transfer needs at least one content and one style image")
    small = [[shrunk(t) for t in ts] for ts in (content, style)]
    views = [[balance_covariates(t) for t in ts] for ts in small]
    transfer = _balanced_transfer(small[0], small[1], views[0], views[1], samples, seed)
    if shrink:
        transfer.shrink = transport_shrinkage(transfer, small, views, samples, seed)
    return transfer


SHRINK_REPLICATES = 8  # bootstrap replicates of the transport that estimate its sampling noise
SHRINK_SAMPLES = 40_000  # colour samples per replicate (at most)


def _balanced_transfer(
    content: list[torch.Tensor], style: list[torch.Tensor], content_cov: list[torch.Tensor],
    style_cov: list[torch.Tensor], samples: int, seed: int, draw: torch.Generator | None = None,
) -> DistributionTransfer:  # fmt: skip
    """MKL + 10 IDT rotations between balanced pixels of the two sets (at ``BALANCE_SIDE``).
    The rotations come from ``seed``, the pixel samples from ``draw`` (else from ``seed`` too),
    so replicates on resampled sets differ by their images alone, not by their rotations."""
    if draw is None:
        draw = torch.Generator().manual_seed(seed)
    src, dst = balanced_pixels(content, style, samples, draw, weights_of(content_cov, style_cov))
    return fit_transfer(src, dst, 10, torch.Generator().manual_seed(seed), linear_first=True)


def transport_shrinkage(
    transfer: DistributionTransfer, small: list[list[torch.Tensor]], views: list[list[torch.Tensor]],
    samples: int, seed: int,
) -> float:  # fmt: skip
    """How much of a set-level transport's move to keep: positive-part James-Stein shrinkage
    towards doing nothing, ``max(0, 1 - V / D)``, where D is the transport's mean squared move
    and V the variance of that move over bootstrap replicates (both sets' images drawn again
    with replacement, the balance weights recomputed for each draw, the same rotations),
    both averaged over the content photos' colours. A strong look moves colours far beyond
    what a redraw of the pictures changes (kept near whole); a mild preset fitted between two
    sets of different subjects moves them about as much as the subjects alone do (shrunk
    towards the photo). ``small``/``views``: both sets at ``BALANCE_SIDE`` and their
    covariates. Deterministic for a seed."""
    draw = torch.Generator().manual_seed(seed + 1)
    n = min(samples, SHRINK_SAMPLES)
    probe = pixels(small[0], 20_000, draw)  # content colours: where the moves are averaged
    moves = []
    for _ in range(SHRINK_REPLICATES):
        ic = torch.randint(0, len(small[0]), (len(small[0]),), generator=draw).tolist()
        js = torch.randint(0, len(small[1]), (len(small[1]),), generator=draw).tolist()
        rep = _balanced_transfer(
            [small[0][i] for i in ic], [small[1][j] for j in js], [views[0][i] for i in ic],
            [views[1][j] for j in js], n, seed, draw,
        )  # fmt: skip
        moves.append(rep.map_pixels(probe) - probe)
    move = transfer.map_pixels(probe) - probe
    spread = float(torch.stack(moves).var(0).sum(1).mean())
    size = float(move.square().sum(1).mean())
    return max(0.0, 1.0 - spread / size) if size > 0 else 0.0


COLOUR_SMOOTH = 0.125  # the colour start's table is blurred by this sigma (colour units, [-1, 1])
_FINE = 33  # tables are smoothed at this resolution, then sampled at the LUT's


def idt_table(transfer: DistributionTransfer, size: int, smooth: float = 0.0) -> torch.Tensor:
    """The transfer evaluated on a size^3 grid: a [1, 3, S, S, S] table in the layout of
    ``nets.lite_stages.ColorLUT`` (channel c at input colour (r, g, b) stored at [0, c, b, g, r]).
    ``smooth`` > 0 blurs the map in colour space first (a Gaussian of that sigma, in colour
    units), evaluated on a 33^3 grid and sampled at ``size``."""
    return tabulate(transfer.map_pixels, size, smooth)


def tabulate(map_pixels: Callable[[torch.Tensor], torch.Tensor], size: int, smooth: float = 0.0) -> torch.Tensor:
    """Any colour map ([N, 3] -> [N, 3] in [-1, 1]) as ``idt_table`` tabulates a transfer."""
    fine = max(size, _FINE) if smooth > 0 else size
    ramp = torch.linspace(-1, 1, fine)
    b, g, r = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
    grid = torch.stack([r, g, b], -1).reshape(-1, 3)
    out = map_pixels(grid.double()).clamp(-1, 1).float()  # [F^3, 3]
    table = out.T.reshape(1, 3, fine, fine, fine)
    if smooth > 0:
        sigma = smooth / (2 / (fine - 1))  # in grid cells
        rad = max(1, math.ceil(3 * sigma))
        k = torch.exp(-(torch.arange(-rad, rad + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
        k = k / k.sum()
        for dim in (2, 3, 4):
            shape = [1, 1, 1, 1, 1]
            shape[dim] = -1
            pad = [0, 0, 0, 0, 0, 0]
            pad[2 * (4 - dim)] = pad[2 * (4 - dim) + 1] = rad
            table = F.conv3d(F.pad(table, pad, mode="replicate"), k.view(*shape).repeat(3, 1, 1, 1, 1), groups=3)
        if fine != size:
            table = F.interpolate(table, size=(size, size, size), mode="trilinear", align_corners=True)
    return table.clamp(-1, 1)


@dataclass
class ColourTable:
    """A colour map held as a [1, 3, S, S, S] table (``idt_table``'s layout), applied to
    images by trilinear lookup, as the lite generator's LUT applies its own."""

    table: torch.Tensor

    @classmethod
    def of_transport(
        cls, content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0, balance: bool = True,
        transport: DistributionTransfer | None = None, shrink: bool = True,
    ) -> ColourTable:  # fmt: skip
        """``fit_colour_transport`` tabulated and smoothed: the colour stage's start, as a
        transfer on its own (with ``balance=False``, a classical baseline of the quality
        benchmark). ``transport``: that transport, already fitted on the same sets and seed."""
        if transport is None:
            transport = fit_colour_transport(content, style, seed=seed, balance=balance, shrink=shrink)
        return cls(idt_table(transport, _FINE, smooth=COLOUR_SMOOTH))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[3, H, W] or [B, 3, H, W] in [-1, 1] -> the same shape."""
        batch = x if x.dim() == 4 else x[None]
        grid = batch.permute(0, 2, 3, 1)[:, None].float()  # [B, 1, H, W, 3]: (r, g, b) index (x, y, z)
        t = self.table.expand(batch.shape[0], -1, -1, -1, -1)
        y = F.grid_sample(t, grid, mode="bilinear", padding_mode="border", align_corners=True)[:, :, 0]
        return y.clamp(-1, 1) if x.dim() == 4 else y[0].clamp(-1, 1)
