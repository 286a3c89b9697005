"""``brushwork serve``: the studio page and its HTTP API (FastAPI), on the library as it is.

Training and video jobs go through the SQLite queue and its one worker (``jobs.py``);
applying a style to an image is answered in the request, with at most ``apply_slots``
images decoded at a time so that memory stays bounded under load. With a token, every
request must carry it (``Authorization: Bearer TOKEN``, or ``?token=TOKEN`` where a
browser cannot set headers: image sources, server-sent events).
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image

from .. import __version__, library
from ..errors import BrushworkError, StyleNotFoundError
from ..io import FORMATS, is_image_path, load_image
from ..report import REPORT
from ..stylefile import PREVIEW, STYLE_JSON
from ..training.recipe import StyleRecipe
from ..video import is_video_path
from .jobs import TERMINAL, Job, JobStore, Worker, jobs_dir, new_job_id

STATIC = Path(__file__).parent / "static"
_MEDIA = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


@dataclass
class Limits:
    """What one request may upload."""

    max_file_mb: float = 50.0
    max_files: int = 500
    max_pixels: int = 100_000_000  # per image (a 24 MP photo is well inside)
    max_video_mb: float = 2048.0
    max_style_mb: float = 600.0  # a .bwstyle file (a resnet style's weights are ~45 MB)


def _error(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def _safe_name(raw: str | None, index: int) -> str:
    """An uploaded file's own name (folders dropped), made safe; never empty."""
    base = Path((raw or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base).lstrip("._-")
    return base[:120] or f"file{index:04d}"


def _save_upload(up: UploadFile, dest: Path, max_mb: float) -> Path:
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
                raise _error(413, f"{up.filename}: larger than the {max_mb:g} MB upload limit")
            f.write(chunk)
    if size == 0:
        dest.unlink(missing_ok=True)
        raise _error(400, f"{up.filename}: empty file")
    return dest


def _check_image(path: Path, shown: str, max_pixels: int) -> None:
    """400 for a file that is not an image, 413 for one with too many pixels (header only)."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Exception as exc:  # Pillow raises many kinds for garbage
        raise _error(400, f"{shown}: not a readable image ({type(exc).__name__})") from None
    if w * h > max_pixels:
        raise _error(413, f"{shown}: {w}x{h} is more than the {max_pixels / 1e6:g} MP limit")


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


class _Stylizers:
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


def _style_card(name: str) -> dict[str, Any]:
    meta = library.info(str(library_style(name)))
    t = meta.get("training") or {}
    has_preview = (Path(meta["path"]) / PREVIEW).is_file()
    return {
        "name": name, "generator": (meta.get("generator") or {}).get("name"),
        "steps": t.get("steps"), "minutes": t.get("minutes"), "style_images": t.get("style_images"),
        "preview": f"/api/styles/{name}/preview" if has_preview else None, "builtin": meta["builtin"],
        "report": f"/api/styles/{name}/report" if (library.runs_dir() / name / REPORT).is_file() else None,
    }  # fmt: skip


def create_app(
    token: str | None = None, limits: Limits | None = None, worker: bool = True, apply_slots: int = 2,
    device: str = "auto",
) -> FastAPI:  # fmt: skip
    """The studio. ``worker=False`` leaves jobs queued (tests that only look at the API)."""
    limits = limits or Limits()
    store = JobStore()
    stylizers = _Stylizers(device)
    appliers = ThreadPoolExecutor(max_workers=apply_slots, thread_name_prefix="brushwork-apply")
    state: dict[str, Worker] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if worker:
            state["worker"] = Worker(store, device=device)
            state["worker"].start()
        yield
        if "worker" in state:
            await asyncio.to_thread(state["worker"].stop, 60)
        appliers.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="brushwork studio", version=__version__, lifespan=lifespan)
    app.state.store = store

    @app.middleware("http")
    async def require_token(request: Request, call_next: Any) -> Any:
        # the page shell, its static files and the API description hold no data: the token
        # guards everything under /api (a browser then sends it from the page's address)
        if token is not None and request.url.path.startswith("/api"):
            given = request.headers.get("authorization", "")
            given = given[7:] if given.lower().startswith("bearer ") else request.query_params.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"detail": "missing or wrong token (Authorization: Bearer TOKEN)"}, status_code=401)
        return await call_next(request)

    @app.exception_handler(StyleNotFoundError)
    async def _not_found(request: Request, exc: StyleNotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(BrushworkError)
    async def _bad(request: Request, exc: BrushworkError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    # ---- health, page -----------------------------------------------------------------
    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ---- training jobs ----------------------------------------------------------------
    @app.post("/api/styles", status_code=202)
    def create_style(
        files: Annotated[list[UploadFile], File(description="style images")],
        name: Annotated[str, Form()],
        content: Annotated[list[UploadFile] | None, File(description="photos to learn from")] = None,
        minutes: Annotated[float | None, Form(gt=0, le=24 * 60)] = None,
        steps: Annotated[int | None, Form(ge=1, le=1_000_000)] = None,
        size: Annotated[int, Form(ge=32, le=1024)] = 256,
        seed: Annotated[int, Form()] = 0,
        generator: Annotated[str, Form(pattern="^(auto|lite|painter|resnet)$")] = "auto",
        overwrite: Annotated[bool, Form()] = False,
        recipe: Annotated[str | None, Form(description="JSON object of recipe overrides")] = None,
    ) -> dict[str, str]:
        try:
            library.check_new_name(name)
        except BrushworkError as exc:
            raise _error(422, str(exc)) from None
        if minutes is not None and steps is not None:
            raise _error(422, "give minutes or steps, not both")
        overrides: dict[str, Any] = {}
        if recipe:
            try:
                overrides = json.loads(recipe)
            except json.JSONDecodeError as exc:
                raise _error(422, f"recipe: not JSON ({exc})") from None
            if not isinstance(overrides, dict):
                raise _error(422, "recipe: must be a JSON object of settings")
            try:
                StyleRecipe().apply_overrides(overrides)
            except BrushworkError as exc:
                raise _error(422, f"recipe: {exc}") from None
        if name in store.active_names():
            raise _error(409, f"a job is already training a style named {name!r}")
        if (library.styles_dir() / name).exists() and not overwrite:
            raise _error(409, f"style {name!r} already exists; send overwrite=true to replace it")
        uploads = [("style", files)] + ([("content", content)] if content else [])
        if sum(len(u) for _, u in uploads) > limits.max_files:
            raise _error(413, f"more than {limits.max_files} files in one request")
        job_id = new_job_id()
        folder = jobs_dir() / job_id
        try:
            for sub, ups in uploads:
                kept = 0
                for i, up in enumerate(ups):
                    shown = up.filename or f"file {i}"
                    fname = _safe_name(up.filename, i)
                    if not is_image_path(Path(fname)):
                        raise _error(415, f"{shown}: not a supported image type ({Path(fname).suffix or 'no suffix'})")
                    dest = folder / sub / fname
                    if dest.exists():
                        dest = dest.with_name(f"{i:04d}_{fname}")
                    _save_upload(up, dest, limits.max_file_mb)
                    _check_image(dest, shown, limits.max_pixels)
                    kept += 1
                if not kept:
                    raise _error(422, f"no {sub} images uploaded")
        except HTTPException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        params = {"minutes": minutes, "steps": steps, "size": size, "seed": seed, "generator": generator,
                  "overwrite": overwrite, "recipe": overrides}  # fmt: skip
        if minutes is None and steps is None:
            params["minutes"] = 3.0
        job = store.create("train", name, params, job_id=job_id)
        return {"job": job.id}

    def _job(job_id: str) -> Job:
        job = store.get(job_id) if re.fullmatch(r"[0-9a-f]{12}", job_id) else None
        if job is None:
            raise _error(404, f"no job {job_id!r}")
        return job

    @app.get("/api/jobs")
    def list_jobs() -> list[dict[str, Any]]:
        return [j.public() for j in store.list()]

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str) -> dict[str, Any]:
        return _job(job_id).public()

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel_job(job_id: str) -> dict[str, Any]:
        job = _job(job_id)
        if job.state in TERMINAL:
            raise _error(409, f"job {job_id} is already {job.state}")
        return store.request_cancel(job_id).public()  # type: ignore[union-attr]

    def _samples(job: Job) -> list[Path]:
        d = library.runs_dir() / job.train_name / "samples"
        return sorted(d.glob("step_*.png")) if d.is_dir() else []

    @app.get("/api/jobs/{job_id}/samples/{file}")
    def job_sample(job_id: str, file: str) -> FileResponse:
        job = _job(job_id)
        path = library.runs_dir() / job.train_name / "samples" / file
        if not re.fullmatch(r"step_\d{6}\.png", file) or not path.is_file():
            raise _error(404, f"no sample {file!r} for job {job_id}")
        return FileResponse(path, media_type="image/png")

    @app.get("/api/jobs/{job_id}/result")
    def job_result(job_id: str) -> FileResponse:
        job = _job(job_id)
        if job.state != "done" or not job.result or not Path(job.result).is_file():
            raise _error(404, f"job {job_id} has no result (state: {job.state})")
        return FileResponse(job.result, filename=Path(job.result).name)

    @app.get("/api/jobs/{job_id}/events")
    async def job_events(job_id: str, request: Request) -> StreamingResponse:
        _job(job_id)

        async def stream() -> AsyncIterator[str]:
            last: dict[str, Any] | None = None
            sent: set[str] = set()
            while not await request.is_disconnected():
                job = await asyncio.to_thread(store.get, job_id)
                assert job is not None
                pub = job.public()
                if pub != last:
                    yield f"event: progress\ndata: {json.dumps(pub)}\n\n"
                    last = pub
                for s in await asyncio.to_thread(_samples, job):
                    if s.name not in sent:
                        sent.add(s.name)
                        data = {"url": f"/api/jobs/{job_id}/samples/{s.name}", "step": int(s.stem[5:])}
                        yield f"event: sample\ndata: {json.dumps(data)}\n\n"
                if job.state in TERMINAL:
                    yield f"event: end\ndata: {json.dumps(pub)}\n\n"
                    return
                await asyncio.sleep(0.5)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    # ---- the library ------------------------------------------------------------------
    @app.get("/api/styles")
    def list_styles() -> list[dict[str, Any]]:
        cards = []
        for n in library.list_names():
            try:
                cards.append(_style_card(n))
            except BrushworkError:  # a damaged folder is left out of the list, not a 500
                continue
        return cards

    @app.get("/api/styles/{name}")
    def get_style(name: str) -> dict[str, Any]:
        meta = library.info(str(library_style(name)))
        return {**_style_card(name), "meta": {k: v for k, v in meta.items() if k != "path"}}

    @app.post("/api/preview", response_model=None)
    def preview(
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
                    dest = _save_upload(up, folder / _safe_name(up.filename, i), limits.max_file_mb)
                    _check_image(dest, up.filename or dest.name, limits.max_pixels)
                src = folder if ups else builtin_dir("photos")
                banks[kind], _ = ImageBank.from_folder(src, 16, 512, kind)
            if not len(banks["style"]) or not len(banks["content"]):
                raise _error(400, "no readable images to preview")
            buf = io.BytesIO()
            preview_image(banks["content"], banks["style"]).save(buf, format="PNG")
        return Response(buf.getvalue(), media_type="image/png")

    @app.get("/api/styles/{name}/report")
    def style_report(name: str) -> FileResponse:
        """The training run's report (report.html), for styles trained in this library."""
        library_style(name)
        path = library.runs_dir() / name / REPORT
        if not path.is_file():
            raise _error(404, f"style {name!r} has no training report")
        return FileResponse(path, media_type="text/html")

    @app.get("/api/styles/{name}/preview")
    def style_preview(name: str) -> FileResponse:
        path = library_style(name) / PREVIEW
        if not path.is_file():
            raise _error(404, f"style {name!r} has no preview")
        return FileResponse(path, media_type="image/png")

    @app.delete("/api/styles/{name}")
    def delete_style(name: str) -> dict[str, str]:
        library.remove(name)
        stylizers.drop(name)
        return {"deleted": name}

    @app.post("/api/styles/{name}/apply", response_model=None)
    def apply_style(
        name: str,
        file: Annotated[UploadFile, File(description="a photo (or a video: answered with a job)")],
        strength: Annotated[float, Form(ge=0, le=1)] = 1.0,
        preserve_color: Annotated[bool, Form()] = False,
        format: Annotated[str, Form(pattern="^(png|jpg|webp)$")] = "png",
    ) -> Response | JSONResponse:
        library_style(name)  # 404 before reading the upload
        fname = _safe_name(file.filename, 0)
        if is_video_path(Path(fname)):
            job_id = new_job_id()
            _save_upload(file, jobs_dir() / job_id / "input" / fname, limits.max_video_mb)
            params = {"file": fname, "strength": strength, "preserve_color": preserve_color}
            job = store.create("video", name, params, job_id=job_id)
            return JSONResponse({"job": job.id}, status_code=202)
        if not is_image_path(Path(fname)):
            raise _error(415, f"{file.filename}: not a supported image or video type")
        with tempfile.TemporaryDirectory(prefix="brushwork-apply-") as tmp:
            src = _save_upload(file, Path(tmp) / fname, limits.max_file_mb)
            _check_image(src, file.filename or fname, limits.max_pixels)

            def work() -> bytes:
                img = load_image(src)
                out = stylizers.get(name)(img, strength=strength, preserve_color=preserve_color)
                del img
                buf = io.BytesIO()
                save_kw: dict[str, Any] = {"quality": 95} if format in ("jpg", "webp") else {}
                out.save(buf, format=FORMATS[format], **save_kw)
                return buf.getvalue()

            # decoding and stylizing happen on a few long-lived threads: photos in memory at
            # once are bounded, and torch's per-thread caches exist only for those threads
            data = appliers.submit(work).result()
        return Response(data, media_type=_MEDIA[format])

    @app.get("/api/styles/{name}/export")
    def export_style(
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

    @app.post("/api/styles/import")
    def import_style(
        file: Annotated[UploadFile, File(description="a .bwstyle file")],
        name: Annotated[str | None, Form()] = None, overwrite: Annotated[bool, Form()] = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Add a shared style to the library; a file that fails a check is refused whole (400)."""
        from ..stylepack import SUFFIX
        from ..stylepack import import_style as unpack

        shown = _safe_name(file.filename, 0)
        target = name or shown.removesuffix(SUFFIX)
        with tempfile.TemporaryDirectory() as tmp:
            src = _save_upload(file, Path(tmp) / shown, limits.max_style_mb)
            try:
                path = unpack(src, target, overwrite=overwrite)
            except BrushworkError as exc:
                status = 409 if "already exists" in str(exc) else 400
                raise _error(status, str(exc).replace(str(src), shown)) from None
        stylizers.drop(path.name)
        return _style_card(path.name)

    return app
