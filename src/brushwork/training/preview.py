"""An instant preview of a look: where training starts, in seconds, before any step.

The classical start that lite's training begins from, measured from the two sets the way
training measures it but on less (images at 384 px, at most 8 of each set, a quarter of
the colour samples, 40 regression steps for a screen): the balanced set-level colour
transport, the look's vignette, and the texture locked to the frame (screen, grain). Shown
on two of the photos, before and after; the sample grids that training writes then refine
it as it learns.
"""

from __future__ import annotations

import torch
from PIL import Image

from .. import nets
from ..data import ImageBank, evenly
from ..io import tensor_to_pil
from ..look.balance import shrunk
from ..look.screen import fit_screen
from ..look.transport import COLOUR_SMOOTH, ColourTable, fit_colour_transport, idt_table
from ..look.vignette import apply_vignette, fit_vignette

SIDE = 384  # the long side the preview and its measurements work at
IMAGES = 8  # of each set, evenly spaced
SAMPLES = 50_000  # colour samples for the transport (training: 200 000)
SCREEN_STEPS = 40  # the screen's regression steps (training: 200)
SHOWN = 2


@torch.no_grad()
def look_start(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> list[torch.Tensor]:
    """The classical start of the look on the first ``SHOWN`` content photos -> [before,
    after, before, after, ...] ([3, H, W] in [-1, 1], at ``SIDE``)."""
    content, style = (
        [shrunk(t, SIDE) for t in evenly(content, IMAGES)],
        [shrunk(t, SIDE) for t in evenly(style, IMAGES)],
    )
    table = ColourTable(idt_table(fit_colour_transport(content, style, samples=SAMPLES, seed=seed), 17, COLOUR_SMOOTH))
    vignette = fit_vignette([table(t) for t in content], style)
    flat = [apply_vignette(t, vignette, inverse=True) for t in style]  # unchanged where there is none
    screen = [f for pair in fit_screen(content, flat) for f in pair] or None
    g = nets.create("generator", "lite", detail=0.0, screen=screen, grain=True).eval()
    g.lut.start_from(table.table)
    with torch.enable_grad():  # the screen is fitted by regression
        if g.screen is not None:
            g.screen.fit(flat, steps=SCREEN_STEPS, crops=4, seed=seed)
    assert g.grain is not None
    g.grain.fit([g.texture(g(t[None]))[0] for t in content[:SHOWN]], flat)
    out = []
    for t in content[:SHOWN]:
        y = g.texture(g(t[None]))
        out += [t, apply_vignette(y, vignette)[0].clamp(-1, 1)]
    return out


def preview_image(content: ImageBank, style: ImageBank, seed: int = 0) -> Image.Image:
    """Before (left) and after (right), one row per photo."""
    tiles = [tensor_to_pil(t) for t in look_start(content.tensors, style.tensors, seed)]
    w = max(t.width for t in tiles)
    rows = [tiles[i : i + 2] for i in range(0, len(tiles), 2)]
    sheet = Image.new("RGB", (2 * w, sum(max(t.height for t in r) for r in rows)), (255, 255, 255))
    y = 0
    for r in rows:
        for j, t in enumerate(r):
            sheet.paste(t, (j * w, y))
        y += max(t.height for t in r)
    return sheet
