"""Grain: texture without a phase. Its spread is measured from the sets (the noise floor of
the flattest parts) and drawn as hashed noise fixed to the frame."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..color import luminance
from ..data import evenly

# ---- grain: texture without a phase -------------------------------------------------------
GRAIN_TILES = (251, 257)  # sides of the two noise tiles summed (coprime: no visible repeat)
GRAIN_BLOCK = 8  # side of the blocks whose high-pass spread the noise floor is measured in
GRAIN_QUANTILE = 0.2  # the noise floor: this quantile of the blocks' spread (the flattest)
GRAIN_IMAGES = 32  # at most this many images of each set are read to fit a grain
# the Laplacian-like kernel of Immerkaer's noise estimate (1996), over 6: it takes out constant
# and linear shading, and white noise comes out with its own spread (its squares sum to 1)
_NOISE_KERNEL = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]) / 6.0


def _hashed_normal(n: int, salt: int) -> torch.Tensor:
    """[n, n] float32 standard normal numbers from an integer hash of (salt, i, j)
    (splitmix64, then Box-Muller): the same on every machine and version, no RNG state."""
    with np.errstate(over="ignore"):
        i = np.arange(n * n, dtype=np.uint64) * np.uint64(2) + np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)

        def mix(z: np.ndarray) -> np.ndarray:
            z = z + np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

        u1 = ((mix(i) >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
        u2 = ((mix(i + np.uint64(1)) >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)
    return torch.from_numpy(z.astype(np.float32).reshape(n, n))


_TILES: dict[int, torch.Tensor] = {}


def _grain_axis(
    start: int, count: int, scale: int, n: int, device: torch.device | None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Along one axis of the frame: for the pixels start .. start + count - 1, the cells of a
    grid ``scale`` times coarser on either side of each and their linear-interpolation weights,
    divided by the root of their squares' sum (so interpolated white noise keeps unit spread
    at every pixel, not only at the cells' centres). At scale 1 one cell, weight 1."""
    pos = torch.arange(start, start + count, dtype=torch.float64, device=device)
    if scale == 1:
        return [(pos.long() % n, torch.ones(count, device=device))]
    pos = (pos + 0.5) / scale - 0.5
    cell = pos.floor()
    t = pos - cell
    norm = ((1 - t).square() + t.square()).sqrt()
    i = cell.long()
    return [(i % n, ((1 - t) / norm).float()), ((i + 1) % n, (t / norm).float())]


def grain_field(
    h: int, w: int, top: int = 0, left: int = 0, scale: int = 1, device: torch.device | None = None
) -> torch.Tensor:  # fmt: skip
    """[h, w] float32 white noise of unit spread at the pixels (top + i, left + j) of the frame,
    fixed to the frame like a screen (a tile gets what the whole image would): the sum of two
    hashed tiles of coprime sides, over sqrt 2, so the pattern repeats only after 251 x 257
    px either way. At ``scale`` k the grains are k times larger (their size relative to the
    picture kept, as the screen's waves are): the noise of a grid k times coarser, interpolated
    linearly and brought back to unit spread at every pixel, so no grid of squares shows."""
    total = torch.zeros(h, w, device=device)
    for n in GRAIN_TILES:
        if n not in _TILES:
            _TILES[n] = _hashed_normal(n, salt=n)
        tile = _TILES[n].to(device)
        for rows, wy in _grain_axis(top, h, scale, n, device):
            band = tile.index_select(0, rows) * wy[:, None]
            for cols, wx in _grain_axis(left, w, scale, n, device):
                total += band.index_select(1, cols) * wx[None, :]
    return total / math.sqrt(len(GRAIN_TILES))


def noise_floor(images: list[torch.Tensor], scale: int = 1, robust: bool = False) -> float:
    """The spread of the finest luminance noise in the flattest parts of [3, H, W] images in
    [-1, 1]: Immerkaer's Laplacian-like high pass (``_NOISE_KERNEL``, which leaves white noise
    at its own spread and takes out smooth shading), its spread in 8 x 8 blocks, and the 20th
    percentile over the blocks of every image, leaving out blocks near black or white (where
    grain is clipped away). Flat paper or flat colour reads 0, a grainy picture its grain, a
    halftone or hatching its pattern (whose part the screen draws cancels in a comparison).

    ``scale`` k: read on the images averaged over k x k pixels first (texture k times coarser
    than a pixel's). ``robust``: the spread in a block is its median absolute value (over
    0.6745, the same for white noise), so that a step between two flat colours crossing a
    block does not count, only texture that covers it."""
    spreads = []
    k = _NOISE_KERNEL.view(1, 1, 3, 3).double()
    for t in images:
        t = F.avg_pool2d(t[None], scale)[0] if scale > 1 else t
        lum = luminance(t[None].double())
        hp = F.conv2d(lum, k)[0, 0]  # white noise keeps its spread (the kernel's squares sum to 1)
        h, w = (hp.shape[0] // GRAIN_BLOCK) * GRAIN_BLOCK, (hp.shape[1] // GRAIN_BLOCK) * GRAIN_BLOCK
        if h == 0 or w == 0:
            continue
        blocks = hp[:h, :w].unfold(0, GRAIN_BLOCK, GRAIN_BLOCK).unfold(1, GRAIN_BLOCK, GRAIN_BLOCK)
        level = lum[0, 0, 1 : 1 + h, 1 : 1 + w].unfold(0, GRAIN_BLOCK, GRAIN_BLOCK).unfold(1, GRAIN_BLOCK, GRAIN_BLOCK)
        mid = level.mean((2, 3)).abs() < 0.8
        if robust:
            spread = blocks.flatten(2).abs().median(-1).values / 0.6745
        else:
            spread = blocks.std((2, 3))
        spreads.append(spread[mid].flatten())
    s = torch.cat(spreads) if spreads else torch.zeros(0, dtype=torch.float64)
    if not s.numel():
        return 0.0
    return float(s.sort().values[round(GRAIN_QUANTILE * (s.numel() - 1))])  # torch.quantile caps its input size


def fit_grain(outputs: list[torch.Tensor], style: list[torch.Tensor], steps: int = 20) -> float:
    """The spread (in [-1, 1] units) of the luminance grain that, added to ``outputs`` (what
    the generator makes of the content photos) and clipped, brings their noise floor to the
    style images': a bisection, since the floor rises with the grain. 0 when the outputs are
    already as grainy as the style (flat colour, paper, clean art; photos noisier than the
    style). Deterministic. At most ``GRAIN_IMAGES`` of each set, evenly spaced, are read."""
    outputs, style = evenly(outputs, GRAIN_IMAGES), evenly(style, GRAIN_IMAGES)
    target = noise_floor(style)
    fields = [grain_field(*t.shape[-2:]) for t in outputs]

    def floor(a: float) -> float:
        return noise_floor([(t.float() + a * f).clamp(-1, 1) for t, f in zip(outputs, fields, strict=True)])

    if target <= floor(0.0):
        return 0.0
    lo, hi = 0.0, 0.5
    if floor(hi) < target:
        return hi
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if floor(mid) < target else (lo, mid)
    return round((lo + hi) / 2, 5)
