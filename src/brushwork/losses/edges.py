"""Edge statistics: how much fine detail an image set has, independent of its colours.

The distribution (quantiles) of luminance gradient magnitudes at three scales, after each
crop's luminance is normalised to zero mean and unit spread. A painted or drawn look has
more flat regions and fewer fine gradients than a photo; a colour grade has the photo's
own statistics. Because the normalisation removes any affine change of tone, this signal
does not care which colours the style set's subjects have, which is what misled
set-level colour statistics on small unpaired sets (docs/benchmarks.md). It is the
unpaired teacher of `lite`'s smoothing stage.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..color import luminance


def _gradient_magnitude(lum: torch.Tensor) -> torch.Tensor:
    p = F.pad(lum, (1, 1, 1, 1), mode="replicate")
    gx = p[..., 1:-1, 2:] - p[..., 1:-1, :-2]
    gy = p[..., 2:, 1:-1] - p[..., :-2, 1:-1]
    return (gx.square() + gy.square() + 1e-6).sqrt()


def edge_statistics(x: torch.Tensor, scales: tuple[int, ...] = (1, 2, 4), levels: int = 49) -> torch.Tensor:
    """[B, 3, H, W] in [-1, 1] -> [len(scales), levels]: quantiles (2 % to 98 %) of the
    normalised luminance's gradient magnitude over all pixels of the batch, per scale."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images [B, 3, H, W], got shape {tuple(x.shape)}")
    if min(x.shape[-2:]) < 4 * max(scales):
        raise ValueError(f"image {x.shape[-2]}x{x.shape[-1]} is too small for scale {max(scales)}")
    lum = luminance(x.float())
    lum = (lum - lum.mean((2, 3), keepdim=True)) / (lum.std((2, 3), keepdim=True) + 0.05)
    q = torch.linspace(0.02, 0.98, levels, device=x.device)
    out = []
    for s in scales:
        ls = F.avg_pool2d(lum, s) if s > 1 else lum
        out.append(torch.quantile(_gradient_magnitude(ls).flatten(), q))
    return torch.stack(out)


def edge_statistics_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Squared distance between the edge statistics of two image batches (x100: order 1
    between a photo set and a painted one)."""
    return 100 * (edge_statistics(fake) - edge_statistics(real)).square().mean()
