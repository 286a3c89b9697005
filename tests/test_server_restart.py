"""Kill the studio (SIGKILL) during a training job and start it again: the job resumes from
its checkpoint and finishes, the job queued behind it still runs, and the resumed style is
bit-identical to the uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import TINY
from test_server import png

from brushwork.stylefile import WEIGHTS

pytestmark = pytest.mark.slow  # make test runs it; make test-fast leaves it out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BRUSHWORK_HOME": str(home)}
    cmd = [sys.executable, "-m", "brushwork.cli", "serve", "--port", str(port), "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while time.time() - t0 < 60:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if json.load(r) == {"status": "ok"}:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the studio did not start")


def post_style(port: int, name: str, steps: int) -> str:
    boundary = "brushworkboundary"
    parts: list[bytes] = []
    fields = {"name": name, "steps": str(steps), "size": "32", "recipe": json.dumps(TINY)}
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for field, prefix, seeds in (("files", "s", range(3)), ("content", "c", range(10, 13))):
        for i in seeds:
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{prefix}{i}.png"\r\n'
            parts.append(head.encode() + b"Content-Type: image/png\r\n\r\n" + png(i) + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/styles", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 202
        return str(json.load(r)["job"])


def job(port: int, job_id: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs/{job_id}", timeout=10) as r:
        return dict(json.load(r))


def test_restart_mid_job_resumes_exactly(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    server = start(home, port)
    try:
        steps = 150
        killed = post_style(port, "killed", steps)
        queued = post_style(port, "queued", steps)  # the same run, left to finish in one go
        t0 = time.time()
        while time.time() - t0 < 120:
            j = job(port, killed)
            ckpt = home / "runs" / f"killed.job-{killed}" / "checkpoint.safetensors"
            if j["state"] in ("done", "failed") or (0.2 <= float(j["progress"]) and ckpt.exists()):  # type: ignore[arg-type]
                break
            time.sleep(0.05)
        assert j["state"] == "running" and float(j["progress"]) < 1.0, j  # type: ignore[arg-type]
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        server = start(home, port)
        assert job(port, queued)["state"] == "queued"
        t0 = time.time()
        while time.time() - t0 < 300 and job(port, queued)["state"] not in ("done", "failed"):
            time.sleep(0.2)
        a, b = job(port, killed), job(port, queued)
        assert a["state"] == "done" and b["state"] == "done", (a, b)
        wa = (home / "styles" / "killed" / WEIGHTS).read_bytes()
        wb = (home / "styles" / "queued" / WEIGHTS).read_bytes()
        assert wa == wb  # resumed exactly: the same style as the uninterrupted run
    finally:
        server.kill()
        server.wait(10)


def test_ctrl_c_with_an_open_event_stream(tmp_path: Path) -> None:
    """Ctrl-C stops the studio within seconds even while a browser watches a job; the job
    is left 'running', to resume at the next start."""
    import sqlite3
    import threading

    home, port = tmp_path / "home", free_port()
    server = start(home, port)
    try:
        job_id = post_style(port, "long", 100_000)

        def watch() -> None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs/{job_id}/events", timeout=60) as r:
                    for _ in r:
                        pass
            except OSError:
                pass

        threading.Thread(target=watch, daemon=True).start()
        t0 = time.time()
        while job(port, job_id)["state"] != "running" and time.time() - t0 < 60:
            time.sleep(0.1)
        server.send_signal(signal.SIGINT)
        server.wait(20)
    finally:
        server.kill()
    with sqlite3.connect(home / "studio.sqlite3") as db:
        assert db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0] == "running"
