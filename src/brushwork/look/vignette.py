"""The frame's vignette: brightness that depends on the position in the frame, measured
from the two sets and applied over a whole picture or a tile of it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .transport import ColourTable

VIGNETTE_RINGS = 12  # rings of the normalised radius the profiles are measured in
VIGNETTE_SIDE = 96  # long side the profiles are measured at


def radius(
    h: int, w: int, device: torch.device | None = None, window: tuple[int, int, int, int] | None = None
) -> torch.Tensor:
    """Normalised distance from the centre of an h x w frame: 0 there, 1 in the corners (the
    frame's own ellipse, so a vignette scales with the picture at any size). -> [h, w], or
    with ``window`` (top, left, rows, cols) that part of it."""
    top, left, rows, cols = window if window is not None else (0, 0, h, w)
    yy = (torch.arange(top, top + rows, device=device, dtype=torch.float32) + 0.5 - h / 2) / (h / 2)
    xx = (torch.arange(left, left + cols, device=device, dtype=torch.float32) + 0.5 - w / 2) / (w / 2)
    return torch.sqrt((yy[:, None] ** 2 + xx[None, :] ** 2) / 2)


def vignette_gain(
    coeffs: tuple[float, float], h: int, w: int, device: torch.device | None = None,
    window: tuple[int, int, int, int] | None = None,
) -> torch.Tensor:  # fmt: skip
    """[h, w] (or ``window``'s part) gain 1 + a r^2 + b r^4 (r = ``radius``), clamped to [0.05, 2]."""
    r2 = radius(h, w, device, window) ** 2
    a, b = coeffs
    return (1 + a * r2 + b * r2 * r2).clamp(0.05, 2.0)


def apply_vignette(
    x: torch.Tensor, coeffs: tuple[float, float], frame: tuple[int, int] | None = None,
    origin: tuple[int, int] = (0, 0), inverse: bool = False,
) -> torch.Tensor:  # fmt: skip
    """[..., 3, H, W] in [-1, 1] with its light ([0, 1] values) scaled by the gain. ``x`` may
    be a window of a larger ``frame`` (h, w) starting at ``origin`` (top, left), as a tile
    is; ``inverse`` divides the gain out instead."""
    if coeffs == (0.0, 0.0):
        return x
    h, w = x.shape[-2:]
    fh, fw = frame if frame is not None else (h, w)
    g = vignette_gain(coeffs, fh, fw, x.device, (origin[0], origin[1], h, w)).to(x.dtype)
    y = x + 1  # the one new tensor; the rest in place
    return (y.div_(g) if inverse else y.mul_(g)).sub_(1).clamp_(-1, 1)


def _ring_profile(images: list[torch.Tensor]) -> torch.Tensor:
    """[RINGS]: each ring's mean brightness over the set, every image normalised by its own
    mean (so the set's subjects and exposure count less than where in the frame light is)."""
    num = torch.zeros(VIGNETTE_RINGS, dtype=torch.float64)
    den = torch.zeros(VIGNETTE_RINGS, dtype=torch.float64)
    for t in images:
        s = VIGNETTE_SIDE / max(t.shape[-2:])
        x = F.interpolate(t[None].float(), scale_factor=min(1.0, s), mode="area", recompute_scale_factor=False)[0]
        lum = ((x + 1) / 2).mean(0).double()
        ring = (radius(*lum.shape) * VIGNETTE_RINGS).long().clamp_max(VIGNETTE_RINGS - 1).flatten()
        lum = lum.flatten() / lum.mean().clamp_min(1e-3)
        num.index_add_(0, ring, lum)
        den += torch.bincount(ring, minlength=VIGNETTE_RINGS).double()
    return num / den.clamp_min(1)


def fit_vignette(
    reference: list[torch.Tensor], style: list[torch.Tensor], quartic: bool = False, darken_only: bool = True
) -> tuple[float, float]:
    """The gain 1 + a r^2 (+ b r^4 with ``quartic``) by which the style set's radial
    brightness profile differs from ``reference``'s (the content photos after the colour
    transport, so that the look's tone curve is not read as a vignette): least squares over
    the rings, normalised at the centre. ``darken_only``: a vignette darkens the frame's
    edges; a profile whose edges are brighter is the sets' subjects, not a look (a = b = 0).
    (0, 0) when the profiles agree."""
    ratio = _ring_profile(style) / _ring_profile(reference).clamp_min(1e-3)
    r2 = ((torch.arange(VIGNETTE_RINGS, dtype=torch.float64) + 0.5) / VIGNETTE_RINGS) ** 2
    cols = [torch.ones_like(r2), r2] + ([r2 * r2] if quartic else [])
    c = torch.linalg.lstsq(torch.stack(cols, 1), ratio[:, None]).solution[:, 0]
    a, b = float(c[1] / c[0]), float(c[2] / c[0]) if quartic else 0.0
    if darken_only and a + b > 0:  # brighter corners
        return 0.0, 0.0
    return a, b


def fit_look_vignette(content: list[torch.Tensor], style: list[torch.Tensor], seed: int = 0) -> tuple[float, float]:
    """The look's vignette as training measures it: ``fit_vignette`` of the style set against
    the content photos after their (balanced) colour transport onto it, whose own fall-off is
    the photos', so that the look's tone curve is not read as a vignette."""
    # the whole move: the shrinkage is measured after the vignette is divided out (look.fit)
    start = ColourTable.of_transport(content, style, seed=seed, shrink=False)
    return fit_vignette([start(t) for t in content], style)
