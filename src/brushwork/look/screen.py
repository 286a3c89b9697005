"""Position-locked texture: the screens of halftone prints and hatching, and grain.

A halftone screen or a hatching is a pattern fixed to the page: the same dots or strokes
at the same spacing and angle over every picture of a look, its phase tied to the frame
rather than to anything in the photo. A network that sees the photo alone cannot draw it
(nothing in its input says where a dot goes), and a pixel loss against a teacher that
cannot predict its phase teaches it to leave the texture out. Two pieces let lite learn it:

* ``fit_screen``: the screen's spatial frequencies, measured from the sets: the mean power
  spectrum of the style images' luminance against the content photos', and the strongest
  narrow peaks of their ratio above its local level (broad changes, such as a softer or a
  more contrasted look, raise or lower the ratio smoothly and leave no peak);
* ``position_features``: cosine and sine waves at those frequencies, computed from each
  pixel's place in the frame, so a tile of a large photo gets the same pattern as the
  whole image would.

The network stage that learns what to draw with them is ``nets.lite_stages.Screen``; ``notch_screen``
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ..color import luminance

WINDOW = 128  # side of the windows whose power spectra are averaged
SCREEN_FREQS = 3  # how many peaks a screen keeps
MIN_PERIOD, MAX_PERIOD = 2.2, 16.0  # the periods (px) a screen may have


def power_spectrum(images: list[torch.Tensor], window: int = WINDOW) -> torch.Tensor:
    """Mean power spectrum [window, window // 2 + 1] of the luminance of [3, H, W] images
    over non-overlapping ``window``-px squares (each centred and Hann-windowed)."""
    hann = torch.hann_window(window, periodic=False, dtype=torch.float64)
    taper = hann[:, None] * hann[None, :]
    total = torch.zeros(window, window // 2 + 1, dtype=torch.float64)
    n = 0
    for t in images:
        lum = luminance(t[None].double())[0, 0]
        h, w = lum.shape
        if h < window or w < window:
            continue
        tiles = lum[: h // window * window, : w // window * window].unfold(0, window, window).unfold(1, window, window)
        tiles = tiles.reshape(-1, window, window)
        tiles = (tiles - tiles.mean((1, 2), keepdim=True)) * taper
        total += torch.fft.rfft2(tiles).abs().square().sum(0)
        n += tiles.shape[0]
    if n == 0:
        raise ValueError(f"no image is {window} px on both sides: too small to measure a texture's spectrum")
    return total / n


def fit_screen(
    content: list[torch.Tensor], style: list[torch.Tensor], k: int = SCREEN_FREQS, window: int = WINDOW
) -> list[list[float]]:
    """The ``k`` spatial frequencies [(fy, fx) in cycles per pixel] at which the style set's
    luminance has the most power beyond the content photos', relative to the ratio's own
    level around each frequency (a 9 x 9-bin neighbourhood): the screen's waves and their
    harmonics when the look has one; when it has none, the strongest chance peaks, whose
    weight the network then learns to leave near 0. Deterministic. None ([]) when either
    set has no image of ``window`` px on both sides (too small to measure)."""
    if not any(min(t.shape[-2:]) >= window for t in content) or not any(min(t.shape[-2:]) >= window for t in style):
        return []
    ps, pc = power_spectrum(style, window), power_spectrum(content, window)
    eps = 1e-12 + 1e-6 * float(torch.cat([ps.flatten(), pc.flatten()]).mean())
    ratio = (ps + eps).log() - (pc + eps).log()  # [window, window//2 + 1]
    # its local level: mean over 9 x 9 bins (circular along fy, the full axis of rfft2)
    padded = F.pad(ratio[None, None], (0, 0, 4, 4), mode="circular")
    padded = F.pad(padded, (4, 4, 0, 0), mode="replicate")
    level = F.avg_pool2d(padded, 9, stride=1)[0, 0]
    peak = ratio - level
    fy = torch.fft.fftfreq(window, dtype=torch.float64)[:, None].expand_as(ratio)
    fx = torch.fft.rfftfreq(window, dtype=torch.float64)[None, :].expand_as(ratio)
    radius = (fy.square() + fx.square()).sqrt()
    # one of each conjugate pair (fx > 0, or fx = 0 with fy > 0), periods in range
    ok = (radius >= 1 / MAX_PERIOD) & (radius <= 1 / MIN_PERIOD) & ((fx > 0) | (fy > 0))
    # local maxima only (3 x 3), so one peak is not counted twice
    local = F.max_pool2d(F.pad(peak[None, None], (1, 1, 1, 1), mode="replicate"), 3, stride=1)[0, 0]
    score = torch.where(ok & (peak >= local), peak, torch.full_like(peak, -math.inf))
    order = torch.argsort(score.flatten(), descending=True)[:k]
    coarse = torch.stack([fy.flatten()[order], fx.flatten()[order]], 1)
    fine = refine_frequencies(style, coarse, 1.0 / window)
    return [[round(float(a), 6), round(float(b), 6)] for a, b in fine.tolist()]


def refine_frequencies(images: list[torch.Tensor], freqs: torch.Tensor, step: float, grid: int = 9) -> torch.Tensor:
    """Each of ``freqs`` [K, 2] moved, within half a bin (``step``) either way, to where the
    images' luminance has the most power summed over whole images (a sharper measure than a
    window's bin: a wave 1/8 of a bin off drifts by half a period over 500 px)."""
    offsets = (torch.arange(grid, dtype=torch.float64) / (grid - 1) - 0.5) * step
    dy, dx = torch.meshgrid(offsets, offsets, indexing="ij")
    cand = freqs.double()[:, None, :] + torch.stack([dy.flatten(), dx.flatten()], 1)[None]  # [K, G, 2]
    cand = cand.reshape(-1, 2)
    power = torch.zeros(cand.shape[0], dtype=torch.float64)
    for t in images:
        lum = luminance(t[None].double())[0, 0]
        power += fourier(lum - lum.mean(), cand).abs().square()
    best = power.reshape(freqs.shape[0], -1).argmax(1)
    return cand.reshape(freqs.shape[0], -1, 2)[torch.arange(freqs.shape[0]), best].float()


def fourier(band: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """[K] complex: the Fourier coefficients sum_p band(p) exp(-2 pi i f.p) of an [H, W] plane
    at each of the frequencies ``freqs`` [K, 2] (fy, fx), p in the plane's own coordinates."""
    h, w = band.shape
    f = freqs.double()
    ey = torch.exp(-2j * math.pi * f[:, :1] * torch.arange(h, dtype=torch.float64))  # [K, H]
    ex = torch.exp(-2j * math.pi * f[:, 1:] * torch.arange(w, dtype=torch.float64))  # [K, W]
    return ((band.to(torch.complex128) @ ex.T).T * ey).sum(1)


NOTCH_WIDTH = 0.01  # cycles per pixel: the spread of each notch (above a fitted frequency's error)


def _parallel(p: torch.Tensor, q: torch.Tensor) -> bool:
    """Whether two frequencies point the same way (within ~12 degrees, either sign)."""
    return abs(float(p[0] * q[1] - p[1] * q[0])) <= 0.2 * float(p.norm() * q.norm())


def screen_lattice(freqs: list[list[float]], limit: float = 0.5) -> torch.Tensor:
    """[N, 2] the frequencies (fy, fx) at which a screen with the peaks ``freqs`` puts power:
    the lattice m f1 + n f2, every point up to ``limit`` on both axes, the origin left out.
    f1 is the shortest of the peaks and of the differences between parallel peaks (a peak
    may be a harmonic: hatching's 2f and 3f give its f), f2 the shortest of those that is not
    parallel to f1 (halftone dots: the screen's second direction; hatching, whose strokes run
    one way, may have none, and then the lattice is the harmonics m f1). A binary pattern's
    dots are not waves: their power sits on the whole lattice, not on the peaks a screen keeps."""
    peaks = list(torch.tensor(freqs, dtype=torch.float64).reshape(-1, 2))
    cands = peaks + [p - q for i, p in enumerate(peaks) for q in peaks[i + 1 :] if _parallel(p, q)]
    cands = sorted((c for c in cands if float(c.norm()) >= 1 / (2 * MAX_PERIOD)), key=lambda c: float(c.norm()))
    f1 = cands[0]
    f2 = next((c for c in cands[1:] if not _parallel(c, f1)), None)
    reach = math.ceil(limit / float(f1.norm())) + 1
    m = torch.arange(-reach, reach + 1, dtype=torch.float64)
    if f2 is None:
        points = m[:, None] * f1
    else:
        mm, nn = torch.meshgrid(m, m, indexing="ij")
        points = mm.reshape(-1, 1) * f1 + nn.reshape(-1, 1) * f2
    keep = (points.abs().amax(1) <= limit) & (points.abs().amax(1) > 0)
    return points[keep]


def notch_screen(
    images: list[torch.Tensor], freqs: list[list[float]], width: float = NOTCH_WIDTH
) -> list[torch.Tensor]:
    """[3, H, W] images with a screen of the peaks ``freqs`` (``fit_screen``) taken out: their
    spectra multiplied by 1 - a Gaussian notch of ``width`` at every point of the screen's
    lattice (``screen_lattice``), clamped to [-1, 1]. A look without a screen loses only the
    few narrow bands around its chance peaks."""
    if not freqs:
        return images
    points = screen_lattice(freqs)
    out = []
    for t in images:
        h, w = t.shape[-2:]
        fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
        fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
        keep = torch.ones(h, w, dtype=torch.float64)
        for p in points:
            keep *= 1 - torch.exp(-((fy - p[0]).square() + (fx - p[1]).square()) / (2 * width**2))
        out.append(torch.fft.ifft2(torch.fft.fft2(t.double()) * keep).real.float().clamp(-1, 1))
    return out


def screen_phases(
    image: torch.Tensor, freqs: torch.Tensor, reach: int, regions: list[tuple[slice, slice]]
) -> torch.Tensor:  # fmt: skip
    """[R, K] the phase (radians) of each frequency's wave in a [3, H, W] image, in the
    frame's coordinates, measured over each of ``regions`` (rows, columns): the angle of the
    luminance's Fourier coefficient there, after its local mean over a (2 reach + 1)-px box
    is taken out. Where the image is screened, position features with these phases line up
    with its dots or strokes."""
    lum = luminance(image[None].double())
    k = 2 * reach + 1
    band = (lum - F.avg_pool2d(F.pad(lum, (reach,) * 4, mode="replicate"), k, stride=1))[0, 0]
    phases = []
    for region in regions:
        mask = torch.zeros_like(band)
        mask[region] = 1.0
        # cos(2 pi f.p + phase) peaks where the band's wave does
        phases.append(torch.angle(fourier(band * mask, freqs)))
    return torch.stack(phases)


def halves(h: int, w: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """The two halves of an h x w frame, split across its longer side."""
    if h >= w:
        return (slice(0, h // 2), slice(0, w)), (slice(h // 2, h), slice(0, w))
    return (slice(0, h), slice(0, w // 2)), (slice(0, h), slice(w // 2, w))


def position_features(
    freqs: torch.Tensor, h: int, w: int, top: int = 0, left: int = 0, scale: int = 1,
    device: torch.device | None = None, phases: torch.Tensor | None = None,
) -> torch.Tensor:  # fmt: skip
    """[2K, h, w] float32: cos and sin of 2 pi f.(y, x) + phase for each of the K frequencies
    ``freqs`` [K, 2] (cycles per pixel of the training images), at the pixels (top + i,
    left + j) of the frame. At ``scale`` k (a photo k times the training images' size) the
    waves are k times longer, so the texture keeps its size relative to the picture.
    ``phases`` [K] (radians) shift the waves (to line them up with a screened image's own;
    0 when applying). Separable: the row and column factors are computed in float64 (phases
    reduced to [0, 1) turns first, exact for large frames), the products in float32."""
    f = freqs.to(dtype=torch.float64, device=device) / scale
    ys = torch.arange(top, top + h, dtype=torch.float64, device=device)
    xs = torch.arange(left, left + w, dtype=torch.float64, device=device)
    ay = 2 * math.pi * torch.remainder(f[:, :1] * ys, 1.0)  # [K, h]
    ax = 2 * math.pi * torch.remainder(f[:, 1:] * xs, 1.0)  # [K, w]
    if phases is not None:
        ay = ay + phases.to(dtype=torch.float64, device=device)[:, None]
    cy, sy = ay.cos().float()[:, :, None], ay.sin().float()[:, :, None]
    cx, sx = ax.cos().float()[:, None, :], ax.sin().float()[:, None, :]
    return torch.cat([cy * cx - sy * sx, sy * cx + cy * sx])  # cos(a + b), sin(a + b)


# ---- box means and fitting a screen stage ----------------------------------------------
def inside_count(n: int, r: int, x: torch.Tensor) -> torch.Tensor:
    """How many of the 2r+1 window positions around each of n positions lie inside [0, n)."""
    i = torch.arange(n, device=x.device, dtype=x.dtype)
    return (i + r).clamp(max=n - 1) - (i - r).clamp(min=0) + 1


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, averaging only the pixels inside the image.

    Two depthwise convolutions with a ones kernel on a channels-last tensor, then division
    by the window's inside count: on this CPU 10x faster than separable ``avg_pool2d`` with
    ``count_include_pad=False`` (which computes the same numbers)."""
    c, (h, w), k = int(x.shape[1]), x.shape[-2:], 2 * r + 1  # channels are static (8 or 6)
    ones = torch.ones(c, 1, 1, k, dtype=x.dtype, device=x.device)
    s = F.conv2d(x.contiguous(memory_format=torch.channels_last), ones, padding=(0, r), groups=c)
    s = F.conv2d(s, ones.view(c, 1, k, 1), padding=(r, 0), groups=c)
    return s / (inside_count(h, r, x).view(h, 1) * inside_count(w, r, x).view(1, w))


def fit_screen_stage(
    stage: Any, images: list[torch.Tensor], steps: int = 200, crops: int = 8, side: int = 96, seed: int = 0
) -> None:
    """Fit a lite screen stage (``nets.lite_stages.Screen``) to the screen the style images
    show, learned by regression: the stage puts
    an image's texture back on its own low band (its local mean over the stage's box),
    on random crops. The waves' phases come from the *other* half of the same image
    (``look.screen.screen_phases``): a screen is one lattice over the whole page, so its phase
    measured on one half lines the waves up with the dots on the other, while a subject's
    periodic detail (a fence, a striped shirt) is local, its phases do not carry over, and
    the stage learns nothing from it. Deterministic for a seed."""
    gen = torch.Generator().manual_seed(seed)
    reach = stage.reach
    freqs = stage.freqs.cpu()
    # (image, the half crops come from, the phases measured on the other half)
    parts: list[tuple[torch.Tensor, tuple[slice, slice], torch.Tensor]] = []
    for t in images:
        t = t.float()
        a, b = halves(*t.shape[-2:])
        phase_a, phase_b = screen_phases(t, freqs, reach, [a, b])
        for here, phases in ((a, phase_b), (b, phase_a)):
            if min(here[0].stop - here[0].start, here[1].stop - here[1].start) >= side:
                parts.append((t, here, phases))
    if not parts:
        return
    dev = stage.fc1.weight.device
    opt = torch.optim.Adam(stage.parameters(), lr=3e-3)
    for _ in range(steps):
        ys, pos, targets = [], [], []
        for _ in range(crops):
            img, (rows, cols), phases = parts[int(torch.randint(len(parts), (), generator=gen))]
            top = rows.start + int(torch.randint(rows.stop - rows.start - side + 1, (), generator=gen))
            left = cols.start + int(torch.randint(cols.stop - cols.start - side + 1, (), generator=gen))
            crop = img[:, top : top + side, left : left + side]
            targets.append(crop)
            ys.append(box_mean(crop[None], reach)[0])
            pos.append(position_features(freqs, side, side, top, left, 1, phases=phases))
        y, p, target = (torch.stack(v).to(dev) for v in (ys, pos, targets))
        out = stage.draw(y, p)
        m = reach  # the box sees past the crop's border there
        loss = (out - target)[..., m:-m, m:-m].abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
