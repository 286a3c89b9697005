"""What the studio's routes share: upload limits and checks, the library by name, loaded
styles, and the state of one studio (its job queue and apply threads)."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, UploadFile
from PIL import Image

from .. import library
from ..errors import BrushworkError, StyleNotFoundError
from ..report import REPORT
from ..stylefile import PREVIEW, STYLE_JSON
from .jobs import JobStore, Worker


@dataclass
class Limits:
    """What one request may upload."""

    max_file_mb: float = 50.0
    max_files: int = 500
    max_pixels: int = 100_000_000  # per image (a 24 MP photo is well inside)
    max_video_mb: float = 2048.0
    max_style_mb: float = 600.0  # a .bwstyle file (a resnet style's weights are ~45 MB)


def http_error(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def safe_name(raw: str | None, index: int) -> str:
    """An uploaded file's own name (folders dropped), made safe; never empty."""
    base = Path((raw or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base).lstrip("._-")
    return base[:120] or f"file{index:04d}"


def save_upload(up: UploadFile, dest: Path, max_mb: float) -> Path:
    """Copy an upload to ``dest`` in chunks, stopping with 413 past ``max_mb``."""
    limit = int(max_mb * 2**20)
    size = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as f:
        while chunk := up.file.read(2**20):
            size += len(chunk)
            if size > limit:
                f.close()
                dest.unlink(missing_ok=True)
                raise http_error(413, f"{up.filename}: larger than the {max_mb:g} MB upload limit")
            f.write(chunk)
    if size == 0:
        dest.unlink(missing_ok=True)
        raise http_error(400, f"{up.filename}: empty file")
    return dest


def check_image(path: Path, shown: str, max_pixels: int) -> None:
    """400 for a file that is not an image, 413 for one with too many pixels (header only)."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception as exc:  # Pillow raises many kinds for garbage
        raise http_error(400, f"{shown}: not a readable image ({type(exc).__name__})") from None
    if w * h > max_pixels:
        raise http_error(413, f"{shown}: {w}x{h} is more than the {max_pixels / 1e6:g} MP limit")


def library_style(name: str) -> Path:
    """A style of the library by name (never a path: the API serves the library only)."""
    try:
        library.check_name(name)
    except BrushworkError:
        raise StyleNotFoundError(f"no style {name!r} in the library") from None
    path = library.find(name)
    if path is None:
        known = ", ".join(library.list_names()) or "none yet"
        raise StyleNotFoundError(f"no style {name!r} in the library (styles: {known})")
    return path


class Stylizers:
    """Loaded styles, a few at a time, reloaded when their files change."""

    def __init__(self, device: str = "auto", keep: int = 4) -> None:
        self.device = device
        self.keep = keep
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, name: str) -> Any:
        from ..stylizer import Stylizer

        path = library_style(name)
        stamp = (path / STYLE_JSON).stat().st_mtime
        with self._lock:
            hit = self._cache.get(name)
            if hit and hit[0] == stamp:
                self._cache.move_to_end(name)
                return hit[1]
        st = Stylizer.load(path, device=self.device)
        with self._lock:
            self._cache[name] = (stamp, st)
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        return st

    def drop(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)


def style_card(name: str) -> dict[str, Any]:
    meta = library.info(str(library_style(name)))
    t = meta.get("training") or {}
    has_preview = (Path(meta["path"]) / PREVIEW).is_file()
    return {
        "name": name, "generator": (meta.get("generator") or {}).get("name"),
        "steps": t.get("steps"), "minutes": t.get("minutes"), "style_images": t.get("style_images"),
        "preview": f"/api/styles/{name}/preview" if has_preview else None, "builtin": meta["builtin"],
        "report": f"/api/styles/{name}/report" if (library.runs_dir() / name / REPORT).is_file() else None,
    }  # fmt: skip


@dataclass
class Studio:
    """One studio's state: its job queue, the styles it has loaded, the threads that apply
    them (a few long-lived ones: photos in memory and torch's per-thread caches stay bounded)."""

    limits: Limits
    store: JobStore
    stylizers: Stylizers
    appliers: ThreadPoolExecutor
    workers: dict[str, Worker] = field(default_factory=dict)


def studio_of(request: Request) -> Studio:
    studio: Studio = request.app.state.studio
    return studio


StudioDep = Annotated[Studio, Depends(studio_of)]
