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
    skipped: list[Path] = field(default_factory=list)  # outputs that existed (--ray reruns)


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


def apply_one(stylizer: Stylizer, src: Path, dest: Path, quality: int = 95, max_side: int | None = None,
              quiet: bool = False) -> VideoReport | None:  # fmt: skip
    """Stylize one image or video file into ``dest`` (written atomically, metadata carried)."""
    if is_video_path(src):
        return stylize_video(stylizer, src, dest, quiet=quiet)
    img = load_image(src)
    styled = stylizer(img, max_side=max_side)
    save_image_atomic(styled, dest, quality=quality, **carried_metadata(src, dest.suffix[1:]))
    return None


def failure(src: Path, exc: Exception) -> str:
    """A failed file's one-line report, naming the file once."""
    msg = str(exc)
    return msg if msg.startswith(str(src)) else f"{src}: {msg}"


def remove_stale_temporaries(dests: list[Path]) -> int:
    """Delete what a killed run left beside these outputs: the temporary files that atomic
    writes make (``.NAME.XXXXXXXX.tmp.SUFFIX``) and rename on success. One directory scan per
    output folder -> how many were removed."""
    by_dir: dict[Path, set[str]] = {}
    for d in dests:
        by_dir.setdefault(d.parent, set()).add(d.name)
    removed = 0
    for folder, names in by_dir.items():
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            parts = entry.name.rsplit(".", 3)
            if len(parts) == 4 and parts[2] == "tmp" and parts[0].startswith(".") and parts[0][1:] in names:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed


def check_destinations(jobs: list[tuple[Path, Path]], overwrite: bool) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Jobs whose output may be written -> (those, failures): an output never replaces an
    input, two inputs never share an output, an existing output only with ``overwrite``."""
    inputs = {p.resolve() for p, _ in jobs}
    seen: set[Path] = set()
    ok: list[tuple[Path, Path]] = []
    failed: list[str] = []
    for src, dest in jobs:
        rdest = dest.resolve()
        if rdest in inputs:
            failed.append(f"{src}: output {dest} would replace an input; choose another --out")
        elif rdest in seen:
            failed.append(f"{src}: output {dest} is also the output of another input with the same stem")
        elif dest.exists() and not overwrite:
            failed.append(f"{src}: output {dest} already exists (pass --overwrite to replace it)")
        else:
            seen.add(rdest)
            ok.append((src, dest))
    return ok, failed


def apply_to_paths(
    stylizer: Stylizer, inputs: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
    fmt: str = "png", quality: int = 95, overwrite: bool = False, quiet: bool = False,
    max_side: int | None = None,
) -> BatchResult:  # fmt: skip
    out = Path(out_dir)
    check_format(fmt)
    jobs, errors = plan_outputs(inputs, out, fmt)
    remove_stale_temporaries([d for _, d in jobs])  # a killed earlier run's partial writes
    todo, refused = check_destinations(jobs, overwrite)
    result = BatchResult(failed=errors + refused)
    for src, dest in tqdm(todo, desc=f"apply {stylizer.name}", unit="img", disable=quiet or not todo):
        try:
            rep = apply_one(stylizer, src, dest, quality, max_side, quiet)
            if rep is not None:
                result.videos.append(rep)
            result.written.append(dest)
        except (BrushworkError, RuntimeError, ValueError, OSError) as exc:
            result.failed.append(failure(src, exc))
    return result


def check_format(fmt: str) -> None:
    if fmt not in ("png", "jpg", "webp"):
        raise BrushworkError(f"unknown output format {fmt!r} (use png, jpg or webp)")
