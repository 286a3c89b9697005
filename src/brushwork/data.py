"""Training data: images held in memory as tensors, sampled as random unpaired crops.

Every content crop is paired with a crop of a *randomly drawn* style image (never a
fixed pairing). Paired (before/after) crops share one window so they stay aligned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from .errors import BrushworkError, NoImagesError
from .io import list_images, load_folder, load_image, pil_to_tensor


def builtin_dir(kind: str) -> Path:
    """Folder of shipped data: 'photos' or 'styles/vangogh'."""
    return Path(str(resources.files("brushwork") / "assets" / kind))


class ImageBank:
    """A list of [3, H, W] tensors in [-1, 1], each at least ``min_side`` on its short side."""

    def __init__(self, images: list[Image.Image], min_side: int) -> None:
        self.tensors: list[torch.Tensor] = []
        for img in images:
            t = pil_to_tensor(img)
            short = min(t.shape[-2:])
            if short < min_side:  # upscale tiny images so a crop fits
                s = min_side / short
                size = (max(min_side, round(t.shape[1] * s)), max(min_side, round(t.shape[2] * s)))
                t = F.interpolate(t[None], size=size, mode="bicubic", align_corners=False)[0].clamp(-1, 1)
            self.tensors.append(t)

    def __len__(self) -> int:
        return len(self.tensors)

    @classmethod
    def from_tensors(cls, tensors: list[torch.Tensor]) -> ImageBank:
        """A bank of [3, H, W] tensors in [-1, 1] as they are (no resizing)."""
        bank = cls([], 0)
        bank.tensors = list(tensors)
        return bank

    @classmethod
    def from_folder(
        cls, folder: str | os.PathLike[str], min_side: int, max_side: int, what: str
    ) -> tuple[ImageBank, list[str]]:
        report = load_folder(folder, max_side=max_side, what=what)
        return cls(report.images, min_side), report.failures


def _crop_box(h: int, w: int, size: int, scale: tuple[float, float], g: torch.Generator) -> tuple[int, int, int]:
    lo, hi = scale
    s = lo + (hi - lo) * torch.rand((), generator=g).item()
    side = int(min(h, w, max(8, round(size * s))))
    y = int(torch.randint(0, h - side + 1, (), generator=g))
    x = int(torch.randint(0, w - side + 1, (), generator=g))
    return y, x, side


def _take(t: torch.Tensor, y: int, x: int, side: int, size: int, flip: bool) -> torch.Tensor:
    c = t[:, y : y + side, x : x + side]
    if side != size:
        c = F.interpolate(c[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return c.flip(-1) if flip else c


def random_crops(bank: ImageBank, n: int, size: int, scale: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """``n`` crops from randomly drawn images: a window of ``size * s`` pixels
    (s uniform in ``scale``) resized to ``size``, flipped half the time. -> [n, 3, size, size]"""
    out = []
    for _ in range(n):
        t = bank.tensors[int(torch.randint(0, len(bank), (), generator=g))]
        y, x, side = _crop_box(t.shape[1], t.shape[2], size, scale, g)
        out.append(_take(t, y, x, side, size, bool(torch.rand((), generator=g) < 0.5)))
    return torch.stack(out)


def relative_crops(bank: ImageBank, n: int, size: int, scale: tuple[float, float], g: torch.Generator) -> torch.Tensor:
    """``n`` square crops whose side is a fraction (uniform in ``scale``) of each image's
    short side, resized to ``size`` and flipped half the time -> [n, 3, size, size]."""
    out = []
    for _ in range(n):
        t = bank.tensors[int(torch.randint(0, len(bank), (), generator=g))]
        h, w = t.shape[1:]
        lo, hi = scale
        side = max(8, int(min(h, w) * (lo + (hi - lo) * torch.rand((), generator=g).item())))
        y = int(torch.randint(0, h - side + 1, (), generator=g))
        x = int(torch.randint(0, w - side + 1, (), generator=g))
        out.append(_take(t, y, x, side, size, bool(torch.rand((), generator=g) < 0.5)))
    return torch.stack(out)


@dataclass
class PairedBank:
    before: ImageBank
    after: ImageBank
    names: list[str]


def load_pairs(
    before_dir: str | os.PathLike[str], after_dir: str | os.PathLike[str], min_side: int, max_side: int
) -> tuple[PairedBank, list[str]]:
    """Match files in two folders by stem; the 'after' image is resized to its 'before'."""
    before = {p.stem: p for p in list_images(before_dir)}
    after = {p.stem: p for p in list_images(after_dir)}
    stems = sorted(set(before) & set(after))
    if not stems:
        raise NoImagesError(f"no file stems in common between {before_dir} and {after_dir}")
    failures: list[str] = []
    bs, as_ = [], []
    for stem in stems:
        try:
            b, a = load_image(before[stem]), load_image(after[stem])
        except BrushworkError as exc:
            failures.append(str(exc))
            continue
        if b.size != a.size:
            a = a.resize(b.size, Image.Resampling.LANCZOS)
        if max(b.size) > max_side:
            s = max_side / max(b.size)
            new = (max(1, round(b.size[0] * s)), max(1, round(b.size[1] * s)))
            b, a = b.resize(new, Image.Resampling.LANCZOS), a.resize(new, Image.Resampling.LANCZOS)
        bs.append(b)
        as_.append(a)
    if not bs:
        raise NoImagesError(f"no readable before/after pair in {before_dir} and {after_dir}")
    return PairedBank(ImageBank(bs, min_side), ImageBank(as_, min_side), stems), failures


def paired_crops(
    pairs: PairedBank, n: int, size: int, scale: tuple[float, float], g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    bs, as_ = [], []
    for _ in range(n):
        i = int(torch.randint(0, len(pairs.before), (), generator=g))
        b, a = pairs.before.tensors[i], pairs.after.tensors[i]
        y, x, side = _crop_box(b.shape[1], b.shape[2], size, scale, g)
        flip = bool(torch.rand((), generator=g) < 0.5)
        bs.append(_take(b, y, x, side, size, flip))
        as_.append(_take(a, y, x, side, size, flip))
    return torch.stack(bs), torch.stack(as_)


def evenly(items: list[Any], n: int) -> list[Any]:
    """At most n of ``items``, evenly spaced (all of them when there are n or fewer)."""
    if len(items) <= n:
        return items
    return [items[i * len(items) // n] for i in range(n)]
