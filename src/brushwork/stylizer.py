"""Applying a style: ``Stylizer.load(name_or_path)(image)``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from .device import autocast, resolve_device, resolve_precision
from .errors import BrushworkError
from .io import pil_to_tensor, tensor_to_pil
from .library import resolve
from .stylefile import load_style

ImageLike = Image.Image | np.ndarray | torch.Tensor


def _to_tensor(image: ImageLike) -> tuple[torch.Tensor, str]:
    """-> ([1, 3, H, W] in [-1, 1], kind) where kind says how to hand the result back."""
    if isinstance(image, Image.Image):
        return pil_to_tensor(image.convert("RGB"))[None], "pil"
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise BrushworkError(f"numpy image must be H x W x 3 (or 4), got shape {image.shape}")
        arr = image[..., :3]
        if arr.dtype == np.uint8:
            t = torch.from_numpy(arr.astype(np.float32) / 127.5 - 1)
        else:
            t = torch.from_numpy(arr.astype(np.float32)) * 2 - 1
        return t.permute(2, 0, 1)[None].contiguous(), f"numpy:{arr.dtype}"
    if torch.is_tensor(image):
        t = image if image.dim() == 4 else image[None]
        if t.dim() != 4 or t.shape[1] != 3:
            raise BrushworkError(f"tensor image must be [3, H, W] or [B, 3, H, W], got {tuple(image.shape)}")
        return t.float(), "tensor"
    raise BrushworkError(f"cannot stylize a {type(image).__name__}; pass a PIL image, numpy array or tensor")


class Stylizer:
    """A loaded style, callable on a PIL image (-> PIL), numpy array (-> numpy, same dtype
    convention: uint8 0..255 or float 0..1) or tensor ([-1, 1], -> tensor)."""

    def __init__(self, generator: nn.Module, meta: dict[str, Any], path: Path | None = None, device: str = "auto", precision: str = "fp32") -> None:
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        self.generator = generator.to(self.device).eval()
        self.meta = meta
        self.path = path

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], device: str = "auto", precision: str = "fp32") -> Stylizer:
        path = resolve(name_or_path)
        g, meta = load_style(path)
        return cls(g, meta, path, device=device, precision=precision)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "style"

    @torch.no_grad()
    def stylize_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> same shape, clamped to [-1, 1], float32 on the CPU."""
        with autocast(self.device, self.dtype):
            y = self.generator(x.to(self.device))
        return y.float().clamp(-1, 1).cpu()

    def __call__(self, image: ImageLike) -> Any:
        x, kind = _to_tensor(image)
        y = self.stylize_tensor(x)
        if kind == "pil":
            return tensor_to_pil(y)
        if kind.startswith("numpy"):
            arr = y[0].permute(1, 2, 0).numpy()
            if kind == "numpy:uint8":
                return np.round((arr + 1) * 127.5).astype(np.uint8)
            return ((arr + 1) / 2).astype(np.float32)
        return y if torch.is_tensor(image) and image.dim() == 4 else y[0]
