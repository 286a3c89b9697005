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
from collections.abc import Callable
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

    def map_pixels(self, p: torch.Tensor) -> torch.Tensor:
        """[N, D] points (colours in [-1, 1] for a colour transfer) -> [N, D] (float64
        inside, the input's dtype out)."""
        q = p.double() if self.linear is None else self.linear(p)
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
    n = _sample_count(content, style, limit=samples)
    src, dst = _pixels(content, n, gen), _pixels(style, n, gen)
    return fit_transfer(src, dst, iterations, gen, linear_first=linear_first)


def fit_colour_transport(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int = 200_000, seed: int = 0,
    balance: bool = True,
) -> DistributionTransfer:  # fmt: skip
    """The colour stage's start: the MKL linear map, then 10 IDT rotations, between the sets'
    pooled colours. Tabulate it with ``idt_table(..., smooth=COLOUR_SMOOTH)``.

    Against IDT alone (30 rotations) on random looks with fresh seeds, scored on held-out
    photos: +0.70 dB mean blurred PSNR, above on 13 of 13 (docs/benchmarks.md, "A stronger
    set-level colour transport"); IDT alone bends its map to differences between the two
    sets' subjects. ``balance`` (the default) first reweights the content pixels so that the
    two sets show the same mix of image regions (``balanced_pixels``): a further +0.9 to
    +1.4 dB on fresh random looks (docs/benchmarks.md, "Balancing the sets' subjects")."""
    if not balance:
        return fit_idt(content, style, iterations=10, samples=samples, seed=seed, linear_first=True)
    if not content or not style:
        raise ValueError("colour transfer needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    small = [[shrunk(t) for t in ts] for ts in (content, style)]
    src, dst = balanced_pixels(small[0], small[1], samples, gen)
    return fit_transfer(src, dst, 10, gen, linear_first=True)


# ---- balancing the two sets' subjects --------------------------------------------------
# A set-level transport matches the *pooled* colours of two different sets of pictures, so
# the difference between their subjects (one set has more sky, the other more foliage)
# leaks into the map: on the identity look (style = unchanged photos of other subjects) the
# transport alone is 21.8 dB from doing nothing. The correction is covariate-shift
# importance weighting (Shimodaira 2000): describe every pixel by covariates that a colour
# look leaves (nearly) unchanged, and weight the content pixels by the ratio of the style
# set's to the content set's density of those covariates, so the colours are matched
# between like regions in like proportions. The covariates: the row (sky is at the top),
# the pixel's brightness rank inside its own image (unchanged by any monotone tone curve),
# the local texture (spread of that rank over 7x7 pixels) and the region's brightness (its
# mean over 31x31), on each image at a 192-pixel long side, binned 6 x 8 x 4 x 3.
BALANCE_SIDE = 192
BALANCE_BINS = (6, 8, 4, 3)
BALANCE_CLAMP = (0.2, 5.0)  # density ratios are clamped to this range (empty bins, outliers)


def _rank(v: torch.Tensor) -> torch.Tensor:
    """[N] -> each value's rank in [0, 1) (ties broken by position)."""
    out = torch.empty_like(v)
    out[v.argsort()] = torch.arange(len(v), dtype=v.dtype) / len(v)
    return out


def _local_mean(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.avg_pool2d(x, size, 1, size // 2, count_include_pad=False)


def shrunk(x: torch.Tensor, side: int = BALANCE_SIDE) -> torch.Tensor:
    """[3, H, W] -> at most ``side`` on its long side (area average; never enlarged)."""
    scale = side / max(x.shape[-2:])
    if scale >= 1:
        return x.float()
    return F.interpolate(x[None].float(), scale_factor=scale, mode="area", recompute_scale_factor=False)[0]


def balance_covariates(x: torch.Tensor) -> torch.Tensor:
    """One [3, H, W] image in [-1, 1] -> its pixels' covariates [h, w, 4] (row, brightness
    rank, local texture, region brightness) at ``BALANCE_SIDE`` (never enlarged)."""
    x = shrunk(x)
    h, w = x.shape[-2:]
    rank = _rank(luminance(x[None])[0, 0].flatten()).view(1, 1, h, w)
    texture = (_local_mean(rank.square(), 7) - _local_mean(rank, 7).square()).clamp_min(0).sqrt()
    region = _local_mean(rank, 31)
    row = (torch.arange(h, dtype=torch.float32) / h).view(h, 1).expand(h, w)
    return torch.stack([row, rank[0, 0], texture[0, 0], region[0, 0]], -1)


def balance_weights(content: list[torch.Tensor], style: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per content image ([3, H, W] in [-1, 1]), a [h, w] map at ``BALANCE_SIDE`` of its
    pixels' importance weights: the style set's density of their covariates over the content
    set's (``balance_covariates``), each image counting alike within its set."""
    views = [[balance_covariates(t) for t in ts] for ts in (content, style)]
    covs = [torch.cat([k.reshape(-1, 4) for k in v]) for v in views]
    sizes = [[k.shape[0] * k.shape[1] for k in v] for v in views]  # pixels per image
    per_image = [torch.cat([torch.full((n,), 1 / n) for n in ns]) for ns in sizes]
    # bins: row and rank are uniform by construction; texture and region by pooled quantiles
    pool = torch.cat(covs)[:: max(1, sum(map(len, covs)) // 100_000)]
    bins = [torch.zeros(len(c), dtype=torch.long) for c in covs]
    for k, nb in enumerate(BALANCE_BINS):
        if k < 2:
            edges = torch.linspace(0, 1, nb + 1)[1:-1]
        else:
            edges = torch.quantile(pool[:, k].contiguous(), torch.linspace(0, 1, nb + 1)[1:-1])
        bins = [b * nb + torch.bucketize(c[:, k].contiguous(), edges) for b, c in zip(bins, covs, strict=True)]
    total = math.prod(BALANCE_BINS)
    dens = [torch.zeros(total).index_add_(0, b, w) for b, w in zip(bins, per_image, strict=True)]
    ratio = ((dens[1] + 1e-3) / (dens[0] + 1e-3)).clamp(*BALANCE_CLAMP)
    weights = (per_image[0] * ratio[bins[0]]).split(sizes[0])
    return [w.view(k.shape[:2]) for w, k in zip(weights, views[0], strict=True)]


def balanced_pixels(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int, gen: torch.Generator,
    weights: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Pixels of two sets of images ([C, H, W], C >= 3: colours, or colours and features) for
    a set-level transport, as [n, C] float64: the content pixels drawn in proportion to their
    ``balance_weights`` (computed from the first three channels unless given), the style
    pixels with each image counting alike."""
    if weights is None:
        weights = balance_weights([t[:3] for t in content], [t[:3] for t in style])
    c = content[0].shape[0]
    flat_c, flat_w = [], []
    for t, w in zip(content, weights, strict=True):
        flat_c.append(t.reshape(c, -1).T)
        full = w if w.shape == t.shape[-2:] else F.interpolate(w[None, None], size=t.shape[-2:], mode="nearest")[0, 0]
        flat_w.append(full.flatten() * (w.numel() / full.numel()))
    src_all, w_all = torch.cat(flat_c), torch.cat(flat_w)
    n = _sample_count(content, style, limit=samples)
    src = src_all[torch.multinomial(w_all, n, replacement=True, generator=gen)]
    return src.double(), _pixels(style, n, gen)


COLOUR_SMOOTH = 0.125  # the colour start's table is blurred by this sigma (colour units, [-1, 1])
_FINE = 33  # tables are smoothed at this resolution, then sampled at the LUT's


def idt_table(transfer: DistributionTransfer, size: int, smooth: float = 0.0) -> torch.Tensor:
    """The transfer evaluated on a size^3 grid: a [1, 3, S, S, S] table in the layout of
    ``nets.lite.ColorLUT`` (channel c at input colour (r, g, b) stored at [0, c, b, g, r]).
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
        cls, content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0, balance: bool = True
    ) -> ColourTable:
        """``fit_colour_transport`` tabulated and smoothed: the colour stage's start, as a
        transfer on its own (with ``balance=False``, a classical baseline of the quality
        benchmark)."""
        transport = fit_colour_transport(content, style, seed=seed, balance=balance)
        return cls(idt_table(transport, _FINE, smooth=COLOUR_SMOOTH))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[3, H, W] or [B, 3, H, W] in [-1, 1] -> the same shape."""
        batch = x if x.dim() == 4 else x[None]
        grid = batch.permute(0, 2, 3, 1)[:, None].float()  # [B, 1, H, W, 3]: (r, g, b) index (x, y, z)
        t = self.table.expand(batch.shape[0], -1, -1, -1, -1)
        y = F.grid_sample(t, grid, mode="bilinear", padding_mode="border", align_corners=True)[:, :, 0]
        return y.clamp(-1, 1) if x.dim() == 4 else y[0].clamp(-1, 1)


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
    samples: int = 200_000, seed: int = 0, linear_first: bool = True, balance: bool = True,
) -> FeatureTransfer:  # fmt: skip
    """Fit a ``FeatureTransfer`` from the content images to the style images ([3, H, W]
    tensors in [-1, 1]); random rotations from ``seed``. ``linear_first``: the MKL map in the
    feature space before them (the default: on 10 random looks with fresh seeds the
    teacher's held-out blurred PSNR rose 0.75 dB on average, on 8; docs/benchmarks.md).
    ``balance`` (the default): content pixels weighted by ``balance_weights``, as the colour
    transport's (on 4 fresh random looks the teacher rose 0.3 to 1.2 dB; docs/benchmarks.md)."""
    if not content or not style:
        raise ValueError("feature transfer needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    fc = [local_features(t[None].float())[0] for t in content]
    fs = [local_features(t[None].float())[0] for t in style]
    if balance:  # content pixels weighted as the colour transport weights them
        src, dst = balanced_pixels(fc, fs, samples, gen, balance_weights(content, style))
    else:
        n = _sample_count(content, style, limit=samples)
        src, dst = _pixels(fc, n, gen), _pixels(fs, n, gen)
    sd = torch.cat([src, dst]).std(0)
    scale = torch.cat([sd[:3].mean().expand(3), sd[3:]]).clamp_min(1e-6)  # one scale for the colour axes
    transfer = fit_transfer(src / scale, dst / scale, iterations, gen, axes_first=False, linear_first=linear_first)
    return FeatureTransfer(transfer, scale)


# ---- colour where the style draws it: the structure teacher ------------------------------
STRUCTURE_BINS = 6  # quantile bins per structure feature of the conditional colour table
STRUCTURE_PRIOR = 5.0  # pseudo-pixels pulling a sparse bin's colour towards the set's mean
STRUCTURE_ROTATIONS = 20  # IDT rotations of the structure features' transport


def _structure(x: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 4, H, W]: ``local_features`` without the colour (local contrast
    at two scales, edge strength at two)."""
    return local_features(x.float())[:, 3:]


def _bin_index(f: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """[N, D] features, [D, BINS - 1] edges -> each row's bin in a BINS^D table."""
    idx = torch.zeros(f.shape[0], dtype=torch.long)
    for k in range(f.shape[1]):
        idx = idx * STRUCTURE_BINS + torch.bucketize(f[:, k].contiguous(), edges[k].contiguous())
    return idx


def conditional_colour(feat: torch.Tensor, colour: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Binned E[colour | structure] of pixels ``feat`` [N, D] with ``colour`` [N, 3] (float64):
    (bin edges [D, BINS - 1] at the features' quantiles, the table [BINS^D, 3] of bin means
    shrunk towards the mean colour by ``STRUCTURE_PRIOR`` pseudo-pixels, and R^2, the share
    of the colours' variance that the bins explain)."""
    qs = torch.linspace(0, 1, STRUCTURE_BINS + 1, dtype=feat.dtype)[1:-1]
    edges = torch.stack([torch.quantile(feat[:, k].contiguous(), qs) for k in range(feat.shape[1])])
    idx = _bin_index(feat, edges)
    n_bins = STRUCTURE_BINS ** feat.shape[1]
    count = torch.zeros(n_bins, dtype=colour.dtype).index_add_(0, idx, torch.ones(len(idx), dtype=colour.dtype))
    total = torch.zeros(n_bins, 3, dtype=colour.dtype).index_add_(0, idx, colour)
    mean = colour.mean(0)
    table = (total + STRUCTURE_PRIOR * mean) / (count[:, None] + STRUCTURE_PRIOR)
    spread = float((colour - mean).square().sum())
    r2 = 0.0 if spread < 1e-12 else 1.0 - float((colour - table[idx]).square().sum()) / spread
    return edges, table, r2


@dataclass
class StructureTeacher:
    """Pseudo-pair targets that put colour where the style draws it.

    Two predictions of a pixel's styled colour: the balanced colour transport of its colour
    (``colour``: right for a grade, where colour follows colour), and the style set's mean
    colour among pixels of the same local structure (``table``, looked up at the pixel's
    structure features after their own set-level transport onto the style's, ``transfer``):
    right for a drawing, where paper is wherever the picture is flat and ink wherever it has
    an edge, whatever the photo's colour there. They are mixed by ``alpha``: how much more
    of the colours' variance structure explains in the style set than in the content set
    (R^2 of the binned means in each), 0 when the style's colours depend on structure no
    more than the photos' do. Nothing is chosen per look: alpha is measured from the sets."""

    colour: ColourTable
    transfer: DistributionTransfer
    scale: torch.Tensor  # [4] the structure features' scale in the transport
    edges: torch.Tensor  # [4, BINS - 1]
    table: torch.Tensor  # [BINS^4, 3]
    alpha: float

    def drawn(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] -> the structure prediction alone."""
        f = _structure(x)
        b, d, h, w = f.shape
        p = self.transfer.map_pixels(f.permute(0, 2, 3, 1).reshape(-1, d).double() / self.scale) * self.scale
        y = self.table[_bin_index(p, self.edges)].float()
        return y.reshape(b, h, w, 3).permute(0, 3, 1, 2).contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> the same shape, clamped to [-1, 1]."""
        y = self.colour(x)
        if self.alpha > 0:
            y = (1 - self.alpha) * y + self.alpha * self.drawn(x)
        return y.clamp(-1, 1)


def structure_alpha(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int, gen: torch.Generator, blur: float = 0.0,
    features: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None,
) -> float:  # fmt: skip
    """How much more of the style set's colour variance local structure explains than of the
    content set's: (R^2_style - R^2_content) / (1 - R^2_content), clamped to [0, 1], R^2 of
    ``conditional_colour``. ``blur`` > 0 measures it on copies blurred by that sigma (colours
    and structure alike), where textures whose phase no photo predicts (halftone, grain) no
    longer count as structure. ``features``: the sets' ``_structure`` maps when the caller
    has them (used unblurred only)."""

    def r2(images: list[torch.Tensor], known: list[torch.Tensor] | None) -> float:
        views = [_gauss(t[None].float(), blur)[0] if blur > 0 else t.float() for t in images]
        feats = known if known is not None and blur == 0 else [_structure(v[None])[0] for v in views]
        p = _pixels([torch.cat([v, f]) for v, f in zip(views, feats, strict=True)], samples, gen)
        return conditional_colour(p[:, 3:], p[:, :3])[2]

    known_content, known_style = features if features is not None else (None, None)
    r2_style, r2_content = r2(style, known_style), r2(content, known_content)
    return min(1.0, max(0.0, (r2_style - r2_content) / max(1e-6, 1.0 - r2_content)))


def fit_structure_teacher(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int = 200_000, seed: int = 0,
    alpha_blur: float = 0.0, alpha_power: float = 1.0,
) -> StructureTeacher:  # fmt: skip
    """Fit a ``StructureTeacher`` from the content images to the style images ([3, H, W] in
    [-1, 1]); the transports balance the sets' subjects (``balance_weights``). ``alpha_blur``:
    the mix is measured on copies blurred by this sigma (``structure_alpha``); ``alpha_power``:
    the mix is that measure raised to this power (2 keeps small, uncertain measures near 0)."""
    if not content or not style:
        raise ValueError("the structure teacher needs at least one content and one style image")
    gen = torch.Generator().manual_seed(seed)
    colour = ColourTable.of_transport(content, style, seed=seed)
    fc = [_structure(t[None])[0] for t in content]
    fs = [_structure(t[None])[0] for t in style]
    src, dst = balanced_pixels(fc, fs, samples, gen, balance_weights(content, style))
    scale = torch.cat([src, dst]).std(0).clamp_min(1e-6)
    transfer = fit_transfer(src / scale, dst / scale, STRUCTURE_ROTATIONS, gen, axes_first=False, linear_first=True)
    ps = _pixels([torch.cat([t.float(), f]) for t, f in zip(style, fs, strict=True)], samples, gen)
    edges, table, _ = conditional_colour(ps[:, 3:], ps[:, :3])
    alpha = structure_alpha(content, style, samples, gen, alpha_blur, features=(fc, fs)) ** alpha_power
    return StructureTeacher(colour, transfer, scale, edges, table, alpha)


def fit_safe_structure_teacher(
    content: list[torch.Tensor], style: list[torch.Tensor], samples: int = 200_000, seed: int = 0,
) -> StructureTeacher:  # fmt: skip
    """The structure teacher with its mix measured on sigma-3 blurred copies and squared:
    textures without a phase any photo predicts (halftone, grain, hatching) stop counting as
    structure, and a weak measure barely moves the colour transport. On 11 fresh random
    looks its pseudo-pairs were within 0.15 dB of the colour transport on every grade
    (halftone included, where the plain mix lost 8-9 dB) and 3.1-3.5 dB above it on every
    drawing (docs/benchmarks.md, "A structure teacher")."""
    return fit_structure_teacher(content, style, samples, seed, alpha_blur=3.0, alpha_power=2.0)


# the pseudo-pair teachers by recipe name (``StyleRecipe.teacher``): fit(content, style, seed=)
TEACHERS: dict[str, Callable[..., Callable[[torch.Tensor], torch.Tensor]]] = {
    "features": fit_feature_transfer, "structure": fit_safe_structure_teacher, "lines": fit_structure_teacher,
}  # fmt: skip


# ---- vignetting: brightness that depends on the position in the frame ------------------
VIGNETTE_RINGS = 12  # rings of the normalised radius the profiles are measured in
VIGNETTE_SIDE = 96  # long side the profiles are measured at


def radius(
    h: int, w: int, device: torch.device | None = None, window: tuple[int, int, int, int] | None = None
) -> torch.Tensor:
    """Normalised distance from the centre of an h x w frame: 0 there, 1 in the corners (the
    frame's own ellipse, so a vignette scales with the picture at any size). -> [h, w], or
    with ``window`` (top, left, rows, cols) that part of it."""
    top, left, rows, cols = window if window is not None else (0, 0, h, w)
    yy = (torch.arange(top, top + rows, device=device, dtype=torch.float32) + 0.5 - h / 2) / (h / 2)
    xx = (torch.arange(left, left + cols, device=device, dtype=torch.float32) + 0.5 - w / 2) / (w / 2)
    return torch.sqrt((yy[:, None] ** 2 + xx[None, :] ** 2) / 2)


def vignette_gain(
    coeffs: tuple[float, float], h: int, w: int, device: torch.device | None = None,
    window: tuple[int, int, int, int] | None = None,
) -> torch.Tensor:  # fmt: skip
    """[h, w] (or ``window``'s part) gain 1 + a r^2 + b r^4 (r = ``radius``), clamped to [0.05, 2]."""
    r2 = radius(h, w, device, window) ** 2
    a, b = coeffs
    return (1 + a * r2 + b * r2 * r2).clamp(0.05, 2.0)


def apply_vignette(
    x: torch.Tensor, coeffs: tuple[float, float], frame: tuple[int, int] | None = None,
    origin: tuple[int, int] = (0, 0), inverse: bool = False,
) -> torch.Tensor:  # fmt: skip
    """[..., 3, H, W] in [-1, 1] with its light ([0, 1] values) scaled by the gain. ``x`` may
    be a window of a larger ``frame`` (h, w) starting at ``origin`` (top, left), as a tile
    is; ``inverse`` divides the gain out instead."""
    if coeffs == (0.0, 0.0):
        return x
    h, w = x.shape[-2:]
    fh, fw = frame if frame is not None else (h, w)
    g = vignette_gain(coeffs, fh, fw, x.device, (origin[0], origin[1], h, w)).to(x.dtype)
    y = x + 1  # the one new tensor; the rest in place
    return (y.div_(g) if inverse else y.mul_(g)).sub_(1).clamp_(-1, 1)


def _ring_profile(images: list[torch.Tensor]) -> torch.Tensor:
    """[RINGS]: each ring's mean brightness over the set, every image normalised by its own
    mean (so the set's subjects and exposure count less than where in the frame light is)."""
    num = torch.zeros(VIGNETTE_RINGS, dtype=torch.float64)
    den = torch.zeros(VIGNETTE_RINGS, dtype=torch.float64)
    for t in images:
        s = VIGNETTE_SIDE / max(t.shape[-2:])
        x = F.interpolate(t[None].float(), scale_factor=min(1.0, s), mode="area", recompute_scale_factor=False)[0]
        lum = ((x + 1) / 2).mean(0).double()
        ring = (radius(*lum.shape) * VIGNETTE_RINGS).long().clamp_max(VIGNETTE_RINGS - 1).flatten()
        lum = lum.flatten() / lum.mean().clamp_min(1e-3)
        num.index_add_(0, ring, lum)
        den += torch.bincount(ring, minlength=VIGNETTE_RINGS).double()
    return num / den.clamp_min(1)


def fit_vignette(
    reference: list[torch.Tensor], style: list[torch.Tensor], quartic: bool = False, darken_only: bool = True
) -> tuple[float, float]:
    """The gain 1 + a r^2 (+ b r^4 with ``quartic``) by which the style set's radial
    brightness profile differs from ``reference``'s (the content photos after the colour
    transport, so that the look's tone curve is not read as a vignette): least squares over
    the rings, normalised at the centre. ``darken_only``: a vignette darkens the frame's
    edges; a profile whose edges are brighter is the sets' subjects, not a look (a = b = 0).
    (0, 0) when the profiles agree."""
    ratio = _ring_profile(style) / _ring_profile(reference).clamp_min(1e-3)
    r2 = ((torch.arange(VIGNETTE_RINGS, dtype=torch.float64) + 0.5) / VIGNETTE_RINGS) ** 2
    cols = [torch.ones_like(r2), r2] + ([r2 * r2] if quartic else [])
    c = torch.linalg.lstsq(torch.stack(cols, 1), ratio[:, None]).solution[:, 0]
    a, b = float(c[1] / c[0]), float(c[2] / c[0]) if quartic else 0.0
    if darken_only and a + b > 0:  # brighter corners
        return 0.0, 0.0
    return a, b


def fit_look_vignette(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> tuple[float, float]:
    """The look's vignette as training measures it: ``fit_vignette`` of the style set against
    the content photos after their (balanced) colour transport onto it, whose own fall-off is
    the photos', so that the look's tone curve is not read as a vignette."""
    start = ColourTable.of_transport(content, style, seed=seed)
    return fit_vignette([start(t) for t in content], style)
