"""Any-resolution inference through overlapping tiles (pure split / blend functions).

Each tile is run with ``context`` extra pixels on every side (cropped off afterwards),
and neighbouring tiles overlap by ``blend`` pixels where they are cross-faded with a
linear ramp. The cross-fade is written as ``canvas + w * (tile - canvas)``, so when the
network gives the same pixels for both tiles (an identity, or any network whose
receptive field fits in the context) the result is exactly the whole-image result.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from collections.abc import Callable, Iterator

import torch
from torch import nn

from .io import to_uint8


def tile_starts(length: int, tile: int, blend: int) -> list[int]:
    """Start offsets of tiles of ``tile`` px that overlap by ``blend`` px and cover ``length``."""
    if tile <= blend:
        raise ValueError(f"tile ({tile}) must be larger than the blend overlap ({blend})")
    if length <= tile:
        return [0]
    step = tile - blend
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)  # the last tile ends flush with the image
    return starts


def ramp_mask(h: int, w: int, top: int, left: int) -> torch.Tensor:
    """[1, 1, h, w] weights: 0 -> 1 over ``top`` rows and ``left`` columns, 1 elsewhere."""
    wy = torch.ones(h)
    wx = torch.ones(w)
    if top:
        wy[:top] = (torch.arange(top) + 1) / (top + 1)
    if left:
        wx[:left] = (torch.arange(left) + 1) / (left + 1)
    return (wy[:, None] * wx[None, :])[None, None]


def run_tiled(
    fn: Callable[..., torch.Tensor], x: torch.Tensor, tile: int, blend: int = 32, context: int = 32,
    align: int = 4, out_dtype: torch.dtype = torch.float32, with_origin: bool = False,
) -> torch.Tensor:  # fmt: skip
    """Apply ``fn`` ([B, C, h, w] -> same size in [-1, 1]) to ``x`` tile by tile; -> [B, C, H, W].
    With ``with_origin`` it is called as ``fn(window, top, left)``, the window's position in
    ``x`` (for what depends on where in the frame a pixel is: a vignette).

    Each tile's context window starts on a multiple of ``align`` (the network's total
    stride), so strided layers see the same pixel grid as on the whole image. ``fn`` gets
    windows of ``x`` as they are (``x`` may be uint8: a 24 MP photo then never has a float
    copy). With ``out_dtype`` uint8 the canvas holds 0..255 and each tile is rounded as it
    is written (a quarter of a float32 canvas); the cross-fade then rounds once more, which
    changes nothing where both tiles agree (|w * (v - round(v))| < 0.5).
    """
    b, c, h, w = x.shape
    quantise = out_dtype == torch.uint8

    def at(window: torch.Tensor, top: int, left: int) -> torch.Tensor:
        return fn(window, top, left) if with_origin else fn(window)

    if h <= tile and w <= tile:
        y = at(x, 0, 0)
        return to_uint8(y) if quantise else y.float()
    out = torch.empty(b, c, h, w, dtype=out_dtype)
    if quantise:  # so that out[0].permute(1, 2, 0) is a contiguous H x W x 3 image
        out = out.contiguous(memory_format=torch.channels_last)
    ys, xs = tile_starts(h, tile, blend), tile_starts(w, tile, blend)
    for i, y0 in enumerate(ys):
        for j, x0 in enumerate(xs):
            th, tw = min(tile, h - y0), min(tile, w - x0)
            # the tile with context on each side (clipped at the image border)
            cy0, cx0 = max(0, (y0 - context) // align * align), max(0, (x0 - context) // align * align)
            cy1, cx1 = min(h, y0 + th + context), min(w, x0 + tw + context)
            res = at(x[:, :, cy0:cy1, cx0:cx1], cy0, cx0).float().cpu()
            core = res[:, :, y0 - cy0 : y0 - cy0 + th, x0 - cx0 : x0 - cx0 + tw]
            if quantise:
                core = to_uint8(core).float()
            top = (ys[i - 1] + tile - y0) if i > 0 else 0  # rows shared with the tile above
            left = (xs[j - 1] + tile - x0) if j > 0 else 0
            region = out[:, :, y0 : y0 + th, x0 : x0 + tw]
            if top or left:
                # in raster order, the rows above and the columns to the left are already
                # written (by the row of tiles above and the tile to the left): fade into them
                m = ramp_mask(th, tw, min(top, th), min(left, tw))
                fresh = torch.ones(th, tw, dtype=torch.bool)
                fresh[: min(top, th)] = False
                fresh[:, : min(left, tw)] = False
                old = region.float()
                blended = old + m * (core - old)
                if quantise:
                    blended = blended.round_()
                region.copy_(torch.where(fresh, core, blended))
            else:
                region.copy_(core)
            del res, core
        release_free_memory()  # once a row: what the row's passes freed
    return out


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def release_free_memory() -> None:
    """Hand the heap memory a tile pass freed back to the system (glibc's ``malloc_trim``; a
    no-op elsewhere). Without it glibc keeps much of each pass's activations resident: on a
    24-megapixel photo 0.1-0.2 GB more at the peak, growing over the first tiles."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextlib.contextmanager
def shared_norm_stats(model: nn.Module, reference: torch.Tensor) -> Iterator[None]:
    """Instance-norm statistics computed once, on ``reference`` (the whole image, usually
    downscaled), then reused by every tile, so tiles cannot drift apart in colour.

    Inside the context each ``InstanceNorm2d`` normalises with the recorded per-channel
    mean and variance instead of the statistics of whatever tile it is given."""
    norms = [m for m in model.modules() if isinstance(m, nn.InstanceNorm2d)]
    if not norms:
        yield
        return
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def record(mod: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        x = args[0].float()
        stats[mod] = (x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True))

    handles = [m.register_forward_pre_hook(record) for m in norms]
    try:
        with torch.no_grad():
            model(reference)
    finally:
        for h in handles:
            h.remove()

    def fixed(mod: nn.InstanceNorm2d) -> Callable[[torch.Tensor], torch.Tensor]:
        mean, var = stats[mod]
        scale = torch.rsqrt(var + mod.eps)
        if mod.affine:
            scale = scale * mod.weight.view(1, -1, 1, 1).float()
        shift = -mean * scale + (mod.bias.view(1, -1, 1, 1).float() if mod.affine else 0.0)

        def forward(x: torch.Tensor) -> torch.Tensor:
            # one multiply-add in the activations' own precision (a bf16 network's stay bf16)
            return torch.addcmul(shift.to(x.dtype), x, scale.to(x.dtype))

        return forward

    for m in norms:
        m.forward = fixed(m)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for m in norms:
            del m.forward  # back to the class's own forward
