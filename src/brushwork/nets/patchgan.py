"""PatchGAN discriminator (70x70 receptive field with 3 layers), optionally multi-scale."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .registry import register


def _patch_net(ndf: int, n_layers: int, norm: str, sn: bool) -> nn.Sequential:
    def conv(cin: int, cout: int, stride: int) -> nn.Module:
        c = nn.Conv2d(cin, cout, 4, stride, 1)
        return spectral_norm(c) if sn else c

    def normlayer(ch: int) -> list[nn.Module]:
        return [nn.InstanceNorm2d(ch)] if norm == "instance" else []

    layers: list[nn.Module] = [conv(3, ndf, 2), nn.LeakyReLU(0.2, True)]
    ch = ndf
    for i in range(1, n_layers + 1):
        out = ndf * min(2**i, 8)
        stride = 2 if i < n_layers else 1
        layers += [conv(ch, out, stride), *normlayer(out), nn.LeakyReLU(0.2, True)]
        ch = out
    layers.append(conv(ch, 1, 1))
    return nn.Sequential(*layers)


@register("discriminator", "patchgan")
class PatchDiscriminator(nn.Module):
    """Args: ``ndf`` width, ``n_layers`` (3 -> 70 px receptive field), ``norm`` ('instance' or
    'none'), ``spectral`` (spectral norm on every conv), ``scales`` (1 = the crop only;
    2 = also a separate net on a 2x-downsampled view, which sees larger structures)."""

    def __init__(
        self, ndf: int = 64, n_layers: int = 3, norm: str = "instance", spectral: bool = False,
        scales: int = 1,
    ) -> None:  # fmt: skip
        super().__init__()
        if norm not in ("instance", "none"):
            raise ValueError(f"norm must be 'instance' or 'none', not {norm!r}")
        self.nets = nn.ModuleList(_patch_net(ndf, n_layers, norm, spectral) for _ in range(scales))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, net in enumerate(self.nets):
            outs.append(net(x if i == 0 else F.avg_pool2d(x, 2**i)))
        return outs  # one [B, 1, h, w] map of patch scores per scale
