"""Leaving out, when a style is saved, the stages that change nothing on the user's photos.

Training builds every stage a look might need (lite: the residual convolutions, the
structure stage's smoothing and lines, a screen, grain) and learns how much of each; on a
colour grade most of them end near the identity and would still cost their full time at
every apply. Each stage the generator names (``stages()``, most costly first) is left out in
turn (lite's tone stage is folded into its LUT: one colour lookup where there were two), and
stays out while the style without it, and without every stage left out before it, differs from the full style's output by less than half an 8-bit level in root mean square
(the rounding to 8 bits alone is 0.29) and by less than 2 levels on all but 0.1% of the
values (so a stage that changes few pixels, sparse lines, is not averaged away): every
pixel and channel of crops of the style's own content photos, texture included. Exports and
the Stylizer then run what is left.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .. import nets
from ..data import ImageBank, random_crops

CROPS = 12  # crops of the content photos on which a saved style's stages are measured

RMS_LEVELS = 0.5  # root mean square difference, 8-bit levels
PEAK_LEVELS = 2.0  # at the 99.9th percentile of the absolute difference
QUANTILE = 0.999


@torch.no_grad()
def outputs(g: nn.Module, photos: torch.Tensor) -> torch.Tensor:
    """What ``g`` makes of ``photos`` [N, 3, H, W] in [-1, 1], texture included, float32."""
    g = g.eval()
    return torch.cat([g.texture(g(x[None])).float() for x in photos])


def effect(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(root mean square, ``QUANTILE``) of |a - b| over every value, in 8-bit levels."""
    d = (a - b).abs().flatten() * 127.5
    k = max(1, round(QUANTILE * d.numel()))
    return float(d.square().mean().sqrt()), float(d.kthvalue(k).values)


def rebuild(family: str, kwargs: dict[str, Any], state: dict[str, torch.Tensor]) -> nn.Module:
    """The generator of ``kwargs`` with the weights of ``state`` that it has (a stage left out
    has fewer); every weight it expects must be there."""
    g = nets.create("generator", family, **kwargs)
    wanted = g.state_dict().keys()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise ValueError(f"{family} without a stage expects weights the style lacks: {missing[:4]}")
    g.load_state_dict({k: state[k] for k in wanted})
    return g.eval()


def prune_stages(
    family: str, kwargs: dict[str, Any], g: nn.Module, photos: torch.Tensor
) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:  # fmt: skip
    """-> (generator, its kwargs, report): ``g`` without the stages whose effect on
    ``photos`` is negligible. The report gives, for each stage tried, the difference (root
    mean square, 99.9th percentile; 8-bit levels) of the style without it, and without those
    dropped before it, from the full style, and which were dropped."""
    full = outputs(g, photos)
    report: dict[str, Any] = {"rms_levels": RMS_LEVELS, "peak_levels": PEAK_LEVELS, "dropped": [], "effect": {}}
    for stage in g.stages():
        trial_kw, state = g.without(kwargs, stage)
        trial = rebuild(family, trial_kw, state)
        rms, peak = effect(outputs(trial, photos), full)
        report["effect"][stage] = [round(rms, 3), round(peak, 3)]
        if rms < RMS_LEVELS and peak < PEAK_LEVELS:
            g, kwargs = trial, trial_kw
            report["dropped"].append(stage)
    return g, kwargs, report


def prune_for_save(
    family: str, kwargs: dict[str, Any], g: nn.Module, content: ImageBank, size: int, seed: int
) -> tuple[nn.Module, dict[str, Any], dict[str, Any]]:  # fmt: skip
    """``prune_stages`` on ``CROPS`` crops of ``size`` px of the content photos, drawn from a
    stream of their own (``seed`` + 13): what training does before it saves a style."""
    crops = random_crops(content, CROPS, size, (1.0, 1.0), torch.Generator().manual_seed(seed + 13))
    return prune_stages(family, kwargs, g, crops)
