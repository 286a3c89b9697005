"""Batch apply on a local 2-CPU Ray cluster: the same outputs and failure report as the
local path, relative paths kept, existing outputs skipped; a worker killed mid-run and the
rerun completes."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import make_images, trained_like_lite
from PIL import Image

from brushwork import Stylizer
from brushwork.apply import apply_to_paths
from brushwork.stylefile import save_style

ray = pytest.importorskip("ray")

from brushwork.ray_apply import apply_on_ray  # noqa: E402

pytestmark = pytest.mark.slow  # make test runs it; make test-fast leaves it out


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def make_style(folder: Path) -> Path:
    return save_style(folder, "lite", {}, trained_like_lite().state_dict(), {}, None)


def pixels(p: Path) -> np.ndarray:
    return np.asarray(Image.open(p)).astype(int)


def same_outputs(a: Path, b: Path) -> None:
    fa = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert fa == sorted(p.relative_to(b) for p in b.rglob("*.png")) and fa
    for rel in fa:
        assert np.abs(pixels(a / rel) - pixels(b / rel)).max() <= 1, rel


def test_same_as_local_path(cluster: None, tmp_path: Path) -> None:
    style = make_style(tmp_path / "style")
    src = tmp_path / "in"
    make_images(src / "a", 3, seed=1, size=(96, 64))
    make_images(src / "b" / "c", 2, seed=2, size=(64, 80))
    (src / "a" / "broken.png").write_text("not an image")
    local = apply_to_paths(Stylizer.load(style), [src], tmp_path / "local", quiet=True)
    remote = apply_on_ray(style, [src], tmp_path / "ray", quiet=True)
    assert len(remote.written) == len(local.written) == 5
    assert remote.failed == local.failed and "broken.png" in remote.failed[0]
    same_outputs(tmp_path / "local", tmp_path / "ray")
    again = apply_on_ray(style, [src], tmp_path / "ray", quiet=True)  # a rerun: nothing left to do
    assert again.written == [] and len(again.skipped) == 5 and "broken.png" in again.failed[0]


def _applier_pids() -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"_Applier" in cmd and b"MapWorker" in cmd:
                pids.append(int(d.name))
    return pids


def test_worker_killed_mid_run_then_rerun_completes(cluster: None, tmp_path: Path) -> None:
    style = make_style(tmp_path / "style")
    src = make_images(tmp_path / "in", 24, seed=3, size=(384, 384))
    out = tmp_path / "out"
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            outcome["result"] = apply_on_ray(style, [src], out, quiet=True)
        except Exception as exc:  # a lost worker may fail the run: the rerun must finish it
            outcome["error"] = exc

    t = threading.Thread(target=first)
    t.start()
    t0 = time.time()
    while not any(out.rglob("*.png")) and time.time() - t0 < 120:
        time.sleep(0.01)
    killed = _applier_pids()
    assert killed, "no Ray worker found to kill"
    os.kill(killed[0], signal.SIGKILL)
    written_at_kill = len(list(out.rglob("*.png")))
    t.join(300)
    assert written_at_kill < 24, "the run ended before a worker could be killed"
    # (Ray restarts the worker and retries its files, so the first run usually completes too)
    rerun = apply_on_ray(style, [src], out, quiet=True)
    assert not rerun.failed and len(rerun.written) + len(rerun.skipped) == 24
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix != ".png"]  # no partial files
    apply_to_paths(Stylizer.load(style), [src], tmp_path / "local", quiet=True)
    same_outputs(tmp_path / "local", out)
