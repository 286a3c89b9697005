"""Video round trip on a short clip made here: frame count, frame rate, audio kept, flicker."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from brushwork import Stylizer, library, nets
from brushwork.stylefile import save_style
from brushwork.video import flicker, stabilise_weight, stylize_video

av = pytest.importorskip("av")


def make_clip(path: Path, frames: int = 12, fps: int = 10, size: tuple[int, int] = (64, 48)) -> None:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height = size
        vs.pix_fmt = "yuv420p"
        aus = out.add_stream("aac", rate=16000)
        aus.layout = "mono"
        for i in range(frames):
            base = np.tile(np.linspace(0, 200, size[0], dtype=np.float32), (size[1], 1))
            img = np.clip(np.roll(base, i, axis=1)[..., None] + rng.normal(0, 4, (size[1], size[0], 3)), 0, 255)
            for p in vs.encode(av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")):
                out.mux(p)
        samples_per_frame = 1024
        t = 0
        for _ in range(int(16000 * frames / fps) // samples_per_frame):
            tone = (0.3 * np.sin(2 * np.pi * 440 * (t + np.arange(samples_per_frame)) / 16000)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(tone[None], format="flt", layout="mono")
            af.sample_rate = 16000
            af.pts = t
            t += samples_per_frame
            for p in aus.encode(af):
                out.mux(p)
        for s in (vs, aus):
            for p in s.encode():
                out.mux(p)


@pytest.fixture
def stylizer(brushwork_home: Path) -> Stylizer:
    torch.manual_seed(0)
    g = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.3)  # a noisy look that amplifies input noise
    save_style(library.styles_dir() / "v", "lite", {"ngf": 4, "n_blocks": 1, "lut_size": 5}, g.state_dict(), {}, None)
    return Stylizer.load("v", device="cpu", precision="fp32")


def test_video_round_trip(tmp_path: Path, stylizer: Stylizer) -> None:
    src = tmp_path / "clip.mp4"
    make_clip(src)
    dest = tmp_path / "out" / "clip.mp4"
    rep = stylize_video(stylizer, src, dest, quiet=True)
    with av.open(str(dest)) as c:
        vs = c.streams.video[0]
        assert c.streams.audio, "audio stream was not copied"
        assert vs.average_rate == Fraction(10)
        n = sum(1 for _ in c.decode(vs))
    assert n == rep.frames == 12
    naive = stylize_video(stylizer, src, tmp_path / "naive.mp4", keep=0.0, quiet=True)
    assert rep.flicker < naive.flicker


def test_flicker_metric_and_weight() -> None:
    a = [torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)]
    assert flicker(a, a) == 0.0
    assert flicker(a, [a[0], torch.ones(1, 3, 8, 8)]) == pytest.approx(1.0)
    w = stabilise_weight(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8), keep=0.7)
    assert torch.allclose(w, torch.full_like(w, 0.7))
    moved = stabilise_weight(torch.ones(1, 3, 8, 8), -torch.ones(1, 3, 8, 8), keep=0.7)
    assert moved.max() < 1e-6


def test_unreadable_video(tmp_path: Path, stylizer: Stylizer) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    from brushwork.errors import BrushworkError

    with pytest.raises(BrushworkError, match=r"bad\.mp4"):
        stylize_video(stylizer, bad, tmp_path / "o.mp4", quiet=True)
    assert not (tmp_path / "o.mp4").exists()


def test_apply_cli_handles_video(tmp_path: Path, stylizer: Stylizer) -> None:
    from brushwork.cli import main

    src = tmp_path / "in" / "clip.mp4"
    src.parent.mkdir()
    make_clip(src, frames=4)
    assert main(["apply", "v", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    with av.open(str(tmp_path / "out" / "clip.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 4
