"""Balancing the two sets' subjects before the colour transport: content pixels weighted so
that both sets show the same mix of image regions (row, brightness rank, texture, region
brightness: covariates a colour look leaves unchanged)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..color import luminance


def sample_count(*sets: list[torch.Tensor], limit: int) -> int:
    """How many pixels to draw from each set: ``limit``, or fewer when the smaller set holds
    fewer pixels (tiny images need no more samples than they have)."""
    have = min(sum(t.numel() // t.shape[-3] for t in s) for s in sets)  # pixels: elements / channels
    return max(1024, min(limit, have))


def pixels(images: list[torch.Tensor], n: int, gen: torch.Generator) -> torch.Tensor:
    """~n random pixels of [C, H, W] images (or [B, C, H, W] batches) -> [n, C] float64."""
    c = images[0].shape[-3]
    flat = [t.reshape(-1, c, t.shape[-2] * t.shape[-1]).permute(1, 0, 2).reshape(c, -1) for t in images]
    per = max(1, n // len(flat))
    out = [f[:, torch.randint(0, f.shape[1], (per,), generator=gen)].T for f in flat]
    return torch.cat(out).double()


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
    return weights_of([balance_covariates(t) for t in content], [balance_covariates(t) for t in style])


def weights_of(content: list[torch.Tensor], style: list[torch.Tensor]) -> list[torch.Tensor]:
    """``balance_weights`` from the images' covariates (``balance_covariates``), computed once
    when the weights are wanted for several subsets of the same images."""
    views = [content, style]
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
    n = sample_count(content, style, limit=samples)
    src = src_all[torch.multinomial(w_all, n, replacement=True, generator=gen)]
    return src.double(), pixels(style, n, gen)
