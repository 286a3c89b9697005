"""The studio's job queue: jobs kept in SQLite under ``BRUSHWORK_HOME``, one worker thread.

A job is a row (state, progress, ETA, error) plus a folder ``jobs/<id>/`` holding what was
uploaded for it. The worker runs one job at a time through the library's own entry points
(``train_style``, ``stylize_video``). Training jobs train under a name of their own
(``<name>.job-<id>``) and their style enters the library by a rename when they finish, so a
half-trained style never shows up and an existing one is only replaced when asked.

The queue survives a restart: a job that was running when the process died is resumed from
its checkpoint (training resumes exactly; a video is redone), queued jobs stay queued.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BrushworkError
from ..library import home, runs_dir, styles_dir
from ..stylefile import is_style_dir
from ..training.loop import OPTIONS

STATES = ("queued", "running", "done", "failed")
TERMINAL = ("done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    eta_s REAL,
    style TEXT,
    result TEXT,
    error TEXT,
    cancel INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
)
"""


class Cancelled(Exception):
    """Raised inside a running job when its cancellation was asked for."""


@dataclass
class Job:
    id: str
    kind: str  # "train" or "video"
    state: str
    name: str  # the style learned (train) or applied (video)
    params: dict[str, Any]
    progress: float
    eta_s: float | None
    style: str | None
    result: str | None
    error: str | None
    cancel: bool
    created: float
    updated: float

    @property
    def folder(self) -> Path:
        return jobs_dir() / self.id

    @property
    def train_name(self) -> str:
        """The name the job trains under (its run folder is ``runs/<train_name>``)."""
        return f"{self.name}.job-{self.id}"

    def public(self) -> dict[str, Any]:
        """The job as the HTTP API shows it."""
        return {
            "id": self.id, "kind": self.kind, "state": self.state, "name": self.name,
            "progress": round(self.progress, 4), "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
            "style": self.style, "error": self.error, "created": self.created,
            "result": f"/api/jobs/{self.id}/result" if self.result else None,
        }  # fmt: skip


def jobs_dir() -> Path:
    return home() / "jobs"


class JobStore:
    """Jobs in a SQLite database file (WAL mode; a connection per call, so any thread may use it)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "studio.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # writers in this process take turns
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"], kind=row["kind"], state=row["state"], name=row["name"], params=json.loads(row["params"]),
            progress=row["progress"], eta_s=row["eta_s"], style=row["style"], result=row["result"],
            error=row["error"], cancel=bool(row["cancel"]), created=row["created"], updated=row["updated"],
        )  # fmt: skip

    def create(self, kind: str, name: str, params: dict[str, Any], job_id: str | None = None) -> Job:
        job_id = job_id or new_job_id()
        now = time.time()
        with self._lock, self._db() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
            db.execute(
                "INSERT INTO jobs (id, seq, kind, state, name, params, created, updated) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
                (job_id, seq, kind, name, json.dumps(params), now, now),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._job(row)

    def list(self, limit: int = 100) -> list[Job]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [self._job(r) for r in rows]

    def active_names(self) -> set[str]:
        """Style names that a queued or running training job will write."""
        with self._db() as db:
            rows = db.execute("SELECT name FROM jobs WHERE kind = 'train' AND state IN ('queued', 'running')")
            return {r[0] for r in rows}

    def update(self, job_id: str, **fields: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._lock, self._db() as db:
            db.execute(f"UPDATE jobs SET {cols}, updated = ? WHERE id = ?", (*fields.values(), time.time(), job_id))

    def claim_next(self) -> Job | None:
        """The job to run now: one left running by a stopped process first (it resumes),
        else the oldest queued one, which is marked running."""
        with self._lock, self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE state = 'running' ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                row = db.execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1").fetchone()
                if row is None:
                    return None
                db.execute("UPDATE jobs SET state = 'running', updated = ? WHERE id = ?", (time.time(), row["id"]))
        job = self.get(row["id"])
        return job

    def request_cancel(self, job_id: str) -> Job | None:
        """A queued job fails at once; a running one is flagged and stops at its next step."""
        with self._lock, self._db() as db:
            db.execute(
                "UPDATE jobs SET state = 'failed', error = 'cancelled', updated = ? WHERE id = ? AND state = 'queued'",
                (time.time(), job_id),
            )
            db.execute(
                "UPDATE jobs SET cancel = 1, updated = ? WHERE id = ? AND state = 'running'", (time.time(), job_id)
            )
        return self.get(job_id)


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def install_style(trained: Path, name: str, overwrite: bool) -> Path:
    """Move a finished style folder into the library as ``name`` (replacing an existing one
    only with ``overwrite``; the old folder is moved aside first, then removed)."""
    dest = styles_dir() / name
    if dest.exists():
        if not overwrite:
            raise BrushworkError(f"style {name!r} already exists; ask for overwrite to replace it")
        old = dest.with_name(f".{name}.old-{uuid.uuid4().hex[:6]}")
        os.replace(dest, old)
        os.replace(trained, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(trained, dest)
    return dest


class Worker(threading.Thread):
    """Runs jobs one at a time until ``stop()``; each job's outcome is written to the store."""

    def __init__(self, store: JobStore, poll_s: float = 0.5, device: str = "auto") -> None:
        super().__init__(name="brushwork-worker", daemon=True)
        self.store = store
        self.poll_s = poll_s
        self.device = device
        self._halt = threading.Event()
        self.busy = threading.Event()

    def stop(self, timeout: float | None = None) -> None:
        self._halt.set()
        self.join(timeout)

    def run(self) -> None:
        while not self._halt.is_set():
            job = self.store.claim_next()
            if job is None:
                self._halt.wait(self.poll_s)
                continue
            self.busy.set()
            try:
                self._run_job(job)
            finally:
                self.busy.clear()

    def _run_job(self, job: Job) -> None:
        try:
            if job.kind == "train":
                self._train(job)
            elif job.kind == "video":
                self._video(job)
            else:
                raise BrushworkError(f"unknown job kind {job.kind!r}")
        except Cancelled:
            self.store.update(job.id, state="failed", error="cancelled", eta_s=None)
            shutil.rmtree(runs_dir() / job.train_name, ignore_errors=True)
        except _Stopping:
            pass  # the server is shutting down: the job stays 'running' and resumes at the next start
        except (BrushworkError, OSError, ValueError, RuntimeError) as exc:
            self.store.update(job.id, state="failed", error=str(exc), eta_s=None)
        except Exception as exc:  # a bug: the job says so, the worker lives on
            traceback.print_exc()
            self.store.update(job.id, state="failed", error=f"internal error: {exc!r}", eta_s=None)

    def _on_step(self, job: Job) -> Any:
        last = [0.0]

        def on_step(step: int, stats: dict[str, float]) -> None:
            if self._halt.is_set():
                raise _Stopping
            now = time.monotonic()
            if now - last[0] < 0.5 and stats["progress"] < 1.0:
                return
            last[0] = now
            p, elapsed = stats["progress"], stats["elapsed_s"]
            eta = elapsed * (1 - p) / p if p > 0 else None
            self.store.update(job.id, progress=p, eta_s=eta)
            if self.store.get(job.id).cancel:  # type: ignore[union-attr]
                raise Cancelled

        return on_step

    def _train(self, job: Job) -> None:
        from ..api import train_style

        p = job.params
        trained = styles_dir() / job.train_name
        if not is_style_dir(trained):  # (else: killed after training, before the rename)
            resume = (runs_dir() / job.train_name / OPTIONS).exists()
            content = job.folder / "content"
            train_style(
                job.folder / "style", content if content.is_dir() else None, name=job.train_name,
                minutes=p.get("minutes"), steps=p.get("steps"), size=int(p.get("size", 256)),
                seed=int(p.get("seed", 0)), generator=str(p.get("generator", "auto")), device=self.device,
                resume=resume, quiet=True, recipe=p.get("recipe") or None, on_step=self._on_step(job),
            )  # fmt: skip
        install_style(trained, job.name, bool(p.get("overwrite")))
        self.store.update(job.id, state="done", progress=1.0, eta_s=0.0, style=job.name)

    def _video(self, job: Job) -> None:
        from ..stylizer import Stylizer
        from ..video import stylize_video

        p = job.params
        st = Stylizer.load(job.name, strength=float(p.get("strength", 1.0)),
                           preserve_color=bool(p.get("preserve_color", False)))  # fmt: skip
        src = job.folder / "input" / p["file"]
        dest = job.folder / "out" / p["file"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        stylize_video(st, src, dest, quiet=True)
        self.store.update(job.id, state="done", progress=1.0, eta_s=0.0, style=job.name, result=str(dest))


class _Stopping(Exception):
    """The worker was asked to stop while a job ran (the job resumes at the next start)."""
