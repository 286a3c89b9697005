"""Reading and writing images: every supported input becomes 8-bit RGB.

Writes are atomic (temporary file in the same folder, then ``os.replace``) so an
interrupted run never leaves a half-written output or checkpoint behind.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageReadError, NoImagesError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".avif", ".heic", ".heif")
HEIF_SUFFIXES = (".heic", ".heif")  # phones' photos: read through pillow-heif's Pillow plugin


@functools.cache
def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF (once per process)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """All image files under ``folder``, recursively, in a stable (sorted) order."""
    root = Path(folder)
    if not root.exists():
        raise NoImagesError(f"{root}: no such folder")
    if root.is_file():
        return [root] if is_image_path(root) else []
    return sorted(p for p in root.rglob("*") if p.is_file() and is_image_path(p))


def _to_rgb8(img: Image.Image) -> Image.Image:
    """Grey, palette, alpha, CMYK and 16-bit images to 8-bit RGB (alpha over white)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        img = Image.fromarray(np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("LA", "PA"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Read ``path`` as 8-bit RGB with EXIF orientation applied.

    Raises ``ImageReadError`` naming the file for anything unreadable, including
    images that trip Pillow's decompression-bomb guard (which stays on). HEIC/HEIF (phones),
    AVIF and still GIFs are read like the rest; an animated GIF is refused by name.
    """
    p = Path(path)
    if p.suffix.lower() in HEIF_SUFFIXES:
        _register_heif()
    try:
        with Image.open(p) as img:
            frames = getattr(img, "n_frames", 1)
            if img.format == "GIF" and frames > 1:
                raise ImageReadError(
                    f"{p}: an animated GIF ({frames} frames); brushwork reads still images, so convert it to a "
                    "video (e.g. MP4) to stylize every frame"
                )
            img.load()
            img = ImageOps.exif_transpose(img) or img
            return _to_rgb8(img)
    except FileNotFoundError as exc:
        raise ImageReadError(f"{p}: file not found") from exc
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{p}: image too large ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{p}: not a readable image (unknown or corrupt format)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{p}: cannot decode image ({exc})") from exc


@dataclass
class LoadReport:
    images: list[Image.Image] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def load_folder(folder: str | os.PathLike[str], max_side: int | None = None, what: str = "images") -> LoadReport:
    """Load every readable image under ``folder``; unreadable files are reported, not fatal.

    ``max_side`` downscales large images on load (training never needs 24 MP crops).
    """
    report = LoadReport()
    for path in list_images(folder):
        try:
            img = load_image(path)
        except ImageReadError as exc:
            report.failures.append(str(exc))
            continue
        if max_side is not None and max(img.size) > max_side:
            img = downscale(img, max_side)
        report.images.append(img)
        report.paths.append(path)
    if not report.images:
        extra = f" ({len(report.failures)} unreadable)" if report.failures else ""
        raise NoImagesError(f"{folder}: no usable {what} found{extra}; supported: {', '.join(IMAGE_SUFFIXES)}")
    return report


def downscale(img: Image.Image, max_side: int) -> Image.Image:
    w, h = img.size
    s = max_side / max(w, h)
    if s >= 1:
        return img
    return img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """8-bit RGB PIL image -> float tensor [3, H, W] in [-1, 1]."""
    arr = np.array(img.convert("RGB"))  # uint8 [H, W, 3] (writable for torch): converted once, no float copy
    return (
        torch.from_numpy(arr)
        .permute(2, 0, 1)
        .to(torch.float32, memory_format=torch.contiguous_format)
        .div_(127.5)
        .sub_(1.0)
    )


def to_uint8(y: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> 0..255 uint8, rounded (the one quantisation every output goes through)."""
    return y.float().clamp(-1, 1).add_(1.0).mul_(127.5).round_().to(torch.uint8)


def tensor_to_pil(t: torch.Tensor) -> Image.Image:
    """Tensor [3, H, W] (or [1, 3, H, W]) in [-1, 1] -> 8-bit RGB PIL image."""
    if t.dim() == 4:
        t = t[0]
    t = t.detach().cpu()
    h, w = t.shape[-2:]
    out = np.empty((h, w, 3), np.uint8)
    for y in range(0, h, 256):  # in bands: a 24 MP image never holds a second float copy
        out[y : y + 256] = to_uint8(t[:, y : y + 256]).permute(1, 2, 0).numpy()
    return Image.fromarray(out, "RGB")


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success it is renamed onto ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp" + dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(dest: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(dest: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(dest, text.encode("utf-8"))


FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}


def save_image_atomic(img: Image.Image, dest: str | os.PathLike[str], quality: int = 95, **extra: object) -> None:
    """Write ``img`` to ``dest`` atomically; the format follows the suffix."""
    dest = Path(dest)
    fmt = FORMATS.get(dest.suffix.lower().lstrip("."))
    if fmt is None:
        raise ValueError(f"{dest}: unsupported output format (use png, jpg or webp)")
    kwargs: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = quality
    with atomic_path(dest) as tmp:
        img.save(tmp, format=fmt, **kwargs)
