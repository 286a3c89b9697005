"""Batch application of a style to image and video files and folders (used by the CLI and the web UI).

Outputs keep each input's path relative to the folder it was found in and its file
stem; an output never replaces an input, and an existing file is only replaced when
``overwrite`` is set. A failing file is reported and the others are still written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from .errors import BrushworkError
from .io import is_image_path, load_image, save_image_atomic
from .stylizer import Stylizer
from .video import VideoReport, is_video_path, stylize_video


@dataclass
class BatchResult:
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    videos: list[VideoReport] = field(default_factory=list)


def _dest(rel: Path, out_dir: Path, fmt: str) -> Path:
    """Images take the output format's suffix; videos keep their container."""
    return out_dir / (rel if is_video_path(rel) else rel.with_suffix(f".{fmt}"))


def plan_outputs(
    inputs: list[str | os.PathLike[str]], out_dir: Path, fmt: str
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Map each input image or video to its output path -> (jobs, errors for missing inputs)."""
    jobs: list[tuple[Path, Path]] = []
    errors: list[str] = []
    for raw in inputs:
        src = Path(raw)
        if src.is_dir():
            found = sorted(p for p in src.rglob("*") if p.is_file() and (is_image_path(p) or is_video_path(p)))
            if not found:
                errors.append(f"{src}: folder holds no supported image or video")
            jobs += [(p, _dest(p.relative_to(src), out_dir, fmt)) for p in found]
        elif src.is_file():
            if not (is_image_path(src) or is_video_path(src)):
                errors.append(f"{src}: not a supported image or video type ({src.suffix or 'no suffix'})")
            else:
                jobs.append((src, _dest(Path(src.name), out_dir, fmt)))
        else:
            errors.append(f"{src}: no such file or folder")
    return jobs, errors


def carried_metadata(src: Path, fmt: str) -> dict[str, object]:
    """EXIF (orientation reset: pixels are already upright) and ICC profile of ``src``."""
    try:
        with Image.open(src) as im:
            icc = im.info.get("icc_profile")
            exif = im.getexif()
    except (OSError, ValueError):
        return {}
    out: dict[str, object] = {}
    if icc:
        out["icc_profile"] = icc
    if exif:
        exif[0x0112] = 1
        out["exif"] = exif.tobytes()
    return out


def apply_to_paths(
    stylizer: Stylizer, inputs: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
    fmt: str = "png", quality: int = 95, overwrite: bool = False, quiet: bool = False,
    max_side: int | None = None,
) -> BatchResult:  # fmt: skip
    out = Path(out_dir)
    if fmt not in ("png", "jpg", "webp"):
        raise BrushworkError(f"unknown output format {fmt!r} (use png, jpg or webp)")
    jobs, errors = plan_outputs(inputs, out, fmt)
    result = BatchResult(failed=list(errors))
    input_set = {p.resolve() for p, _ in jobs}
    seen: set[Path] = set()
    for src, dest in tqdm(jobs, desc=f"apply {stylizer.name}", unit="img", disable=quiet or not jobs):
        try:
            rdest = dest.resolve()
            if rdest in input_set:
                raise BrushworkError(f"output {dest} would replace an input; choose another --out")
            if rdest in seen:
                raise BrushworkError(f"output {dest} is also the output of another input with the same stem")
            if dest.exists() and not overwrite:
                raise BrushworkError(f"output {dest} already exists (pass --overwrite to replace it)")
            seen.add(rdest)
            if is_video_path(src):
                rep = stylize_video(stylizer, src, dest, quiet=quiet)
                result.videos.append(rep)
            else:
                img = load_image(src)
                styled = stylizer(img, max_side=max_side)
                save_image_atomic(styled, dest, quality=quality, **carried_metadata(src, fmt))
            result.written.append(dest)
        except BrushworkError as exc:
            msg = str(exc)
            result.failed.append(msg if msg.startswith(str(src)) else f"{src}: {msg}")
        except (RuntimeError, ValueError, OSError) as exc:
            result.failed.append(f"{src}: {exc}")
    return result
