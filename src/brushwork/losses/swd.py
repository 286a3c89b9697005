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
    """Up to ``count`` random ``size`` x ``size`` patches of [B, C, H, W] -> [N, C*size*size].

    Patches come from a non-overlapping grid at a random offset, then a random subset:
    every input pixel lands in at most one patch, so the backward pass never adds two
    gradients into one place and training stays bit-reproducible.
    """
    b, c, h, w = x.shape
    if h < size or w < size:
        raise ValueError(f"image {h}x{w} is smaller than the {size}px patch")
    oy = int(torch.randint(0, min(size, h - size + 1), (), generator=gen))
    ox = int(torch.randint(0, min(size, w - size + 1), (), generator=gen))
    gh, gw = (h - oy) // size, (w - ox) // size
    t = x[:, :, oy : oy + gh * size, ox : ox + gw * size]
    t = t.reshape(b, c, gh, size, gw, size).permute(0, 2, 4, 1, 3, 5).reshape(b * gh * gw, c * size * size)
    if t.shape[0] > count:
        t = t[torch.randperm(t.shape[0], generator=gen)[:count].to(x.device)]
    return t


def sliced_wasserstein(
    a: torch.Tensor, b: torch.Tensor, n_proj: int = 64, gen: torch.Generator | None = None
) -> torch.Tensor:
    """SWD between point sets a [N, D] and b [M, D] (M is resampled to N if they differ)."""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"point sets must be [N, D] with equal D, got {tuple(a.shape)}, {tuple(b.shape)}")
    dtype = torch.promote_types(a.dtype, torch.float32)  # never sort in bf16/fp16
    proj = F.normalize(torch.randn(a.shape[1], n_proj, generator=gen, device="cpu"), dim=0).to(a.device, dtype)
    with torch.autocast(a.device.type, enabled=False):
        pa = torch.sort(a.to(dtype) @ proj, dim=0).values
        pb = torch.sort(b.to(dtype) @ proj, dim=0).values
    if pb.shape[0] != pa.shape[0]:  # compare quantiles when the set sizes differ
        pb = F.interpolate(pb.T[None], size=pa.shape[0], mode="linear", align_corners=True)[0].T
    return (pa - pb).abs().mean()


def _patch_points(x: torch.Tensor, size: int, count: int, gen: torch.Generator | None) -> torch.Tensor:
    """``extract_patches``, each patch centred per channel for sizes > 1 (so texture and
    colour count apart)."""
    p = extract_patches(x, size, count, gen)
    if size > 1:
        p = p.view(p.shape[0], x.shape[1], -1)
        p = (p - p.mean(2, keepdim=True)).flatten(1)
    return p


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
            px = _patch_points(x, size, count, gen)
            py = _patch_points(y, size, count, gen)
            total = total + sliced_wasserstein(px, py, n_proj, gen)
            n += 1
        if s + 1 < scales:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    if n == 0:
        raise ValueError("images are too small for any patch size")
    return total / n


def set_patch_swd(
    xs: list[torch.Tensor], ys: list[torch.Tensor], sizes: tuple[int, ...] = (1, 3, 7), scales: int = 3,
    count: int = 512, n_proj: int = 128, seed: int = 0,
) -> float:  # fmt: skip
    """Multi-scale patch SWD between two *sets* of images of any sizes ([3, H, W] each):
    ``count`` patches from every image at each pyramid level and patch size, pooled per set,
    compared as in ``patch_swd``. A metric, not a loss."""
    gen = torch.Generator().manual_seed(seed)

    def pyramid(t: torch.Tensor) -> list[torch.Tensor]:
        levels = [t[None].float()]
        for _ in range(scales - 1):
            levels.append(F.avg_pool2d(levels[-1], 2))
        return levels

    with torch.no_grad():
        pyr_x, pyr_y = [pyramid(t) for t in xs], [pyramid(t) for t in ys]
        total, n = 0.0, 0
        for s in range(scales):
            for size in sizes:
                sets = [
                    [_patch_points(levels[s], size, count, gen) for levels in pyr if min(levels[s].shape[-2:]) >= size]
                    for pyr in (pyr_x, pyr_y)
                ]
                if not sets[0] or not sets[1]:
                    continue
                total += float(sliced_wasserstein(torch.cat(sets[0]), torch.cat(sets[1]), n_proj, gen))
                n += 1
    if n == 0:
        raise ValueError("images are too small for any patch size")
    return total / n
