"""Which generator learns a style set (``--generator auto``, the default): measured from the sets.

Two kinds of look need two kinds of network. Where the style's colour follows the photo's
colour (a grade, flat colour, ink or a printed screen over a photo), ``lite`` starts at the
set-level colour transport and keeps the photo's detail: the painter, whose pretrained network
repaints every pixel, was 1-5 dB below it on every colour grade measured. Where the style's
colour follows the picture's local structure instead (a drawing: paper wherever the picture is
flat, pencil wherever it has an edge, whatever the photo's colour there), the ``painter`` draws
the lines that lite's teacher leaves pale: as good in blurred PSNR and half the style distance
on fresh random drawings (docs/benchmarks.md, "Choosing the generator").

The measure is the structure teacher's: how much more of the style images' colour variance
their local structure explains than of the photos' (``colortransfer.structure_alpha``), read
on the style images as training sees them, with their vignette divided out (a fall-off over
the frame is colour that no local structure explains) and their screen taken out (halftone
dots and hatching are structure whose colour the style's own features predict, but no photo
places them: lite's screen stage draws those). Painter when structure explains more than half of it: the look is drawn rather
than graded. On fresh random looks the measure was 0.78-0.80 on every drawing and at most
0.33 on every other look (docs/benchmarks.md), so the rule does not hang on where between
them the line is drawn.
"""

from __future__ import annotations

from typing import Any

import torch

from ..colortransfer import ColourTable, apply_vignette, fit_vignette, structure_alpha
from ..nets.lite import Screen
from ..screens import GRAIN_IMAGES, evenly, fit_screen

DRAWN = 0.5  # structure explains more than half of the style's colour: a drawn look
SAMPLES = 200_000  # pixels the measure reads from each set


def descreened(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> list[torch.Tensor]:
    """The style images ([3, H, W] in [-1, 1]) with the screen that lite would fit to them
    (``screens.fit_screen``, ``nets.lite.Screen.fit``) taken out; unchanged when the images
    are too small to measure one."""
    freqs = fit_screen(content, style)
    if not freqs:
        return style
    screen = Screen([f for pair in freqs for f in pair])
    screen.fit(style, seed=seed)
    return [(t.float() - screen.texture_of(t)).clamp(-1, 1) for t in style]


def devignetted(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> list[torch.Tensor]:
    """The style images with the vignette that training fits (``colortransfer.fit_vignette``,
    against the content photos' colour transport) divided out; unchanged when there is none."""
    start = ColourTable.of_transport(content, style, seed=seed)
    vignette = fit_vignette([start(t) for t in content], style)
    if vignette == (0.0, 0.0):
        return style
    return [apply_vignette(t, vignette, inverse=True) for t in style]


def drawn_share(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> float:
    """How much more of the style's colour local structure explains than of the photos'
    (0: colour follows colour, 1: colour follows structure alone), on the style images with
    their vignette and screen taken out; at most ``GRAIN_IMAGES`` of each set are read
    (evenly spaced)."""
    content, style = evenly(content, GRAIN_IMAGES), evenly(style, GRAIN_IMAGES)
    style = devignetted(content, style, seed)
    gen = torch.Generator().manual_seed(seed)
    return structure_alpha(content, descreened(content, style, seed), SAMPLES, gen)


def choose_generator(
    content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0
) -> tuple[str, dict[str, Any]]:
    """-> (generator name, the evidence for the training summary)."""
    share = drawn_share(content, style, seed)
    name = "painter" if share > DRAWN else "lite"
    why = (
        f"local structure explains {share:.2f} of the style's colour beyond the photos' "
        f"({'more' if share > DRAWN else 'no more'} than {DRAWN}: "
        f"{'a drawn look' if share > DRAWN else 'colour follows colour'})"
    )
    return name, {
        "generator": name,
        "drawn_share": round(share, 4),
        "rule": f"painter if drawn_share > {DRAWN}",
        "why": why,
    }


def resolve_generator(
    content: list[torch.Tensor], style: list[torch.Tensor], paired: bool, seed: int = 0
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """``--generator auto``: lite when before/after pairs are given (real pairs are its
    recipe's most direct signal), else ``choose_generator``."""
    if paired:
        return "lite", {"generator": "lite", "why": "before/after pairs are learned by lite"}
    return choose_generator(content, style, seed)
