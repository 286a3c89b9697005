"""Which generator learns a style set (``--generator auto``, the default): measured from the sets.

Two kinds of look need two kinds of network. Where the style's colour follows the photo's
colour (a grade, flat colour, ink or a printed screen over a photo), ``lite`` starts at the
set-level colour transport and keeps the photo's detail: the painter, whose pretrained network
repaints every pixel, was 1-5 dB below it on every colour grade measured. Where the style's
colour follows the picture's local structure instead (a drawing: paper wherever the picture is
flat, pencil wherever it has an edge, whatever the photo's colour there), the ``painter`` draws
the lines that lite's teacher leaves pale: as good in blurred PSNR and half the style distance
on fresh random drawings (docs/benchmarks.md, with the history in git).

The measure is the structure teacher's: how much more of the style images' colour variance
their local structure explains than of the photos' (``look.teacher.structure_alpha``). It is
read on the style images as training sees them, with their vignette divided out (a fall-off
over the frame is colour that no local structure explains) and their screen taken out
(halftone dots and hatching are structure whose colour the style's own features predict, but
no photo places them, and lite's screen stage draws them: the whole lattice of the screen's
waves, built from its four strongest peaks, is notched out of the spectra, since binary dots
put power on every harmonic), and on both sets blurred by 1.5 px, at the scale of the picture
rather than of a pixel's texture (hatching only in the shadows, grain). Painter when structure explains more than half of the
style's colour: the look is drawn rather than graded. Misrouting a drawing to lite costs style
distance but little else (lite's drawings are as good in blurred PSNR); misrouting a grade to
the painter costs 3-5 dB, so the measure errs towards lite: on 44 fresh random looks it read
0.58-0.70 on every drawing and at most 0.18 on every other look, 20 textured grades included
(docs/benchmarks.md, with the history in git).

A painting's colour follows colour too (Van Gogh reads 0.00), but its strokes are texture that
lite, which keeps the photo's detail, has no way to make; the painter paints them. The second
measure (``stroke_excess``) finds them: the texture in the flattest parts of the style images,
4 px and coarser, against what lite's start (the colour transport and the grain lite fits)
leaves there, with a robust spread per block so that the steps of flat colour do not count.
Grades, grain, flat colour, ink and printed screens read about 1 (0.14-1.43 on 57 fresh random
looks that do not draw); brush strokes cover even a painting's sky and read over 2 (the
built-in Van Gogh set 2.32-2.56, Monet, Degas, Munch). Painter when either measure says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..data import evenly
from .grain import GRAIN_IMAGES, fit_grain, grain_field, noise_floor
from .screen import fit_screen, notch_screen
from .teacher import structure_alpha
from .transport import ColourTable
from .vignette import apply_vignette, fit_look_vignette

DRAWN = 0.5  # structure explains more than half of the style's colour: a drawn look
BLUR = 1.5  # px: the sets are read at the scale of the picture, not of a pixel's texture
SAMPLES = 200_000  # pixels the measure reads from each set
STROKES = 2.0  # the style's flattest parts carry over twice the texture of lite's start: strokes
STROKE_SCALE = 4  # px: strokes are read 4 times coarser than a pixel (grain is finer)
# peaks of the screen notched out before both measures: a halftone's two directions and a
# harmonic of each. With lite's 3 (look.screen.SCREEN_FREQS), a screen whose second direction showed its harmonic first
# was notched on half its lattice and its dots read as brush strokes
NOTCH_PEAKS = 4


def descreened(content: list[torch.Tensor], style: list[torch.Tensor]) -> list[torch.Tensor]:
    """The style images ([3, H, W] in [-1, 1]) with their screen (``look.screen.fit_screen``,
    ``NOTCH_PEAKS`` peaks) notched out of their spectra (``look.screen.notch_screen``);
    unchanged when the images are too small to measure one."""
    return notch_screen(style, fit_screen(content, style, k=NOTCH_PEAKS))


def devignetted(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> list[torch.Tensor]:
    """The style images with the vignette that training fits (``look.vignette.fit_vignette``,
    against the content photos' colour transport) divided out; unchanged when there is none."""
    vignette = fit_look_vignette(content, style, seed)
    if vignette == (0.0, 0.0):
        return style
    return [apply_vignette(t, vignette, inverse=True) for t in style]


def cleaned(
    content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:  # fmt: skip
    """The sets as both measures read them: at most ``GRAIN_IMAGES`` of each (evenly spaced),
    the style images with their vignette divided out and their screen notched out."""
    content, style = evenly(content, GRAIN_IMAGES), evenly(style, GRAIN_IMAGES)
    return content, descreened(content, devignetted(content, style, seed))


def stroke_excess(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> float:
    """How much more texture the flattest parts of the style images carry than those of lite's
    start (the colour transport, plus the grain lite fits, applied to the photos), read
    ``STROKE_SCALE`` times coarser than a pixel: the ratio of the two sets' robust noise floors
    (``look.grain.noise_floor``: a block's median absolute high pass, so a step between flat
    colours that crosses a block does not count, texture that covers it does). About 1 for a
    grade or grain, below 1 for flat colour or a smoothed look, over 2 for brush strokes,
    which cover even a painting's sky. Read on the sets as ``cleaned`` gives them."""
    return _stroke_excess(*cleaned(content, style, seed), seed)


def _stroke_excess(content: list[torch.Tensor], style: list[torch.Tensor], seed: int) -> float:
    # a texture measure: how far the colours moved does not enter it (no bootstrap spent on it)
    table = ColourTable.of_transport(content, style, seed=seed, shrink=False)
    start = [table(t) for t in content]
    amount = fit_grain(start, style)
    if amount:
        start = [(t + amount * grain_field(*t.shape[-2:])[None]).clamp(-1, 1) for t in start]
    ours = noise_floor(start, STROKE_SCALE, robust=True)
    theirs = noise_floor(style, STROKE_SCALE, robust=True)
    return theirs / max(ours, 1e-4)


def drawn_share(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> float:
    """How much more of the style's colour local structure explains than of the photos'
    (0: colour follows colour, 1: colour follows structure alone), on the sets as ``cleaned``
    gives them, both blurred by ``BLUR``."""
    return _drawn_share(*cleaned(content, style, seed), seed)


def _drawn_share(content: list[torch.Tensor], style: list[torch.Tensor], seed: int) -> float:
    return structure_alpha(content, style, SAMPLES, torch.Generator().manual_seed(seed), blur=BLUR)


def choose_generator(
    content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0
) -> tuple[str, dict[str, Any]]:
    """-> (generator name, the evidence for the training summary). The sets are cleaned once
    for both measures."""
    content, style = cleaned(content, style, seed)
    share = _drawn_share(content, style, seed)
    strokes = _stroke_excess(content, style, seed)
    drawn, stroked = share > DRAWN, strokes > STROKES
    name = "painter" if drawn or stroked else "lite"
    why = (
        f"local structure explains {share:.2f} of the style's colour beyond the photos' "
        f"({'more' if drawn else 'no more'} than {DRAWN}"
        f"{': a drawn look' if drawn else ''}); its flattest parts carry {strokes:.2f}x the "
        f"texture of the colour transport's ({'more' if stroked else 'no more'} than {STROKES}x"
        f"{': brush strokes' if stroked else ''})"
    )
    if name == "lite":
        why += (
            ": colour follows colour; for strokes the set does not show, use --generator painter; "
            "for dark outlines, --set lines=always"
        )
    return name, {
        "generator": name,
        "drawn": drawn,
        "drawn_share": round(share, 4),
        "stroke_excess": round(strokes, 4),
        "rule": f"painter if drawn_share > {DRAWN} or stroke_excess > {STROKES}",
        "why": why,
    }


def resolve_generator(
    content: list[torch.Tensor], style: list[torch.Tensor], paired: bool, seed: int = 0,
    recipe: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """``--generator auto``: lite when before/after pairs are given (real pairs are its
    recipe's most direct signal) or the ``recipe`` overrides ask for ink outlines
    (lines=always: lite's line stage draws them), else ``choose_generator``."""
    if paired:
        return "lite", {"generator": "lite", "why": "before/after pairs are learned by lite"}
    if (recipe or {}).get("lines") == "always":
        return "lite", {"generator": "lite", "why": "ink lines were asked for (lines=always), which lite draws"}
    return choose_generator(content, style, seed)
