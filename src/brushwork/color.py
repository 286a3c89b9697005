"""Colour-space helpers on tensors in [-1, 1] (sRGB) and CIE Lab (D65)."""

from __future__ import annotations

import torch

_RGB2XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754])


def _srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c > 0.04045, ((c + 0.055) / 1.055).clamp_min(1e-8) ** 2.4, c / 12.92)


def _linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c > 0.0031308, 1.055 * c.clamp_min(1e-8) ** (1 / 2.4) - 0.055, 12.92 * c)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] sRGB in [-1, 1] -> Lab (L in 0..100)."""
    rgb = _srgb_to_linear(((x + 1) / 2).clamp(0, 1))
    xyz = torch.einsum("ij,bjhw->bihw", _RGB2XYZ.to(x), rgb) / _WHITE.to(x).view(1, 3, 1, 1)
    eps = 216 / 24389
    f = torch.where(xyz > eps, xyz.clamp_min(1e-8) ** (1 / 3), (24389 / 27 * xyz + 16) / 116)
    L = 116 * f[:, 1] - 16
    a = 500 * (f[:, 0] - f[:, 1])
    b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([L, a, b], 1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> [B, 3, H, W] sRGB in [-1, 1] (clamped to the gamut)."""
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    fy = (L + 16) / 116
    fx = fy + a / 500
    fz = fy - b / 200
    f = torch.stack([fx, fy, fz], 1)
    eps = 6 / 29
    xyz = torch.where(f > eps, f**3, 3 * eps**2 * (f - 4 / 29)) * _WHITE.to(lab).view(1, 3, 1, 1)
    rgb = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB2XYZ).to(lab), xyz)
    return _linear_to_srgb(rgb.clamp(0, 1)).clamp(0, 1) * 2 - 1


def luminance(x: torch.Tensor) -> torch.Tensor:
    """Rec. 601 luma of [B, 3, H, W] -> [B, 1, H, W] (same range as the input)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)
