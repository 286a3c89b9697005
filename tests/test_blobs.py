"""A drawing learned by the painter leaves the paper white where the picture is flat, whatever
the photo's tone there: no dark blob where the true look draws nothing (the pretrained start
follows the photo's tones and, left to the adversarial losses alone, shaded a dark flat sky)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

import brushwork
from brushwork.io import load_image, pil_to_tensor
from brushwork.metrics import dark_blobs
from brushwork.nets.painter import Painter

SIDE = 96
PAPER = np.array([0.96, 0.95, 0.93], np.float32)
INK = np.array([0.08, 0.08, 0.09], np.float32)
# the painter's loss weights for a look measured to be drawn, as ``--generator auto`` trains it
DRAWN_WEIGHTS = {
    k: v for k, v in Painter.recipe_defaults(False, "structure", True, drawn=True).items() if k.startswith("lambda_")
}


def photo(rng: np.random.Generator) -> np.ndarray:
    """[H, W, 3] in [0, 1]: a dark blue flat sky (a faint gradient) over ground with boxes."""
    yy = np.linspace(0, 1, SIDE, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(np.array([0.10, 0.16, 0.42], np.float32) + 0.08 * yy, (SIDE, SIDE, 3)).copy()
    horizon = SIDE // 2 + int(rng.integers(-6, 6))
    img[horizon:] = rng.uniform(0.3, 0.7, 3).astype(np.float32)
    for _ in range(4):
        y, x = int(rng.integers(horizon, SIDE - 12)), int(rng.integers(0, SIDE - 16))
        img[y : y + int(rng.integers(6, 12)), x : x + int(rng.integers(8, 16))] = rng.uniform(0, 1, 3)
    return img


def drawn(img: np.ndarray) -> np.ndarray:
    """The true look: ink along the photo's edges, paper everywhere else."""
    lum = img @ np.array([0.299, 0.587, 0.114], np.float32)
    gy, gx = np.gradient(lum)
    ink = np.clip(np.hypot(gx, gy) * 6, 0, 1)[..., None]
    return PAPER * (1 - ink) + INK * ink


def save(folder: Path, images: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True)
    for i, im in enumerate(images):
        Image.fromarray((im * 255).round().astype(np.uint8)).save(folder / f"{i:02d}.png")
    return folder


def test_a_learned_drawing_leaves_a_dark_flat_sky_white(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photos = save(tmp_path / "photos", [photo(rng) for _ in range(6)])
    style = save(tmp_path / "style", [drawn(photo(rng)) for _ in range(6)])
    test = photo(rng)
    path = brushwork.train_style(
        style, photos, name="drawn", steps=60, generator="painter", size=64, seed=0, quiet=True, device="cpu",
        recipe={"d_ndf": 16, "num_patches": 32, "precision": "fp32", "report": False, **DRAWN_WEIGHTS},
    )  # fmt: skip
    st = brushwork.Stylizer.load(path, device="cpu", precision="fp32")
    x = pil_to_tensor(load_image(save(tmp_path / "test", [test]) / "00.png"))
    out = st.stylize_tensor(x[None])[0]
    truth = torch.from_numpy(drawn(test)).permute(2, 0, 1) * 2 - 1
    # no solid dark patch (5 px across or more) where the truth is paper
    assert dark_blobs(out, truth)[1] == 0
