"""Set-level colour transfer, used to start the colour LUT from a good guess.

Iterative distribution transfer (Pitié et al. 2005) in Lab: the pooled pixel colours of
the content photos are moved, one rotated axis at a time, onto the pooled colours of the
style images by 1D optimal transport (quantile matching). The same sequence of 1D maps is
applied to the points of a LUT grid, so the result is a colour function that every photo
shares (a "look"), not a per-image normalisation: a photo that is darker than the others
stays darker.
"""

from __future__ import annotations

import torch

from .color import lab_to_rgb, rgb_to_lab

_LAB_SCALE = torch.tensor([100.0, 128.0, 128.0])


def _pixels(images: list[torch.Tensor], n: int, gen: torch.Generator) -> torch.Tensor:
    """~n random pixels from [3, H, W] images in [-1, 1], in scaled Lab -> [n, 3]."""
    per = max(1, n // len(images))
    out = []
    for t in images:
        flat = t.reshape(3, -1)
        idx = torch.randint(0, flat.shape[1], (per,), generator=gen)
        out.append(flat[:, idx].T)
    rgb = torch.cat(out).T[None, :, :, None]  # [1, 3, N, 1]
    return rgb_to_lab(rgb)[0, :, :, 0].T / _LAB_SCALE


def apply_curve(v: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Piecewise-linear curve through knots ``xs`` -> ``ys`` ([K], ``xs`` non-decreasing) at
    ``v``; held at the end knots beyond them. Knot i is moved by ``i * eps`` so the knots
    strictly increase (tied quantiles of flat regions)."""
    xs = xs + torch.arange(len(xs), dtype=xs.dtype) * eps
    idx = torch.searchsorted(xs, v.contiguous()).clamp(1, len(xs) - 1)
    x0, x1, y0, y1 = xs[idx - 1], xs[idx], ys[idx - 1], ys[idx]
    return y0 + ((v - x0) / (x1 - x0)).clamp(0, 1) * (y1 - y0)


def _quantile_map(src: torch.Tensor, dst: torch.Tensor, values: torch.Tensor, q: int = 256) -> torch.Tensor:
    """Monotone 1D map taking the distribution of ``src`` onto ``dst``, applied to ``values``."""
    qs = torch.linspace(0, 1, q, dtype=src.dtype)
    return apply_curve(values, torch.quantile(src, qs), torch.quantile(dst, qs), eps=1e-9)


def transfer_lut(
    content: list[torch.Tensor], style: list[torch.Tensor], size: int, iterations: int = 1,
    samples: int = 200_000, seed: int = 0,
) -> torch.Tensor:  # fmt: skip
    """A [1, 3, S, S, S] LUT (in the layout of ``nets.lite.ColorLUT``) that maps the content
    set's colours onto the style set's. ``iterations`` = 1 matches L, a and b separately;
    more iterations use random rotations and match the full 3D distribution."""
    gen = torch.Generator().manual_seed(seed)
    src = _pixels(content, samples, gen).double()
    dst = _pixels(style, samples, gen).double()
    ramp = torch.linspace(-1, 1, size)
    b, g, r = torch.meshgrid(ramp, ramp, ramp, indexing="ij")
    grid_rgb = torch.stack([r, g, b]).reshape(1, 3, -1, 1)
    grid = (rgb_to_lab(grid_rgb)[0, :, :, 0].T / _LAB_SCALE).double()  # [S^3, 3]
    for it in range(iterations):
        if it == 0:
            rot = torch.eye(3, dtype=torch.float64)  # Lab's own axes first
        else:
            rot, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
        ps, pd, pg = src @ rot, dst @ rot, grid @ rot
        for k in range(3):
            new_s = _quantile_map(ps[:, k], pd[:, k], ps[:, k])
            pg[:, k] = _quantile_map(ps[:, k], pd[:, k], pg[:, k])
            ps[:, k] = new_s
        src, grid = ps @ rot.T, pg @ rot.T
    lab = (grid.float() * _LAB_SCALE).T.reshape(1, 3, -1, 1)
    rgb = lab_to_rgb(lab)[0, :, :, 0]  # [3, S^3] in [-1, 1]
    return rgb.reshape(1, 3, size, size, size)
