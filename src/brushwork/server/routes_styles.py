"""The studio's library routes: list, show, preview where training starts, apply, export,
import and delete styles."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from .. import library
from ..errors import BrushworkError
from ..io import FORMATS, is_image_path, load_image
from ..report import REPORT, training_notes
from ..stylefile import PREVIEW, STYLE_JSON
from ..video import is_video_path
from .jobs import jobs_dir, new_job_id
from .shared import StudioDep, check_image, http_error, library_style, safe_name, save_upload, style_card

router = APIRouter()
# the recipe settings the studio offers, as its page names them (index.html's checkboxes)
STUDIO_OPTIONS = {"colour_shrink": "keep the whole colour change", "lines": "draw dark outlines"}
_MEDIA = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


# ---- the library ------------------------------------------------------------------
@router.get("/api/styles")
def list_styles(s: StudioDep) -> list[dict[str, Any]]:
    cards = []
    for n in library.list_names():
        try:
            cards.append(style_card(n))
        except BrushworkError:  # a damaged folder is left out of the list, not a 500
            continue
    return cards


@router.get("/api/styles/{name}")
def get_style(s: StudioDep, name: str) -> dict[str, Any]:
    meta = library.info(str(library_style(name)))
    notes = training_notes(meta.get("training") or {}, option=lambda key, _: f"“{STUDIO_OPTIONS[key]}”")
    return {**style_card(name), "meta": {k: v for k, v in meta.items() if k != "path"}, "notes": notes}


@router.post("/api/preview", response_model=None)
def preview(
    s: StudioDep,
    files: Annotated[list[UploadFile], File(description="style images (8 are read)")],
    content: Annotated[list[UploadFile] | None, File(description="photos (default: built-in)")] = None,
) -> Response:
    """Where training will start, on two photos, in seconds (PNG: before | start)."""
    from ..data import ImageBank, builtin_dir
    from ..training.preview import IMAGES, preview_image

    with tempfile.TemporaryDirectory() as tmp:
        banks = {}
        for kind, ups in (("style", files[:IMAGES]), ("content", (content or [])[:IMAGES])):
            folder = Path(tmp) / kind
            for i, up in enumerate(ups):
                dest = save_upload(up, folder / safe_name(up.filename, i), s.limits.max_file_mb)
                check_image(dest, up.filename or dest.name, s.limits.max_pixels)
            src = folder if ups else builtin_dir("photos")
            banks[kind], _ = ImageBank.from_folder(src, 16, 512, kind)
        if not len(banks["style"]) or not len(banks["content"]):
            raise http_error(400, "no readable images to preview")
        buf = io.BytesIO()
        preview_image(banks["content"], banks["style"]).save(buf, format="PNG")
    return Response(buf.getvalue(), media_type="image/png")


@router.get("/api/styles/{name}/report")
def style_report(s: StudioDep, name: str) -> FileResponse:
    """The training run's report (report.html), for styles trained in this library."""
    library_style(name)
    path = library.runs_dir() / name / REPORT
    if not path.is_file():
        raise http_error(404, f"style {name!r} has no training report")
    return FileResponse(path, media_type="text/html")


@router.get("/api/styles/{name}/preview")
def style_preview(s: StudioDep, name: str) -> FileResponse:
    path = library_style(name) / PREVIEW
    if not path.is_file():
        raise http_error(404, f"style {name!r} has no preview")
    return FileResponse(path, media_type="image/png")


@router.delete("/api/styles/{name}")
def delete_style(s: StudioDep, name: str) -> dict[str, str]:
    library.remove(name)
    s.stylizers.drop(name)
    return {"deleted": name}


@router.post("/api/styles/{name}/apply", response_model=None)
def apply_style(
    s: StudioDep,
    name: str,
    file: Annotated[UploadFile, File(description="a photo (or a video: answered with a job)")],
    strength: Annotated[float, Form(ge=0, le=1)] = 1.0,
    preserve_color: Annotated[bool, Form()] = False,
    format: Annotated[str, Form(pattern="^(png|jpg|webp)$")] = "png",
) -> Response | JSONResponse:
    library_style(name)  # 404 before reading the upload
    fname = safe_name(file.filename, 0)
    if is_video_path(Path(fname)):
        job_id = new_job_id()
        save_upload(file, jobs_dir() / job_id / "input" / fname, s.limits.max_video_mb)
        params = {"file": fname, "strength": strength, "preserve_color": preserve_color}
        job = s.store.create("video", name, params, job_id=job_id)
        return JSONResponse({"job": job.id}, status_code=202)
    if not is_image_path(Path(fname)):
        raise http_error(415, f"{file.filename}: not a supported image or video type")
    with tempfile.TemporaryDirectory(prefix="brushwork-apply-") as tmp:
        src = save_upload(file, Path(tmp) / fname, s.limits.max_file_mb)
        check_image(src, file.filename or fname, s.limits.max_pixels)

        def work() -> bytes:
            img = load_image(src)
            out = s.stylizers.get(name)(img, strength=strength, preserve_color=preserve_color)
            del img
            buf = io.BytesIO()
            save_kw: dict[str, Any] = {"quality": 95} if format in ("jpg", "webp") else {}
            out.save(buf, format=FORMATS[format], **save_kw)
            return buf.getvalue()

        # decoding and stylizing happen on a few long-lived threads: photos in memory at
        # once are bounded, and torch's per-thread caches exist only for those threads
        data = s.appliers.submit(work).result()
    return Response(data, media_type=_MEDIA[format])


@router.get("/api/styles/{name}/export")
def export_style(
    s: StudioDep,
    name: str, format: Annotated[str, Query(pattern="^(onnx|torchscript|bwstyle)$")] = "onnx"
) -> FileResponse:  # fmt: skip
    """The style as a network to run elsewhere (onnx, torchscript) or as one file to share
    and import into another library (bwstyle)."""
    from ..export import export_generator
    from ..stylefile import load_style
    from ..stylepack import export_style as pack
    from ..stylizer import vignette_of

    path = library_style(name)
    stamp = int((path / STYLE_JSON).stat().st_mtime_ns)
    suffix = {"onnx": ".onnx", "torchscript": ".pt", "bwstyle": ".bwstyle"}[format]
    dest = library.home() / "cache" / "export" / f"{name}-{stamp}{suffix}"
    if not dest.is_file():
        if format == "bwstyle":
            pack(path, dest)
        else:
            g, meta = load_style(path)
            export_generator(g, format, dest, vignette_of(meta, path))
    return FileResponse(dest, filename=f"{name}{suffix}", media_type="application/octet-stream")


@router.post("/api/styles/import")
def import_style(
    s: StudioDep,
    file: Annotated[UploadFile, File(description="a .bwstyle file")],
    name: Annotated[str | None, Form()] = None, overwrite: Annotated[bool, Form()] = False,
) -> dict[str, Any]:  # fmt: skip
    """Add a shared style to the library; a file that fails a check is refused whole (400)."""
    from ..stylepack import SUFFIX
    from ..stylepack import import_style as unpack

    shown = safe_name(file.filename, 0)
    target = name or shown.removesuffix(SUFFIX)
    with tempfile.TemporaryDirectory() as tmp:
        src = save_upload(file, Path(tmp) / shown, s.limits.max_style_mb)
        try:
            path = unpack(src, target, overwrite=overwrite)
        except BrushworkError as exc:
            status = 409 if "already exists" in str(exc) else 400
            raise http_error(status, str(exc).replace(str(src), shown)) from None
    s.stylizers.drop(path.name)
    return style_card(path.name)
