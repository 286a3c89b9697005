"""Sliced Wasserstein distance between sets of local patches (Rabin et al. 2011;
Karras et al. 2018 used a multi-scale version to score GANs).

Used twice: as a training signal (a stable, fast-converging complement to the
adversarial loss that matches the output's local-patch distribution to the style's)
and as a metric that needs no downloaded network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def extract_patches(x: torch.Tensor, size: int, count: int, gen: torch.Generator | None = None) -> torch.Tensor:
    """``count`` random ``size`` x ``size`` patches of [B, C, H, W] -> [count, C*size*size]."""
    b, c, h, w = x.shape
    if h < size or w < size:
        raise ValueError(f"image {h}x{w} is smaller than the {size}px patch")
    dev = x.device
    bi = torch.randint(0, b, (count,), generator=gen, device="cpu").to(dev)
    yi = torch.randint(0, h - size + 1, (count,), generator=gen, device="cpu").to(dev)
    xi = torch.randint(0, w - size + 1, (count,), generator=gen, device="cpu").to(dev)
    off = torch.arange(size, device=dev)
    rows = (yi[:, None] + off[None]).view(count, size, 1)
    cols = (xi[:, None] + off[None]).view(count, 1, size)
    # gather [count, C, size, size] by advanced indexing over batch, rows and cols
    patches = x[bi[:, None, None], :, rows, cols]  # [count, size, size, C]
    return patches.permute(0, 3, 1, 2).reshape(count, -1)


def sliced_wasserstein(
    a: torch.Tensor, b: torch.Tensor, n_proj: int = 64, gen: torch.Generator | None = None
) -> torch.Tensor:
    """SWD between point sets a [N, D] and b [M, D] (M is resampled to N if they differ)."""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"point sets must be [N, D] with equal D, got {tuple(a.shape)}, {tuple(b.shape)}")
    proj = torch.randn(a.shape[1], n_proj, generator=gen, device="cpu").to(a)
    proj = F.normalize(proj, dim=0)
    pa = torch.sort(a.float() @ proj.float(), dim=0).values
    pb = torch.sort(b.float() @ proj.float(), dim=0).values
    if pb.shape[0] != pa.shape[0]:  # compare quantiles when the set sizes differ
        pb = F.interpolate(pb.T[None], size=pa.shape[0], mode="linear", align_corners=True)[0].T
    return (pa - pb).abs().mean()


def patch_swd(
    x: torch.Tensor, y: torch.Tensor, sizes: tuple[int, ...] = (1, 3, 7), scales: int = 3,
    count: int = 2048, n_proj: int = 64, gen: torch.Generator | None = None,
) -> torch.Tensor:  # fmt: skip
    """Multi-scale patch SWD between image batches x and y ([B, 3, H, W], any sizes).

    Patches are compared at each pyramid level (``scales`` halvings) and each patch size;
    patch vectors are centred per patch for sizes > 1 so texture and colour count apart.
    """
    total = torch.zeros((), device=x.device)
    n = 0
    for s in range(scales):
        for size in sizes:
            if min(x.shape[-2:]) < size or min(y.shape[-2:]) < size:
                continue
            px = extract_patches(x, size, count, gen)
            py = extract_patches(y, size, count, gen)
            if size > 1:
                px = px.view(count, 3, -1)
                py = py.view(count, 3, -1)
                px = (px - px.mean(2, keepdim=True)).flatten(1)
                py = (py - py.mean(2, keepdim=True)).flatten(1)
            total = total + sliced_wasserstein(px, py, n_proj, gen)
            n += 1
        if s + 1 < scales:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    if n == 0:
        raise ValueError("images are too small for any patch size")
    return total / n
