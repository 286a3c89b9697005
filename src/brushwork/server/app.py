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
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import BrushworkError, StyleNotFoundError
from . import routes_jobs, routes_styles
from .jobs import JobStore, Worker
from .shared import Limits, Studio, Stylizers

STATIC = Path(__file__).parent / "static"
__all__ = ["Limits", "create_app"]


def create_app(
    token: str | None = None, limits: Limits | None = None, worker: bool = True, apply_slots: int = 2,
    device: str = "auto",
) -> FastAPI:  # fmt: skip
    """The studio. ``worker=False`` leaves jobs queued (tests that only look at the API)."""
    studio = Studio(
        limits or Limits(), JobStore(), Stylizers(device),
        ThreadPoolExecutor(max_workers=apply_slots, thread_name_prefix="brushwork-apply"),
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if worker:
            studio.workers["worker"] = Worker(studio.store, device=device)
            studio.workers["worker"].start()
        yield
        if "worker" in studio.workers:
            await asyncio.to_thread(studio.workers["worker"].stop, 60)
        studio.appliers.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="brushwork studio", version=__version__, lifespan=lifespan)
    app.state.studio = studio
    app.state.store = studio.store

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

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(routes_jobs.router)
    app.include_router(routes_styles.router)
    return app
