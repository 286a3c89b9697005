"""Video flicker: naive per-frame output versus temporal stabilisation.

Trains a small style (charcoal look, `--minutes`), makes a clip from a photo (slow pan plus
per-frame sensor noise, 48 frames at 24 fps, with an audio track), stylizes it both ways
and reports the flicker figure: the mean per-pixel change of the output between frames
beyond the change of the input (0 = the output changes no more than the input does).

    python benchmarks/video_flicker.py --minutes 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from brushwork.data import ImageBank
from brushwork.io import tensor_to_pil
from brushwork.stylizer import Stylizer
from brushwork.training.loop import Budget
from brushwork.training.recipe import default_recipe
from brushwork.training.style import train_style_run
from brushwork.video import stylize_video
from quality import SHARED, named_look, split_photos


def make_clip(photo: torch.Tensor, path: Path, frames: int = 48, fps: int = 24) -> None:
    import av

    rng = np.random.default_rng(0)
    img = ((photo.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.float32)
    h, w = 256, 384
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"crf": "16"}
        aus = out.add_stream("aac", rate=16000)
        aus.layout = "mono"
        for i in range(frames):
            crop = img[60 : 60 + h, 40 + i : 40 + i + w]  # a slow pan, 1 px per frame
            noisy = np.clip(crop + rng.normal(0, 3.0, crop.shape), 0, 255).astype(np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(noisy, format="rgb24")):
                out.mux(p)
        t = 0
        for _ in range(int(16000 * frames / fps) // 1024):
            tone = (0.2 * np.sin(2 * np.pi * 220 * (t + np.arange(1024)) / 16000)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(tone[None], format="flt", layout="mono")
            af.sample_rate, af.pts = 16000, t
            t += 1024
            for p in aus.encode(af):
                out.mux(p)
        for s in (vs, aus):
            for p in s.encode():
                out.mux(p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--look", default="charcoal")
    args = ap.parse_args()
    a, b, c, _ = split_photos(SHARED)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        look = named_look(args.look)
        style = [tensor_to_pil(look(t)) for t in b]
        r = default_recipe(len(style))
        path = train_style_run(content=ImageBank([tensor_to_pil(t) for t in a], 64), style=ImageBank(style, 64), pairs=None,
                               recipe=r, run_dir=root / "run", style_dir=root / "style", budget=Budget(minutes=args.minutes),
                               device="cpu", quiet=True)  # fmt: skip
        st = Stylizer.load(path, device="cpu")
        make_clip(c[0], root / "clip.mp4")
        naive = stylize_video(st, root / "clip.mp4", root / "naive.mp4", keep=0.0, quiet=True)
        stab = stylize_video(st, root / "clip.mp4", root / "stable.mp4", quiet=True)
    print(
        f"clip: {stab.frames} frames at {stab.fps:g} fps, audio kept: {stab.audio}; style: {args.look}, {args.minutes} min"
    )
    print(
        f"flicker (mean output change beyond input change, x1000): naive {naive.flicker * 1000:.2f}, stabilised {stab.flicker * 1000:.2f} ({(1 - stab.flicker / naive.flicker) * 100:.0f}% lower)"
    )


if __name__ == "__main__":
    main()
