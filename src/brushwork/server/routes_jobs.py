"""The studio's training and video jobs: start one, follow it (progress, samples as
server-sent events), cancel it, fetch its result."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

from .. import library
from ..errors import BrushworkError
from ..io import is_image_path
from ..training.recipe import StyleRecipe
from .jobs import TERMINAL, Job, jobs_dir, new_job_id
from .shared import Studio, StudioDep, check_image, http_error, safe_name, save_upload

router = APIRouter()


# ---- training jobs ----------------------------------------------------------------
@router.post("/api/styles", status_code=202)
def create_style(
    s: StudioDep,
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
        raise http_error(422, str(exc)) from None
    if minutes is not None and steps is not None:
        raise http_error(422, "give minutes or steps, not both")
    overrides: dict[str, Any] = {}
    if recipe:
        try:
            overrides = json.loads(recipe)
        except json.JSONDecodeError as exc:
            raise http_error(422, f"recipe: not JSON ({exc})") from None
        if not isinstance(overrides, dict):
            raise http_error(422, "recipe: must be a JSON object of settings")
        try:
            StyleRecipe().apply_overrides(overrides)
        except BrushworkError as exc:
            raise http_error(422, f"recipe: {exc}") from None
    if name in s.store.active_names():
        raise http_error(409, f"a job is already training a style named {name!r}")
    if (library.styles_dir() / name).exists() and not overwrite:
        raise http_error(409, f"style {name!r} already exists; send overwrite=true to replace it")
    uploads = [("style", files)] + ([("content", content)] if content else [])
    if sum(len(u) for _, u in uploads) > s.limits.max_files:
        raise http_error(413, f"more than {s.limits.max_files} files in one request")
    job_id = new_job_id()
    folder = jobs_dir() / job_id
    try:
        for sub, ups in uploads:
            kept = 0
            for i, up in enumerate(ups):
                shown = up.filename or f"file {i}"
                fname = safe_name(up.filename, i)
                if not is_image_path(Path(fname)):
                    raise http_error(415, f"{shown}: not a supported image type ({Path(fname).suffix or 'no suffix'})")
                dest = folder / sub / fname
                if dest.exists():
                    dest = dest.with_name(f"{i:04d}_{fname}")
                save_upload(up, dest, s.limits.max_file_mb)
                check_image(dest, shown, s.limits.max_pixels)
                kept += 1
            if not kept:
                raise http_error(422, f"no {sub} images uploaded")
    except HTTPException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    params = {"minutes": minutes, "steps": steps, "size": size, "seed": seed, "generator": generator,
              "overwrite": overwrite, "recipe": overrides}  # fmt: skip
    if minutes is None and steps is None:
        params["minutes"] = 3.0
    job = s.store.create("train", name, params, job_id=job_id)
    return {"job": job.id}


def _job(s: Studio, job_id: str) -> Job:
    job = s.store.get(job_id) if re.fullmatch(r"[0-9a-f]{12}", job_id) else None
    if job is None:
        raise http_error(404, f"no job {job_id!r}")
    return job


@router.get("/api/jobs")
def list_jobs(s: StudioDep) -> list[dict[str, Any]]:
    return [j.public() for j in s.store.list()]


@router.get("/api/jobs/{job_id}")
def get_job(s: StudioDep, job_id: str) -> dict[str, Any]:
    return _job(s, job_id).public()


@router.post("/api/jobs/{job_id}/cancel")
def cancel_job(s: StudioDep, job_id: str) -> dict[str, Any]:
    job = _job(s, job_id)
    if job.state in TERMINAL:
        raise http_error(409, f"job {job_id} is already {job.state}")
    return s.store.request_cancel(job_id).public()  # type: ignore[union-attr]


def _samples(job: Job) -> list[Path]:
    d = library.runs_dir() / job.train_name / "samples"
    return sorted(d.glob("step_*.png")) if d.is_dir() else []


@router.get("/api/jobs/{job_id}/samples/{file}")
def job_sample(s: StudioDep, job_id: str, file: str) -> FileResponse:
    job = _job(s, job_id)
    path = library.runs_dir() / job.train_name / "samples" / file
    if not re.fullmatch(r"step_\d{6}\.png", file) or not path.is_file():
        raise http_error(404, f"no sample {file!r} for job {job_id}")
    return FileResponse(path, media_type="image/png")


@router.get("/api/jobs/{job_id}/result")
def job_result(s: StudioDep, job_id: str) -> FileResponse:
    job = _job(s, job_id)
    if job.state != "done" or not job.result or not Path(job.result).is_file():
        raise http_error(404, f"job {job_id} has no result (state: {job.state})")
    return FileResponse(job.result, filename=Path(job.result).name)


@router.get("/api/jobs/{job_id}/events")
async def job_events(s: StudioDep, job_id: str, request: Request) -> StreamingResponse:
    _job(s, job_id)

    async def stream() -> AsyncIterator[str]:
        last: dict[str, Any] | None = None
        sent: set[str] = set()
        while not await request.is_disconnected():
            job = await asyncio.to_thread(s.store.get, job_id)
            assert job is not None
            pub = job.public()
            if pub != last:
                yield f"event: progress\ndata: {json.dumps(pub)}\n\n"
                last = pub
            for sample in await asyncio.to_thread(_samples, job):
                if sample.name not in sent:
                    sent.add(sample.name)
                    data = {"url": f"/api/jobs/{job_id}/samples/{sample.name}", "step": int(sample.stem[5:])}
                    yield f"event: sample\ndata: {json.dumps(data)}\n\n"
            if job.state in TERMINAL:
                yield f"event: end\ndata: {json.dumps(pub)}\n\n"
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
