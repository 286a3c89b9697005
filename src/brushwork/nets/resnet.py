"""`resnet`: the CycleGAN-class generator (9 residual blocks, ~11 M parameters), for GPUs."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .contract import StyleGenerator
from .registry import register


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.InstanceNorm2d(ch), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.InstanceNorm2d(ch),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register("generator", "resnet")
class ResnetGenerator(StyleGenerator):
    """c7s1-64, d128, d256, 9 x R256, u128, u64, c7s1-3 with tanh (Zhu et al. 2017)."""

    bytes_per_pixel = 2600  # approximate peak activation bytes per pixel (float32), for the tile planner
    shared_norm = True  # instance norm: tiles share one set of statistics

    @classmethod
    def recipe_defaults(
        cls, paired: bool, teacher: str, small_set: bool, drawn: bool = False, single: bool = False
    ) -> dict[str, Any]:
        return {"d_ndf": 64}  # the GPU-class setting: CycleGAN's and CUT's own discriminator

    def __init__(self, ngf: int = 64, n_blocks: int = 9) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True),
        ]  # fmt: skip
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, 2 * ch, 3, 2, 1), nn.InstanceNorm2d(2 * ch), nn.ReLU(True)]
            ch *= 2
        layers += [_ResBlock(ch) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1),
                nn.InstanceNorm2d(ch // 2), nn.ReLU(True),
            ]  # fmt: skip
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        # PatchNCE taps, as in CUT: input, first conv, both downsamplings, middle block.
        self._taps = [0, 4, 7, 10, 10 + n_blocks // 2]
        self._channels = [3, ngf, 2 * ngf, 4 * ngf, 4 * ngf]

    align = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # the stride-2 path needs sides divisible by 4: pad by reflection, crop back after.
        x = nn.functional.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
        return self.model(x)[..., :h, :w]

    def nce_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats, h = [], x
        last = max(self._taps)
        for i, layer in enumerate(self.model):
            if i in self._taps:
                feats.append(h)
            if i == last:
                break
            h = layer(h)
        return feats

    def nce_channels(self) -> list[int]:
        return list(self._channels)
