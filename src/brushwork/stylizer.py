"""Applying a style: ``Stylizer.load(name_or_path)(image, strength=..., preserve_color=...)``.

Images of any size go through overlapping tiles sized from a memory budget (see
``tiling.py``); ``strength`` blends with the photo; ``preserve_color`` keeps the photo's
colours (Lab a/b) and takes the style's lightness and texture.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .color import lab_to_rgb, rgb_to_lab
from .device import autocast, resolve_device, resolve_precision
from .errors import BrushworkError
from .library import resolve
from .look.vignette import apply_vignette
from .nets import StyleGenerator, channels_last
from .stylefile import load_style
from .tiling import run_tiled, shared_norm_stats

ImageLike = Image.Image | np.ndarray | torch.Tensor
DEFAULT_MAX_MEMORY = 384 * 2**20  # bytes per tile pass (a 1024 x 1024 photo is one pass with any default style)


def _to_tensor(image: ImageLike) -> tuple[torch.Tensor, str]:
    """-> ([1, 3, H, W], kind) where kind says how to hand the result back. 8-bit images
    stay uint8 (0..255; tiles are converted one at a time), anything else is float in [-1, 1]."""
    if isinstance(image, Image.Image):
        arr = np.array(image.convert("RGB"))  # uint8 H x W x 3, writable for torch
        return torch.from_numpy(arr).permute(2, 0, 1)[None], "pil"
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise BrushworkError(f"numpy image must be H x W x 3 (or 4), got shape {image.shape}")
        arr = image[..., :3]
        if arr.dtype == np.uint8:
            if not (arr.flags.writeable and arr.flags.c_contiguous):
                arr = arr.copy()  # torch wants writable memory (it is only read)
            return torch.from_numpy(arr).permute(2, 0, 1)[None], "numpy:uint8"
        t = torch.from_numpy(arr.astype(np.float32)) * 2 - 1
        return t.permute(2, 0, 1)[None].contiguous(), f"numpy:{arr.dtype}"
    if torch.is_tensor(image):
        t = image if image.dim() == 4 else image[None]
        if t.dim() != 4 or t.shape[1] != 3:
            raise BrushworkError(f"tensor image must be [3, H, W] or [B, 3, H, W], got {tuple(image.shape)}")
        return t.float(), "tensor"
    raise BrushworkError(f"cannot stylize a {type(image).__name__}; pass a PIL image, numpy array or tensor")


def _as_float(x: torch.Tensor) -> torch.Tensor:
    """A window of an image, uint8 0..255 or float [-1, 1] -> float32 [-1, 1]."""
    return x.float().div_(127.5).sub_(1.0) if x.dtype == torch.uint8 else x.float()


def blend_controls(photo: torch.Tensor, styled: torch.Tensor, strength: float, preserve_color: bool) -> torch.Tensor:
    """Strength (0 = photo, 1 = style) and colour preservation, on [B, 3, H, W] in [-1, 1]."""
    out = styled if strength == 1.0 else photo + strength * (styled - photo)
    if preserve_color:
        lab_p, lab_o = rgb_to_lab(photo), rgb_to_lab(out)
        out = lab_to_rgb(torch.cat([lab_o[:, :1], lab_p[:, 1:]], 1))
    return out.clamp_(-1, 1) if out is not styled else out.clamp(-1, 1)


def vignette_of(meta: dict[str, Any], path: Path | None) -> tuple[float, float]:
    """The style's vignette (gain 1 + a r^2 + b r^4 over the frame; (0, 0): none), from its
    training summary; styles from before it have none."""
    v = (meta.get("training") or {}).get("vignette", [0.0, 0.0])
    ok = isinstance(v, list) and len(v) == 2
    ok = ok and all(isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) for c in v)
    if not ok:
        raise BrushworkError(f"{path or 'style'}: training.vignette must be two finite numbers [a, b], got {v!r}")
    return float(v[0]), float(v[1])


class Stylizer:
    """A loaded style, callable on a PIL image (-> PIL), numpy array (-> numpy, same dtype
    convention: uint8 0..255 or float 0..1) or tensor ([-1, 1], -> tensor)."""

    def __init__(
        self, generator: StyleGenerator, meta: dict[str, Any], path: Path | None = None, device: str = "auto",
        precision: str = "auto", strength: float = 1.0, preserve_color: bool = False, tile: int | None = None,
        max_memory: int = DEFAULT_MAX_MEMORY, backend: str = "torch", detail: float | None = None,
    ) -> None:  # fmt: skip
        if detail is not None:  # how much of a spatial residual to apply (lite)
            if generator.detail is None:
                raise BrushworkError("--detail: this style's generator has no detail control (it is not lite)")
            if not 0.0 <= detail <= 1.0:
                raise BrushworkError(f"detail must be between 0 and 1, got {detail}")
            generator.set_detail(float(detail))
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        if backend == "onnxruntime":
            self.dtype = torch.float32  # the exported graph is float32
        # a generator that runs whole in bf16/fp16 (its weights cast, no per-layer casts of
        # autocast: painter, 1.5x faster on CPU, as close to float32) does; others autocast
        self.native = self.dtype != torch.float32 and generator.low_precision
        # channels-last convolutions: ~1.6x faster on CPU (oneDNN)
        generator = generator.to(self.device, self.dtype) if self.native else generator.to(self.device)
        self.generator = channels_last(generator.eval())
        self.meta = meta
        self.path = path
        self.vignette = vignette_of(meta, path)
        self.strength = strength
        self.preserve_color = preserve_color
        self.tile = tile
        self.max_memory = max_memory
        if not 0.0 <= strength <= 1.0:
            raise BrushworkError(f"strength must be between 0 and 1, got {strength}")
        if backend not in ("torch", "onnxruntime"):
            raise BrushworkError(f"unknown backend {backend!r} (use torch or onnxruntime)")
        self.backend = backend
        self._ort_by_scale: dict[int, Any] = {}
        # one image at a time: a call sets the structure stage's scale for its image
        # (and torch already uses every core for one image)
        self._lock = threading.Lock()
        if backend == "onnxruntime":
            self._onnx(1)  # export (or find in the cache) now: errors surface at load

    @classmethod
    def load(
        cls, name_or_path: str | os.PathLike[str], device: str = "auto", precision: str = "auto", **controls: Any
    ) -> Stylizer:
        path = resolve(name_or_path)
        g, meta = load_style(path)
        return cls(g, meta, path, device=device, precision=precision, **controls)

    def _onnx(self, scale: int) -> Any:
        """The ONNX Runtime session for the generator at structure scale ``scale`` (one
        exported graph per scale, made on first use)."""
        if scale not in self._ort_by_scale:
            from .export import onnx_runner
            from .library import home

            with self._at_scale(scale):
                self._ort_by_scale[scale] = onnx_runner(self.generator, home() / "cache" / "onnx")
        return self._ort_by_scale[scale]

    def structure_scale(self, h: int, w: int) -> int:
        """How many times larger an h x w image is than the images the style learned from
        (``work_side`` in its training summary), rounded; 1 below 1.5x, for generators
        without a pixel-sized structure stage and for styles that do not record it."""
        side = (self.meta.get("training") or {}).get("work_side")
        if not self.generator.has_scale or not side:
            return 1
        r = max(h, w) / float(side)
        scale = max(1, round(r)) if r >= 1.5 else 1
        # bounded, so that a tile's context (32 px per unit of scale) stays a quarter of a
        # tile that fits --max-memory: a style learned from small images on a huge photo
        # would otherwise grow every tile to the whole photo (3 GB and 6 minutes before 2026-11-29)
        return min(scale, self.max_structure_scale())

    def max_structure_scale(self) -> int:
        """The largest structure scale whose context (each side) is at most a quarter of the
        budget window's side, so a tile keeps at least half of it."""
        return max(1, int(math.sqrt(self.budget_pixels())) // 128)

    @contextmanager
    def _at_scale(self, scale: int) -> Iterator[None]:
        """The generator's pixel-sized operators at ``scale`` for the duration."""
        g = self.generator
        if not g.has_scale:
            yield
            return
        before = g.scale
        g.set_scale(scale)
        try:
            yield
        finally:
            g.set_scale(before)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "style"

    def budget_pixels(self) -> float:
        """How many pixels one forward pass may hold within ``max_memory``."""
        # the same for bf16: autocast keeps bf16 copies beside float32 inputs and outputs
        bpp = self.generator.bytes_per_pixel
        return self.max_memory / bpp

    def context(self, scale: int) -> int:
        """Pixels of context a tile runs with on each side: the generator's reach at
        ``scale`` (lite: its structure stage's grows 32 px per unit; none for colour alone)."""
        return int(self.generator.context(scale))

    def tile_size(self, h: int, w: int, scale: int = 1) -> int | None:
        """The tile side for an h x w image: None when the whole image fits the budget.
        The budget covers a tile *with* its context on both sides, the window the network
        really runs on."""
        if self.tile:
            return self.tile
        pixels = self.budget_pixels()
        if h * w <= pixels:
            return None
        side = int(math.sqrt(pixels)) - 2 * self.context(scale)
        return max(128, side // 64 * 64)

    def _precision(self) -> AbstractContextManager[None]:
        """Autocast to the Stylizer's precision, unless the generator runs in it natively."""
        return nullcontext() if self.native else autocast(self.device, self.dtype)

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, self.dtype) if self.native else x.to(self.device)
        return x.contiguous(memory_format=torch.channels_last)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), self._precision():
            return self.generator(self._input(x)).float().cpu().contiguous()

    def _texture(self, y: torch.Tensor, top: int, left: int) -> torch.Tensor:
        """The generator's frame-locked texture stage (float32), on the network's output."""
        if not self.generator.has_texture:
            return y
        with torch.no_grad():
            return self.generator.texture(y.to(self.device), top, left).float().cpu()

    def stylize_tensor(
        self,
        x: torch.Tensor,
        strength: float | None = None,
        preserve_color: bool | None = None,
        tile: int | None = None,
    ) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> same shape in [-1, 1], float32 on the CPU."""
        return self._apply(x, strength, preserve_color, tile, torch.float32)

    def _apply(
        self, x: torch.Tensor, strength: float | None, preserve_color: bool | None, tile: int | None,
        out_dtype: torch.dtype,
    ) -> torch.Tensor:  # fmt: skip
        """``x`` uint8 (0..255) or float ([-1, 1]) -> ``out_dtype`` (uint8 0..255 or float32
        [-1, 1]). Strength and colour preservation are applied per tile, beside the network,
        so no whole-image float copy of the photo or the result is ever made."""
        h, w = x.shape[-2:]
        s = self.strength if strength is None else strength
        pc = self.preserve_color if preserve_color is None else preserve_color
        scale = self.structure_scale(h, w)
        with torch.no_grad(), self._lock, self._at_scale(scale):
            return self._stylize(x, tile or self.tile_size(h, w, scale), scale, s, pc, out_dtype)

    def _stylize(
        self, x: torch.Tensor, t: int | None, scale: int, strength: float, preserve_color: bool,
        out_dtype: torch.dtype,
    ) -> torch.Tensor:  # fmt: skip
        h, w = x.shape[-2:]
        net = self._onnx(scale) if self.backend == "onnxruntime" else self._run

        def run(window: torch.Tensor, top: int, left: int) -> torch.Tensor:
            photo = _as_float(window)
            # the style's texture and vignette, locked to the frame (tiles at their place in it)
            y = apply_vignette(self._texture(net(photo), top, left), self.vignette, (h, w), (top, left))
            if strength == 1.0 and not preserve_color:
                return y.clamp_(-1, 1)
            return blend_controls(photo.cpu(), y, strength, preserve_color)

        if t is None:
            return run_tiled(run, x, tile=max(h, w), out_dtype=out_dtype, with_origin=True)
        align = self.generator.align
        tiled = dict(
            blend=min(32, t // 4), context=self.context(scale), align=align, out_dtype=out_dtype, with_origin=True
        )
        if self.backend == "onnxruntime" or not self.generator.shared_norm:
            return run_tiled(run, x, tile=t, **tiled)
        # networks with instance norm (resnet, painter) share one set of statistics, taken
        # on a whole-image pass at a size that fits the budget, so tiles cannot drift apart
        ref = self._input(self._reference(x))
        fixed = self.generator.fixed_norms(ref) or shared_norm_stats(self.generator, ref)
        with self._precision(), fixed:
            return run_tiled(run, x, tile=t, **tiled)

    def _reference(self, x: torch.Tensor) -> torch.Tensor:
        """The whole image at a size that fits the budget, float [-1, 1] (for shared
        instance-norm statistics); an 8-bit image is reduced by PIL, without a float copy."""
        h, w = x.shape[-2:]
        budget = self.budget_pixels()
        if h * w <= budget:
            return _as_float(x)
        s = math.sqrt(budget / (h * w))
        if x.dtype == torch.uint8 and x.shape[0] == 1:
            size = (max(1, round(w * s)), max(1, round(h * s)))
            small = Image.fromarray(x[0].permute(1, 2, 0).contiguous().numpy()).resize(size, Image.Resampling.BILINEAR)
            return _as_float(torch.from_numpy(np.array(small)).permute(2, 0, 1)[None])
        return F.interpolate(_as_float(x), scale_factor=s, mode="bilinear", antialias=True, align_corners=False)

    def __call__(
        self,
        image: ImageLike,
        strength: float | None = None,
        preserve_color: bool | None = None,
        max_side: int | None = None,
        tile: int | None = None,
    ) -> Any:
        """Stylize a PIL image, a numpy array (HWC, uint8 or float in [0, 1]) or a tensor
        ([B, 3, H, W] in [-1, 1]) into the same kind. ``strength``, ``preserve_color`` and
        ``tile`` override the Stylizer's own for this call; ``max_side`` downscales first."""
        if isinstance(image, Image.Image) and max_side and max(image.size) > max_side:
            s = max_side / max(image.size)
            image = image.resize(
                (max(1, round(image.width * s)), max(1, round(image.height * s))), Image.Resampling.LANCZOS
            )
        x, kind = _to_tensor(image)
        if max_side and kind != "pil" and max(x.shape[-2:]) > max_side:
            s = max_side / max(x.shape[-2:])
            x = F.interpolate(_as_float(x), scale_factor=s, mode="bilinear", antialias=True, align_corners=False)
        eight_bit = kind in ("pil", "numpy:uint8")
        y = self._apply(x, strength, preserve_color, tile, torch.uint8 if eight_bit else torch.float32)
        del x
        if eight_bit:
            arr = y[0].permute(1, 2, 0).contiguous().numpy()
            return Image.fromarray(arr, "RGB") if kind == "pil" else arr
        if kind.startswith("numpy"):
            return ((y[0].permute(1, 2, 0).numpy() + 1) / 2).astype(np.float32)
        return y if torch.is_tensor(image) and image.dim() == 4 else y[0]
