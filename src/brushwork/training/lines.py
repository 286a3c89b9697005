"""Ink lines for styles learned without pairs: chosen after training, by search, not by gradient.

No unpaired loss taught `lite`'s line stage by gradient descent (docs/benchmarks.md): grey,
partly drawn lines match no style, so every smooth statistic tried first got *worse* as
the lines started to form and training left them at zero. Drawn at full strength, lines
are either clearly there in a style or clearly not, so after training the stage's few line
numbers are chosen by a small grid search instead:

* the ink colour is the median colour of the style pixels that are darkest against their
  surroundings (a morphological black-hat, 11 px);
* the lines are drawn in that colour, 3 px thick, along the edges of the smoothed photo,
  and their edge threshold is the one at which the output holds as many ink-coloured
  pixels as the style does (a count, which falls steadily as the threshold rises);
* they are kept only when the style clearly has ink: its colour is among the style's
  darkest quarter of tones (not the mid-grey border of a flat region), the style holds at
  least ``min_ink_ratio`` times as many ink-coloured pixels as the output without lines (a
  colour grade whose darkest tones the output under-represents is a matter for the colour
  stages), and the lines bring the output's patch distribution closer to the style's
  (multi-scale patch SWD, fixed projections, at most ``max_swd_ratio`` of it without).

On the benchmark's four looks and two photo splits (docs/benchmarks.md) the cartoon's ink
ratio was 4.5-39 and its SWD ratio 0.57-0.68; the colour grade and oil had ink ratios of
1.1-2.5 and SWD ratios of 0.84-0.93, charcoal (soft strokes, not ink) SWD ratios of 2.1-3.2,
and none of them got lines.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import nets
from ..color import luminance
from ..losses import patch_swd

LINE_STRENGTH = 1.0  # the 3x3-thickened lines are drawn in the ink colour itself
EDGE_THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)  # Sobel magnitude at the lines' half strength
DARK_QUANTILE = 0.25  # the ink's luminance is at most this quantile of the style's (+0.05)
INK_RADIUS = 0.15  # RGB distance (in [-1, 1]) within which a pixel counts as ink-coloured


def black_hat(lum: torch.Tensor, k: int = 11) -> torch.Tensor:
    """Morphological black-hat (closing minus image) of [B, 1, H, W]: how much darker each
    pixel is than its surroundings, for dark structures narrower than ``k`` pixels."""
    p = k // 2
    closing = -F.max_pool2d(-F.max_pool2d(lum, k, 1, p), k, 1, p)
    return closing - lum


def ink_colour(style: torch.Tensor, top: float = 0.03) -> torch.Tensor:
    """Median colour [3] of the ``top`` fraction of style pixels ([B, 3, H, W]) that are
    darkest against their surroundings."""
    bh = black_hat(luminance(style.float())).flatten()
    pix = style.float().permute(1, 0, 2, 3).reshape(3, -1)
    chosen = pix[:, bh >= torch.quantile(bh, 1 - top)]
    return chosen.median(dim=1).values


def _swd(out: torch.Tensor, style: torch.Tensor, seeds: int = 3) -> float:
    """Patch SWD averaged over ``seeds`` fixed draws of patches and projections."""
    return sum(patch_swd(out, style, gen=torch.Generator().manual_seed(s)).item() for s in range(seeds)) / seeds


def _ink_fraction(x: torch.Tensor, colour: torch.Tensor) -> float:
    return float(((x.float() - colour.view(1, 3, 1, 1)).square().sum(1).sqrt() < INK_RADIUS).float().mean())


@torch.no_grad()
def calibrate_lines(
    g: nn.Module, content: torch.Tensor, style: torch.Tensor, *, max_swd_ratio: float = 0.8,
    min_ink_ratio: float = 3.0,
) -> dict[str, Any]:  # fmt: skip
    """Choose the line stage's numbers of ``g`` (a `lite` generator with a structure stage
    that draws lines) for content crops ``content`` against style crops ``style`` (both
    [B, 3, H, W] in [-1, 1]); set them in place and return what was measured and chosen.
    With no lines chosen, the stage's line strengths are zero (its output is unchanged)."""
    st = getattr(g, "structure", None)
    if st is None or not st.has_lines:
        raise ValueError("line calibration needs a lite generator whose structure stage draws lines")
    colour = ink_colour(style)
    st.ink.zero_()
    st.ink_colour.copy_(colour)
    plain = g.colour(content)
    style_ink = _ink_fraction(style, colour)
    ink_ratio = style_ink / max(_ink_fraction(plain, colour), 1e-4)
    # ink is among the style's darkest quarter of tones (not the mid-grey border of a flat region)
    dark_tones = torch.quantile(luminance(style.float()).flatten(), DARK_QUANTILE).item()
    dark = luminance(colour.view(1, 3, 1, 1)).item() <= dark_tones + 0.05
    # the threshold that draws as much ink as the style holds
    st.ink.copy_(torch.tensor([0.0, LINE_STRENGTH]))
    best: tuple[float, float, torch.Tensor] | None = None  # (ink-count gap, threshold, output)
    for at in EDGE_THRESHOLDS:
        st.edge_at.fill_(at)
        out = g.colour(content)
        gap = abs(_ink_fraction(out, colour) - style_ink)
        if best is None or gap < best[0]:
            best = (gap, at, out)
    assert best is not None
    _, at, lined = best
    st.edge_at.fill_(at)
    swd_ratio = _swd(lined, style) / _swd(plain, style)
    drawn = dark and ink_ratio >= min_ink_ratio and swd_ratio <= max_swd_ratio
    if not drawn:
        st.ink.zero_()
    return {
        "drawn": drawn, "strength": LINE_STRENGTH if drawn else 0.0, "edge_at": at,
        "colour": [round(v, 4) for v in colour.tolist()], "ink_is_dark": dark, "swd_ratio": round(swd_ratio, 4),
        "ink_ratio": round(ink_ratio, 3),
    }  # fmt: skip


def add_lines(
    g: nn.Module, kwargs: dict[str, Any], content: torch.Tensor, style: torch.Tensor
) -> tuple[nn.Module, dict[str, Any], dict[str, Any] | None]:
    """A trained `lite` generator ``g`` (built with ``kwargs``, smoothing only) -> the generator
    to save, its kwargs and the calibration's report. Where lines are chosen, that is a copy
    with a line-drawing stage; otherwise ``g`` itself, unchanged. A generator without a
    structure stage is returned as it is, with no report."""
    if not kwargs.get("structure"):
        return g, kwargs, None
    kw = {**kwargs, "lines": True}
    lined = nets.create("generator", "lite", **kw)
    lined.load_state_dict(g.state_dict(), strict=False)  # the line numbers are new
    lined.eval().requires_grad_(False)
    report = calibrate_lines(lined, content, style)
    return (lined, kw, report) if report["drawn"] else (g, kwargs, report)
