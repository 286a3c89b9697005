"""Unconditional image GANs: a DCGAN-class convolutional pair (deeper for 128/256 px) and
the textbook multi-layer-perceptron pair, kept as the benchmark's baseline."""

from __future__ import annotations

import math
from typing import Any, Literal, cast

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .registry import register


def _levels(size: int) -> int:
    n = int(math.log2(size)) - 2  # 4x4 -> size
    if 2 ** (n + 2) != size or n < 1:
        raise ValueError(f"image size must be a power of two >= 8, got {size}")
    return n


@register("noise_generator", "dcgan")
class DCGANGenerator(nn.Module):
    """z [B, z_dim] -> image [B, 3, size, size] in [-1, 1]: 4x4 seed, then (upsample, 3x3
    conv, batch norm, ReLU) per doubling; widths halve from ``ngf * 8`` down to ``ngf``.

    ``pad``: how the 3x3 convolutions see past the image's edge. "reflect" (the default):
    zero padding tells every layer where the border is, and the generator learns a dark
    frame from it; reflected edges look like the picture's own (models saved before this
    option existed used "zeros" and keep it). ``upsample``: "bilinear" (the default) or
    "nearest", which repeats each pixel 2x2 and leaves the next convolution a grid to smooth."""

    def __init__(
        self, size: int = 64, z_dim: int = 128, ngf: int = 64, pad: str = "reflect", upsample: str = "bilinear"
    ) -> None:
        super().__init__()
        if pad not in ("reflect", "zeros", "replicate"):
            raise ValueError(f"pad must be reflect, zeros or replicate, got {pad!r}")
        if upsample not in ("bilinear", "nearest"):
            raise ValueError(f"upsample must be bilinear or nearest, got {upsample!r}")
        self.z_dim, self.size = z_dim, size
        mode = cast(Literal["reflect", "zeros", "replicate"], pad)
        n = _levels(size)
        ch = ngf * min(8, 2 ** (n - 1))
        self.seed = nn.Sequential(
            nn.Linear(z_dim, ch * 16), nn.Unflatten(1, (ch, 4, 4)), nn.BatchNorm2d(ch), nn.ReLU(True)
        )
        layers: list[nn.Module] = []
        for i in range(n):
            out = ngf * min(8, 2 ** max(0, n - 2 - i))
            layers += [
                nn.Upsample(scale_factor=2, mode=upsample),
                nn.Conv2d(ch, out, 3, padding=1, padding_mode=mode),
                nn.BatchNorm2d(out),
                nn.ReLU(True),
            ]
            ch = out
        layers += [nn.Conv2d(ch, 3, 3, padding=1, padding_mode=mode), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    @staticmethod
    def upgrade_kwargs(kwargs: dict[str, Any], state_keys: set[str]) -> dict[str, Any]:
        """Models saved before ``pad`` and ``upsample`` existed were zero-padded, nearest-upsampled."""
        return {"pad": "zeros", "upsample": "nearest", **kwargs}

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.seed(z))


@register("image_discriminator", "dcgan")
class DCGANDiscriminator(nn.Module):
    """image -> score [B]: (4x4 stride-2 conv, LeakyReLU) per halving down to 4x4, spectral
    norm on every layer (stable with few images), then a linear read-out."""

    def __init__(self, size: int = 64, ndf: int = 64) -> None:
        super().__init__()
        n = _levels(size)
        layers: list[nn.Module] = []
        ch = 3
        for i in range(n):
            out = ndf * min(8, 2**i)
            layers += [spectral_norm(nn.Conv2d(ch, out, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            ch = out
        self.body = nn.Sequential(*layers, nn.Flatten(), spectral_norm(nn.Linear(ch * 16, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(1)


@register("noise_generator", "mlp")
class MLPGenerator(nn.Module):
    """The textbook generator: z -> hidden -> hidden -> pixels (tanh)."""

    def __init__(self, size: int = 64, z_dim: int = 128, hidden: int = 512) -> None:
        super().__init__()
        self.z_dim, self.size = z_dim, size
        self.body = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.LeakyReLU(0.2, True), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, 3 * size * size), nn.Tanh(),
        )  # fmt: skip

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(-1, 3, self.size, self.size)


@register("image_discriminator", "mlp")
class MLPDiscriminator(nn.Module):
    """The textbook discriminator: pixels -> hidden -> hidden -> score."""

    def __init__(self, size: int = 64, hidden: int = 512) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(3 * size * size, hidden), nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, True), nn.Linear(hidden, 1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(1)
