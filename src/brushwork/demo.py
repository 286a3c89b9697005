"""``brushwork demo``: learn a small style from the built-in paintings, offline, and apply it."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from .api import train_style
from .data import builtin_dir
from .io import list_images, load_image, pil_to_tensor, save_image_atomic, tensor_to_pil
from .library import home, runs_dir, styles_dir
from .stylizer import Stylizer

DEMO_NAME = "demo-vangogh"


def run_demo(minutes: float = 3.0, quiet: bool = False) -> Path:
    """Train ``demo-vangogh`` (replacing an earlier demo), write a before/after image, return its path."""
    for d in (styles_dir() / DEMO_NAME, runs_dir() / DEMO_NAME):
        shutil.rmtree(d, ignore_errors=True)  # the demo owns these two folders
    # the painter generator: the demo is a painter's folder, and it shows strokes being learned
    # (Van Gogh: 0.85x Magenta's style distance against lite's 2.11x; docs/benchmarks.md,
    # "The painter generator"). `--generator auto` picks it too for this set (its strokes: 2.32x
    # the texture of lite's start); the demo names it so that it always shows strokes.
    path = train_style(
        builtin_dir("styles/vangogh"), None, name=DEMO_NAME, minutes=minutes, quiet=quiet, generator="painter"
    )
    st = Stylizer.load(path)
    photo = load_image(list_images(builtin_dir("photos"))[0])
    before = pil_to_tensor(photo)
    after = pil_to_tensor(st(photo))
    out = home() / "demo" / "before_after.png"
    save_image_atomic(tensor_to_pil(torch.cat([before, after], dim=2)), out)
    return out
