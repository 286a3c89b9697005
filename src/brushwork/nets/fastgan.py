"""A FastGAN-class pair for few images (after Liu et al. 2021, "Towards faster and stabilized
GAN training for high-fidelity few-shot image synthesis"), written for CPUs:

* the generator upsamples bilinearly then convolves (reflect-padded 3x3, gated linear units),
  and a low-resolution feature map gates the channels of one 8x finer (skip-layer excitation:
  the coarse layout switches the fine textures on and off, a short path for gradients);
* the discriminator, besides its patch scores, decodes the image back from its own 8x8
  features, and a random quarter of the image from the matching quarter of its 16x16
  features (``reconstruction_loss``, on real images): a self-supervised task that makes it
  describe the images instead of memorising a few of them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .registry import register


def _width(res: int, base: int) -> int:
    """Channels at a resolution: ``base * 8`` at 4 px, halving per doubling, at least 8."""
    return max(8, base * 8 * 4 // res)


class _Up(nn.Module):
    """x2 bilinear, 3x3 reflect-padded convolution to 2*out channels, batch norm, GLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 2, 3, padding=1, padding_mode="reflect", bias=False)
        self.norm = nn.BatchNorm2d(cout * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return F.glu(self.norm(self.conv(x)), dim=1)


class _Excite(nn.Module):
    """Skip-layer excitation: per-channel gates for a fine map from a coarse one."""

    def __init__(self, c_low: int, c_high: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_low, c_high, 4), nn.LeakyReLU(0.1), nn.Conv2d(c_high, c_high, 1),
            nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.body(low)


def _levels(size: int) -> list[int]:
    n = int(math.log2(size))
    if 2**n != size or size < 16:
        raise ValueError(f"image size must be a power of two >= 16, got {size}")
    return [2**k for k in range(3, n + 1)]  # 8 .. size


@register("noise_generator", "fastgan")
class FastGANGenerator(nn.Module):
    """z [B, z_dim] -> image [B, 3, size, size] in [-1, 1]: a 4x4 seed, one ``_Up`` per
    doubling, skip-layer excitation into every map of 32 px and finer from the map 8x
    coarser, and a 3x3 reflect-padded convolution to RGB."""

    def __init__(self, size: int = 64, z_dim: int = 128, ngf: int = 64) -> None:
        super().__init__()
        self.z_dim, self.size = z_dim, size
        c4 = _width(4, ngf)
        self.seed = nn.Sequential(nn.Linear(z_dim, c4 * 2 * 16), nn.Unflatten(1, (c4 * 2, 4, 4)),
                                  nn.BatchNorm2d(c4 * 2), nn.GLU(dim=1))  # fmt: skip
        self.res = _levels(size)
        self.ups = nn.ModuleList(_Up(_width(r // 2, ngf), _width(r, ngf)) for r in self.res)
        self.excite = nn.ModuleDict({str(r): _Excite(_width(r // 8, ngf), _width(r, ngf)) for r in self.res if r >= 32})
        self.to_rgb = nn.Conv2d(_width(size, ngf), 3, 3, padding=1, padding_mode="reflect")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.seed(z)
        maps = {4: x}
        for r, up in zip(self.res, self.ups, strict=True):
            x = up(x)
            if str(r) in self.excite:
                x = self.excite[str(r)](maps[r // 8], x)
            maps[r] = x
        return torch.tanh(self.to_rgb(x))


def _down(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2, True))


class _Decoder(nn.Module):
    """8x8 features -> a 64x64 image (or ``out`` px): three ``_Up`` steps and a 3x3 conv."""

    def __init__(self, cin: int, out: int = 64) -> None:
        super().__init__()
        ups: list[nn.Module] = []
        res, c = 8, cin
        while res < out:
            ups.append(_Up(c, max(16, c // 2)))
            c, res = max(16, c // 2), res * 2
        self.body = nn.Sequential(*ups, nn.Conv2d(c, 3, 3, padding=1, padding_mode="reflect"), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@register("image_discriminator", "fastgan")
class FastGANDiscriminator(nn.Module):
    """image -> patch scores [B, 25]: spectral-normed 4x4 stride-2 convolutions down to 8x8,
    then a 4x4 convolution to 5x5 scores. ``reconstruction_loss`` is its self-supervised task."""

    def __init__(self, size: int = 64, ndf: int = 64) -> None:
        super().__init__()
        res = _levels(size)[::-1][:-1]  # size .. 16: each halves
        self.size = size
        self.recon_side = min(64, size)
        blocks, c = [], 3
        for r in res:
            out = _width(r // 2, ndf)
            blocks.append(_down(c, out))
            c = out
        self.blocks = nn.ModuleList(blocks)
        self.c16 = _width(16, ndf) if size > 16 else 3
        self.c8 = c
        self.score = spectral_norm(nn.Conv2d(c, 1, 4))
        self.decode_whole = _Decoder(self.c8, self.recon_side)
        self.decode_part = _Decoder(self.c16, self.recon_side)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f16 = x
        for b in self.blocks:
            x = b(x)
            if x.shape[-1] == 16:
                f16 = x
        return f16, x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self._features(x)[1]).flatten(1)

    def reconstruction_loss(self, real: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """L1 between real images and what the decoders make of this discriminator's features:
        the whole image from the 8x8 map, a random quarter (drawn from ``gen``) from the
        matching 8x8 quarter of the 16x16 map, both at up to 64 px."""
        f16, f8 = self._features(real)
        side = self.recon_side
        whole = F.interpolate(real, size=(side, side), mode="area")
        loss = F.l1_loss(self.decode_whole(f8).float(), whole.float())
        q = int(torch.randint(0, 4, (1,), generator=gen))
        top, left = q // 2, q % 2
        part_f = f16[..., top * 8 : top * 8 + 8, left * 8 : left * 8 + 8]
        h = real.shape[-1] // 2
        part = F.interpolate(real[..., top * h : top * h + h, left * h : left * h + h], size=(side, side), mode="area")
        return loss + F.l1_loss(self.decode_part(part_f).float(), part.float())
