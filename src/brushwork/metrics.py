"""Image-quality metrics: PSNR and SSIM on tensors in [0, 1]."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """PSNR in dB between [.., H, W] tensors in [0, 1]."""
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    mse = F.mse_loss(x.double(), y.double()).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean SSIM (Gaussian window, sigma 1.5) over channels of [B, C, H, W] in [0, 1]."""
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    x, y = x.double(), y.double()
    c = x.shape[1]
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    g = (g / g.sum()).view(1, 1, 1, 11).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        t = F.conv2d(t, g, groups=c)
        return F.conv2d(t, g.transpose(2, 3), groups=c)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean().item()


def swd_distance(fake: torch.Tensor, real: torch.Tensor, seed: int = 0) -> float:
    """Multi-scale patch sliced-Wasserstein distance between image sets ([N, 3, H, W] in
    [-1, 1]); lower is closer. 7x7 patches at every pyramid level down to 16 px, with a
    fixed seed so two models are compared on the same projections. Reported x 1000."""
    from .losses.swd import patch_swd

    scales = max(1, int(math.log2(min(fake.shape[-1], real.shape[-1]) // 16)) + 1)
    with torch.no_grad():
        d = patch_swd(
            fake.float(),
            real.float(),
            sizes=(7,),
            scales=scales,
            count=8192,
            n_proj=128,
            gen=torch.Generator().manual_seed(seed),
        )
    return d.item() * 1000


def nearest_distances(samples: torch.Tensor, train: torch.Tensor, side: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, the RMS distance to its nearest training image (both downscaled to
    ``side`` px) and that image's index -> ([N], [N])."""
    a = F.interpolate(samples.float(), size=(side, side), mode="area").flatten(1)
    b = F.interpolate(train.float(), size=(side, side), mode="area").flatten(1)
    d = torch.cdist(a, b) / math.sqrt(a.shape[1])
    best, idx = d.min(1)
    return best, idx
