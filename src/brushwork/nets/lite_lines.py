"""`lite`'s finalize step: ink lines for styles learned without pairs, chosen after
training by search, not by gradient (``LiteGenerator.finalize``).

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
  stages), at least ``MIN_THIN_INK`` of the style's ink-coloured pixels lie on thin
  structures (``thin_ink`` below: outlines, not a posterised look's black shadow regions),
  and the lines bring the output's patch distribution closer to the style's (multi-scale
  patch SWD, fixed projections, at most ``max_swd_ratio`` of it without).

A **drawing** (pencil, charcoal, ink on paper) is recognised and treated apart: its ink is
dark, every ink-coloured pixel of it lies on a thin structure (``thin_ink``: the fraction of
ink-coloured pixels with a black-hat above 0.2; a cartoon's black fills or a photo's
shadows are wide) and its colours are of one hue family, grey or one tinted ink on one
tinted paper (``hue_spread``: the spread of the pixels' chroma off a single direction). For a drawing the patch SWD is no guide: the colour stages leave a faded
photo, lines drawn on it make it darker still (SWD ratio 1.4-3.1), yet lines plus paper
tones are what the drawing is. So a drawing always gets lines, at the edge threshold where
they cover as many pixels as the style's strokes do (black-hat above 0.2: a drawing's
ink-coloured pixels are only its strokes' darkest cores, too few to count by), and then its
*tones*: one
monotone curve per channel, mapping the lined output's pixel distribution on the crops
onto the style's (quantile matching), baked into the LUT and the ink colour. The photo's
flat areas go to the paper, its lines to the strokes. Applied to colourful styles the same
curves bake the content and style sets' differences of subject into every photo, which
is why they are used for drawings only.

On the benchmark's looks and two photo splits (docs/benchmarks.md) the cartoon's ink ratio
was 4.5-39 and its SWD ratio 0.57-0.68 (lines, no curves: it is colourful, thin-ink
fraction 0.55-0.62); the colour grades, oil and the posterised look had ink ratios of
0.7-2.5 (one of 782, the posterised look's black regions: thin-ink fraction 0.32, SWD ratio
0.82) and no lines, each failing at least two of the tests; the charcoal and the pencil
sketch (thin-ink fraction 1.00, hue spread 0.0026 and 0.000, against a thin-ink fraction
<= 0.66 or a hue spread >= 0.044 for every other look) were drawings. A first version asked
for little colour (mean chroma <= 0.06) and missed a brown-ink drawing on cream paper
(chroma 0.083, 1.1-1.7 dB below Reinhard), whose hue spread is 0.0025 like the grey
drawings'; a black-and-white print (hue spread 0.004) is kept out by its thin-ink
fraction (0.29-0.40).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..color import luminance
from ..look.transport import apply_curve
from ..losses import patch_swd
from .registry import create

if TYPE_CHECKING:
    from .lite import LiteGenerator

LINE_STRENGTH = 1.0  # the 3x3-thickened lines are drawn in the ink colour itself
# Sobel magnitude at the lines' half strength (a drawing's sparse strokes need the high ones)
EDGE_THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5)
DARK_QUANTILE = 0.25  # the ink's luminance is at most this quantile of the style's (+0.05)
INK_RADIUS = 0.15  # RGB distance (in [-1, 1]) within which a pixel counts as ink-coloured
THIN_LEVEL = 0.2  # black-hat above which an ink-coloured pixel lies on a thin structure
MIN_THIN_INK = 0.45  # ink lines: at least this fraction of the style's ink is thin
DRAWING_THIN = 0.85  # a drawing: at least this fraction of its ink is thin ...
DRAWING_HUE_SPREAD = 0.015  # ... and its colours are of one hue family (see hue_spread)
CURVE_KNOTS = 65  # quantiles of the per-channel tone curves fitted for a drawing


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


def _ink_mask(x: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
    """[B, 1, H, W]: the pixels within ``INK_RADIUS`` of the ink colour."""
    return (x.float() - colour.view(1, 3, 1, 1)).square().sum(1, keepdim=True).sqrt() < INK_RADIUS


def _ink_fraction(x: torch.Tensor, colour: torch.Tensor) -> float:
    return float(_ink_mask(x, colour).float().mean())


def thin_ink(x: torch.Tensor, colour: torch.Tensor) -> float:
    """Fraction of the ink-coloured pixels of ``x`` [B, 3, H, W] that lie on thin dark
    structures (black-hat above ``THIN_LEVEL``): 1 for pure line work, low where dark fills
    or shadows share the ink's colour."""
    ink = _ink_mask(x, colour)
    thin = ink & (black_hat(luminance(x.float())) > THIN_LEVEL)
    return float(thin.sum()) / max(1.0, float(ink.sum()))


def chroma(x: torch.Tensor) -> float:
    """Mean absolute distance of each channel from the pixel's luminance (0 for grey)."""
    return float((x.float() - luminance(x.float())).abs().mean())


def hue_spread(x: torch.Tensor) -> float:
    """How far the colours of ``x`` [B, 3, H, W] spread off a single hue: the standard
    deviation of the chroma vectors (pixel minus its grey) along their second principal
    axis. 0 for grey, and for one ink on one paper of any tints (their chroma vectors lie
    on a line); large for many hues."""
    xf = x.float()
    ch = (xf - luminance(xf)).permute(1, 0, 2, 3).reshape(3, -1)
    return float(torch.linalg.eigvalsh(torch.cov(ch))[-2].clamp_min(0).sqrt())


def fit_curves(src: torch.Tensor, dst: torch.Tensor, knots: int = CURVE_KNOTS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel monotone curves taking the pixel distribution of ``src`` onto ``dst``
    (both [B, 3, H, W]): knots ``(xs, ys)``, each [3, knots], at matching quantiles."""
    qs = torch.linspace(0, 1, knots)
    xs = torch.stack([torch.quantile(src[:, c].flatten()[::7].float(), qs) for c in range(3)])
    ys = torch.stack([torch.quantile(dst[:, c].flatten()[::7].float(), qs) for c in range(3)])
    return xs, ys


def _bake_curves(g: LiteGenerator, xs: torch.Tensor, ys: torch.Tensor) -> None:
    """Compose the curves after the LUT and the ink colour of ``g``, in place: exact where a
    pixel is all paper or all line (the line mask is 0 or 1), interpolated between."""
    assert g.structure is not None
    lut, ink = g.lut.lut, g.structure.ink_colour
    for c in range(3):
        lut[:, c] = apply_curve(lut[:, c].flatten(), xs[c], ys[c]).view_as(lut[:, c])
        ink[c] = apply_curve(ink[c : c + 1], xs[c], ys[c])[0]


@torch.no_grad()
def calibrate_lines(
    g: LiteGenerator, content: torch.Tensor, style: torch.Tensor, *, decide: bool = True
) -> dict[str, Any]:  # fmt: skip
    """Choose the line stage's numbers of ``g`` (a `lite` generator with a structure stage
    that draws lines) for content crops ``content`` against style crops ``style`` (both
    [B, 3, H, W] in [-1, 1]); set them in place and return what was measured and chosen.
    With no lines chosen, the stage's line strengths are zero (its output is unchanged).
    ``decide=False`` leaves the lines found drawn whatever ``lines_rule`` says (a benchmark
    compares the two outputs: benchmarks/lines_probe.py)."""
    st = g.structure
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
    thin, grey, spread = thin_ink(style, colour), chroma(style), hue_spread(style)
    drawing = dark and thin >= DRAWING_THIN and spread <= DRAWING_HUE_SPREAD
    # the threshold that draws as much ink as the style holds; for a drawing, the one whose
    # lines cover as many pixels as the style's strokes (its ink-coloured pixels are only the
    # strokes' darkest cores: thick lines matched to them would be too few)
    strokes = float((black_hat(luminance(style.float())) > THIN_LEVEL).float().mean())
    st.ink.copy_(torch.tensor([0.0, LINE_STRENGTH]))
    best: tuple[float, float, torch.Tensor] | None = None  # (gap, threshold, output)
    for at in EDGE_THRESHOLDS:
        st.edge_at.fill_(at)
        out = g.colour(content)
        if drawing:
            gap = abs(float((st(content)[1] > 0.5).float().mean()) - strokes)
        else:
            gap = abs(_ink_fraction(out, colour) - style_ink)
        if best is None or gap < best[0]:
            best = (gap, at, out)
    assert best is not None
    _, at, lined = best
    st.edge_at.fill_(at)
    swd_plain = _swd(plain, style)
    swd_ratio = _swd(lined, style) / swd_plain
    if drawing:  # lines, then the paper's and the strokes' tones
        _bake_curves(g, *fit_curves(lined, style))
        swd_ratio = _swd(g.colour(content), style) / swd_plain
    report = {"drawing": drawing, "ink_is_dark": dark, "swd_ratio": swd_ratio, "ink_ratio": ink_ratio, "thin_ink": thin}
    drawn = lines_rule(report)
    lined_thin = thin_ink(lined, colour)  # how line-like the drawn lines' own ink is, for comparison
    if decide and not drawn:
        st.ink.zero_()
    return {
        "drawn": drawn, "drawing": drawing, "strength": LINE_STRENGTH if drawn else 0.0, "edge_at": at,
        "colour": [round(v, 4) for v in st.ink_colour.tolist()], "ink_is_dark": dark,
        "swd_ratio": round(swd_ratio, 4), "ink_ratio": round(ink_ratio, 3), "thin_ink": round(thin, 3),
        "lined_thin_ink": round(lined_thin, 3), "chroma": round(grey, 4), "hue_spread": round(spread, 4),
    }  # fmt: skip


def lines_rule(report: dict[str, Any], max_swd_ratio: float = 0.8, min_ink_ratio: float = 3.0) -> bool:
    """Whether the lines ``calibrate_lines`` found are kept, from what it measured (the
    module docstring gives the reasons): always for a drawing; otherwise only where the ink is
    dark, plentiful against the output's, mostly thin, and the lines bring the patch
    distribution closer."""
    r = report
    return bool(
        r["drawing"]
        or (r["ink_is_dark"] and r["ink_ratio"] >= min_ink_ratio and r["thin_ink"] >= MIN_THIN_INK
            and r["swd_ratio"] <= max_swd_ratio)
    )  # fmt: skip


def add_lines(
    g: nn.Module, kwargs: dict[str, Any], content: torch.Tensor, style: torch.Tensor, *, decide: bool = True
) -> tuple[nn.Module, dict[str, Any], dict[str, Any] | None]:
    """A trained `lite` generator ``g`` (built with ``kwargs``) -> the generator to save, its
    kwargs and the calibration's report. Where lines are chosen, that is a copy with a
    line-drawing stage set to the lines found; otherwise ``g`` itself, unchanged. With
    ``decide=False`` the lines found are drawn whatever ``lines_rule`` says (the report's
    ``asked`` is then true and ``rule`` holds the rule's verdict). A generator without a
    structure stage is returned as it is, with no report."""
    if not kwargs.get("structure"):
        return g, kwargs, None
    kw = {**kwargs, "lines": True}
    lined = cast("LiteGenerator", create("generator", "lite", **kw))
    lined.load_state_dict(g.state_dict(), strict=False)  # the line numbers are new
    lined.eval().requires_grad_(False)
    report = calibrate_lines(lined, content, style, decide=decide)
    if not decide:  # drawn as asked; the stage holds the lines found (calibrate_lines left them)
        report = {**report, "rule": report["drawn"], "drawn": True, "strength": LINE_STRENGTH, "asked": True}
    return (lined, kw, report) if report["drawn"] else (g, kwargs, report)
