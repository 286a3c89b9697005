"""What one training run measures from the two sets, once: ``LookFit``.

The frame's vignette (fitted against the content photos' colour transport), the style images
with it divided out, a printed screen's frequencies, the colour transport from the content
photos to those style images (the generator's colour start) and the teacher's pseudo-pair
targets, which reuse that transport. The training run reads the start, the targets and the
texture from it, and the saved style its vignette; nothing is fitted twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .screen import fit_screen
from .teacher import TEACHERS
from .transport import DistributionTransfer, fit_colour_transport
from .vignette import apply_vignette, fit_look_vignette


@dataclass
class LookFit:
    vignette: tuple[float, float]  # gain 1 + a r^2 + b r^4 over the frame; (0, 0): none
    style: list[torch.Tensor]  # the style images with the vignette divided out
    screen: list[float] | None  # the screen's frequencies as fy, fx, fy, fx, ...; None: none
    transport: DistributionTransfer | None  # content photos -> ``style``, if the start asks for it
    targets: list[torch.Tensor] | None  # the teacher's stylized content photos (pseudo-pairs)


def fit_look(
    content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0, *, vignette: bool = True,
    screen: bool = True, transport: bool = True, teacher: str = "", shrink: bool = True,
) -> LookFit:  # fmt: skip
    """Measure the look between ``content`` and ``style`` ([3, H, W] in [-1, 1]) for a run
    of ``seed``: each part only where asked (the recipe's ``vignette``, ``screen``,
    ``colour_start == "transport"`` and ``teacher``); ``shrink``: the colour transport shrunk
    by its sampling noise (``fit_colour_transport``). Deterministic."""
    coeffs = fit_look_vignette(content, style, seed=seed) if vignette else (0.0, 0.0)
    if coeffs != (0.0, 0.0):
        style = [apply_vignette(t, coeffs, inverse=True) for t in style]
    # none on images too small to measure
    freqs = ([f for pair in fit_screen(content, style) for f in pair] or None) if screen else None
    moved = fit_colour_transport(content, style, seed=seed, shrink=shrink) if transport or teacher else None
    targets = None
    if teacher:
        fitted = TEACHERS[teacher](content, style, seed=seed, transport=moved)
        targets = [fitted(t[None])[0] for t in content]
    return LookFit(coeffs, style, freqs, moved if transport else None, targets)
